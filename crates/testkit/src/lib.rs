//! Real infrastructure for Égide tests: NATS (JetStream), PostgreSQL and
//! OpenBao, started as plain child processes on leased loopback ports, each
//! in its own temp directory, and controllable for fault injection
//! (`kill` = crash with `SIGKILL`, `stop` = graceful, `start` = restart on
//! the same port and data).
//!
//! No port is ever picked by binding port 0 and handed over after closing the
//! socket: our own processes (the simulators) bind port 0 themselves and
//! report the address in a file; servers that cannot (PostgreSQL, OpenBao,
//! and NATS, which must come back on the same port after a kill) get a
//! [`PortLease`], held for their whole life, and are started again on new
//! leases when a stranger took the port first.
//!
//! ```no_run
//! let stack = egide_testkit::shared();          // started once per test binary
//! let db_url = stack.postgres.create_database("billing")?;
//! let nats_url = stack.nats.url();
//! stack.nats.kill()?;                            // crash…
//! stack.nats.start()?;                           // …and recover, same port and store
//! # anyhow::Ok(())
//! ```
//!
//! # Why plain processes
//!
//! No Docker is needed (or available on CI runners/dev boxes we target):
//! the servers are the distribution binaries (`nats-server`, PostgreSQL's
//! `initdb`/`postgres`) and OpenBao's `bao`, which start in well under a
//! couple of seconds. Processes give the tests what fault-injection needs —
//! real pids to `SIGKILL`, real ports to reconnect to, real data directories
//! that survive a restart — without any container runtime.
//!
//! # Why an `sh` supervisor
//!
//! `cargo test` runs a test binary as one process and a `static` such as
//! [`shared`] is never dropped, so `Drop` alone cannot stop servers; and a
//! test binary may die from a panic, a timeout or `kill -9`. Each server is
//! therefore launched by a tiny `/bin/sh` supervisor whose stdin is a pipe
//! held only by the test process. The supervisor starts the server, prints
//! its pid, and blocks reading that pipe. When the test process goes away
//! for *any* reason the kernel closes the pipe, the read returns, and the
//! supervisor stops the server (`SIGTERM`, or `SIGINT` = fast shutdown for
//! postgres; `SIGKILL` after a grace period) and reaps it. A second tiny
//! guard per component removes the temp directory once every server using
//! it is gone (coordinated with `flock`). All of this without `unsafe`:
//! signals are sent with the shell's `kill`, liveness is read from `/proc`.
//!
//! Supervisors run in their own process group so a terminal Ctrl-C reaches
//! the test process only; the servers are then stopped by the pipe
//! mechanism above.
//!
//! Owned components ([`Nats::spawn`], …) also stop their server and remove
//! their directory on `Drop`.
//!
//! # Environment
//!
//! | variable | effect |
//! |---|---|
//! | `EGIDE_BAO_BIN` | OpenBao binary (else `.tools/venv/bin/bao`, else `PATH`) |
//! | `EGIDE_NATS_BIN` | `nats-server` binary (else `PATH`, `/usr/sbin`, `/usr/bin`) |
//! | `EGIDE_PG_BINDIR` | PostgreSQL bin directory (else `pg_config --bindir`, `/usr/lib/postgresql/<N>/bin`, `PATH`) |
//! | `EGIDE_TEST_DATABASE_URL`, `DATABASE_URL` | use this PostgreSQL server instead of starting one |
//! | `EGIDE_TESTKIT_TMPDIR` | parent of the temp directories (default `/tmp`) |
//! | `EGIDE_TESTKIT_TIMEOUT_SECS` | readiness timeout per server (default 30) |
//! | (none) | port leases are lock files in `/tmp/egide-port-leases`, shared by every test run of the machine ([`PortLease`]) |
//! | `EGIDE_BIN_DIR` | directory of the workspace binaries ([`bin_path`]; else `$CARGO_TARGET_DIR/debug`, else `target/debug`) |
//!
//! All management calls are blocking (`std` only) and take `&self`, so they
//! work through the `&'static` [`shared`] stack, with or without a Tokio
//! runtime.
//!
//! # Simulators
//!
//! [`ProofingSim`] and [`MailSim`] start the `egide-proofing-sim` and
//! `egide-mail-sim` binaries of the `egide-sims` crate under the same
//! supervision. They must be built first: `make test` runs
//! `cargo build --bins` before the tests; by hand,
//! `cargo build -p egide-sims --bins`.

