//! Simulators of what is outside Égide, for development, demos and tests.
//! Each is a real server process speaking a real protocol, so that Égide
//! talks to it exactly as it will talk to the real thing; each says it is a
//! simulator in its name, its banner and its answers.
//!
//! | binary | simulates | protocol | library |
//! |---|---|---|---|
//! | `egide-proofing-sim` | a France Identité-like identity-proofing provider | HTTP/1.1 + JSON, signed [`egide_attest::attestation`]s | [`proofing`] |
//! | `egide-mail-sim` | the SMTP relay Égide's mailer sends through | SMTP (RFC 5321), messages captured as `.eml` files | [`smtp`], read back with [`mailbox`] |
//!
//! Both binaries take `--listen ADDR` (port 0 picks a free port), print
//! `listening on ADDR` as their first stdout line once bound, write the same
//! address to `--addr-file FILE` if given (atomically: the file appears
//! complete or not at all), log to stderr, and stop cleanly on `SIGTERM` or
//! Ctrl-C. A bad command line exits with status 64 before binding anything.
//!
//! Tests start them as processes through `egide_testkit::ProofingSim` and
//! `egide_testkit::MailSim`, or in-process with the `serve` functions here
//! on a port-0 listener.

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod http;
pub mod mailbox;
mod mime;
pub mod proofing;
pub mod smtp;

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::Path;

/// Exit status for a bad command line or configuration (`EX_USAGE`).
pub const EXIT_USAGE: u8 = 64;

/// Announces the bound address: `listening on ADDR` as a line on stdout
/// (flushed), and `ADDR` plus a newline in `addr_file` if given, written to
/// a temporary file renamed into place.
pub fn announce(addr: SocketAddr, addr_file: Option<&Path>) -> std::io::Result<()> {
    if let Some(path) = addr_file {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        let tmp = path.with_file_name(format!(".{}.tmp", name.unwrap_or_default()));
        std::fs::write(&tmp, format!("{addr}\n"))?;
        std::fs::rename(&tmp, path)?;
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "listening on {addr}")?;
    out.flush()
}

/// The address [`announce`] wrote to `path`, or `None` while the file does not exist.
pub fn read_addr_file(path: &Path) -> std::io::Result<Option<SocketAddr>> {
    match std::fs::read_to_string(path) {
        Ok(text) => text.trim().parse().map(Some).map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{}: not an address: {text:?}", path.display()),
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Resolves when the process receives `SIGTERM` or `SIGINT` (Ctrl-C).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

/// Logs to stderr, filtered by `RUST_LOG` (default `info`); colours only on a
/// terminal.
pub fn init_logging() {
    use std::io::IsTerminal as _;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .try_init();
}
