//! A throw-away PostgreSQL cluster (or an external server from `DATABASE_URL`).

use std::ffi::OsString;
use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::thread;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};

use crate::ports::{self, PortLease};
use crate::process::{self, DirGuard, ServerSpec, Supervised};

/// A PostgreSQL server for tests.
///
/// Either a local cluster started by [`Postgres::spawn`] — `initdb` into a
/// private temp directory, then `postgres` in the foreground under the
/// testkit supervisor, on a random loopback port, tuned for speed
/// (`fsync=off`, `synchronous_commit=off`, `full_page_writes=off`), trust
/// authentication, superuser `postgres` — or an existing server given by a
/// URL ([`Postgres::external`], [`Postgres::from_env`]).
///
/// Binaries come from `EGIDE_PG_BINDIR`, else `pg_config --bindir`, else the
/// highest `/usr/lib/postgresql/<N>/bin`, else `PATH`. When the tests run as
/// root, `initdb` and `postgres` are run as the `postgres` OS user through
/// `setpriv` (which execs, so the supervised pid is the postmaster itself;
/// `runuser` would fork and stay in between).
#[derive(Debug)]
pub struct Postgres {
    inner: Inner,
}

#[derive(Debug)]
enum Inner {
    Local(Box<Local>),
    External(External),
}

#[derive(Debug)]
struct Local {
    spec: ServerSpec,
    port: u16,
    bindir: PathBuf,
    data_dir: PathBuf,
    proc: Mutex<Option<Supervised>>,
    guard: DirGuard,
    /// Held until the cluster is gone for good: a restart finds its port free.
    _lease: PortLease,
}

#[derive(Debug)]
struct External {
    url: String,
    port: u16,
    psql: PathBuf,
}

impl Postgres {
    /// Uses the server named by `EGIDE_TEST_DATABASE_URL` or `DATABASE_URL`
    /// when one of them is set (non-empty), else [`spawn`](Self::spawn)s one.
    pub fn from_env() -> Result<Postgres> {
        for var in ["EGIDE_TEST_DATABASE_URL", "DATABASE_URL"] {
            if let Ok(url) = std::env::var(var)
                && !url.trim().is_empty()
            {
                tracing::info!("egide-testkit: using external postgres from {var}");
                return Postgres::external(url.trim());
            }
        }
        Postgres::spawn()
    }

    /// Wraps an existing server. `url` is an admin connection URL
    /// (`postgres://user:pass@host:port/db`) whose user may create databases.
    /// Such a server cannot be killed, stopped or started.
    pub fn external(url: &str) -> Result<Postgres> {
        let psql = find_bindir()
            .map(|d| d.join("psql"))
            .ok()
            .filter(|p| process::is_executable(p))
            .or_else(|| process::which("psql"))
            .ok_or_else(|| anyhow!("psql not found (install postgresql-client)"))?;
        let port = url_port(url)?;
        Ok(Postgres {
            inner: Inner::External(External {
                url: url.to_string(),
                port,
                psql,
            }),
        })
    }

