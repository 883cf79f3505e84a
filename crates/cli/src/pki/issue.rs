//! `egide pki issue-card | issue-structure | issue-signing-structure | issue-server`.

use std::{net::IpAddr, path::PathBuf, process::ExitCode, time::Duration};

use anyhow::Context as _;
use clap::Args;
use egide_devpki::{
    CardRequest, Credential, Family, KeyKind, Professional, ServerRequest, StructureRequest,
};
use egide_ids::{IdNatPs, IdNatStruct, RppsPolicy};
use secrecy::ExposeSecret as _;

use super::{VaultArgs, parse_ttl, pin};

/// `egide pki issue-card`.
#[derive(Args, Debug)]
pub struct CardArgs {
    /// The holder's idNat_PS (e.g. 899700218896, a test card of the 8997… range).
    #[arg(long)]
    idnat: String,
    /// Surname (SN).
    #[arg(long)]
    name: String,
    /// Given name (GN).
    #[arg(long)]
    given_name: String,
    /// Profession (the `title` attribute), e.g. Médecin.
    #[arg(long)]
    profession: String,
    /// The card's directory (default: <run dir>/pki/cards/<idnat>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// The PIN, 4 to 8 digits (else EGIDE_CARD_PIN, else one is chosen and printed
    /// once).
    #[arg(long)]
    pin: Option<String>,
    /// rsa2048 (as CPS3/CPS4 cards) or p256.
    #[arg(long, default_value = "rsa2048")]
    key: KeyKind,
    /// The family whose PERSONNES CA issues the certificates: elementaire, standard,
    /// fort or legacy.
    #[arg(long, default_value = "fort")]
    family: Family,
    /// Validity, e.g. 90d (default: 3 years).
    #[arg(long, value_parser = parse_ttl)]
    ttl: Option<Duration>,
    #[command(flatten)]
    vault: VaultArgs,
}

/// `egide pki issue-structure` and `issue-signing-structure`.
#[derive(Args, Debug)]
pub struct StructureArgs {
    /// idNat_Struct: 1 + FINESS or 3 + SIRET.
    #[arg(long)]
    idnat_struct: String,
    /// Raison sociale (O).
    #[arg(long)]
    organisation: String,
    /// Département (ST), e.g. 75.
    #[arg(long)]
    departement: String,
    /// The application (CN).
    #[arg(long)]
    application: String,
    /// Output directory (default: <run dir>/pki/structures/<idnat_struct>-<application>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// The family whose ORGANISATIONS CA issues it.
    #[arg(long, default_value = "elementaire")]
    family: Family,
    /// p256 or rsa2048.
    #[arg(long, default_value = "p256")]
    key: KeyKind,
    /// Validity, e.g. 90d (default: 3 years).
    #[arg(long, value_parser = parse_ttl)]
    ttl: Option<Duration>,
    #[command(flatten)]
    vault: VaultArgs,
}

/// `egide pki issue-server`.
#[derive(Args, Debug)]
pub struct ServerArgs {
    /// A DNS name (repeat for several; the first is the CN).
    #[arg(long = "dns")]
    dns: Vec<String>,
    /// An IP address (repeat for several).
    #[arg(long = "ip")]
    ips: Vec<IpAddr>,
    /// idNat_Struct of the structure running the server.
    #[arg(long)]
    idnat_struct: String,
    /// Raison sociale (O).
    #[arg(long)]
    organisation: String,
    /// Département (ST).
    #[arg(long)]
    departement: String,
    /// Output directory (default: <run dir>/pki/servers/<first name>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// The family whose ORGANISATIONS CA issues it.
    #[arg(long, default_value = "elementaire")]
    family: Family,
    /// p256 or rsa2048.
    #[arg(long, default_value = "p256")]
    key: KeyKind,
    /// Validity, e.g. 90d (default: 3 years).
    #[arg(long, value_parser = parse_ttl)]
    ttl: Option<Duration>,
    #[command(flatten)]
    vault: VaultArgs,
}

