//! The simulators of `egide-sims` (identity-proofing provider, SMTP relay)
//! as supervised child processes, and where to find Égide's binaries.
//!
//! The binaries must have been built: `cargo build --bins` (what `make test`
//! does before running the tests) or `cargo build -p egide-sims --bins`.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};

use crate::process::{ServerSpec, Supervised, wait_ready};

/// The directory of the workspace's binaries: `$EGIDE_BIN_DIR`, else
/// `$CARGO_TARGET_DIR/debug` (relative to the workspace root if relative), else
/// `<workspace>/target/debug`.
pub fn bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("EGIDE_BIN_DIR") {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        let dir = PathBuf::from(dir);
        let dir = if dir.is_absolute() {
            dir
        } else {
            crate::workspace_root().join(dir)
        };
        return dir.join("debug");
    }
    crate::workspace_root().join("target/debug")
}

/// The path of binary `name` in `dir`, or an error telling how to build it.
pub fn binary(dir: &std::path::Path, name: &str) -> Result<PathBuf> {
    let path = dir.join(name);
    if path.is_file() {
        Ok(path)
    } else {
        bail!(
            "{} not found: run `cargo build --bins` first (or set EGIDE_BIN_DIR to the directory of the egide-* binaries)",
            path.display()
        )
    }
}

/// The path of the workspace binary `name` in [`bin_dir`].
pub fn bin_path(name: &str) -> Result<PathBuf> {
    binary(&bin_dir(), name)
}

/// Starts `name` with `args(addr_file)` under a supervisor; the simulator binds port 0
/// itself and writes the address it got to `<dir>/<name>.addr`, which is waited for.
fn launch(
    name: &'static str,
    dir: &Path,
    args: impl Fn(&Path) -> Vec<OsString>,
) -> Result<(Supervised, SocketAddr)> {
    let program = bin_path(name)?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let addr_file = dir.join(format!("{name}.addr"));
    let _ = std::fs::remove_file(&addr_file);
    let mut full = vec![OsString::from("--listen"), OsString::from("127.0.0.1:0")];
    full.extend(args(&addr_file));
    let spec = ServerSpec {
        name,
        program,
        args: full,
        envs: Vec::new(),
        env_remove: Vec::new(),
        cwd: dir.to_path_buf(),
        log: dir.join(format!("{name}.log")),
        lock: dir.join("supervisors.lock"),
        stop_signal: "TERM",
        grace_secs: 5,
    };
    let proc = Supervised::spawn(&spec)?;
    let mut addr = None;
    wait_ready(&proc, name, Duration::from_millis(20), || {
        // Written (atomically) once the listener is bound.
        addr = egide_sims::read_addr_file(&addr_file)
            .with_context(|| format!("reading {}", addr_file.display()))?;
        Ok(addr.is_some())
    })?;
    let addr = addr.ok_or_else(|| anyhow!("{name}: no address in {}", addr_file.display()))?;
    tracing::info!(%addr, "egide-testkit: {name} ready");
    Ok((proc, addr))
}

fn os(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Vec<OsString> {
    args.iter().map(|a| a.as_ref().to_os_string()).collect()
}

/// `egide-proofing-sim` (the identity-proofing provider simulator) running
/// on a loopback port, stopped on drop or when the test process ends.
///
/// Its signing key is `<dir>/proofing-sim-key.pem` (generated on first
/// start, reused by a later spawn on the same `dir`), its public key
/// `<dir>/proofing-sim.pub.pem`, its log `<dir>/egide-proofing-sim.log`.
#[derive(Debug)]
pub struct ProofingSim {
    proc: Supervised,
    addr: SocketAddr,
    public_key_pem: String,
}

impl ProofingSim {
    /// The simulator's issuer (`iss`), its default.
    pub const ISSUER: &'static str = "https://proofing-sim.egide.test";
    /// The simulator's key id (`kid`), its default.
    pub const KID: &'static str = "sim-1";

    /// Starts the simulator with its files in `dir` (created if missing)
    /// and waits until it accepts connections.
    pub fn spawn(dir: &Path) -> Result<ProofingSim> {
        let key = dir.join("proofing-sim-key.pem");
        let public = dir.join("proofing-sim.pub.pem");
        let (proc, addr) = launch("egide-proofing-sim", dir, |addr_file| {
            os(&[
                &"--addr-file",
                &addr_file,
                &"--issuer",
                &Self::ISSUER,
                &"--kid",
                &Self::KID,
                &"--key",
                &key,
                &"--public-key-out",
                &public,
            ])
        })?;
        let public_key_pem = std::fs::read_to_string(&public)
            .with_context(|| format!("reading {}", public.display()))?;
        Ok(ProofingSim {
            proc,
            addr,
            public_key_pem,
        })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where to `POST` attestation requests (`<url>/v1/attestations`).
    pub fn attestation_url(&self) -> String {
        format!("{}/v1/attestations", self.url())
    }

    /// The signing key's SubjectPublicKeyInfo PEM (what Égide must trust).
    pub fn public_key_pem(&self) -> &str {
        &self.public_key_pem
    }

    /// The issuer (`iss`) of its attestations.
    pub fn issuer(&self) -> &'static str {
        Self::ISSUER
    }

    /// The key id (`kid`) of its attestations.
    pub fn kid(&self) -> &'static str {
        Self::KID
    }

    /// The simulator process (pid, log, liveness).
    pub fn process(&self) -> &Supervised {
        &self.proc
    }
}

/// `egide-mail-sim` (the SMTP relay simulator) running on a loopback port,
/// capturing messages into `<dir>/mailbox`; stopped on drop or when the
/// test process ends. Read the captures with `egide_sims::mailbox::Mailbox`.
#[derive(Debug)]
pub struct MailSim {
    proc: Supervised,
    addr: SocketAddr,
    mailbox: PathBuf,
}

impl MailSim {
    /// Starts the simulator with its files in `dir` (created if missing)
    /// and waits until it accepts connections.
    pub fn spawn(dir: &Path) -> Result<MailSim> {
        let mailbox = dir.join("mailbox");
        let (proc, addr) = launch("egide-mail-sim", dir, |addr_file| {
            os(&[&"--addr-file", &addr_file, &"--dir", &mailbox])
        })?;
        Ok(MailSim {
            proc,
            addr,
            mailbox,
        })
    }

    /// The SMTP address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The SMTP port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `smtp://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    /// The directory the captured `.eml` files are written to.
    pub fn mailbox(&self) -> &Path {
        &self.mailbox
    }

    /// The simulator process (pid, log, liveness).
    pub fn process(&self) -> &Supervised {
        &self.proc
    }
}
