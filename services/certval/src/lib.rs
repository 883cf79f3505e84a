//! Certificate validation for IGC-Santé: trust anchors by family, path validation for a
//! purpose, revocation (CRLs, OCSP, revocation events), identities carried by
//! certificates, signature checks. The engine is `egide-pki`; this service holds the
//! trust configuration, the revocation state shared by its replicas and the API.
#![forbid(unsafe_code)]

pub mod api;
pub mod config;
pub mod dev;
pub mod dev_mounts;
pub mod migration;
pub mod revocation;
pub mod store;
pub mod trust;
pub mod validation;

use std::{
    sync::{Arc, RwLock},
    time::Duration,
};

use egide_kit::app::{Platform, Running};
use egide_proto::certval::v1::certificate_validation_service_server::CertificateValidationServiceServer;
use tokio_util::sync::CancellationToken;
use tonic::service::RoutesBuilder;

pub use config::CertvalConfig;

use crate::{
    dev_mounts::DevMounts,
    revocation::{Revocations, fetch::Fetcher, live},
    trust::Trust,
    validation::Validations,
};

/// The service name.
pub const SERVICE: &str = "certval";

/// Default gRPC port of a local run.
pub const DEFAULT_PORT: u16 = 50063;

/// What every handler works with.
#[derive(Clone)]
pub struct Ctx {
    /// Connections.
    pub platform: Platform,
    /// Settings.
    pub config: Arc<CertvalConfig>,
    /// Validation and its state.
    pub validations: Arc<Validations>,
    /// The dev PKI's mounts.
    pub dev_mounts: Arc<DevMounts>,
}

impl std::fmt::Debug for Ctx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx").finish_non_exhaustive()
    }
}

/// Builds and starts the service: trust, stored CRLs and revocations, the API, the
/// outbox relay, the revocation follower, the CRL refresher and the SIGHUP trust reload.
pub async fn build(config: CertvalConfig, shutdown: CancellationToken) -> anyhow::Result<Running> {
    let trust = Trust::load(&config)?;
    // Registered before anything is spawned: from here on SIGHUP reloads, never kills.
    let hangups = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
    let platform =
        Platform::connect::<migration::Migrator>(SERVICE, &config.service, shutdown.clone())
            .await?;
    let revocations = Arc::new(Revocations::default());
    let fetcher = Arc::new(Fetcher::new(
        platform.db.clone(),
        revocations.clone(),
        config.revocation.clone(),
    )?);
    let held = fetcher.load_stored(&trust).await?;
    let seq = live::sync(&platform.db, &revocations, 0).await?;
    tracing::info!(
        anchors = trust.validator.trust().len(),
        crls = held,
        revocations = revocations.live_len(),
        "trust loaded"
    );
    let trust = Arc::new(RwLock::new(Arc::new(trust)));
    let validations = Arc::new(Validations::new(
        trust.clone(),
        revocations.clone(),
        fetcher.clone(),
        config.revocation.unknown,
        &config.cache,
    ));
    let ctx = Ctx {
        platform: platform.clone(),
        dev_mounts: Arc::new(DevMounts::new(config.dev_pki.mounts.clone())),
        config: Arc::new(config),
        validations,
    };
    let listener = egide_kit::server::bind(ctx.config.service.grpc.listen).await?;
    let mut routes = RoutesBuilder::default();
    routes.add_service(
        CertificateValidationServiceServer::new(api::CertvalApi::new(ctx.clone()))
            .max_decoding_message_size(ctx.config.service.grpc.max_message_bytes),
    );
    let relay = platform.relay();
    let follower = live::follow(
        platform.nats.clone(),
        platform.db.clone(),
        revocations,
        seq,
        Duration::from_secs(ctx.config.revocation.resync_secs.max(1)),
        shutdown.clone(),
    );
    let service_config = ctx.config.service.clone();
    Running::start(
        SERVICE,
        listener,
        &service_config,
        routes,
        platform.readiness(Vec::new()),
        shutdown.clone(),
        vec![
            Box::pin(relay.run(shutdown.clone())),
            Box::pin(follower),
            Box::pin(fetcher.refresh_loop(trust, shutdown.clone())),
            Box::pin(reload_on_hangup(ctx, hangups, shutdown)),
        ],
    )
    .await
}

/// Reads the trust configuration's files again on SIGHUP; a configuration that does not
/// load leaves the current one in force.
async fn reload_on_hangup(
    ctx: Ctx,
    mut hangups: tokio::signal::unix::Signal,
    shutdown: CancellationToken,
) {
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            Some(()) = hangups.recv() => match Trust::load(&ctx.config) {
                Ok(trust) => {
                    let anchors = trust.validator.trust().len();
                    ctx.validations.set_trust(trust);
                    tracing::info!(anchors, "trust reloaded");
                }
                Err(error) => tracing::error!(error = %format!("{error:#}"), "trust reload failed; the previous trust stays"),
            },
        }
    }
}
