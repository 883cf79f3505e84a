//! The gateway: the only public entry of Égide.
//!
//! It terminates TLS (HTTP/2, ALPN `h2`), routes each gRPC call to the service owning its
//! package (`/egide.<domain>.v1.…` → `<domain>`), applies a per-route deadline and a
//! message size limit, and serves its own health, reflection and status. A plain HTTP
//! listener serves `/healthz` (liveness), `/readyz` (every backend SERVING) and `/metrics`.
//!
//! Callers authenticate with a client certificate (an IGC-Santé ORG AUTH_CLI
//! certificate), validated per call by certval; the verified structure reaches the
//! backends as `x-egide-` headers (see `egide_kit::caller`), forged ones never do.
#![forbid(unsafe_code)]

mod bearer;
mod client_auth;
pub mod config;
pub mod dev_tls;
mod http_api;
mod oauth;
mod proxy;
pub mod ratelimit;
mod tls;

use std::{net::SocketAddr, process::ExitCode, sync::Arc, time::Duration};

use egide_kit::health::{Readiness, check};
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;

pub use config::GatewayConfig;

/// The service name.
pub const SERVICE: &str = "gateway";

/// A started gateway.
#[derive(Debug)]
pub struct Gateway {
    grpc_addr: SocketAddr,
    http_addr: SocketAddr,
    shutdown: CancellationToken,
    tasks: tokio::task::JoinSet<anyhow::Result<()>>,
}

impl Gateway {
    /// Binds both listeners and starts serving.
    pub async fn start(config: GatewayConfig, shutdown: CancellationToken) -> anyhow::Result<Self> {
        let mesh = egide_kit::mesh::load(config.mesh.as_ref())?;
        if mesh.is_none() {
            tracing::warn!("no [mesh] identity: the backends will see no caller");
        }
        let mut backends = Vec::new();
        for (domain, url) in &config.routes {
            let channel = egide_kit::mesh::endpoint(mesh.as_ref(), url, domain)?
                .connect_timeout(Duration::from_secs(3))
                .tcp_nodelay(true)
                .http2_keep_alive_interval(Duration::from_secs(30))
                .connect_lazy();
            backends.push((domain.clone(), channel));
        }
        let mut checks: Vec<(String, egide_kit::health::Check)> = backends
            .iter()
            .map(|(domain, channel)| (domain.clone(), backend_check(channel.clone())))
            .collect();
        let certval = backends
            .iter()
            .find(|(domain, _)| domain == "certval")
            .map(|(_, channel)| channel.clone());
        let auth = Arc::new(client_auth::ClientAuth::new(
            &config.client_auth,
            certval,
            config.nats.is_some(),
        )?);
        let tls = tls::acceptor(&config.tls, auth.asks_for_certificates())?;
        let mut nats_client = None;
        if let Some(nats) = &config.nats {
            let client = egide_kit::nats::connect(nats, SERVICE).await?;
            checks.push((
                "nats".into(),
                egide_kit::nats::readiness_check(client.clone()),
            ));
            nats_client = Some(client);
        }
        if auth.asks_for_certificates() && nats_client.is_none() {
            tracing::warn!(
                ttl_secs = config.client_auth.cache_ttl_secs,
                "no NATS: revoked client certificates are refused only once their cache entry expires"
            );
        }
        if let Some(vault) = &config.vault {
            let vault = egide_kit::vault::Vault::new(vault.clone())?;
            tokio::spawn(vault.clone().keep_session(shutdown.clone()));
            checks.push(("vault".into(), vault.readiness_check()));
        }
        let auth_route = backends
            .iter()
            .find(|(domain, _)| domain == "auth")
            .map(|(_, channel)| channel.clone());
        if auth_route.is_none() || nats_client.is_none() {
            tracing::warn!(
                "no `auth` route or no NATS: routes that need a person answer UNAVAILABLE"
            );
        }
        let jwks = Arc::new(bearer::jwks::Jwks::new(
            auth_route,
            Duration::from_secs(config.bearer.jwks_min_refetch_secs),
        ));
        let revoked = Arc::new(bearer::revoked::Revoked::default());
        let bearer = Arc::new(bearer::Bearer::new(
            &config.bearer,
            jwks.clone(),
            revoked.clone(),
            nats_client.is_some(),
        )?);
        let readiness = Readiness::new(checks);
        let router = Arc::new(
            proxy::Router::new(
                &config,
                backends,
                auth.clone(),
                bearer.clone(),
                readiness.clone(),
                shutdown.clone(),
            )
            .await?,
        );
        // Registered before anything else runs: from here on SIGHUP reloads, never kills.
        let hangups = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;

        let grpc = egide_kit::server::bind(config.grpc.listen).await?;
        let http = egide_kit::server::bind(config.http.listen).await?;
        let grpc_addr = grpc.local_addr()?;
        let http_addr = http.local_addr()?;
        tracing::info!(%grpc_addr, %http_addr, routes = ?config.routes.keys().collect::<Vec<_>>(), "gateway listening");

        let mut tasks = tokio::task::JoinSet::new();
        tasks.spawn({
            let follow = jwks.follow(
                Duration::from_secs(config.bearer.jwks_refresh_secs.max(1)),
                shutdown.clone(),
            );
            async move {
                follow.await;
                Ok(())
            }
        });
        if let Some(nats) = &nats_client {
            let stream = config
                .nats
                .as_ref()
                .map_or_else(|| "EGIDE".to_owned(), |n| n.stream.clone());
            for subject in bearer::revoked::SUBJECTS {
                let follow = revoked.clone().follow(
                    nats.clone(),
                    stream.clone(),
                    subject,
                    Duration::from_secs(config.bearer.revocation_lookback_secs),
                    shutdown.clone(),
                );
                tasks.spawn(async move {
                    follow.await;
                    Ok(())
                });
            }
        }
        tasks.spawn(reload_on_hangup(bearer, hangups, shutdown.clone()));
        if let Some(nats) = nats_client.filter(|_| auth.asks_for_certificates()) {
            tasks.spawn(client_auth::follow::follow(nats, auth, shutdown.clone()));
        }
        tasks.spawn(proxy::serve(grpc, tls, router.clone(), shutdown.clone()));
        tasks.spawn(http_api::serve(http, router, shutdown.clone()));
        tasks.spawn({
            let shutdown = shutdown.clone();
            async move {
                loop {
                    readiness.check_now().await;
                    tokio::select! {
                        _ = shutdown.cancelled() => return Ok(()),
                        _ = tokio::time::sleep(egide_kit::server::READINESS_INTERVAL) => {}
                    }
                }
            }
        });
        Ok(Self {
            grpc_addr,
            http_addr,
            shutdown,
            tasks,
        })
    }

