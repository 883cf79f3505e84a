//! The start-up sequence every backend service shares (style: thin `main.rs`, testable
//! `lib.rs`): configuration → telemetry → Postgres (+ migrations) → NATS → Vault →
//! gRPC server with health, reflection and status → run until SIGTERM → drain.

use std::{future::Future, net::SocketAddr, process::ExitCode};

use sea_orm::DatabaseConnection;
use sea_orm_migration::MigratorTrait;
use tokio::{net::TcpListener, task::JoinSet};
use tokio_util::sync::CancellationToken;
use tonic::service::RoutesBuilder;

use crate::{
    config::ServiceConfig,
    health::{Check, Readiness},
    outbox::{Outbox, Relay},
    vault::Vault,
};

/// The connections a service's domain code works with.
#[derive(Clone, Debug)]
pub struct Platform {
    /// The service name, e.g. `"enrolment"`.
    pub service: &'static str,
    /// The service's own database.
    pub db: DatabaseConnection,
    /// NATS (JetStream through `async_nats::jetstream::new`).
    pub nats: async_nats::Client,
    /// The event stream name.
    pub stream: String,
    /// Vault/OpenBao.
    pub vault: Vault,
    /// The service's outbox.
    pub outbox: Outbox,
    /// Cancelled on shutdown.
    pub shutdown: CancellationToken,
}

impl Platform {
    /// Records `events` in `txn` (the outbox), commits, and wakes the outbox relay (it
    /// polls anyway; waking only saves its poll interval).
    pub async fn commit(
        &self,
        txn: sea_orm::DatabaseTransaction,
        events: Vec<crate::events::NewEvent>,
    ) -> Result<(), crate::ApiError> {
        if !events.is_empty() {
            self.outbox.enqueue_many(&txn, events).await?;
        }
        txn.commit().await?;
        self.outbox.wake();
        Ok(())
    }

    /// Connects to Postgres (waiting up to a minute for it), applies `M`'s migrations,
    /// connects to NATS and Vault (both in the background: the service starts, NOT_SERVING,
    /// while they are down).
    pub async fn connect<M: MigratorTrait>(
        service: &'static str,
        config: &ServiceConfig,
        shutdown: CancellationToken,
    ) -> anyhow::Result<Self> {
        let db =
            crate::db::connect_with_retry(&config.database, std::time::Duration::from_secs(60))
                .await?;
        crate::db::migrate::<M>(&config.database).await?;
        let nats = crate::nats::connect(&config.nats, service).await?;
        let vault = Vault::new(config.vault.clone())?;
        tokio::spawn(vault.clone().keep_session(shutdown.clone()));
        Ok(Self {
            service,
            db,
            nats,
            stream: config.nats.stream.clone(),
            vault,
            outbox: Outbox::new(service),
            shutdown,
        })
    }

    /// Readiness over Postgres, NATS and Vault, plus `extra` checks.
    pub fn readiness(&self, extra: Vec<(String, Check)>) -> Readiness {
        let mut checks = vec![
            (
                "postgres".to_owned(),
                crate::db::readiness_check(self.db.clone()),
            ),
            (
                "nats".to_owned(),
                crate::nats::readiness_check(self.nats.clone()),
            ),
            ("vault".to_owned(), self.vault.readiness_check()),
        ];
        checks.extend(extra);
        Readiness::new(checks)
    }

    /// The outbox relay of this service.
    pub fn relay(&self) -> Relay {
        Relay::new(
            self.db.clone(),
            self.nats.clone(),
            &self.stream,
            self.outbox.clone(),
        )
    }
}

/// A started service: its address, its background tasks and how to stop it.
#[derive(Debug)]
pub struct Running {
    addr: SocketAddr,
    shutdown: CancellationToken,
    tasks: JoinSet<anyhow::Result<()>>,
}

impl Running {
    /// Serves `routes` (plus health, reflection, status) on `listener`, over the mesh of
    /// `config` if it has one (and its health probe listener), and runs `tasks` beside the
    /// server; everything stops on `shutdown`.
    pub async fn start(
        service: &'static str,
        listener: TcpListener,
        config: &ServiceConfig,
        routes: RoutesBuilder,
        readiness: Readiness,
        shutdown: CancellationToken,
        tasks: Vec<std::pin::Pin<Box<dyn Future<Output = ()> + Send>>>,
    ) -> anyhow::Result<Self> {
        let addr = listener.local_addr()?;
        let mesh = crate::mesh::load(config.mesh.as_ref())?;
        let probe = match config.grpc.probe_listen {
            Some(addr) => Some(crate::server::bind(addr).await?),
            None => None,
        };
        let mut set = JoinSet::new();
        set.spawn(crate::server::serve(
            service,
            listener,
            mesh,
            probe,
            routes,
            readiness,
            shutdown.clone(),
        ));
        for task in tasks {
            set.spawn(async move {
                task.await;
                Ok(())
            });
        }
        Ok(Self {
            addr,
            shutdown,
            tasks: set,
        })
    }