    /// Creates and starts a fresh local cluster, waiting (bounded) until
    /// `pg_isready` reports that it accepts connections.
    pub fn spawn() -> Result<Postgres> {
        let bindir = find_bindir()?;
        let as_root = process::running_as_root();
        let guard = DirGuard::create("postgres")?;
        let root = guard.dir().to_path_buf();
        let data_dir = root.join("data");
        let sock_dir = root.join("sock");
        for d in [&data_dir, &sock_dir] {
            std::fs::create_dir(d).with_context(|| format!("creating {}", d.display()))?;
            process::set_mode(d, 0o700)?;
        }
        let log = root.join("postgres.log");
        let wrapper = if as_root {
            let status = Command::new("chown")
                .arg("-R")
                .arg("postgres:postgres")
                .arg(&data_dir)
                .arg(&sock_dir)
                .status()
                .context("running chown")?;
            if !status.success() {
                bail!(
                    "chown -R postgres:postgres failed ({status}); does the `postgres` user exist?"
                );
            }
            let setpriv = process::which("setpriv").ok_or_else(|| {
                anyhow!(
                    "setpriv (util-linux) not found; needed to run postgres as the postgres user"
                )
            })?;
            Some(setpriv)
        } else {
            None
        };
        let command = |bin: &str, args: Vec<OsString>| -> (PathBuf, Vec<OsString>) {
            match &wrapper {
                Some(setpriv) => {
                    let mut full: Vec<OsString> = vec![
                        "--reuid=postgres".into(),
                        "--regid=postgres".into(),
                        "--init-groups".into(),
                        "--".into(),
                        bindir.join(bin).into_os_string(),
                    ];
                    full.extend(args);
                    (setpriv.clone(), full)
                }
                None => (bindir.join(bin), args),
            }
        };

        // initdb
        let (prog, args) = command(
            "initdb",
            vec![
                "-D".into(),
                data_dir.clone().into_os_string(),
                "-A".into(),
                "trust".into(),
                "-U".into(),
                "postgres".into(),
                "--no-sync".into(),
                "-E".into(),
                "UTF8".into(),
                "--locale=C".into(),
            ],
        );
        let logf = OpenOptions::new().create(true).append(true).open(&log)?;
        let status = Command::new(&prog)
            .args(&args)
            .current_dir(&root)
            .stdin(Stdio::null())
            .stdout(logf.try_clone()?)
            .stderr(logf)
            .status()
            .with_context(|| format!("running {}", prog.display()))?;
        if !status.success() {
            bail!(
                "initdb failed ({status}); log {}:\n{}",
                log.display(),
                process::log_tail(&log, 0)
            );
        }

        let spec_for = |port: u16| {
            let (program, args) = command(
                "postgres",
                vec![
                    "-D".into(),
                    data_dir.clone().into_os_string(),
                    "-p".into(),
                    port.to_string().into(),
                    "-h".into(),
                    "127.0.0.1".into(),
                    "-k".into(),
                    sock_dir.clone().into_os_string(),
                    "-c".into(),
                    "fsync=off".into(),
                    "-c".into(),
                    "synchronous_commit=off".into(),
                    "-c".into(),
                    "full_page_writes=off".into(),
                    "-c".into(),
                    "max_connections=300".into(),
                    "-c".into(),
                    "shared_buffers=128MB".into(),
                ],
            );
            ServerSpec {
                name: "postgres",
                program,
                args,
                envs: Vec::new(),
                env_remove: Vec::new(),
                cwd: root.clone(),
                log: log.clone(),
                lock: guard.lock().to_path_buf(),
                // SIGINT = fast shutdown (SIGTERM would wait for clients).
                stop_signal: "INT",
                grace_secs: 10,
            }
        };
        let ((spec, proc), mut leases) = ports::retry_on_new_ports("postgres", &[1], |p| {
            let spec = spec_for(p[0]);
            let proc = launch(&spec, &bindir, p[0])?;
            Ok((spec, proc))
        })?;
        let lease = leases.remove(0);
        let port = lease.port();
        tracing::info!(port, "egide-testkit: postgres ready");
        Ok(Postgres {
            inner: Inner::Local(Box::new(Local {
                spec,
                port,
                bindir,
                data_dir,
                proc: Mutex::new(Some(proc)),
                guard,
                _lease: lease,
            })),
        })
    }

    /// Admin URL: `postgres://postgres@127.0.0.1:PORT/postgres` for a local
    /// cluster, the given URL for an external server.
    pub fn admin_url(&self) -> String {
        match &self.inner {
            Inner::Local(l) => format!("postgres://postgres@127.0.0.1:{}/postgres", l.port),
            Inner::External(e) => e.url.clone(),
        }
    }

    /// TCP port of the server.
    pub fn port(&self) -> u16 {
        match &self.inner {
            Inner::Local(l) => l.port,
            Inner::External(e) => e.port,
        }
    }

    /// Whether this is an external server (from a URL) rather than a local
    /// cluster owned by the testkit.
    pub fn is_external(&self) -> bool {
        matches!(self.inner, Inner::External(_))
    }

    /// Data directory of a local cluster.
    pub fn data_dir(&self) -> Option<&Path> {
        match &self.inner {
            Inner::Local(l) => Some(&l.data_dir),
            Inner::External(_) => None,
        }
    }

    /// Server log file of a local cluster (initdb and every run, appended).
    pub fn log_path(&self) -> Option<&Path> {
        match &self.inner {
            Inner::Local(l) => Some(&l.spec.log),
            Inner::External(_) => None,
        }
    }

    /// Private temp directory of a local cluster; removed when the
    /// `Postgres` is dropped or the test process exits.
    pub fn dir(&self) -> Option<&Path> {
        match &self.inner {
            Inner::Local(l) => Some(l.guard.dir()),
            Inner::External(_) => None,
        }
    }

    /// Creates a new, uniquely named, empty database and returns its URL.
    ///
    /// The name is `prefix` reduced to `[a-z0-9_]` (at most 40 characters)
    /// followed by `_` and 16 random hex digits, e.g. `billing_0192ab…`.
    pub fn create_database(&self, prefix: &str) -> Result<String> {
        let name = database_name(prefix);
        let sql = format!("CREATE DATABASE \"{name}\"");
        let mut tries = 0;
        loop {
            tries += 1;
            match self.admin_psql(&sql) {
                Ok(_) => break,
                // Someone connected to template1 at the same moment.
                Err(e) if tries < 20 && format!("{e:#}").contains("accessed by other users") => {
                    thread::sleep(Duration::from_millis(100));
                }
                Err(e) => return Err(e.context(format!("creating database {name}"))),
            }
        }
        Ok(self.database_url(&name))
    }

