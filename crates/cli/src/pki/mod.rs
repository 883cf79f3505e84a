//! `egide pki …`: the dev IGC-Santé PKI in the local stack's OpenBao, soft CPS cards and
//! structure/server credentials, and revocation through the certval service.
//!
//! Vault is reached with the dev root token (`<run dir>/vault/init.json`, or
//! `EGIDE_VAULT_TOKEN`) at the stack's address (`endpoints.json`, or `--vault-addr`): a
//! dev-only convenience, like the stack itself.

mod card;
mod init;
mod issue;
pub mod pin;
mod revoke;

use std::{path::Path, process::ExitCode, time::Duration};

use anyhow::Context as _;
use clap::{Args, Subcommand};
use vaultrs::client::VaultClient;

pub use self::init::init_for_dev_up;
use crate::endpoints::Endpoints;

/// `egide pki …`
#[derive(Subcommand)]
pub enum PkiCommand {
    /// Builds the dev PKI in Vault, or finds it built (idempotent; `make run` does it),
    /// and writes its roots and CAs under `<run dir>/pki`.
    Init(VaultArgs),
    /// Issues a soft CPS card: authentication and signature keys and certificates in a
    /// directory, protected by a PIN the card checks itself.
    IssueCard(issue::CardArgs),
    /// Issues a structure's ORG AUTH_CLI certificate (hospital software's client
    /// authentication): key.pem, cert.pem, chain.pem.
    IssueStructure(issue::StructureArgs),
    /// Issues a structure's ORG SIGN certificate.
    IssueSigningStructure(issue::StructureArgs),
    /// Issues a server's SSL_SERV certificate.
    IssueServer(issue::ServerArgs),
    /// Revokes a certificate through the certval service (which revokes it in Vault and
    /// publishes `egide.certval.certificate.revoked`).
    Revoke(revoke::RevokeArgs),
    /// Signs a file with a soft card (after its PIN).
    CardSign(card::CardSignArgs),
    /// Shows a soft card: holder, algorithm, tries left, certificates.
    CardStatus(card::CardStatusArgs),
}

/// Where Vault is and with which token.
#[derive(Args, Debug, Clone)]
pub struct VaultArgs {
    /// Vault address (default: the running stack's, from endpoints.json).
    #[arg(long, env = "EGIDE_VAULT_ADDR")]
    vault_addr: Option<String>,
}

/// `egide pki …`
pub async fn run(run_dir: &Path, command: PkiCommand) -> anyhow::Result<ExitCode> {
    match command {
        PkiCommand::Init(v) => init::run(run_dir, &v).await,
        PkiCommand::IssueCard(a) => issue::card(run_dir, a).await,
        PkiCommand::IssueStructure(a) => issue::structure(run_dir, a, false).await,
        PkiCommand::IssueSigningStructure(a) => issue::structure(run_dir, a, true).await,
        PkiCommand::IssueServer(a) => issue::server(run_dir, a).await,
        PkiCommand::Revoke(a) => revoke::run(run_dir, a).await,
        PkiCommand::CardSign(a) => card::sign(a),
        PkiCommand::CardStatus(a) => card::status(&a),
    }
}

/// The Vault address and a root-token client.
fn vault(run_dir: &Path, args: &VaultArgs) -> anyhow::Result<(String, VaultClient)> {
    let addr = match &args.vault_addr {
        Some(a) => a.clone(),
        None => Endpoints::read(run_dir)?.vault,
    };
    let token = root_token(run_dir)?;
    Ok((addr.clone(), client(&addr, &token)?))
}

use crate::dev::vault::vault_client as client;

/// `EGIDE_VAULT_TOKEN`, else the dev stack's root token.
fn root_token(run_dir: &Path) -> anyhow::Result<String> {
    if let Ok(token) = std::env::var("EGIDE_VAULT_TOKEN") {
        return Ok(token);
    }
    let path = run_dir.join("vault").join("init.json");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("{} (has `make run` started once?)", path.display()))?;
    let v: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{}", path.display()))?;
    v["root_token"]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("{}: no root_token", path.display()))
}

/// A duration such as `90d`, `3y`, `12h`, `30m`, `45s` (a year is 365 days).
fn parse_ttl(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{text:?}: expected a number and a unit (s, m, h, d, y)"))?;
    let seconds = match unit {
        "s" | "" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "y" => 365 * 86_400,
        other => return Err(format!("{other:?}: unknown unit (s, m, h, d, y)")),
    };
    n.checked_mul(seconds)
        .filter(|s| *s > 0)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("{text:?}: out of range"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn ttls_parse() {
        assert_eq!(parse_ttl("90d").unwrap(), Duration::from_secs(90 * 86_400));
        assert_eq!(
            parse_ttl("3y").unwrap(),
            Duration::from_secs(3 * 365 * 86_400)
        );
        assert_eq!(parse_ttl("45").unwrap(), Duration::from_secs(45));
        assert!(parse_ttl("0d").is_err());
        assert!(parse_ttl("3w").is_err());
        assert!(parse_ttl("d").is_err());
    }

    #[test]
    fn root_token_comes_from_init_json() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("vault")).unwrap();
        std::fs::write(
            dir.path().join("vault/init.json"),
            r#"{"keys":["k"],"root_token":"s.abc"}"#,
        )
        .unwrap();
        if std::env::var_os("EGIDE_VAULT_TOKEN").is_none() {
            assert_eq!(root_token(dir.path()).unwrap(), "s.abc");
        }
    }
}
