//! Vault/OpenBao access through vaultrs: login (AppRole, Kubernetes or token), a session
//! kept alive in the background, transit sign/verify, and a readiness check.
//!
//! A service starts even while Vault is down or sealed: it reports NOT_SERVING with the
//! reason and logs in again as soon as Vault answers.

use std::{sync::Arc, time::Duration};

use secrecy::ExposeSecret;
use tokio::sync::RwLock;
use tokio_util::sync::CancellationToken;
use vaultrs::{
    client::{Client as _, VaultClient, VaultClientSettingsBuilder},
    error::ClientError,
};

use crate::config::{VaultAuth, VaultConfig};

mod transit;
pub use transit::PublicKeyVersion;

/// Errors talking to Vault.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// Not logged in (yet): Vault was unreachable or sealed at the last attempt.
    #[error("vault: not logged in")]
    NotLoggedIn,
    /// Vault answered with an error or could not be reached.
    #[error("vault: {0}")]
    Client(#[from] ClientError),
    /// The configuration is unusable.
    #[error("vault: {0}")]
    Config(String),
    /// Vault answered something we could not read.
    #[error("vault: malformed {0} response")]
    Malformed(&'static str),
}

/// A Vault client with a live session.
#[derive(Clone)]
pub struct Vault {
    config: Arc<VaultConfig>,
    client: Arc<RwLock<Option<VaultClient>>>,
    /// A client without a token, for `sys/health`.
    anonymous: Arc<VaultClient>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("addr", &self.config.addr)
            .finish()
    }
}

impl Vault {
    /// A client for `config`; call [`Vault::keep_session`] to log in and stay logged in.
    pub fn new(config: VaultConfig) -> Result<Self, VaultError> {
        let anonymous = client(&config.addr, "")?;
        Ok(Self {
            config: Arc::new(config),
            client: Arc::default(),
            anonymous: Arc::new(anonymous),
        })
    }

    /// Logs in now.
    pub async fn login(&self) -> Result<Duration, VaultError> {
        let mut c = client(&self.config.addr, "")?;
        let (token, ttl) = match &self.config.auth {
            VaultAuth::Token { token } => (token.expose_secret().to_owned(), Duration::ZERO),
            VaultAuth::Approle {
                mount,
                role_id,
                secret_id,
            } => {
                let auth =
                    vaultrs::auth::approle::login(&c, mount, role_id, secret_id.expose_secret())
                        .await?;
                (auth.client_token, Duration::from_secs(auth.lease_duration))
            }
            VaultAuth::Kubernetes {
                mount,
                role,
                jwt_path,
            } => {
                let jwt = tokio::fs::read_to_string(jwt_path)
                    .await
                    .map_err(|e| VaultError::Config(format!("{}: {e}", jwt_path.display())))?;
                let auth = vaultrs::auth::kubernetes::login(&c, mount, role, jwt.trim()).await?;
                (auth.client_token, Duration::from_secs(auth.lease_duration))
            }
        };
        c.set_token(&token);
        // Proves the token works (a wrong static token fails here, not on first use).
        c.lookup().await?;
        *self.client.write().await = Some(c);
        Ok(ttl)
    }

