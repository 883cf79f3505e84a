//! A JetStream-enabled `nats-server`.

use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use anyhow::{Context, Result, anyhow};

use crate::http;
use crate::ports::{self, PortLease};
use crate::process::{self, DirGuard, ServerSpec, Supervised};

/// A `nats-server` child process with JetStream enabled, listening on
/// leased loopback ports ([`PortLease`]), storing JetStream data in a private temp directory.
///
/// [`Nats::start`] after [`Nats::kill`] / [`Nats::stop`] reuses the same
/// client port, monitoring port and store directory, so JetStream streams
/// and their messages survive a restart (as on a real crash/reboot).
///
/// The binary is `EGIDE_NATS_BIN`, else `nats-server` from `PATH`, else
/// `/usr/sbin/nats-server` or `/usr/bin/nats-server`.
#[derive(Debug)]
pub struct Nats {
    spec: ServerSpec,
    port: u16,
    monitor_port: u16,
    store_dir: PathBuf,
    proc: Mutex<Option<Supervised>>,
    guard: DirGuard,
    /// Held until the server is gone for good: a restart finds its ports free.
    _leases: Vec<PortLease>,
}

impl Nats {
    /// Starts a new server and waits until it accepts clients with JetStream
    /// enabled (INFO line) and its monitoring `/healthz` answers 200.
    pub fn spawn() -> Result<Nats> {
        let bin = find_binary()?;
        let guard = DirGuard::create("nats")?;
        let root = guard.dir().to_path_buf();
        let store_dir = root.join("jetstream");
        std::fs::create_dir_all(&store_dir)
            .with_context(|| format!("creating {}", store_dir.display()))?;
        let log = root.join("nats.log");
        let spec_for = |port: u16, monitor_port: u16| ServerSpec {
            name: "nats-server",
            program: bin.clone(),
            args: args(port, monitor_port, &store_dir),
            envs: Vec::new(),
            env_remove: Vec::new(),
            cwd: root.clone(),
            log: log.clone(),
            lock: guard.lock().to_path_buf(),
            stop_signal: "TERM",
            grace_secs: 5,
        };
        let ((spec, proc), leases) = ports::retry_on_new_ports("nats-server", &[1, 1], |p| {
            let spec = spec_for(p[0], p[1]);
            let proc = launch(&spec, p[0], p[1])?;
            Ok((spec, proc))
        })?;
        let (port, monitor_port) = (leases[0].port(), leases[1].port());
        tracing::info!(port, monitor_port, "egide-testkit: nats-server ready");
        Ok(Nats {
            spec,
            port,
            monitor_port,
            store_dir,
            proc: Mutex::new(Some(proc)),
            guard,
            _leases: leases,
        })
    }

    /// Client URL, `nats://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Client port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// HTTP monitoring port (`/varz`, `/jsz`, `/healthz`, …).
    pub fn monitor_port(&self) -> u16 {
        self.monitor_port
    }

    /// HTTP monitoring base URL, `http://127.0.0.1:MONPORT`.
    pub fn monitor_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.monitor_port)
    }

    /// Private temp directory of this server (store, log); removed when the
    /// `Nats` is dropped or the test process exits.
    pub fn dir(&self) -> &Path {
        self.guard.dir()
    }

    /// JetStream store directory (kept across restarts).
    pub fn store_dir(&self) -> &Path {
        &self.store_dir
    }

    /// Server log file (stdout and stderr of every run, appended).
    pub fn log_path(&self) -> &Path {
        &self.spec.log
    }

    /// Pid of the running server, if any.
    pub fn pid(&self) -> Option<u32> {
        self.lock()
            .as_ref()
            .filter(|p| p.is_alive())
            .map(Supervised::pid)
    }

    /// Whether the server process is running.
    pub fn is_running(&self) -> bool {
        self.pid().is_some()
    }

    /// Crashes the server: `SIGKILL`, then waits until the process is gone.
    /// No-op when it is not running.
    pub fn kill(&self) -> Result<()> {
        match self.lock().take() {
            Some(p) => p.kill(),
            None => Ok(()),
        }
    }

    /// Stops the server gracefully (`SIGTERM`, `SIGKILL` after 5 s) and
    /// waits until it is gone. No-op when it is not running.
    pub fn stop(&self) -> Result<()> {
        match self.lock().take() {
            Some(p) => p.shutdown(),
            None => Ok(()),
        }
    }

    /// (Re)starts the server on the same ports and store directory and waits
    /// until it is ready. No-op when it is already running.
    pub fn start(&self) -> Result<()> {
        let mut state = self.lock();
        if let Some(p) = state.take() {
            if p.is_alive() {
                *state = Some(p);
                return Ok(());
            }
            // Crashed on its own: reap the supervisor before restarting.
            let _ = p.shutdown();
        }
        *state = Some(launch(&self.spec, self.port, self.monitor_port)?);
        Ok(())
    }

    /// [`stop`](Self::stop) then [`start`](Self::start).
    pub fn restart(&self) -> Result<()> {
        self.stop()?;
        self.start()
    }

    fn lock(&self) -> MutexGuard<'_, Option<Supervised>> {
        self.proc.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        // Fields drop afterwards; `guard` then removes the temp directory.
        let _ = self.stop();
    }
}

fn args(port: u16, monitor_port: u16, store_dir: &Path) -> Vec<OsString> {
    vec![
        "-a".into(),
        "127.0.0.1".into(),
        "-p".into(),
        port.to_string().into(),
        "-m".into(),
        monitor_port.to_string().into(),
        "-js".into(),
        "-sd".into(),
        store_dir.as_os_str().to_owned(),
    ]
}

fn launch(spec: &ServerSpec, port: u16, monitor_port: u16) -> Result<Supervised> {
    let proc = Supervised::spawn(spec)?;
    process::wait_ready(&proc, "nats-server", Duration::from_millis(25), || {
        Ok(proc.listens_on(port) && info_has_jetstream(port) && healthz_ok(monitor_port))
    })?;
    Ok(proc)
}

/// Reads the INFO line a NATS server sends on connect.
pub(crate) fn read_info(port: u16) -> Result<String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let stream = TcpStream::connect_timeout(&addr, Duration::from_millis(500))?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line)?;
    if !line.starts_with("INFO ") {
        return Err(anyhow!("unexpected greeting {line:?}"));
    }
    Ok(line)
}

fn info_has_jetstream(port: u16) -> bool {
    read_info(port)
        .map(|l| l.replace(' ', "").contains("\"jetstream\":true"))
        .unwrap_or(false)
}

fn healthz_ok(monitor_port: u16) -> bool {
    http::request(monitor_port, "GET", "/healthz", &[], None)
        .map(|r| r.status == 200)
        .unwrap_or(false)
}

fn find_binary() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("EGIDE_NATS_BIN") {
        return Ok(PathBuf::from(p));
    }
    process::which("nats-server")
        .or_else(|| {
            ["/usr/sbin/nats-server", "/usr/bin/nats-server"]
                .into_iter()
                .map(PathBuf::from)
                .find(|p| process::is_executable(p))
        })
        .ok_or_else(|| {
            anyhow!(
                "nats-server not found (set EGIDE_NATS_BIN, or install it: apt-get install nats-server)"
            )
        })
}
