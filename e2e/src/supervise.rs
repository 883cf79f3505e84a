//! Service processes under a tiny `sh` supervisor, in the style of `egide-testkit`.
//!
//! `kill_on_drop` alone does not cover a test process that dies from `SIGKILL` or a
//! timeout, so each service is started by `/bin/sh` whose stdin is a pipe held only by
//! the test process. The supervisor starts the service in the background (output appended
//! to its log file), prints its pid, and blocks reading the pipe. Whenever the test process
//! goes away — drop, panic, exit, `kill -9` — the kernel closes the pipe, the read returns
//! and the supervisor stops the service (`SIGTERM`, `SIGKILL` after a grace period).
//! Supervisors run in their own process group, so a terminal Ctrl-C reaches the test
//! process only. No `unsafe`: signals are sent with `kill(1)`, liveness is read from `/proc`.

use std::{
    ffi::OsString,
    io::{BufRead as _, BufReader},
    path::{Path, PathBuf},
    process::{Child, ChildStdin, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context as _, anyhow, bail};

/// Run as `sh -c SUPERVISOR egide-e2e-supervisor SIG TICKS LOG PROGRAM ARGS...`.
const SUPERVISOR: &str = r#"
sig=$1; ticks=$2; log=$3; shift 3
"$@" </dev/null >>"$log" 2>&1 &
pid=$!
echo "$pid"
exec >/dev/null
cat >/dev/null
kill -"$sig" "$pid" 2>/dev/null
n=0
while [ "$n" -lt "$ticks" ]; do
  read -r st 2>/dev/null </proc/"$pid"/stat || break
  case "$st" in *") Z "*|*") X "*) break ;; esac
  sleep 0.1
  n=$((n + 1))
done
kill -KILL "$pid" 2>/dev/null
wait "$pid"
"#;

/// What to run.
#[derive(Clone, Debug)]
pub struct Spec {
    /// The executable.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<OsString>,
    /// Environment variables set (the rest is inherited).
    pub envs: Vec<(String, String)>,
    /// Log file, appended to.
    pub log: PathBuf,
    /// Seconds between `SIGTERM` and `SIGKILL` on a graceful stop.
    pub grace_secs: u32,
}

/// A running process and its supervisor.
#[derive(Debug)]
pub struct Supervised {
    supervisor: Child,
    stdin: Option<ChildStdin>,
    pid: u32,
    finished: bool,
}

impl Supervised {
    /// Starts `spec` and returns once the supervisor reported the pid.
    pub fn spawn(spec: &Spec) -> anyhow::Result<Self> {
        use std::{io::Write as _, os::unix::process::CommandExt as _};
        let mut log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&spec.log)
            .with_context(|| format!("opening {}", spec.log.display()))?;
        let _ = writeln!(
            log,
            "==== egide-e2e: starting {} at {} ====",
            spec.program.display(),
            chrono::Utc::now().format("%H:%M:%S%.3f")
        );
        let mut cmd = Command::new("/bin/sh");
        cmd.arg("-c")
            .arg(SUPERVISOR)
            .arg("egide-e2e-supervisor")
            .arg("TERM")
            .arg((spec.grace_secs * 10).to_string())
            .arg(&spec.log)
            .arg(&spec.program)
            .args(&spec.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .process_group(0);
        for (k, v) in &spec.envs {
            cmd.env(k, v);
        }
        let mut supervisor = cmd
            .spawn()
            .with_context(|| format!("starting the supervisor of {}", spec.program.display()))?;
        let stdin = supervisor.stdin.take();
        let stdout = supervisor
            .stdout
            .take()
            .ok_or_else(|| anyhow!("supervisor stdout missing"))?;
        let mut line = String::new();
        let read = BufReader::new(stdout).read_line(&mut line);
        let Some(pid) = read.ok().and_then(|_| line.trim().parse::<u32>().ok()) else {
            drop(stdin);
            let status = supervisor.wait().ok();
            bail!(
                "{}: the supervisor reported no pid (exit {status:?})",
                spec.program.display()
            );
        };
        Ok(Self {
            supervisor,
            stdin,
            pid,
            finished: false,
        })
    }

    /// The pid of the process itself (not of its supervisor).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Whether the process runs (a zombie counts as dead).
    pub fn is_alive(&self) -> bool {
        pid_alive(self.pid)
    }

    /// `SIGKILL`, then waits until the process is gone and reaps the supervisor.
    pub fn kill9(mut self) -> anyhow::Result<()> {
        if self.is_alive() {
            signal(self.pid, "KILL")?;
            if !wait_gone(self.pid, Duration::from_secs(10)) {
                bail!("pid {} still alive 10 s after SIGKILL", self.pid);
            }
        }
        self.finish()
    }

    /// Graceful stop: `SIGTERM`, `SIGKILL` after the grace period; waits.
    pub fn stop(mut self) -> anyhow::Result<()> {
        self.finish()
    }

    fn finish(&mut self) -> anyhow::Result<()> {
        if self.finished {
            return Ok(());
        }
        self.finished = true;
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match self.supervisor.try_wait() {
                Ok(Some(_)) => break,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                _ => {
                    let _ = signal(self.pid, "KILL");
                    let _ = self.supervisor.kill();
                    let _ = self.supervisor.wait();
                    bail!("the supervisor of pid {} did not exit; killed", self.pid);
                }
            }
        }
        let _ = wait_gone(self.pid, Duration::from_secs(5));
        Ok(())
    }
}

impl Drop for Supervised {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

/// Whether `pid` exists and is not a zombie.
pub fn pid_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => match stat.rfind(')') {
            Some(i) => !matches!(
                stat[i + 1..].split_whitespace().next(),
                Some("Z" | "X") | None
            ),
            None => false,
        },
        Err(_) => false,
    }
}

/// Waits until `pid` is gone; false on timeout.
pub fn wait_gone(pid: u32, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while pid_alive(pid) {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    true
}

/// Sends `SIG<sig>` to `pid`.
pub fn signal(pid: u32, sig: &str) -> anyhow::Result<()> {
    let status = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .context("running kill")?;
    if !status.success() {
        bail!("kill -{sig} {pid} failed ({status})");
    }
    Ok(())
}

/// The resident set size of `pid` in bytes (`VmRSS` of `/proc/<pid>/status`).
pub fn rss_bytes(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    let line = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .ok_or_else(|| anyhow!("no VmRSS for pid {pid}"))?;
    let kib: u64 = line
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .with_context(|| format!("VmRSS {line:?}"))?;
    Ok(kib * 1024)
}

/// The last `max` bytes of `path` (lossy UTF-8).
pub fn tail(path: &Path, max: usize) -> String {
    let bytes = std::fs::read(path).unwrap_or_default();
    let start = bytes.len().saturating_sub(max);
    let text = String::from_utf8_lossy(&bytes[start..]).into_owned();
    if start > 0 {
        format!("…{text}")
    } else {
        text
    }
}