/// `egide pki issue-card`.
pub async fn card(run_dir: &std::path::Path, args: CardArgs) -> anyhow::Result<ExitCode> {
    // Test cards (8997…) carry no valid RPPS key: accept that range, as the directory does.
    let idnat = IdNatPs::parse_with(&args.idnat, &RppsPolicy::with_test_prefixes(["997"]))
        .with_context(|| format!("--idnat {}", args.idnat))?;
    let (pin, chosen) = match pin::from_args_or_env(args.pin) {
        Some(p) => (p, false),
        None => (egide_devpki::generate_pin()?, true),
    };
    egide_devpki::check_pin_format(&pin)?;
    let dir = args
        .out
        .unwrap_or_else(|| run_dir.join("pki").join("cards").join(idnat.to_string()));
    let (_, vault) = super::vault(run_dir, &args.vault)?;
    let card = egide_devpki::issue_card(
        &vault,
        &dir,
        &CardRequest {
            family: args.family,
            holder: Professional {
                idnat,
                name: args.name,
                given_name: args.given_name,
                profession: args.profession,
            },
            key: args.key,
            ttl: args.ttl,
        },
        &pin,
    )
    .await?;
    println!("soft CPS card {} in {}", card.idnat(), dir.display());
    println!("  keys      {} ({:?})", args.key, card.algorithm());
    println!("  family    {}", args.family);
    println!("  files     card.json (PIN-sealed keys, 0600), auth.pem, sign.pem, chain.pem");
    if chosen {
        // The one time the PIN is shown: it was chosen here, no one else knows it.
        println!(
            "  PIN       {}  (shown once; the card blocks after 3 wrong PINs)",
            pin.expose_secret()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `egide pki issue-structure` (`signing`: `issue-signing-structure`).
pub async fn structure(
    run_dir: &std::path::Path,
    args: StructureArgs,
    signing: bool,
) -> anyhow::Result<ExitCode> {
    let idnat_struct = IdNatStruct::parse(&args.idnat_struct)
        .with_context(|| format!("--idnat-struct {}", args.idnat_struct))?;
    let dir = args.out.unwrap_or_else(|| {
        run_dir.join("pki").join("structures").join(format!(
            "{idnat_struct}-{}{}",
            file_safe(&args.application),
            if signing { "-sign" } else { "" }
        ))
    });
    let request = StructureRequest {
        family: args.family,
        idnat_struct,
        organisation: args.organisation,
        departement: args.departement,
        application: args.application,
        key: args.key,
        ttl: args.ttl,
    };
    let (_, vault) = super::vault(run_dir, &args.vault)?;
    let credential = if signing {
        egide_devpki::issue_structure_signing(&vault, &request).await?
    } else {
        egide_devpki::issue_structure(&vault, &request).await?
    };
    written(
        &credential,
        &dir,
        if signing { "ORG SIGN" } else { "ORG AUTH_CLI" },
    )
}

/// `egide pki issue-server`.
pub async fn server(run_dir: &std::path::Path, args: ServerArgs) -> anyhow::Result<ExitCode> {
    let idnat_struct = IdNatStruct::parse(&args.idnat_struct)
        .with_context(|| format!("--idnat-struct {}", args.idnat_struct))?;
    let first = args
        .dns
        .first()
        .cloned()
        .or_else(|| args.ips.first().map(IpAddr::to_string))
        .context("give at least one --dns or --ip")?;
    let dir = args
        .out
        .unwrap_or_else(|| run_dir.join("pki").join("servers").join(file_safe(&first)));
    let (_, vault) = super::vault(run_dir, &args.vault)?;
    let credential = egide_devpki::issue_server(
        &vault,
        &ServerRequest {
            family: args.family,
            idnat_struct,
            organisation: args.organisation,
            departement: args.departement,
            dns: args.dns,
            ips: args.ips,
            key: args.key,
            ttl: args.ttl,
        },
    )
    .await?;
    written(&credential, &dir, "SSL_SERV")
}

fn written(credential: &Credential, dir: &std::path::Path, kind: &str) -> anyhow::Result<ExitCode> {
    credential.write(dir)?;
    println!("{kind} certificate in {}", dir.display());
    println!("  serial    {}", credential.issued.serial);
    println!("  issuer    {}", credential.issued.mount);
    println!("  files     key.pem (0600), cert.pem, chain.pem, root.pem");
    Ok(ExitCode::SUCCESS)
}

/// A name usable as a directory name.
fn file_safe(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-._".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}