    /// The TLS gRPC address.
    pub fn grpc_addr(&self) -> SocketAddr {
        self.grpc_addr
    }

    /// The HTTP address.
    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    /// Stops and waits.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        while let Some(r) = self.tasks.join_next().await {
            r??;
        }
        Ok(())
    }

    /// Waits until stopped (or a task fails).
    pub async fn wait(mut self) -> anyhow::Result<()> {
        while let Some(r) = self.tasks.join_next().await {
            if let Err(error) = r.map_err(anyhow::Error::from).and_then(|r| r) {
                self.shutdown.cancel();
                return Err(error);
            }
        }
        Ok(())
    }
}

/// Reads the policy file again on SIGHUP; a file that does not validate is refused (and
/// logged) and the policy in force kept.
async fn reload_on_hangup(
    bearer: Arc<bearer::Bearer>,
    mut hangups: tokio::signal::unix::Signal,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            signal = hangups.recv() => {
                if signal.is_none() {
                    return Ok(());
                }
                match bearer.reload() {
                    Ok(()) => tracing::info!("SIGHUP: policy reloaded"),
                    Err(error) => tracing::error!(error = format!("{error:#}"), "SIGHUP: policy refused; keeping the one in force"),
                }
            }
        }
    }
}

/// Writes the listening addresses to `$EGIDE_ADDR_FILE` for the supervisor, if set.
fn announce(gateway: &Gateway) -> anyhow::Result<()> {
    egide_kit::server::announce(&[("grpc", gateway.grpc_addr()), ("http", gateway.http_addr())])
        .map_err(|e| anyhow::anyhow!("cannot write ${}: {e}", egide_kit::server::ADDR_FILE_ENV))
}

fn backend_check(channel: Channel) -> egide_kit::health::Check {
    check(move || {
        let mut client = tonic_health::pb::health_client::HealthClient::new(channel.clone());
        async move {
            let answer = client
                .check(tonic_health::pb::HealthCheckRequest {
                    service: String::new(),
                })
                .await
                .map_err(|s| format!("unreachable: {}", s.message()))?;
            match answer.into_inner().status() {
                tonic_health::pb::health_check_response::ServingStatus::Serving => Ok(()),
                other => Err(other.as_str_name().to_lowercase()),
            }
        }
    })
}

/// The gateway's `main`.
pub fn main() -> ExitCode {
    let config: GatewayConfig =
        egide_kit::config::load_or_exit(SERVICE, &GatewayConfig::local_defaults());
    egide_kit::telemetry::init(SERVICE, &config.telemetry);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(error) => {
            eprintln!("egide-gateway: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let shutdown = egide_kit::shutdown::on_signal();
        let gateway = match Gateway::start(config, shutdown).await {
            Ok(gateway) => gateway,
            Err(error) => {
                tracing::error!(error = format!("{error:#}"), "gateway start-up failed");
                return ExitCode::FAILURE;
            }
        };
        let result = match announce(&gateway) {
            Ok(()) => gateway.wait().await,
            Err(error) => Err(error),
        };
        match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                tracing::error!(error = format!("{error:#}"), "gateway failed");
                ExitCode::FAILURE
            }
        }
    })
}
