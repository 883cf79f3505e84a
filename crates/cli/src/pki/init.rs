//! `egide pki init`: the dev PKI built (or found) in Vault, its certificates written out.

use std::{
    path::{Path, PathBuf},
    process::ExitCode,
};

use anyhow::Context as _;
use egide_devpki::{DevPki, hierarchy};
use vaultrs::client::VaultClient;

use super::VaultArgs;

/// `egide pki init`.
pub async fn run(run_dir: &Path, args: &VaultArgs) -> anyhow::Result<ExitCode> {
    let (addr, client) = super::vault(run_dir, args)?;
    let pki = init_dev(run_dir, &client, &addr).await?;
    println!("dev PKI in {addr}");
    for family in &pki.families {
        let mounts: Vec<&str> = family
            .intermediates
            .iter()
            .map(|(m, _)| m.as_str())
            .collect();
        println!(
            "  {:<22} {}{}",
            family.name,
            mounts.join(", "),
            family
                .legacy_cut_off
                .as_ref()
                .map(|c| format!(" (legacy: refused when issued after {c})"))
                .unwrap_or_default()
        );
    }
    if pki.created.is_empty() {
        println!("  already built: nothing changed");
    } else {
        println!("  built: {}", pki.created.join(", "));
    }
    let dir = run_dir.join("pki");
    println!("  roots in {}", dir.join("anchors").display());
    println!("  CAs   in {}", dir.join("intermediates").display());
    Ok(ExitCode::SUCCESS)
}

/// Builds (or finds) the dev PKI and writes `<run dir>/pki/anchors/<family>.pem` (each
/// root), `<run dir>/pki/intermediates/<mount>.pem` (each CA) and
/// `<run dir>/pki/intermediates.pem` (all CAs, a pool for validators).
pub async fn init_dev(
    run_dir: &Path,
    vault: &VaultClient,
    vault_addr: &str,
) -> anyhow::Result<DevPki> {
    let pki = egide_devpki::init(vault, vault_addr)
        .await
        .context("building the dev PKI in Vault")?;
    let anchors = run_dir.join("pki").join("anchors");
    let intermediates = run_dir.join("pki").join("intermediates");
    for dir in [&anchors, &intermediates] {
        std::fs::create_dir_all(dir).with_context(|| format!("{}", dir.display()))?;
    }
    let write = |path: &Path, text: &str| {
        egide_devpki::write_public(path, text.as_bytes())
            .with_context(|| format!("{}", path.display()))
    };
    let mut all = String::new();
    for family in &pki.families {
        write(
            &anchors.join(format!("{}.pem", family.name)),
            &family.root_pem,
        )?;
        for (mount, pem) in &family.intermediates {
            write(&intermediates.join(format!("{mount}.pem")), pem)?;
            all.push_str(pem);
        }
    }
    write(&run_dir.join("pki").join("intermediates.pem"), &all)?;
    debug_assert_eq!(
        hierarchy::mounts().len(),
        pki.families
            .iter()
            .map(|f| f.intermediates.len() + 1)
            .sum::<usize>()
    );
    Ok(pki)
}

/// `egide dev up`: the dev PKI built right after Vault's bootstrap (with the root token
/// the bootstrap keeps), and `<run dir>/config/certval.toml`, the certval configuration
/// that trusts it. Returns that file.
pub async fn init_for_dev_up(run_dir: &Path, vault_addr: &str) -> anyhow::Result<PathBuf> {
    let client = super::client(vault_addr, &super::root_token(run_dir)?)?;
    let pki = init_dev(run_dir, &client, vault_addr).await?;
    let trust = egide_certval::dev::DevTrust::write(&pki, &run_dir.join("pki").join("certval"))
        .context("writing the certval trust files")?;
    let dir = run_dir.join("config");
    std::fs::create_dir_all(&dir).with_context(|| format!("{}", dir.display()))?;
    let path = dir.join("certval.toml");
    let text = format!(
        "# Written by `egide dev up` at every start: trust the dev PKI (TEST families only),\n\
         # require its dev policy OIDs, revoke in its Vault mounts.\n\n{}",
        trust.toml()
    );
    egide_devpki::write_public(&path, text.as_bytes())
        .with_context(|| format!("{}", path.display()))?;
    ensure_cli_credential(run_dir, &client).await?;
    Ok(path)
}

/// The CLI is hospital software to the gateway, which requires an ORG AUTH_CLI
/// certificate: `egide dev up` issues one (once) into `.run/pki/cli/`, and every CLI
/// verb presents it (see `client::gateway`).
async fn ensure_cli_credential(
    run_dir: &Path,
    client: &impl vaultrs::client::Client,
) -> anyhow::Result<()> {
    let dir = crate::client::cli_identity_dir(run_dir);
    if dir.join("cert.pem").exists() && dir.join("key.pem").exists() {
        return Ok(());
    }
    let credential = egide_devpki::issue_structure(
        client,
        &egide_devpki::StructureRequest {
            family: egide_devpki::Family::Elementaire,
            idnat_struct: "1010003374".parse()?,
            organisation: "EGIDE DEV".into(),
            departement: "75".into(),
            application: "egide-cli".into(),
            key: egide_devpki::KeyKind::P256,
            ttl: None,
        },
    )
    .await
    .context("issuing the CLI's client certificate")?;
    credential
        .write(&dir)
        .with_context(|| format!("{}", dir.display()))?;
    Ok(())
}
