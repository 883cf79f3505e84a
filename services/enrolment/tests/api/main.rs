//! Integration tests of the enrolment service: real Postgres, NATS JetStream and OpenBao
//! (egide-testkit), the service built in-process by `egide_enrolment::build`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod events;
mod health;
mod helpers;
mod structures;
