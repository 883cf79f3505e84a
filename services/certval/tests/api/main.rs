//! The certval service driven as a gRPC client, in-process, on the real test stack:
//! PostgreSQL, NATS, and OpenBao holding the dev PKI (its CRL and OCSP endpoints are the
//! ones the certificates name).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;
mod revocation;
mod validation;
