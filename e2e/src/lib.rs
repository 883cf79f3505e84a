//! End-to-end harness of Égide: real service processes (the `egide-*` binaries) over real
//! NATS, PostgreSQL and OpenBao, with fault injection.
//!
//! A [`Platform`] belongs to one test: its own NATS (tests kill it), databases on the
//! shared PostgreSQL (or its own), the shared Vault (or its own, to seal or kill it), and
//! the service processes, each on a free loopback port, logging to a temp directory whose
//! tails are attached to every failed wait. Processes run under a small `sh` supervisor
//! (see [`supervise`]) so that they die with the test process, however it dies.
//!
//! The binaries come from `$EGIDE_BIN_DIR`, else `<workspace>/target/debug`: run
//! `cargo build --bins` first (`make test` does).
#![forbid(unsafe_code)]

pub mod directory;
pub mod load;
pub mod platform;
pub mod supervise;

pub use platform::{Options, Platform, Service, TempDir, bin_dir, binary, blocking};
