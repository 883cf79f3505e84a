//! Enrolment: the structures, professionals and patients' wallets Égide knows.
//!
//! For now: structures registered by FINESS or SIRET, each registration committed with its
//! `egide.enrolment.structure.registered` event (transactional outbox).
#![forbid(unsafe_code)]

pub mod api;
pub mod domain;
pub mod migration;
pub mod store;

use egide_kit::{
    app::{Platform, Running},
    config::ServiceConfig,
};
use egide_proto::enrolment::v1::enrolment_service_server::EnrolmentServiceServer;
use tokio_util::sync::CancellationToken;
use tonic::service::RoutesBuilder;

/// The service name: producer name, config prefix, log field.
pub const SERVICE: &str = "enrolment";

/// Default gRPC port of a local run.
pub const DEFAULT_PORT: u16 = 50061;

/// Builds and starts the service: connections, migrations, gRPC API, outbox relay.
pub async fn build(config: ServiceConfig, shutdown: CancellationToken) -> anyhow::Result<Running> {
    let platform =
        Platform::connect::<migration::Migrator>(SERVICE, &config, shutdown.clone()).await?;
    let listener = egide_kit::server::bind(config.grpc.listen).await?;
    let mut routes = RoutesBuilder::default();
    routes.add_service(
        EnrolmentServiceServer::new(api::EnrolmentApi::new(platform.clone()))
            .max_decoding_message_size(config.grpc.max_message_bytes),
    );
    let relay = platform.relay();
    Ok(Running::start(
        SERVICE,
        listener,
        routes,
        platform.readiness(Vec::new()),
        shutdown.clone(),
        vec![Box::pin(relay.run(shutdown))],
    )?)
}
