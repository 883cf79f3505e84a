//! Audit: every event of the platform, stored once, in arrival order, with per-producer
//! gap detection.
//!
//! A durable JetStream consumer reads `egide.>` and appends each event to `audit_events`
//! under a gap-free `log_index`. For each producer the log tracks how far it is complete
//! (`contiguous_seq`); a gap that lasts is answered by asking the producer to replay the
//! range, and the producer learns through a watermark which of its outbox rows the log
//! holds (so it may delete them).
#![forbid(unsafe_code)]

pub mod api;
pub mod gaps;
pub mod ingest;
pub mod migration;
pub mod store;

use egide_kit::{
    app::{Platform, Running},
    config::ServiceConfig,
    consumer::{ConsumerSpec, Dedupe},
};
use egide_proto::audit::v1::audit_service_server::AuditServiceServer;
use tokio_util::sync::CancellationToken;
use tonic::service::RoutesBuilder;

/// The service name.
pub const SERVICE: &str = "audit";

/// Default gRPC port of a local run.
pub const DEFAULT_PORT: u16 = 50065;

/// The durable consumer name.
pub const CONSUMER: &str = "audit";

/// Builds and starts the service: connections, migrations, gRPC API, ingestion, gap watch.
pub async fn build(config: ServiceConfig, shutdown: CancellationToken) -> anyhow::Result<Running> {
    let platform =
        Platform::connect::<migration::Migrator>(SERVICE, &config, shutdown.clone()).await?;
    let listener = egide_kit::server::bind(config.grpc.listen).await?;
    let mut routes = RoutesBuilder::default();
    routes.add_service(
        AuditServiceServer::new(api::AuditApi::new(platform.db.clone()))
            .max_decoding_message_size(config.grpc.max_message_bytes),
    );
    let ingest = egide_kit::consumer::run(
        platform.db.clone(),
        platform.nats.clone(),
        platform.stream.clone(),
        ConsumerSpec {
            durable: CONSUMER.into(),
            filter: egide_kit::nats::EVENT_SUBJECTS.into(),
            max_batch: 1000,
            dedupe: Dedupe::Handler,
        },
        ingest::Ingest::new(platform.nats.clone()),
        shutdown.clone(),
    );
    let gaps = gaps::watch(platform.db.clone(), platform.nats.clone(), shutdown.clone());
    Running::start(
        SERVICE,
        listener,
        &config,
        routes,
        platform.readiness(Vec::new()),
        shutdown,
        vec![Box::pin(ingest), Box::pin(gaps)],
    )
    .await
}
