//! Child-process plumbing: the `sh` supervisor, the temp-dir cleanup guard and
//! small `/proc` helpers.
//!
//! Nothing here needs `unsafe`: signals are sent with the shell's `kill`
//! builtin, liveness is read from `/proc/<pid>/stat`.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::DirBuilderExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};

/// The supervisor script, run as `sh -c SUPERVISOR egide-supervisor SIG TICKS LOG LOCK PROGRAM ARGS...`.
///
/// * takes a shared `flock` on `LOCK` (fd 9, inherited by the server) so the
///   cleanup guard never deletes the directory under a live server;
/// * starts the server in the background with its output appended to `LOG`;
/// * prints the server pid on its first stdout line;
/// * blocks in `cat` on its stdin, a pipe whose only writer is the test
///   process: when that process closes it (drop, exit, panic, `kill -9`),
///   `cat` returns, the server gets `SIG`, then `SIGKILL` after `TICKS`
///   tenths of a second, and is reaped.
const SUPERVISOR: &str = r#"
sig=$1; ticks=$2; log=$3; lock=$4; shift 4
exec 9>>"$lock" || exit 97
flock -s 9 || exit 98
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

/// The cleanup guard script, run as `sh -c CLEANUP egide-cleanup LOCK DIR`:
/// waits for its stdin pipe to close, then for every supervisor/server that
/// holds the shared lock to be gone, then removes the directory.
const CLEANUP: &str = r#"
cat >/dev/null
exec flock -x -w 60 "$1" rm -rf -- "$2"
"#;

/// Everything needed to (re)start one server process under a supervisor.
#[derive(Debug, Clone)]
pub struct ServerSpec {
    /// Human name used in messages (`nats-server`, `postgres`, `bao`).
    pub name: &'static str,
    /// Executable, possibly a wrapper such as `setpriv`.
    pub program: PathBuf,
    /// Arguments.
    pub args: Vec<OsString>,
    /// Extra environment variables.
    pub envs: Vec<(OsString, OsString)>,
    /// Environment variables to remove.
    pub env_remove: Vec<&'static str>,
    /// Working directory.
    pub cwd: PathBuf,
    /// Log file (appended to) for the server's stdout and stderr.
    pub log: PathBuf,
    /// Lock file shared with the cleanup guard.
    pub lock: PathBuf,
    /// Signal name used for a graceful stop (`TERM`, `INT`).
    pub stop_signal: &'static str,
    /// Seconds between the graceful signal and `SIGKILL`.
    pub grace_secs: u32,
}

/// A server process running under an `sh` supervisor.
#[derive(Debug)]
pub struct Supervised {
    name: &'static str,
    child: Child,
    stdin: Option<ChildStdin>,
    pid: u32,
    grace: Duration,
    log: PathBuf,
    log_offset: u64,
    finished: bool,
}

impl Supervised {
    /// Starts the supervisor and returns once it has reported the server pid.
    pub fn spawn(spec: &ServerSpec) -> Result<Self> {
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&spec.log)
            .with_context(|| format!("opening log file {}", spec.log.display()))?;
        let log_offset = log.seek(SeekFrom::End(0)).unwrap_or(0);
        let _ = writeln!(
            log,
            "==== egide-testkit: starting {} {} ====",
            spec.program.display(),
            spec.args
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join(" ")
        );

