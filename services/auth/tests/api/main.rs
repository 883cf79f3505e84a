//! Integration tests of the auth service: real Postgres, NATS JetStream and OpenBao
//! (egide-testkit), the service built in-process by `egide_auth::build`, enrolment's
//! events published to the stream as enrolment's outbox relay would.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod accounts;

mod device_login;
mod keys;
mod revocation;
mod sessions;
