//! Client verbs: talk to the platform through the gateway (TLS), or to each service for
//! status.

use std::{path::Path, process::ExitCode, time::Duration};

use anyhow::Context as _;
use clap::Subcommand;
use egide_proto::{
    audit::v1::{
        ListEventsRequest, ListProducersRequest, audit_service_client::AuditServiceClient,
    },
    common::v1::{GetStatusRequest, status_service_client::StatusServiceClient},
    enrolment::v1::{
        GetStructureRequest, RegisterStructureRequest, Structure,
        enrolment_service_client::EnrolmentServiceClient, register_structure_request, structure,
    },
};
use tonic::transport::{Channel, Endpoint};

use crate::endpoints::Endpoints;

/// `egide structure …`
#[derive(Subcommand)]
pub enum StructureCommand {
    /// Registers a structure by FINESS or SIRET.
    Register {
        /// FINESS number (9 characters).
        #[arg(long, conflicts_with = "siret", required_unless_present = "siret")]
        finess: Option<String>,
        /// SIRET number (14 digits).
        #[arg(long)]
        siret: Option<String>,
        /// Name (raison sociale).
        #[arg(long)]
        name: String,
    },
    /// Shows a structure by idNat_Struct (e.g. 1 + FINESS).
    Get {
        /// The national structure identifier.
        id_nat_struct: String,
    },
}

