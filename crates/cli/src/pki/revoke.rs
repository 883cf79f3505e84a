//! `egide pki revoke`: through the certval service, which owns revocation — it records
//! it, refuses the certificate on every replica at once, revokes it in the dev PKI's
//! Vault mount (CRL and OCSP) and publishes `egide.certval.certificate.revoked`.

use std::{path::PathBuf, process::ExitCode};

use anyhow::Context as _;
use clap::Args;
use egide_proto::certval::v1::{
    RevokeCertificateRequest,
    certificate_validation_service_client::CertificateValidationServiceClient,
};

use crate::client::{fmt_opt_time, gateway};

use egide_certval::api::revoke::REASONS;

/// `egide pki revoke`.
#[derive(Args, Debug)]
pub struct RevokeArgs {
    /// The certificate (PEM or DER).
    #[arg(long, conflicts_with_all = ["serial", "issuer_mount"], required_unless_present = "serial")]
    cert: Option<PathBuf>,
    /// Its serial, hex (with --issuer-mount).
    #[arg(long, requires = "issuer_mount")]
    serial: Option<String>,
    /// The dev PKI mount of its issuing CA, e.g. pki-test-elementaire-organisations.
    #[arg(long, requires = "serial")]
    issuer_mount: Option<String>,
    /// Why.
    #[arg(long, default_value = "unspecified", value_parser = REASONS)]
    reason: String,
}

/// `egide pki revoke`.
pub async fn run(run_dir: &std::path::Path, args: RevokeArgs) -> anyhow::Result<ExitCode> {
    let mut request = RevokeCertificateRequest {
        reason: args.reason,
        ..RevokeCertificateRequest::default()
    };
    match (args.cert, args.serial, args.issuer_mount) {
        (Some(path), _, _) => {
            let bytes = std::fs::read(&path).with_context(|| format!("{}", path.display()))?;
            request.certificate = match std::str::from_utf8(&bytes) {
                Ok(text) if text.contains("-----BEGIN") => {
                    egide_devpki::pem::decode_all(text, "CERTIFICATE")?
                        .into_iter()
                        .next()
                        .with_context(|| format!("{}: no certificate", path.display()))?
                }
                _ => bytes,
            };
        }
        (None, Some(serial), Some(mount)) => {
            let ca = egide_devpki::hierarchy::cas()
                .into_iter()
                .find(|ca| ca.mount == mount)
                .with_context(|| format!("{mount} is not a mount of the dev PKI"))?;
            let magnitude = egide_devpki::parse_serial(&serial)?;
            request.serial_hex = magnitude.iter().map(|b| format!("{b:02x}")).collect();
            request.issuer_name_sha256 = egide_devpki::sha256_hex(&ca.subject.to_der());
        }
        _ => anyhow::bail!("give --cert, or --serial with --issuer-mount"),
    }
    // As the operator logged in (`egide login password --login … --totp …`): certval
    // records who revoked from the verified session.
    let token = crate::account::account_token(run_dir).await?;
    let mut client = CertificateValidationServiceClient::new(gateway(run_dir).await?);
    let response = client
        .revoke_certificate(crate::session::bearer(&token, request)?)
        .await?
        .into_inner();
    let r = response.revocation.unwrap_or_default();
    println!(
        "{} serial {} ({})",
        if response.newly_revoked {
            "revoked"
        } else {
            "already revoked"
        },
        r.serial_hex,
        r.reason
    );
    println!("  issuer    {}", r.issuer);
    println!("  at        {}", fmt_opt_time(r.revoked_at.as_ref()));
    Ok(ExitCode::SUCCESS)
}
