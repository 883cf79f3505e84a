//! Authentication: every way in, sessions, tokens signed in Vault.
//!
//! For now the service stands on the foundation only: its own database (outbox and inbox
//! tables), NATS, Vault, gRPC health, reflection and status, graceful shutdown. Its API
//! comes with its own issue; no placeholder RPCs are served meanwhile.
#![forbid(unsafe_code)]

use egide_kit::{app::Running, config::ServiceConfig};
use tokio_util::sync::CancellationToken;

/// The service name.
pub const SERVICE: &str = "auth";

/// Default gRPC port of a local run.
pub const DEFAULT_PORT: u16 = 50062;

/// Builds and starts the service.
pub async fn build(config: ServiceConfig, shutdown: CancellationToken) -> anyhow::Result<Running> {
    egide_kit::app::start_foundation::<egide_kit::app::FoundationMigrator>(
        SERVICE, config, shutdown,
    )
    .await
}
