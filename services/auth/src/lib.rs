//! Authentication: the ways in, the sessions they open, tokens signed in Vault.
//!
//! * [`readmodel`] follows enrolment's events into auth's own tables: which device keys
//!   may log in for which wallet or professional, and whether those are live; when one
//!   stops being live its sessions are revoked at once (`egide.auth.session.revoked`).
//! * [`login`] holds the means; each ends in [`sessions::insert`].
//! * [`tokens`] builds RFC 9068 access tokens and OIDC ID tokens and has Vault transit
//!   sign them, batched ([`tokens::signer`]); [`tokens::keys`] follows key rotations.
//!
//! docs/auth.md describes the means, the messages devices sign and the token format.
#![forbid(unsafe_code)]

pub mod accounts;
pub mod api;
pub mod config;
pub mod login;
pub mod migration;
pub mod peers;
pub mod readmodel;
pub mod sessions;
pub mod tokens;

use std::{sync::Arc, time::Duration};

use egide_kit::{
    app::{Platform, Running},
    consumer::{ConsumerSpec, Dedupe},
};
use egide_proto::auth::v1::auth_service_server::AuthServiceServer;
use tokio_util::sync::CancellationToken;
use tonic::service::RoutesBuilder;

pub use config::AuthConfig;

/// The service name.
pub const SERVICE: &str = "auth";

/// Default gRPC port of a local run.
pub const DEFAULT_PORT: u16 = 50062;

/// What the handlers share.
#[derive(Clone, Debug)]
pub struct Ctx {
    pub platform: Platform,
    pub config: Arc<AuthConfig>,
    pub issuer: tokens::Issuer,
    pub hasher: accounts::Hasher,
    pub peers: peers::Peers,
}

impl Ctx {
    /// The access token lifetime (revoked sessions are remembered this long).
    pub fn access_ttl(&self) -> Duration {
        self.config.tokens.access_ttl()
    }
}

/// Builds and starts the service: connections, migrations, the enrolment read model, the
/// signing key and signer, the gRPC API.
pub async fn build(config: AuthConfig, shutdown: CancellationToken) -> anyhow::Result<Running> {
    if let Err(problems) = config.validate() {
        anyhow::bail!("invalid configuration: {}", problems.join("; "));
    }
    let platform =
        Platform::connect::<migration::Migrator>(SERVICE, &config.service, shutdown.clone())
            .await?;
    let t = &config.tokens;
    let keys = tokens::keys::Keys::default();
    // A retired key stays published while a token it signed may live, plus the time
    // every replica takes to notice a rotation.
    let keep_for =
        Duration::from_secs(t.access_ttl_secs.max(t.id_ttl_secs) + 2 * t.key_refresh_secs + 60);
    let follow_keys = keys.clone().follow(
        platform.vault.clone(),
        t.signing_key.clone(),
        Duration::from_secs(t.key_refresh_secs.max(1)),
        keep_for,
        shutdown.clone(),
    );
    let signer = tokens::signer::Signer::start(
        platform.vault.clone(),
        t.signing_key.clone(),
        t.sign_batch_max,
        t.sign_concurrency,
        shutdown.clone(),
    );
    let issuer = tokens::Issuer::new(t.clone(), keys.clone(), signer);
    let hasher = accounts::Hasher::new(&config.accounts)?;
    let mesh = egide_kit::mesh::load(config.service.mesh.as_ref())?;
    let peers = peers::Peers::new(&config.peers, mesh.as_ref())?;
    let ctx = Ctx {
        platform: platform.clone(),
        config: Arc::new(config),
        issuer,
        hasher,
        peers: peers.clone(),
    };
    // Once, beside the service (a task of `Running` that ends would stop the service).
    tokio::spawn({
        let ctx = ctx.clone();
        async move {
            if let Err(error) = accounts::bootstrap(&ctx).await {
                tracing::error!(error = format!("{error:#}"), "first operator not created");
            }
        }
    });
    let listener = egide_kit::server::bind(ctx.config.service.grpc.listen).await?;
    let mut routes = RoutesBuilder::default();
    routes.add_service(
        AuthServiceServer::new(api::AuthApi::new(ctx.clone()))
            .max_decoding_message_size(ctx.config.service.grpc.max_message_bytes),
    );
    let read_model = egide_kit::consumer::run(
        platform.db.clone(),
        platform.nats.clone(),
        platform.stream.clone(),
        ConsumerSpec {
            durable: ctx.config.consumer.clone(),
            filter: readmodel::FILTER.into(),
            max_batch: 500,
            dedupe: Dedupe::Inbox,
        },
        readmodel::ReadModel::new(platform.outbox.clone(), ctx.access_ttl(), peers),
        shutdown.clone(),
    );
    let key_check = {
        let keys = keys.clone();
        egide_kit::health::check(move || {
            let ready = keys.current().is_some();
            async move {
                if ready {
                    Ok(())
                } else {
                    Err("token signing key not read yet".to_owned())
                }
            }
        })
    };
    let relay = platform.relay();
    let service_config = ctx.config.service.clone();
    Running::start(
        SERVICE,
        listener,
        &service_config,
        routes,
        platform.readiness(vec![("signing_key".to_owned(), key_check)]),
        shutdown.clone(),
        vec![
            Box::pin(relay.run(shutdown)),
            Box::pin(read_model),
            Box::pin(follow_keys),
            Box::pin(login::prune_challenges(ctx)),
        ],
    )
    .await
}