        let mut cmd = Command::new("/bin/sh");
        cmd.arg("-c")
            .arg(SUPERVISOR)
            .arg("egide-supervisor")
            .arg(spec.stop_signal)
            .arg((spec.grace_secs * 10).to_string())
            .arg(&spec.log)
            .arg(&spec.lock)
            .arg(&spec.program)
            .args(&spec.args)
            .current_dir(&spec.cwd)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            // Own process group: a terminal Ctrl-C hits the test process only;
            // the supervisor then sees its pipe close and stops the server.
            .process_group(0);
        for key in &spec.env_remove {
            cmd.env_remove(key);
        }
        for (k, v) in &spec.envs {
            cmd.env(k, v);
        }
        let mut child = cmd
            .spawn()
            .with_context(|| format!("spawning the supervisor for {}", spec.name))?;
        let stdin = child.stdin.take();
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| anyhow!("supervisor stdout missing"))?;
        let mut line = String::new();
        let read = BufReader::new(stdout).read_line(&mut line);
        let pid = match read.ok().and_then(|_| line.trim().parse::<u32>().ok()) {
            Some(pid) => pid,
            None => {
                drop(stdin);
                let status = child.wait().ok();
                bail!(
                    "{}: supervisor did not report a pid (exit status {:?}); log {}:\n{}",
                    spec.name,
                    status,
                    spec.log.display(),
                    log_tail(&spec.log, log_offset)
                );
            }
        };
        tracing::debug!(server = spec.name, pid, "egide-testkit: server spawned");
        Ok(Self {
            name: spec.name,
            child,
            stdin,
            pid,
            grace: Duration::from_secs(u64::from(spec.grace_secs)),
            log: spec.log.clone(),
            log_offset,
            finished: false,
        })
    }

    /// Pid of the real server process (not of the supervisor).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Whether the server process still runs (zombies count as dead).
    pub fn is_alive(&self) -> bool {
        pid_alive(self.pid)
    }

    /// Whether this server (or a process it started) holds the socket listening on
    /// loopback `port`: readiness probes answered by some *other* server that took the
    /// port must not count.
    pub fn listens_on(&self, port: u16) -> bool {
        let inodes = listening_inodes(port);
        if inodes.is_empty() {
            return false;
        }
        std::iter::once(self.pid)
            .chain(descendants(self.pid))
            .any(|pid| holds_socket(pid, &inodes))
    }

    /// Log output written since this process was started (last 4 KiB).
    pub fn log_since_start(&self) -> String {
        log_tail(&self.log, self.log_offset)
    }

    /// Full log text written since this process was started.
    pub fn log_text_since_start(&self) -> String {
        read_from(&self.log, self.log_offset)
    }

    /// Graceful stop: closes the supervisor pipe (it sends the stop signal,
    /// then `SIGKILL` after the grace period) and waits for the supervisor.
    pub fn shutdown(mut self) -> Result<()> {
        self.finish()
    }

    /// Hard kill: freezes the server, `SIGKILL`s it with all its descendants
    /// (e.g. postgres backends), waits until they are gone, then reaps.
    pub fn kill(mut self) -> Result<()> {
        if self.is_alive() {
            let _ = signal(&[self.pid], "STOP");
            let mut pids = vec![self.pid];
            pids.extend(descendants(self.pid));
            let _ = signal(&pids, "KILL");
            if !wait_gone(&pids, Duration::from_secs(15)) {
                tracing::warn!(server = self.name, "processes still alive after SIGKILL");
            }
        }
        self.finish()
    }

    fn finish(&mut self) -> Result<()> {
        if self.finished {
            return Ok(());
        }
        self.finished = true;
        drop(self.stdin.take());
        let deadline = Instant::now() + self.grace + Duration::from_secs(15);
        loop {
            match self.child.try_wait() {
                Ok(Some(_)) => break,
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(20)),
                _ => {
                    let mut pids = vec![self.pid];
                    pids.extend(descendants(self.pid));
                    let _ = signal(&pids, "KILL");
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    bail!("{}: supervisor did not exit in time; killed", self.name);
                }
            }
        }
        // The supervisor reaps the server; descendants (postgres backends)
        // follow their parent quickly.
        let _ = wait_gone(&[self.pid], Duration::from_secs(5));
        tracing::debug!(
            server = self.name,
            pid = self.pid,
            "egide-testkit: server stopped"
        );
        Ok(())
    }
}