/// `egide audit …`
#[derive(Subcommand)]
pub enum AuditCommand {
    /// Lists logged events, oldest first.
    Events {
        /// Only this producer.
        #[arg(long, default_value = "")]
        producer: String,
        /// Only this event type, or a prefix ending in `.>`.
        #[arg(long = "type", default_value = "")]
        event_type: String,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Shows how complete the log is for each producer.
    Producers,
}

/// A channel to the gateway, trusting the dev CA.
async fn gateway(run_dir: &Path) -> anyhow::Result<Channel> {
    let endpoints = Endpoints::read(run_dir)?;
    let channel = egide_gateway::dev_tls::client_endpoint(
        &endpoints.gateway.grpc,
        Path::new(&endpoints.gateway.ca_file),
    )?
    .timeout(Duration::from_secs(15))
    .connect()
    .await
    .with_context(|| format!("gateway {}", endpoints.gateway.grpc))?;
    Ok(channel)
}

/// Prints a refused call readably and returns exit code 1.
fn refused(status: &tonic::Status) -> ExitCode {
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

fn print_structure(s: &Structure) {
    let identifier = match &s.identifier {
        Some(structure::Identifier::Finess(f)) => format!("FINESS {f}"),
        Some(structure::Identifier::Siret(s)) => format!("SIRET {s}"),
        None => "-".into(),
    };
    println!("structure {}", s.id_nat_struct);
    println!("  name        {}", s.name);
    println!("  identifier  {identifier}");
    println!("  id          {}", s.id);
    if let Some(t) = &s.registered_at {
        println!("  registered  {}", fmt_time(t));
    }
}

fn fmt_time(t: &prost_types::Timestamp) -> String {
    egide_kit::events::from_timestamp(t).map_or_else(|| "?".into(), |t| t.to_rfc3339())
}

/// `egide structure …`
pub async fn structure(run_dir: &Path, command: StructureCommand) -> anyhow::Result<ExitCode> {
    let mut client = EnrolmentServiceClient::new(gateway(run_dir).await?);
    let result = match command {
        StructureCommand::Register {
            finess,
            siret,
            name,
        } => {
            let identifier = match (finess, siret) {
                (Some(f), _) => Some(register_structure_request::Identifier::Finess(f)),
                (_, Some(s)) => Some(register_structure_request::Identifier::Siret(s)),
                _ => None,
            };
            client
                .register_structure(RegisterStructureRequest { identifier, name })
                .await
                .map(|r| r.into_inner().structure)
        }
        StructureCommand::Get { id_nat_struct } => client
            .get_structure(GetStructureRequest { id_nat_struct })
            .await
            .map(|r| r.into_inner().structure),
    };
    match result {
        Ok(Some(s)) => {
            print_structure(&s);
            Ok(ExitCode::SUCCESS)
        }
        Ok(None) => anyhow::bail!("empty answer"),
        Err(status) => Ok(refused(&status)),
    }
}

/// `egide audit …`
pub async fn audit(run_dir: &Path, command: AuditCommand) -> anyhow::Result<ExitCode> {
    let mut client = AuditServiceClient::new(gateway(run_dir).await?);
    match command {
        AuditCommand::Events {
            producer,
            event_type,
            limit,
        } => {
            let response = match client
                .list_events(ListEventsRequest {
                    producer,
                    event_type,
                    page_size: limit,
                    ..Default::default()
                })
                .await
            {
                Ok(r) => r.into_inner(),
                Err(status) => return Ok(refused(&status)),
            };
            println!(
                "{:>6}  {:<32}  {:<10} {:>6}  {:<38}  subjects",
                "index", "occurred at", "producer", "seq", "type"
            );
            for e in response.events {
                let Some(env) = e.envelope else { continue };
                let subjects: Vec<String> = env
                    .subjects
                    .iter()
                    .map(|s| format!("{}:{}", s.kind, s.id))
                    .collect();
                println!(
                    "{:>6}  {:<32}  {:<10} {:>6}  {:<38}  {}",
                    e.log_index,
                    env.occurred_at.as_ref().map(fmt_time).unwrap_or_default(),
                    env.producer,
                    env.producer_seq,
                    env.event_type,
                    subjects.join(" ")
                );
            }
            if !response.next_page_token.is_empty() {
                println!("… more (raise --limit)");
            }
        }
        AuditCommand::Producers => {
            let response = match client.list_producers(ListProducersRequest {}).await {
                Ok(r) => r.into_inner(),
                Err(status) => return Ok(refused(&status)),
            };
            println!(
                "{:<12} {:>10} {:>10} {:>8} {:>10}",
                "producer", "contiguous", "highest", "missing", "stored"
            );
            for p in response.producers {
                println!(
                    "{:<12} {:>10} {:>10} {:>8} {:>10}",
                    p.producer, p.contiguous_seq, p.highest_seq, p.missing, p.stored
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `egide status`: every service's readiness with reasons, and the gateway's.
pub async fn status(run_dir: &Path) -> anyhow::Result<ExitCode> {
    let endpoints = Endpoints::read(run_dir)?;
    let mut all_ready = true;
    for (name, addr) in &endpoints.services {
        let line = match service_status(addr).await {
            Ok(s) => {
                all_ready &= s.ready;
                let deps: Vec<String> = s
                    .dependencies
                    .iter()
                    .map(|d| {
                        if d.ok {
                            format!("{} ok", d.name)
                        } else {
                            format!("{} DOWN ({})", d.name, d.reason)
                        }
                    })
                    .collect();
                format!(
                    "{:<10} {:<10} {}  up {}s  {}",
                    name,
                    if s.ready { "ready" } else { "NOT READY" },
                    addr,
                    s.uptime_seconds,
                    deps.join(", ")
                )
            }
            Err(error) => {
                all_ready = false;
                format!("{name:<10} {:<10} {addr}  {error:#}", "DOWN")
            }
        };
        println!("{line}");
    }
    let gateway = match gateway(run_dir).await {
        Ok(channel) => {
            let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
            match health
                .check(tonic_health::pb::HealthCheckRequest {
                    service: String::new(),
                })
                .await
            {
                Ok(r)
                    if r.get_ref().status()
                        == tonic_health::pb::health_check_response::ServingStatus::Serving =>
                {
                    "ready".to_owned()
                }
                Ok(r) => format!("NOT READY ({:?})", r.get_ref().status()),
                Err(s) => format!("DOWN ({})", s.message()),
            }
        }
        Err(error) => format!("DOWN ({error:#})"),
    };
    all_ready &= gateway == "ready";
    println!(
        "{:<10} {:<10} {}  http {}",
        "gateway", gateway, endpoints.gateway.grpc, endpoints.gateway.http
    );
    Ok(if all_ready {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

async fn service_status(addr: &str) -> anyhow::Result<egide_proto::common::v1::GetStatusResponse> {
    let channel = Endpoint::from_shared(addr.to_owned())?
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(5))
        .connect()
        .await
        .context("unreachable")?;
    Ok(StatusServiceClient::new(channel)
        .get_status(GetStatusRequest {})
        .await?
        .into_inner())
}
