//! Integration tests of the audit service: real Postgres, NATS JetStream and OpenBao
//! (egide-testkit), the service built in-process by `egide_audit::build`, events published
//! straight to JetStream as a producer would.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod gaps;
mod helpers;
mod ingest;
mod list;
