//! Integration tests of the gateway: enrolment and audit run in-process on the real test
//! stack (egide-testkit), the gateway in front of them with a development certificate, and
//! clients connect over TLS as a hospital's software would. The client-certificate tests
//! run a real certval trusting a test IGC-Santé hierarchy.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bearer;
mod client_auth;
mod health;
mod helpers;
mod mtls;
mod pki;
mod routing;
