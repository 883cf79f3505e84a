//! End-to-end harness of Égide: real service processes (the `egide-*` binaries) over real
//! NATS, PostgreSQL and OpenBao, with fault injection.
//!
//! A [`Platform`] belongs to one test: its own NATS (tests kill it), databases on the
//! shared PostgreSQL (or its own), the shared Vault (or its own, to seal or kill it), and
//! the service processes, each on a leased loopback port (see `egide_testkit::PortLease`), logging to a temp directory whose
//! tails are attached to every failed wait. Processes run under a small `sh` supervisor
//! (see [`supervise`]) so that they die with the test process, however it dies.
//!
//! A platform with enrolment also gets the simulators of what lies outside Égide (an SMTP
//! relay, an identity-proofing provider, see [`Sims`]), the Vault transit key its wallets
//! digest INS with, and a configuration file trusting the simulated provider: a patient
//! enrols end to end ([`patient`]).
//!
//! The binaries come from `$EGIDE_BIN_DIR`, else `<workspace>/target/debug`: run
//! `cargo build --bins` first (`make test` does).
#![forbid(unsafe_code)]

pub mod authbench;
pub mod certbench;
pub mod dev_up;
pub mod directory;
pub mod http;
pub mod load;
pub mod patient;
pub mod pki;
pub mod platform;
pub mod supervise;

pub use platform::{Options, Platform, Service, Sims, TempDir, bin_dir, binary, blocking};
