//! Integration tests: real nats-server, postgres and bao processes.
//!
//! Needs `nats-server`, PostgreSQL server binaries and `bao` (set
//! `EGIDE_BAO_BIN` or run `make tools`).

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use egide_testkit::{Nats, Postgres, Vault};

fn nats_info(port: u16) -> Result<String> {
    let stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line)?;
    Ok(line)
}

fn pid_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next())
                .unwrap_or("X");
            state != "Z" && state != "X"
        }
        Err(_) => false,
    }
}

fn wait_for(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) -> Result<()> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if cond() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    bail!("timed out waiting for {what}")
}

#[test]
fn shared_stack_serves_all_three() -> Result<()> {
    let t0 = Instant::now();
    let stack = egide_testkit::shared();
    eprintln!("shared stack ready in {:?}", t0.elapsed());

    // NATS: INFO line announces JetStream.
    let info = nats_info(stack.nats.port())?;
    ensure!(info.starts_with("INFO "), "{info}");
    ensure!(info.contains("jetstream"), "{info}");
    ensure!(stack.nats.url() == format!("nats://127.0.0.1:{}", stack.nats.port()));

    // Postgres: two fresh databases with distinct names, both usable.
    let a = stack.postgres.create_database("testkit")?;
    let b = stack.postgres.create_database("testkit")?;
    ensure!(a != b, "{a} == {b}");
    for url in [&a, &b] {
        ensure!(url.starts_with("postgres://"), "{url}");
        let out = Command::new("psql")
            .args(["-X", "-A", "-t", "-d", url, "-c", "select 1"])
            .output()
            .context("running psql")?;
        ensure!(
            out.status.success(),
            "psql {url}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        ensure!(String::from_utf8_lossy(&out.stdout).trim() == "1");
        ensure!(
            stack.postgres.psql(url, "select current_database()")?
                == url.rsplit('/').next().unwrap_or_default()
        );
    }

    // Vault: healthy, and the root token works.
    ensure!(stack.vault.health_status()? == 200);
    ensure!(stack.vault.addr() == format!("http://127.0.0.1:{}", stack.vault.port()));
    ensure!(!stack.vault.root_token().is_empty());
    Ok(())
}

#[test]
fn vault_seal_and_unseal() -> Result<()> {
    let vault = Vault::spawn()?;
    ensure!(vault.health_status()? == 200);
    vault.seal()?;
    ensure!(vault.health_status()? == 503);
    ensure!(vault.is_sealed()?);
    vault.unseal()?;
    ensure!(vault.health_status()? == 200);

    // Crash and restart: same address and token, empty in-memory server.
    let old_pid = vault.pid().context("pid")?;
    vault.kill()?;
    ensure!(!pid_alive(old_pid));
    ensure!(vault.health_status().is_err());
    vault.start()?;
    ensure!(vault.health_status()? == 200);
    vault.seal()?;
    vault.unseal()?;
    Ok(())
}

#[test]
fn nats_kill_and_restart_on_same_port() -> Result<()> {
    let nats = Nats::spawn()?;
    let port = nats.port();
    let pid = nats.pid().context("pid")?;
    ensure!(nats_info(port)?.contains("\"jetstream\":true"));

    nats.kill()?;
    ensure!(
        !pid_alive(pid),
        "nats-server {pid} still alive after kill()"
    );
    ensure!(!nats.is_running());
    ensure!(TcpStream::connect(("127.0.0.1", port)).is_err());

    nats.start()?;
    ensure!(nats.port() == port);
    let new_pid = nats.pid().context("pid")?;
    ensure!(new_pid != pid);
    ensure!(nats_info(port)?.contains("jetstream"));

    nats.restart()?;
    ensure!(nats_info(port)?.contains("jetstream"));

    // Drop stops the server and removes its directory.
    let dir = nats.dir().to_path_buf();
    let pid = nats.pid().context("pid")?;
    drop(nats);
    ensure!(!pid_alive(pid));
    ensure!(!dir.exists(), "{} still exists", dir.display());
    Ok(())
}

#[test]
fn postgres_kill_and_recover() -> Result<()> {
    let pg = Postgres::spawn()?;
    let url = pg.create_database("crash")?;
    pg.psql(
        &url,
        "create table t (x int); insert into t values (1), (2);",
    )?;
    // synchronous_commit=off: make sure the WAL reached the OS before the crash.
    pg.psql(&url, "checkpoint")?;
    let pid = pg.pid().context("pid")?;
    pg.kill()?;
    ensure!(!pid_alive(pid));
    ensure!(pg.psql(&url, "select 1").is_err());

    pg.start()?;
    ensure!(pg.psql(&url, "select count(*) from t")? == "2");
    pg.stop()?;
    ensure!(pg.pid().is_none());
    pg.start()?;
    ensure!(pg.psql(&url, "select sum(x) from t")? == "3");
    pg.drop_database(url.rsplit('/').next().unwrap_or_default())?;
    Ok(())
}

/// Helper run as a separate process by `servers_die_with_the_test_process`.
#[test]
#[ignore = "helper for servers_die_with_the_test_process"]
fn child_helper() -> Result<()> {
    if std::env::var_os("EGIDE_TESTKIT_CHILD").is_none() {
        return Ok(());
    }
    let nats = Nats::spawn()?;
    println!(
        "EGIDE_CHILD {} {}",
        nats.pid().context("pid")?,
        nats.dir().display()
    );
    std::thread::sleep(Duration::from_secs(120));
    Ok(())
}

#[test]
fn servers_die_with_the_test_process() -> Result<()> {
    let mut child = Command::new(std::env::current_exe()?)
        .args(["--ignored", "--exact", "child_helper", "--nocapture"])
        .env("EGIDE_TESTKIT_CHILD", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let stdout = child.stdout.take().context("stdout")?;
    let mut reader = BufReader::new(stdout);
    let mut found = None;
    let mut line = String::new();
    while reader.read_line(&mut line)? > 0 {
        if let Some(rest) = line.trim().strip_prefix("EGIDE_CHILD ") {
            let (pid, dir) = rest.split_once(' ').context("bad child line")?;
            found = Some((pid.parse::<u32>()?, PathBuf::from(dir)));
            break;
        }
        line.clear();
    }
    let (pid, dir) = found.context("child did not report its nats-server")?;
    ensure!(pid_alive(pid));

    // kill -9 the test process: no destructor runs.
    child.kill()?;
    child.wait()?;
    drop(reader);

    wait_for(
        "the orphaned nats-server to stop",
        Duration::from_secs(15),
        || !pid_alive(pid),
    )?;
    wait_for(
        "the temp dir to be removed",
        Duration::from_secs(15),
        || !dir.exists(),
    )?;
    Ok(())
}
