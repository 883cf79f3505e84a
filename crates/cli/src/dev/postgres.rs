//! The dev PostgreSQL cluster, as a child process with its data under the run directory.

use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use anyhow::bail;
use tokio::process::Command;

use super::tools::Tools;

/// The dev PostgreSQL cluster under `run_dir/postgres`.
pub struct Postgres {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    as_postgres_user: bool,
}

impl Postgres {
    pub fn new(tools: &Tools, run_dir: &Path, port: u16) -> Self {
        use std::os::unix::fs::MetadataExt as _;
        let root = std::fs::metadata("/proc/self")
            .map(|m| m.uid() == 0)
            .unwrap_or(false);
        Self {
            bin: tools.pg_bin.clone(),
            dir: run_dir.join("postgres"),
            port,
            as_postgres_user: root,
        }
    }

    /// PostgreSQL refuses to run as root: when we are root, run it as `postgres`.
    fn command_for(&self, program: &str) -> Command {
        if self.as_postgres_user {
            let mut c = Command::new("setpriv");
            c.args([
                "--reuid=postgres",
                "--regid=postgres",
                "--init-groups",
                "--",
            ])
            .arg(self.bin.join(program));
            c
        } else {
            Command::new(self.bin.join(program))
        }
    }

    pub async fn init(&self) -> anyhow::Result<()> {
        let data = self.dir.join("data");
        std::fs::create_dir_all(self.dir.join("socket"))?;
        if self.as_postgres_user {
            // The `postgres` user must be able to reach its directory through ours.
            use std::os::unix::fs::PermissionsExt as _;
            if let Some(run_dir) = self.dir.parent() {
                std::fs::set_permissions(run_dir, std::fs::Permissions::from_mode(0o755))?;
            }
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&self.dir)
                .status()
                .await?;
            if !status.success() {
                bail!("chown of {} failed", self.dir.display());
            }
        }
        if data.join("PG_VERSION").exists() {
            return Ok(());
        }
        let out = self
            .command_for("initdb")
            .args([
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--locale=C",
                "-D",
            ])
            .arg(&data)
            .output()
            .await?;
        if !out.status.success() {
            bail!("initdb failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(())
    }

    pub fn command(&self) -> Command {
        let mut c = self.command_for("postgres");
        c.arg("-D")
            .arg(self.dir.join("data"))
            .args(["-p", &self.port.to_string(), "-h", "127.0.0.1", "-k"])
            .arg(self.dir.join("socket"))
            .args(["-c", "max_connections=200"]);
        c
    }

    pub async fn wait_ready(&self) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            let ok = Command::new(self.bin.join("pg_isready"))
                .args(["-q", "-h", "127.0.0.1", "-p", &self.port.to_string()])
                .status()
                .await
                .map(|s| s.success())
                .unwrap_or(false);
            if ok {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("postgres not ready within 30 s")
    }

    /// A client program of the cluster, connected as `postgres` over loopback TCP.
    fn client(&self, program: &str) -> Command {
        let mut c = Command::new(self.bin.join(program));
        c.args([
            "-h",
            "127.0.0.1",
            "-p",
            &self.port.to_string(),
            "-U",
            "postgres",
        ]);
        c
    }

    pub async fn ensure_database(&self, name: &str) -> anyhow::Result<()> {
        let out = self
            .client("psql")
            .args(["-d", "postgres", "-tAc"])
            .arg(format!(
                "SELECT 1 FROM pg_database WHERE datname = '{name}'"
            ))
            .output()
            .await?;
        if String::from_utf8_lossy(&out.stdout).trim() == "1" {
            return Ok(());
        }
        let out = self.client("createdb").arg(name).output().await?;
        if !out.status.success() {
            bail!("createdb {name}: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(())
    }

    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }
}
