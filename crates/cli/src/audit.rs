//! `egide audit …`: the audit log, through the gateway.

use std::{path::Path, process::ExitCode};

use clap::Subcommand;
use egide_proto::audit::v1::{
    ListEventsRequest, ListProducersRequest, audit_service_client::AuditServiceClient,
};

use crate::client::{fmt_time, gateway};

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

/// `egide audit …`
pub async fn audit(run_dir: &Path, command: AuditCommand) -> anyhow::Result<ExitCode> {
    let mut client = AuditServiceClient::new(gateway(run_dir).await?);
    match command {
        AuditCommand::Events {
            producer,
            event_type,
            limit,
        } => {
            let response = client
                .list_events(ListEventsRequest {
                    producer,
                    event_type,
                    page_size: limit,
                    ..Default::default()
                })
                .await?
                .into_inner();
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
            let response = client
                .list_producers(ListProducersRequest {})
                .await?
                .into_inner();
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
