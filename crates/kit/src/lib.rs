//! What every Égide service shares, so that a service's own code is only its domain.
//!
//! - [`config`]: typed, layered configuration (defaults → file → `EGIDE_<SERVICE>__…`
//!   environment), exit code 64 on a bad configuration.
//! - [`telemetry`]: one tracing setup, JSON in production, readable in development.
//! - [`error`]: the single mapping from service errors to `tonic::Status`, with stable
//!   error codes and `BadRequest` field violations.
//! - [`server`]: the gRPC server with health (NOT_SERVING until Postgres, NATS and Vault
//!   answer), reflection and graceful shutdown.
//! - [`db`]: Postgres connection and migrations at start.
//! - [`events`], [`outbox`], [`consumer`]: the event envelope, the transactional outbox and
//!   its relay to JetStream, and durable consumers with an inbox.
//! - [`vault`]: Vault/OpenBao access (AppRole, Kubernetes or token auth; transit sign/verify).
//! - [`caller`]: the structure the gateway authenticated by its client certificate.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod app;
pub mod caller;
pub mod config;
pub mod consumer;
pub mod db;
pub mod error;
pub mod events;
pub mod health;
pub mod jwks;
pub mod mesh;
pub mod nats;
pub mod outbox;
pub mod server;
pub mod shutdown;
pub mod telemetry;
pub mod vault;

pub use error::{ApiError, FieldViolation};