    /// Drops a database (closing its connections first) if it exists.
    pub fn drop_database(&self, name: &str) -> Result<()> {
        if !is_safe_name(name) {
            bail!("refusing to drop database with unusual name {name:?}");
        }
        self.admin_psql(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))?;
        Ok(())
    }

    /// URL of database `name` on this server (same credentials as
    /// [`admin_url`](Self::admin_url)).
    pub fn database_url(&self, name: &str) -> String {
        match &self.inner {
            Inner::Local(l) => format!("postgres://postgres@127.0.0.1:{}/{name}", l.port),
            Inner::External(e) => replace_database(&e.url, name),
        }
    }

    /// Runs `sql` with `psql` against `database_url` (unaligned, tuples
    /// only, `ON_ERROR_STOP`) and returns its trimmed stdout.
    pub fn psql(&self, database_url: &str, sql: &str) -> Result<String> {
        let mut cmd = Command::new(self.psql_bin());
        cmd.arg("-X")
            .arg("-q")
            .arg("-A")
            .arg("-t")
            .arg("-v")
            .arg("ON_ERROR_STOP=1")
            .arg("-d")
            .arg(database_url)
            .arg("-c")
            .arg(sql);
        run_psql(cmd, sql)
    }

    /// Crashes a local cluster: `SIGKILL` to the postmaster and all its
    /// backends, waiting until they are gone. The next [`start`](Self::start)
    /// runs crash recovery on the same data directory and port.
    ///
    /// With `synchronous_commit=off`, commits from the last few hundred
    /// milliseconds may be lost (run `CHECKPOINT` first if a test needs them).
    pub fn kill(&self) -> Result<()> {
        let l = self.local("kill")?;
        match l.lock().take() {
            Some(p) => p.kill(),
            None => Ok(()),
        }
    }

    /// Stops a local cluster with a fast shutdown (`SIGINT`; `SIGKILL` after
    /// 10 s) and waits until it is gone.
    pub fn stop(&self) -> Result<()> {
        let l = self.local("stop")?;
        match l.lock().take() {
            Some(p) => p.shutdown(),
            None => Ok(()),
        }
    }

    /// (Re)starts a local cluster on the same port and data directory and
    /// waits until it accepts connections. No-op when it is running.
    pub fn start(&self) -> Result<()> {
        let l = self.local("start")?;
        let mut state = l.lock();
        if let Some(p) = state.take() {
            if p.is_alive() {
                *state = Some(p);
                return Ok(());
            }
            let _ = p.shutdown();
        }
        *state = Some(launch(&l.spec, &l.bindir, l.port)?);
        Ok(())
    }

    /// [`stop`](Self::stop) then [`start`](Self::start).
    pub fn restart(&self) -> Result<()> {
        self.stop()?;
        self.start()
    }

    /// Pid of the postmaster of a running local cluster.
    pub fn pid(&self) -> Option<u32> {
        match &self.inner {
            Inner::Local(l) => l
                .lock()
                .as_ref()
                .filter(|p| p.is_alive())
                .map(Supervised::pid),
            Inner::External(_) => None,
        }
    }

    fn local(&self, op: &str) -> Result<&Local> {
        match &self.inner {
            Inner::Local(l) => Ok(l),
            Inner::External(_) => bail!(
                "cannot {op} postgres: it is an external server (DATABASE_URL), not managed by the testkit"
            ),
        }
    }

    fn psql_bin(&self) -> PathBuf {
        match &self.inner {
            Inner::Local(l) => l.bindir.join("psql"),
            Inner::External(e) => e.psql.clone(),
        }
    }

    fn admin_psql(&self, sql: &str) -> Result<String> {
        match &self.inner {
            Inner::Local(l) => {
                let mut cmd = Command::new(self.psql_bin());
                cmd.arg("-X")
                    .arg("-q")
                    .arg("-A")
                    .arg("-t")
                    .arg("-h")
                    .arg("127.0.0.1")
                    .arg("-p")
                    .arg(l.port.to_string())
                    .arg("-U")
                    .arg("postgres")
                    .arg("-d")
                    .arg("postgres")
                    .arg("-v")
                    .arg("ON_ERROR_STOP=1")
                    .arg("-c")
                    .arg(sql);
                run_psql(cmd, sql)
            }
            Inner::External(e) => self.psql(&e.url, sql),
        }
    }
}

impl Local {
    fn lock(&self) -> MutexGuard<'_, Option<Supervised>> {
        self.proc.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if let Inner::Local(_) = self.inner {
            let _ = self.stop();
        }
    }
}