impl Drop for Supervised {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

/// Owns a private temp directory; removes it once nothing holds its lock any
/// more, after the guard pipe closes (drop, or exit of the test process).
#[derive(Debug)]
pub(crate) struct DirGuard {
    dir: PathBuf,
    lock: PathBuf,
    child: Option<Child>,
    stdin: Option<ChildStdin>,
}

impl DirGuard {
    /// Creates a fresh mode-0755 directory named `egide-<component>-…` under
    /// the testkit temp base and arms its cleanup guard.
    pub(crate) fn create(component: &str) -> Result<Self> {
        let base = std::env::var_os("EGIDE_TESTKIT_TMPDIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/tmp"));
        let id = uuid::Uuid::now_v7().simple().to_string();
        let dir = base.join(format!(
            "egide-{component}-{}-{}",
            std::process::id(),
            &id[id.len() - 10..]
        ));
        fs::DirBuilder::new()
            .mode(0o755)
            .recursive(true)
            .create(&dir)
            .with_context(|| format!("creating {}", dir.display()))?;
        // The umask may have narrowed the mode; the postgres user must be
        // able to traverse this directory.
        set_mode(&dir, 0o755)?;
        let lock = dir.join(".egide-lock");
        File::create(&lock).with_context(|| format!("creating {}", lock.display()))?;
        let mut child = Command::new("/bin/sh")
            .arg("-c")
            .arg(CLEANUP)
            .arg("egide-cleanup")
            .arg(&lock)
            .arg(&dir)
            .current_dir("/")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .context("spawning the temp-dir cleanup guard")?;
        let stdin = child.stdin.take();
        Ok(Self {
            dir,
            lock,
            child: Some(child),
            stdin,
        })
    }

    /// The directory.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// The lock file servers must hold (shared) while they run.
    pub(crate) fn lock(&self) -> &Path {
        &self.lock
    }
}

impl Drop for DirGuard {
    fn drop(&mut self) {
        drop(self.stdin.take());
        if let Some(mut child) = self.child.take() {
            let _ = child.wait();
        }
    }
}

/// Sets the permission bits of `path`.
pub(crate) fn set_mode(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .with_context(|| format!("chmod {mode:o} {}", path.display()))
}

/// Whether `pid` exists and is not a zombie.
pub(crate) fn pid_alive(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !matches!(stat_fields(&stat).first(), Some(&"Z") | Some(&"X") | None),
        Err(_) => false,
    }
}

/// Fields of `/proc/<pid>/stat` after the `(comm)` field: state, ppid, …
fn stat_fields(stat: &str) -> Vec<&str> {
    match stat.rfind(')') {
        Some(i) => stat[i + 1..].split_whitespace().collect(),
        None => Vec::new(),
    }
}

/// All live descendants of `pid` (breadth first), read from `/proc`.
pub(crate) fn descendants(pid: u32) -> Vec<u32> {
    let mut table = Vec::new();
    if let Ok(rd) = fs::read_dir("/proc") {
        for entry in rd.flatten() {
            let Some(p) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
            else {
                continue;
            };
            if let Ok(stat) = fs::read_to_string(format!("/proc/{p}/stat")) {
                let fields = stat_fields(&stat);
                if let Some(ppid) = fields.get(1).and_then(|s| s.parse::<u32>().ok()) {
                    table.push((p, ppid));
                }
            }
        }
    }
    let mut out = Vec::new();
    let mut frontier = vec![pid];
    while let Some(parent) = frontier.pop() {
        for &(p, ppid) in &table {
            if ppid == parent && !out.contains(&p) {
                out.push(p);
                frontier.push(p);
            }
        }
    }
    out
}

/// Inodes of the IPv4 sockets listening on `127.0.0.1:port` or `0.0.0.0:port`
/// (`/proc/net/tcp`: `sl local_address rem_address st … inode`, addresses in hex, the
/// IPv4 address in host byte order).
fn listening_inodes(port: u16) -> Vec<u64> {
    let table = fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    listening_inodes_in(&table, port)
}

fn listening_inodes_in(table: &str, port: u16) -> Vec<u64> {
    const LISTEN: &str = "0A";
    let wanted = [
        format!("0100007F:{port:04X}"),
        format!("00000000:{port:04X}"),
    ];
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let (local, state, inode) = (f.get(1)?, f.get(3)?, f.get(9)?);
            (*state == LISTEN && wanted.iter().any(|w| w == local))
                .then(|| inode.parse().ok())
                .flatten()
        })
        .collect()
}

/// Whether one of `pid`'s file descriptors is one of the sockets `inodes`.
fn holds_socket(pid: u32, inodes: &[u64]) -> bool {
    let Ok(fds) = fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.flatten().any(|fd| {
        fs::read_link(fd.path()).is_ok_and(|target| {
            target
                .to_str()
                .and_then(|t| t.strip_prefix("socket:["))
                .and_then(|t| t.strip_suffix(']'))
                .and_then(|t| t.parse::<u64>().ok())
                .is_some_and(|inode| inodes.contains(&inode))
        })
    })
}

