//! Enrolment: the structures, professionals and patients' wallets Égide knows, and the
//! reference directories (RPPS, FINESS, INS, rights) they are checked against.
//!
//! Every state change commits with its event (transactional outbox); mail and SMS leave
//! through their own outbox ([`messages`]).
#![forbid(unsafe_code)]

pub mod api;
pub mod authz;
pub mod card_activation;
pub mod certval;
pub mod codes;
pub mod config;
pub mod devices;
pub mod directory;
pub mod domain;
pub mod identity;
pub mod messages;
pub mod migration;
pub mod professionals;
pub mod store;
pub mod wallets;

use std::sync::Arc;

use egide_attest::{VerifyingKey, attestation::TrustedProviders};
use egide_kit::app::{Platform, Running};
use egide_proto::enrolment::v1::enrolment_service_server::EnrolmentServiceServer;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tonic::service::RoutesBuilder;

pub use config::EnrolmentConfig;

/// The service name: producer name, config prefix, log field.
pub const SERVICE: &str = "enrolment";

/// Default gRPC port of a local run.
pub const DEFAULT_PORT: u16 = 50061;

/// What every handler works with.
#[derive(Clone)]
pub struct Ctx {
    /// Connections.
    pub platform: Platform,
    /// Settings.
    pub config: Arc<EnrolmentConfig>,
    /// Identity-proofing providers' keys.
    pub providers: Arc<TrustedProviders>,
    /// Wakes the mail dispatcher.
    pub mail: Arc<Notify>,
    /// The certificate validation service (CPS cards).
    pub certval: certval::Certval,
}

impl std::fmt::Debug for Ctx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx").finish_non_exhaustive()
    }
}

impl Ctx {
    /// Records `events` in `txn`, commits, and wakes the outbox relay and the mail
    /// dispatcher (both poll anyway; waking only saves their poll interval).
    pub async fn commit(
        &self,
        txn: sea_orm::DatabaseTransaction,
        events: Vec<egide_kit::events::NewEvent>,
    ) -> Result<(), egide_kit::ApiError> {
        self.platform.commit(txn, events).await?;
        self.mail.notify_one();
        Ok(())
    }
}

/// The trusted providers of the configuration.
pub fn trusted_providers(config: &config::ProofingSettings) -> anyhow::Result<TrustedProviders> {
    let mut trusted = TrustedProviders::default();
    for (i, p) in config.providers.iter().enumerate() {
        let pem = if p.public_key_pem.trim().is_empty() {
            std::fs::read_to_string(&p.public_key_file).map_err(|e| {
                anyhow::anyhow!(
                    "proofing.providers[{i}].public_key_file {}: {e}",
                    p.public_key_file
                )
            })?
        } else {
            p.public_key_pem.clone()
        };
        let key = VerifyingKey::from_public_key_pem(&pem)
            .map_err(|e| anyhow::anyhow!("proofing.providers[{i}]: {e}"))?;
        trusted.add(&p.issuer, &p.kid, key);
    }
    Ok(trusted)
}

/// Builds and starts the service: connections, migrations, gRPC API, outbox relay, mail
/// dispatcher and the evidence retention job.
pub async fn build(
    config: EnrolmentConfig,
    shutdown: CancellationToken,
) -> anyhow::Result<Running> {
    let providers = Arc::new(trusted_providers(&config.proofing)?);
    let mesh = egide_kit::mesh::load(config.service.mesh.as_ref())?;
    let certval = certval::Certval::new(&config.certval, mesh.as_ref())?;
    let platform =
        Platform::connect::<migration::Migrator>(SERVICE, &config.service, shutdown.clone())
            .await?;
    directory::import::mark_interrupted(&platform.db).await?;
    let dispatcher = messages::Dispatcher::new(platform.db.clone(), config.mail.clone())?;
    let ctx = Ctx {
        platform: platform.clone(),
        config: Arc::new(config),
        providers,
        mail: dispatcher.waker(),
        certval,
    };
    let listener = egide_kit::server::bind(ctx.config.service.grpc.listen).await?;
    let mut routes = RoutesBuilder::default();
    routes.add_service(
        EnrolmentServiceServer::new(api::EnrolmentApi::new(ctx.clone()))
            .max_decoding_message_size(ctx.config.service.grpc.max_message_bytes),
    );
    let relay = platform.relay();
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
            Box::pin(dispatcher.run(shutdown)),
            Box::pin(wallets::retention_job(ctx)),
        ],
    )
    .await
}
