//! `egide cert`: certificate validation. `verify` runs the validation engine offline (no
//! service needed); `crl` talks to the certval service.

mod verify;

use std::{path::Path, process::ExitCode};

use clap::Subcommand;

/// `egide cert …`
#[derive(Subcommand)]
pub enum CertCommand {
    /// Validates a certificate chain offline, as RFC 5280 and the named purposes say.
    /// Exit 0: valid; 1: not valid (the reason code is printed); 2: usage error.
    Verify(Box<verify::VerifyArgs>),
    /// Loads a CRL into the certval service.
    CrlSubmit {
        /// The CRL, DER or PEM.
        file: std::path::PathBuf,
    },
    /// The CRLs the certval service holds.
    Crls,
    /// The certval service's trust anchors.
    Anchors,
}

/// Runs one `egide cert` command.
pub async fn run(run_dir: &Path, command: CertCommand) -> anyhow::Result<ExitCode> {
    use egide_proto::certval::v1::{
        ListCrlsRequest, ListTrustAnchorsRequest, SubmitCrlRequest,
        certificate_validation_service_client::CertificateValidationServiceClient,
    };
    match command {
        CertCommand::Verify(args) => Ok(verify::run(&args)),
        CertCommand::CrlSubmit { file } => {
            let crl = std::fs::read(&file)?;
            let mut client =
                CertificateValidationServiceClient::new(crate::client::gateway(run_dir).await?);
            match client.submit_crl(SubmitCrlRequest { crl }).await {
                Ok(r) => {
                    let info = r.into_inner().crl.unwrap_or_default();
                    println!(
                        "loaded: {} ({} entries, number {})",
                        info.issuer,
                        info.entries,
                        crate::client::or_dash(&info.number)
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(status) => Ok(crate::client::refused(&status)),
            }
        }
        CertCommand::Crls => {
            let mut client =
                CertificateValidationServiceClient::new(crate::client::gateway(run_dir).await?);
            match client.list_crls(ListCrlsRequest {}).await {
                Ok(r) => {
                    for c in r.into_inner().crls {
                        println!(
                            "{}  {} entries  next update {}  from {}",
                            c.issuer,
                            c.entries,
                            crate::client::fmt_opt_time(c.next_update.as_ref()),
                            c.source
                        );
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(status) => Ok(crate::client::refused(&status)),
            }
        }
        CertCommand::Anchors => {
            let mut client =
                CertificateValidationServiceClient::new(crate::client::gateway(run_dir).await?);
            match client.list_trust_anchors(ListTrustAnchorsRequest {}).await {
                Ok(r) => {
                    for a in r.into_inner().anchors {
                        let test = if a.test { " (test)" } else { "" };
                        println!("{}{test}  {}  sha256 {}", a.family, a.subject, a.sha256_hex);
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(status) => Ok(crate::client::refused(&status)),
            }
        }
    }
}