    /// Logs in, then again before the token expires or whenever Vault stops answering,
    /// until `shutdown`.
    pub async fn keep_session(self, shutdown: CancellationToken) {
        let mut delay = Duration::from_millis(500);
        loop {
            let wait = match self.login().await {
                Ok(ttl) if ttl.is_zero() => Duration::from_secs(30),
                Ok(ttl) => {
                    delay = Duration::from_millis(500);
                    (ttl * 2 / 3).max(Duration::from_secs(5))
                }
                Err(error) => {
                    *self.client.write().await = None;
                    tracing::warn!(%error, "vault login failed, retrying");
                    delay = (delay * 2).min(Duration::from_secs(10));
                    delay
                }
            };
            // Re-check often so that a sealed or restarted Vault is noticed quickly.
            let deadline = tokio::time::Instant::now() + wait;
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(Duration::from_secs(2)) => {}
                }
                if tokio::time::Instant::now() >= deadline || self.session_ok().await.is_err() {
                    break;
                }
            }
        }
    }

    async fn session_ok(&self) -> Result<(), VaultError> {
        let guard = self.client.read().await;
        let c = guard.as_ref().ok_or(VaultError::NotLoggedIn)?;
        c.lookup().await?;
        Ok(())
    }

    /// Whether Vault answers, is unsealed, and our session is valid.
    pub async fn health(&self) -> Result<(), String> {
        match self.seal_state().await {
            Ok(h) if h.sealed => return Err("vault: sealed".into()),
            Ok(_) => {}
            Err(e) => match status_code(&e) {
                Some(503) => return Err("vault: sealed".into()),
                Some(501) => return Err("vault: not initialised".into()),
                // 429: an unsealed standby node; it answers.
                Some(429) => {}
                _ => return Err(format!("vault: unreachable: {}", short(&e))),
            },
        }
        self.session_ok()
            .await
            .map_err(|e| format!("vault: session: {}", short(&e)))
    }

    /// `GET sys/health`, read leniently. `vaultrs::sys::health` cannot be used: its response
    /// type requires `performance_standby`, which OpenBao does not send, so every answer
    /// failed to parse and a healthy OpenBao was reported unreachable.
    async fn seal_state(&self) -> Result<SealState, ClientError> {
        use rustify::Endpoint as _;
        let endpoint = vaultrs::api::sys::requests::ReadHealthRequest::default();
        let result = endpoint
            .with_middleware(self.anonymous.middle())
            .exec(self.anonymous.http())
            .await
            .map_err(|source| ClientError::RestClientError { source })?;
        serde_json::from_slice(&result.raw()).map_err(|e| ClientError::RestClientError {
            source: rustify::errors::ClientError::ResponseParseError {
                source: e.into(),
                content: None,
            },
        })
    }

    /// Signs `data` with the transit key `key`; returns Vault's `vault:vN:…` signature.
    pub async fn sign(&self, key: &str, data: &[u8]) -> Result<String, VaultError> {
        let guard = self.client.read().await;
        let c = guard.as_ref().ok_or(VaultError::NotLoggedIn)?;
        let input = base64(data);
        let out =
            vaultrs::transit::data::sign(c, &self.config.transit_mount, key, &input, None).await?;
        Ok(out.signature)
    }

    /// Verifies a transit `signature` of `data` by `key`.
    pub async fn verify(
        &self,
        key: &str,
        data: &[u8],
        signature: &str,
    ) -> Result<bool, VaultError> {
        let guard = self.client.read().await;
        let c = guard.as_ref().ok_or(VaultError::NotLoggedIn)?;
        let input = base64(data);
        let mut opts = vaultrs::api::transit::requests::VerifySignedDataRequestBuilder::default();
        opts.signature(signature);
        let out = vaultrs::transit::data::verify(
            c,
            &self.config.transit_mount,
            key,
            &input,
            Some(&mut opts),
        )
        .await?;
        Ok(out.valid)
    }

    /// The keyed digest of `data` under the transit key `key` (HMAC-SHA-256 with the key's
    /// first version, so that digests stay stable across rotations), as lower-case hex.
    pub async fn hmac_hex(&self, key: &str, data: &[u8]) -> Result<String, VaultError> {
        let guard = self.client.read().await;
        let c = guard.as_ref().ok_or(VaultError::NotLoggedIn)?;
        let input = base64(data);
        let mut opts = vaultrs::api::transit::requests::GenerateHmacRequestBuilder::default();
        opts.key_version(1_u64);
        let out = vaultrs::transit::generate::hmac(
            c,
            &self.config.transit_mount,
            key,
            &input,
            Some(&mut opts),
        )
        .await?;
        let encoded = out.hmac.rsplit(':').next().unwrap_or_default();
        let raw = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, encoded)
            .map_err(|_| VaultError::Malformed("transit hmac"))?;
        Ok(raw.iter().map(|b| format!("{b:02x}")).collect())
    }

    /// Encrypts `plaintext` with the transit key `key`; returns Vault's `vault:vN:…`
    /// ciphertext (safe to store: only Vault can open it).
    pub async fn encrypt(&self, key: &str, plaintext: &[u8]) -> Result<String, VaultError> {
        let guard = self.client.read().await;
        let c = guard.as_ref().ok_or(VaultError::NotLoggedIn)?;
        let out = vaultrs::transit::data::encrypt(
            c,
            &self.config.transit_mount,
            key,
            &base64(plaintext),
            None,
        )
        .await?;
        Ok(out.ciphertext)
    }

    /// Decrypts a transit `ciphertext` of key `key`.
    pub async fn decrypt(&self, key: &str, ciphertext: &str) -> Result<Vec<u8>, VaultError> {
        let guard = self.client.read().await;
        let c = guard.as_ref().ok_or(VaultError::NotLoggedIn)?;
        let out =
            vaultrs::transit::data::decrypt(c, &self.config.transit_mount, key, ciphertext, None)
                .await?;
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, out.plaintext)
            .map_err(|_| VaultError::Malformed("transit decrypt"))
    }

    /// Revokes the certificate `serial` (colon-separated hex, as Vault prints serials) in
    /// the PKI mount `mount`. Revoking a revoked certificate succeeds.
    pub async fn pki_revoke(&self, mount: &str, serial: &str) -> Result<(), VaultError> {
        let guard = self.client.read().await;
        let c = guard.as_ref().ok_or(VaultError::NotLoggedIn)?;
        vaultrs::pki::cert::revoke(c, mount, serial).await?;
        Ok(())
    }

    /// The address of the Vault server.
    pub fn addr(&self) -> &str {
        &self.config.addr
    }

    /// A readiness check.
    pub fn readiness_check(&self) -> crate::health::Check {
        let vault = self.clone();
        crate::health::check(move || {
            let vault = vault.clone();
            async move { vault.health().await }
        })
    }
}

/// The part of `sys/health` the readiness check needs.
#[derive(Debug, serde::Deserialize)]
struct SealState {
    #[serde(default)]
    sealed: bool,
}

/// The HTTP status of a Vault error response, if it was one.
fn status_code(error: &ClientError) -> Option<u16> {
    match error {
        ClientError::APIError { code, .. } => Some(*code),
        ClientError::RestClientError {
            source: rustify::errors::ClientError::ServerResponseError { code, .. },
        } => Some(*code),
        _ => None,
    }
}

fn client(addr: &str, token: &str) -> Result<VaultClient, VaultError> {
    let settings = VaultClientSettingsBuilder::default()
        .address(addr)
        .token(token)
        .timeout(Some(Duration::from_secs(5)))
        .build()
        .map_err(|e| VaultError::Config(e.to_string()))?;
    Ok(VaultClient::new(settings)?)
}

/// A one-line description of a client error, without response bodies.
fn short(error: &(dyn std::error::Error + 'static)) -> String {
    // vaultrs' own message is generic ("An error occurred with the request"): the cause
    // chain says what failed (connection refused, timeout…).
    let mut parts = vec![error.to_string()];
    let mut source = error.source();
    while let Some(e) = source {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = e.source();
    }
    parts
        .join(": ")
        .lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(200)
        .collect()
}

fn base64(data: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(data)
}