    /// The gRPC address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The shutdown token (cancel it to stop the service).
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Waits until the service stops: on shutdown, or when any task fails (then the
    /// others are stopped too). Returns the first failure.
    pub async fn wait(mut self) -> anyhow::Result<()> {
        let mut first_error = None;
        while let Some(joined) = self.tasks.join_next().await {
            let result = joined.map_err(anyhow::Error::from).and_then(|r| r);
            if let Err(error) = result {
                tracing::error!(%error, "service task failed; stopping");
                first_error.get_or_insert(error);
                self.shutdown.cancel();
            } else if !self.shutdown.is_cancelled() {
                // A task ended on its own: stop the rest rather than limp on.
                self.shutdown.cancel();
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Stops the service and waits for it.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        self.wait().await
    }
}

/// The whole `main` of a backend service: loads `ServiceConfig` for `service` over local
/// defaults (gRPC on `default_port`), validates it (exit 64), initialises telemetry,
/// builds the service with `build` and runs it until SIGTERM/SIGINT.
pub fn main<F, Fut>(service: &'static str, default_port: u16, build: F) -> ExitCode
where
    F: FnOnce(ServiceConfig, CancellationToken) -> Fut,
    Fut: Future<Output = anyhow::Result<Running>>,
{
    main_with(service, ServiceConfig::local_defaults(default_port), build)
}

/// [`main`] for a service with settings of its own: `C` holds a [`ServiceConfig`]
/// (usually `#[serde(flatten)]`ed) beside them, and `defaults` gives every default.
pub fn main_with<C, F, Fut>(service: &'static str, defaults: C, build: F) -> ExitCode
where
    C: serde::Serialize + serde::de::DeserializeOwned + AsRef<ServiceConfig>,
    F: FnOnce(C, CancellationToken) -> Fut,
    Fut: Future<Output = anyhow::Result<Running>>,
{
    let config: C = crate::config::load_flattened_or_exit(service, &defaults);
    config.as_ref().validate_or_exit(service);
    crate::telemetry::init(service, &config.as_ref().telemetry);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(error) => {
            eprintln!("egide-{service}: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let shutdown = crate::shutdown::on_signal();
        let grace = config.as_ref().shutdown_grace();
        let running = match build(config, shutdown.clone()).await {
            Ok(running) => running,
            Err(error) => {
                tracing::error!(error = format!("{error:#}"), "start-up failed");
                return ExitCode::FAILURE;
            }
        };
        if let Err(error) = crate::server::announce(&[("grpc", running.local_addr())]) {
            tracing::error!(%error, "cannot write ${}", crate::server::ADDR_FILE_ENV);
            return ExitCode::FAILURE;
        }
        let result = running.wait();
        tokio::pin!(result);
        let outcome = tokio::select! {
            r = &mut result => r,
            () = async { shutdown.cancelled().await; tokio::time::sleep(grace).await } => {
                tracing::warn!(?grace, "shutdown grace period over; exiting");
                Ok(())
            }
        };
        match outcome {
            Ok(()) => {
                tracing::info!("stopped");
                ExitCode::SUCCESS
            }
            Err(error) => {
                tracing::error!(error = format!("{error:#}"), "stopped on error");
                ExitCode::FAILURE
            }
        }
    })
}

/// Starts a service that has no API of its own yet: its database (with the outbox),
/// NATS, Vault, health, reflection, status and the outbox relay.
pub async fn start_foundation<M: MigratorTrait>(
    service: &'static str,
    config: ServiceConfig,
    shutdown: CancellationToken,
) -> anyhow::Result<Running> {
    let platform = Platform::connect::<M>(service, &config, shutdown.clone()).await?;
    let listener = crate::server::bind(config.grpc.listen).await?;
    let relay = platform.relay();
    Running::start(
        service,
        listener,
        &config,
        RoutesBuilder::default(),
        platform.readiness(Vec::new()),
        shutdown.clone(),
        vec![Box::pin(relay.run(shutdown))],
    )
    .await
}

/// The migrator of a service whose schema is only the kit's outbox and inbox.
#[derive(Debug)]
pub struct FoundationMigrator;

impl MigratorTrait for FoundationMigrator {
    fn migrations() -> Vec<Box<dyn sea_orm_migration::MigrationTrait>> {
        crate::outbox::migrations()
    }
}