#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod http;
mod nats;
mod ports;
mod postgres;
mod process;
mod sims;

/// Any program under the same supervision as the components (dies with the test
/// process), for harnesses that start our own service binaries.
pub use process::{ServerSpec, Supervised, log_tail};
mod vault;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::thread;
use std::time::Instant;

use anyhow::{Result, anyhow};

pub use crate::nats::Nats;
/// Ports leased for servers that cannot bind port 0 and report it (see the module).
pub use crate::ports::PortLease;
pub use crate::postgres::Postgres;
/// The simulators of what is outside Égide, as child processes, and the
/// path of a workspace binary.
pub use crate::sims::{MailSim, ProofingSim, bin_dir, bin_path, binary};
pub use crate::vault::Vault;

/// The three infrastructure components Égide services need.
#[derive(Debug)]
pub struct Stack {
    /// NATS with JetStream.
    pub nats: Nats,
    /// PostgreSQL (local cluster, or external via `DATABASE_URL`).
    pub postgres: Postgres,
    /// OpenBao in dev mode.
    pub vault: Vault,
}

impl Stack {
    /// Starts NATS, PostgreSQL ([`Postgres::from_env`]) and OpenBao in
    /// parallel threads and waits until all three are ready. If one fails
    /// the others are stopped and all errors are reported.
    pub fn start() -> Result<Stack> {
        let started = Instant::now();
        let (nats, postgres, vault) = thread::scope(|s| {
            let n = s.spawn(Nats::spawn);
            let p = s.spawn(Postgres::from_env);
            let v = s.spawn(Vault::spawn);
            (join(n, "nats"), join(p, "postgres"), join(v, "bao"))
        });
        match (nats, postgres, vault) {
            (Ok(nats), Ok(postgres), Ok(vault)) => {
                tracing::info!(elapsed = ?started.elapsed(), "egide-testkit: stack ready");
                Ok(Stack {
                    nats,
                    postgres,
                    vault,
                })
            }
            (n, p, v) => {
                let errors: Vec<String> = [
                    n.err().map(|e| format!("nats: {e:#}")),
                    p.err().map(|e| format!("postgres: {e:#}")),
                    v.err().map(|e| format!("bao: {e:#}")),
                ]
                .into_iter()
                .flatten()
                .collect();
                Err(anyhow!(
                    "test stack failed to start:\n{}",
                    errors.join("\n")
                ))
            }
        }
    }
}

fn join<T>(h: thread::ScopedJoinHandle<'_, Result<T>>, what: &str) -> Result<T> {
    h.join()
        .map_err(|_| anyhow!("{what}: startup thread panicked"))?
}

/// The process-wide test stack, started on first use (about 1–2 s) and shared
/// by all tests of the test binary. Its servers stop when the process exits.
///
/// Tests sharing it should isolate themselves: a fresh database via
/// [`Postgres::create_database`], unique NATS subjects/streams, unique Vault
/// paths. Tests that kill or seal components should use their own
/// components ([`Nats::spawn`], …) instead.
///
/// # Panics
///
/// Panics with the startup error (including server log tails) if the stack
/// cannot start; every later call panics with the same message.
pub fn shared() -> &'static Stack {
    static SHARED: OnceLock<Result<Stack, String>> = OnceLock::new();
    match SHARED.get_or_init(|| Stack::start().map_err(|e| format!("{e:#}"))) {
        Ok(stack) => stack,
        Err(e) => panic!("egide-testkit: cannot start the shared test stack: {e}"),
    }
}

/// The workspace root: the nearest ancestor of this crate's manifest
/// directory containing `Cargo.lock` or `.git`.
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .find(|d| d.join("Cargo.lock").exists() || d.join(".git").exists())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| {
            manifest
                .ancestors()
                .nth(2)
                .unwrap_or(manifest)
                .to_path_buf()
        })
}

/// Polls `probe` every 100 ms until it returns `Some`, and panics after `within` naming
/// `what`: the one way tests wait for something asynchronous to happen.
pub async fn eventually<T, F, Fut>(within: std::time::Duration, what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = std::time::Instant::now() + within;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out after {within:?} waiting for {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
