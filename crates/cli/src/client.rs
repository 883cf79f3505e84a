//! What every client verb shares: the channel to the gateway, how a refusal is printed,
//! and how a resource is printed (readable, or `--json`).

use std::{path::Path, process::ExitCode, sync::OnceLock, time::Duration};

use anyhow::Context as _;
use clap::Args;
use egide_proto::enrolment::v1::enrolment_service_client::EnrolmentServiceClient;
use prost_reflect::{DescriptorPool, DynamicMessage, SerializeOptions};
use tonic::transport::Channel;

use crate::endpoints::Endpoints;

/// Deadline of ordinary calls.
const CALL_TIMEOUT: Duration = Duration::from_secs(15);

/// A channel to the gateway, trusting the dev CA, with the ordinary deadline.
pub async fn gateway(run_dir: &Path) -> anyhow::Result<Channel> {
    gateway_with_timeout(run_dir, CALL_TIMEOUT).await
}

/// A channel to the gateway whose calls may last up to `timeout` (tonic applies the
/// shorter of the channel's and the request's own deadline).
pub async fn gateway_with_timeout(run_dir: &Path, timeout: Duration) -> anyhow::Result<Channel> {
    let endpoints = Endpoints::read(run_dir)?;
    let identity = cli_identity_dir(run_dir);
    let channel = egide_gateway::dev_tls::client_endpoint_as(
        &endpoints.gateway.grpc,
        Path::new(&endpoints.gateway.ca_file),
        identity
            .join("cert.pem")
            .exists()
            .then_some(identity.as_path()),
    )?
    .timeout(timeout)
    .connect()
    .await
    .with_context(|| format!("gateway {}", endpoints.gateway.grpc))?;
    Ok(channel)
}

/// Where `egide dev up` puts the CLI's client certificate (the gateway requires one).
pub fn cli_identity_dir(run_dir: &Path) -> std::path::PathBuf {
    run_dir.join("pki").join("cli")
}

/// The enrolment service's client, through the gateway.
pub type Enrolment = EnrolmentServiceClient<Channel>;

/// An enrolment client with the ordinary deadline.
pub async fn enrolment(run_dir: &Path) -> anyhow::Result<Enrolment> {
    Ok(EnrolmentServiceClient::new(gateway(run_dir).await?))
}

/// Prints a refused call readably (gRPC code, message, stable reason, field violations)
/// and returns exit code 1. `main` calls it for any `tonic::Status` a verb returns.
pub fn refused(status: &tonic::Status) -> ExitCode {
    let (reason, violations) = egide_kit::error::decode(status);
    eprintln!(
        "refused: {:?} {}{}",
        status.code(),
        status.message(),
        reason.map(|r| format!(" [{r}]")).unwrap_or_default()
    );
    for v in violations {
        eprintln!("  {}: {}", v.field, v.description);
    }
    ExitCode::from(1)
}

/// Whether `status` carries the stable reason `reason`.
pub fn has_reason(status: &tonic::Status, reason: &str) -> bool {
    egide_kit::error::decode(status).0.as_deref() == Some(reason)
}

/// A protobuf timestamp as RFC 3339.
pub fn fmt_time(t: &prost_types::Timestamp) -> String {
    egide_kit::events::from_timestamp(t).map_or_else(|| "?".into(), |t| t.to_rfc3339())
}

/// An optional timestamp as RFC 3339, `-` when absent.
pub fn fmt_opt_time(t: Option<&prost_types::Timestamp>) -> String {
    t.map_or_else(|| "-".into(), fmt_time)
}

/// `value`, or `-` when empty.
pub fn or_dash(value: &str) -> &str {
    if value.is_empty() { "-" } else { value }
}

/// `--json`.
#[derive(Args, Debug, Clone, Copy)]
pub struct JsonArg {
    /// Print the resource as JSON (the proto3 JSON mapping) instead of text.
    #[arg(long)]
    pub json: bool,
}

/// A message that can be printed for people and as proto3 JSON.
pub trait Show: prost::Message + Sized {
    /// Its full protobuf name, e.g. `egide.enrolment.v1.Wallet`.
    const NAME: &'static str;
    /// Prints it for people.
    fn print(&self);
}

/// Prints `message` readably, or as JSON with `--json`.
pub fn show<T: Show>(message: &T, json: JsonArg) -> anyhow::Result<()> {
    if json.json {
        print_json(message)
    } else {
        message.print();
        Ok(())
    }
}

/// Prints `message` in the proto3 JSON mapping (enum names, RFC 3339 times, base64 bytes,
/// every field even when default), from the descriptors egide-proto embeds.
pub fn print_json<T: Show>(message: &T) -> anyhow::Result<()> {
    static POOL: OnceLock<Result<DescriptorPool, String>> = OnceLock::new();
    let pool = POOL
        .get_or_init(|| {
            DescriptorPool::decode(egide_proto::FILE_DESCRIPTOR_SET).map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| anyhow::anyhow!("egide-proto descriptors: {e}"))?;
    let descriptor = pool
        .get_message_by_name(T::NAME)
        .with_context(|| format!("no descriptor for {}", T::NAME))?;
    let dynamic = DynamicMessage::decode(descriptor, message.encode_to_vec().as_slice())?;
    let mut out = serde_json::Serializer::pretty(std::io::stdout().lock());
    let options = SerializeOptions::new().skip_default_fields(false);
    match dynamic.serialize_with_options(&mut out, &options) {
        // The reader went away (`| head`): nothing more to say.
        Err(e) if e.io_error_kind() == Some(std::io::ErrorKind::BrokenPipe) => return Ok(()),
        result => result?,
    }
    println!();
    Ok(())
}

/// The answer's one resource, or an error when the server left it out.
pub fn required<T>(resource: Option<T>, what: &str) -> anyhow::Result<T> {
    resource.with_context(|| format!("the answer carries no {what}"))
}

/// A proto enum value's name without its type prefix (`WALLET_STATE_ACTIVE` → `ACTIVE`).
pub fn short_enum<'a>(name: &'a str, prefix: &str) -> &'a str {
    name.strip_prefix(prefix).unwrap_or(name)
}

/// Prints one step of a multi-step verb: on stdout, or on stderr with `--json` so that
/// stdout holds only the JSON.
pub fn step(json: JsonArg, text: &str) {
    if json.json {
        eprintln!("{text}");
    } else {
        println!("{text}");
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use egide_proto::enrolment::v1::{
        Device, InsIdentity, ListDirectoryImportsResponse, ListImportRejectsResponse, Professional,
        SearchInsIdentityResponse, Structure, Wallet,
    };

    use super::*;

    #[test]
    fn every_printed_message_has_a_descriptor() {
        let pool = DescriptorPool::decode(egide_proto::FILE_DESCRIPTOR_SET).unwrap();
        for name in [
            Device::NAME,
            InsIdentity::NAME,
            ListDirectoryImportsResponse::NAME,
            ListImportRejectsResponse::NAME,
            Professional::NAME,
            SearchInsIdentityResponse::NAME,
            Structure::NAME,
            Wallet::NAME,
        ] {
            assert!(pool.get_message_by_name(name).is_some(), "{name}");
        }
    }

    #[test]
    fn enum_names_lose_their_prefix() {
        assert_eq!(short_enum("WALLET_STATE_ACTIVE", "WALLET_STATE_"), "ACTIVE");
        assert_eq!(short_enum("OTHER", "WALLET_STATE_"), "OTHER");
    }
}