fn launch(spec: &ServerSpec, bindir: &Path, port: u16) -> Result<Supervised> {
    let proc = Supervised::spawn(spec)?;
    let pg_isready = bindir.join("pg_isready");
    process::wait_ready(&proc, "postgres", Duration::from_millis(100), || {
        Ok(proc.listens_on(port)
            && Command::new(&pg_isready)
                .arg("-q")
                .arg("-h")
                .arg("127.0.0.1")
                .arg("-p")
                .arg(port.to_string())
                .arg("-U")
                .arg("postgres")
                .arg("-d")
                .arg("postgres")
                .arg("-t")
                .arg("2")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .with_context(|| format!("running {}", pg_isready.display()))?
                .success())
    })?;
    Ok(proc)
}

fn run_psql(mut cmd: Command, sql: &str) -> Result<String> {
    for var in ["PGSERVICE", "PGOPTIONS", "PGSSLMODE"] {
        cmd.env_remove(var);
    }
    let out = cmd.stdin(Stdio::null()).output().context("running psql")?;
    if !out.status.success() {
        bail!(
            "psql failed ({}) for {sql:?}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// `prefix` sanitised + `_` + 16 random hex digits.
fn database_name(prefix: &str) -> String {
    let mut base: String = prefix
        .chars()
        .map(|c| c.to_ascii_lowercase())
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(40)
        .collect();
    if base.is_empty() || base.starts_with(|c: char| c.is_ascii_digit()) {
        base.insert_str(0, "db_");
    }
    if !base.ends_with('_') {
        base.push('_');
    }
    let id = uuid::Uuid::now_v7().simple().to_string();
    format!("{base}{}", &id[id.len() - 16..])
}

fn is_safe_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Port of a `postgres://` URL (5432 when absent).
fn url_port(url: &str) -> Result<u16> {
    let rest = url
        .split_once("://")
        .map(|(_, r)| r)
        .ok_or_else(|| anyhow!("not a URL: {url:?}"))?;
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    let hostport = authority
        .rsplit_once('@')
        .map(|(_, h)| h)
        .unwrap_or(authority);
    let after_bracket = hostport
        .rsplit_once(']')
        .map(|(_, p)| p)
        .unwrap_or(hostport);
    match after_bracket.rsplit_once(':') {
        Some((_, p)) if !p.is_empty() => p.parse().with_context(|| format!("bad port in {url:?}")),
        _ => Ok(5432),
    }
}

/// `url` with its database path replaced by `name` (query kept).
fn replace_database(url: &str, name: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("postgres", url));
    let (before_query, query) = match rest.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (rest, None),
    };
    let authority = before_query.split('/').next().unwrap_or("");
    match query {
        Some(q) => format!("{scheme}://{authority}/{name}?{q}"),
        None => format!("{scheme}://{authority}/{name}"),
    }
}

fn find_bindir() -> Result<PathBuf> {
    let has_server = |d: &Path| {
        process::is_executable(&d.join("initdb")) && process::is_executable(&d.join("postgres"))
    };
    if let Some(d) = std::env::var_os("EGIDE_PG_BINDIR") {
        return Ok(PathBuf::from(d));
    }
    if let Ok(out) = Command::new("pg_config")
        .arg("--bindir")
        .stderr(Stdio::null())
        .output()
        && out.status.success()
    {
        let d = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if has_server(&d) {
            return Ok(d);
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            has_server(&bin).then_some((v, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, d)) = versions.pop() {
        return Ok(d);
    }
    if let Some(initdb) = process::which("initdb")
        && let Some(d) = initdb.parent()
        && has_server(d)
    {
        return Ok(d.to_path_buf());
    }
    bail!(
        "PostgreSQL server binaries (initdb, postgres) not found: set EGIDE_PG_BINDIR, \
         or install them (apt-get install postgresql), or set DATABASE_URL to use an existing server"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_safe_and_unique() {
        let a = database_name("Billing-Tests");
        let b = database_name("Billing-Tests");
        assert_ne!(a, b);
        assert!(a.starts_with("billing_tests_"), "{a}");
        assert!(is_safe_name(&a), "{a}");
        assert!(database_name("").starts_with("db_"));
        assert!(database_name("9x").starts_with("db_9x_"));
        assert!(is_safe_name(&database_name(&"x".repeat(100))));
    }

    #[test]
    fn url_helpers() -> Result<()> {
        assert_eq!(url_port("postgres://u:p@h:6543/db")?, 6543);
        assert_eq!(url_port("postgres://u@h/db")?, 5432);
        assert_eq!(url_port("postgres://[::1]:7000/db?sslmode=disable")?, 7000);
        assert_eq!(
            replace_database("postgres://u:p@h:1/db?sslmode=disable", "n"),
            "postgres://u:p@h:1/n?sslmode=disable"
        );
        assert_eq!(replace_database("postgres://u@h", "n"), "postgres://u@h/n");
        Ok(())
    }
}