/// Sends `SIG<sig>` to `pids` with the shell's `kill` builtin.
pub(crate) fn signal(pids: &[u32], sig: &str) -> Result<()> {
    if pids.is_empty() {
        return Ok(());
    }
    let status = Command::new("/bin/sh")
        .arg("-c")
        .arg(r#"sig=$1; shift; kill -"$sig" "$@" 2>/dev/null"#)
        .arg("egide-kill")
        .arg(sig)
        .args(pids.iter().map(u32::to_string))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .context("running kill")?;
    if !status.success() {
        bail!("kill -{sig} {pids:?} failed ({status})");
    }
    Ok(())
}

/// Waits until none of `pids` is alive; returns false on timeout.
pub(crate) fn wait_gone(pids: &[u32], timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if pids.iter().all(|&p| !pid_alive(p)) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// Text of `path` from byte `offset` on (lossy UTF-8; empty on error).
pub(crate) fn read_from(path: &Path, offset: u64) -> String {
    let mut buf = Vec::new();
    if let Ok(mut f) = File::open(path)
        && f.seek(SeekFrom::Start(offset)).is_ok()
    {
        let _ = f.read_to_end(&mut buf);
    }
    String::from_utf8_lossy(&buf).into_owned()
}

/// The last 4 KiB of `path` written after byte `offset`.
pub fn log_tail(path: &Path, offset: u64) -> String {
    const MAX: usize = 4096;
    let text = read_from(path, offset);
    if text.len() <= MAX {
        return text;
    }
    let mut start = text.len() - MAX;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    format!("…{}", &text[start..])
}

/// Startup timeout: `EGIDE_TESTKIT_TIMEOUT_SECS` or 30 s.
pub(crate) fn startup_timeout() -> Duration {
    let secs = std::env::var("EGIDE_TESTKIT_TIMEOUT_SECS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(30);
    Duration::from_secs(secs)
}

/// Error raised when a server failed to start because its port was taken.
#[derive(Debug)]
pub(crate) struct AddrInUse(pub String);

impl std::fmt::Display for AddrInUse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for AddrInUse {}

/// Polls `ready` every `interval` until it returns true, the server dies or
/// the startup timeout expires; errors carry the log tail.
pub(crate) fn wait_ready(
    proc: &Supervised,
    what: &str,
    interval: Duration,
    mut ready: impl FnMut() -> Result<bool>,
) -> Result<()> {
    let timeout = startup_timeout();
    let deadline = Instant::now() + timeout;
    let started = Instant::now();
    loop {
        if ready()? {
            tracing::debug!(server = what, elapsed = ?started.elapsed(), "egide-testkit: ready");
            return Ok(());
        }
        let dead = !proc.is_alive();
        if dead || Instant::now() >= deadline {
            let log = proc.log_since_start();
            let why = if dead {
                format!("{what} (pid {}) exited during startup", proc.pid())
            } else {
                format!("{what} (pid {}) not ready after {timeout:?}", proc.pid())
            };
            let msg = format!("{why}; log {}:\n{log}", proc.log.display());
            if log.to_ascii_lowercase().contains("address already in use") {
                return Err(AddrInUse(msg).into());
            }
            bail!(msg);
        }
        thread::sleep(interval);
    }
}

/// Finds `name` in `PATH`.
pub(crate) fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

/// Whether `p` is a file with an execute bit.
pub(crate) fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(p)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Whether the current process runs as root (effective uid 0), read from
/// the owner of `/proc/self`.
pub(crate) fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_listening_sockets_of_a_port() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0 100 0 0 10 0\n\
   1: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 4343 1 0 20 4 30 10 -1\n\
   2: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 77 1 0 100 0 0 10 0\n";
        assert_eq!(listening_inodes_in(table, 8080), vec![4242]);
        assert_eq!(listening_inodes_in(table, 80), vec![77]);
        assert!(listening_inodes_in(table, 81).is_empty());
    }

    #[test]
    fn a_listener_of_this_process_is_found() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let inodes = listening_inodes(port);
        assert!(!inodes.is_empty());
        assert!(holds_socket(std::process::id(), &inodes));
    }
}
