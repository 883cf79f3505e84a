//! `.run/endpoints.json`: where everything of the local stack listens.

use std::{collections::BTreeMap, path::Path};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

/// The endpoints of a running local stack.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Endpoints {
    /// The gateway: TLS gRPC and plain HTTP.
    pub gateway: Gateway,
    /// Each backend service's gRPC address (`http://127.0.0.1:port`).
    pub services: BTreeMap<String, String>,
    /// NATS URL.
    pub nats: String,
    /// PostgreSQL server (no credentials).
    pub postgres: String,
    /// Vault/OpenBao address.
    pub vault: String,
    /// Where the mail simulator writes the mails (and SMS) it captures.
    #[serde(default)]
    pub mail_dir: String,
    /// The mail simulator's SMTP address (`smtp://127.0.0.1:port`).
    #[serde(default)]
    pub mail_smtp: String,
    /// The identity-proofing simulator's HTTP base URL (`http://127.0.0.1:port`).
    #[serde(default)]
    pub proofing_sim: String,
}

/// The gateway's endpoints.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Gateway {
    /// `https://localhost:port` (gRPC over TLS).
    pub grpc: String,
    /// `http://127.0.0.1:port` (`/healthz`, `/readyz`, `/metrics`).
    pub http: String,
    /// The CA certificate to trust for `grpc`.
    pub ca_file: String,
}

impl Endpoints {
    /// Reads `run_dir/endpoints.json`.
    pub fn read(run_dir: &Path) -> anyhow::Result<Self> {
        let path = run_dir.join("endpoints.json");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("{} (is the stack up? run `make run`)", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("{}", path.display()))
    }

    /// Writes `run_dir/endpoints.json`.
    pub fn write(&self, run_dir: &Path) -> anyhow::Result<()> {
        std::fs::write(
            run_dir.join("endpoints.json"),
            serde_json::to_string_pretty(self)? + "\n",
        )?;
        Ok(())
    }
}
