//! Integration tests of the enrolment service: real Postgres, NATS JetStream and OpenBao
//! (egide-testkit), the mail and proofing simulators, the service built in-process by
//! `egide_enrolment::build`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod files;
mod helpers;
mod patient;

mod cards;
mod codes;
mod devices;
mod directory;
mod events;
mod health;
mod import_stream;
mod professionals;
mod proofing;
mod structures;
mod wallet_life;
mod wallets;
