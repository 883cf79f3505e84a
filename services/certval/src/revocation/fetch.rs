//! Fetching what validation lacked: CRLs from distribution points (kept to their
//! nextUpdate, fetched again ahead of it, stored for restarts) and OCSP answers.

use std::{collections::HashMap, sync::Arc, time::Duration};

use anyhow::{Context as _, bail};
use egide_pki::{Certificate, crl::Crl, ocsp};
use sea_orm::DatabaseConnection;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

use super::{HeldCrl, Revocations};
use crate::{config::RevocationSettings, store, trust::Trust};

/// How long an OCSP answer without nextUpdate is reused.
const OCSP_DEFAULT_TTL: time::Duration = time::Duration::minutes(5);

/// Fetches CRLs and OCSP answers into [`Revocations`].
pub struct Fetcher {
    http: reqwest::Client,
    db: DatabaseConnection,
    state: Arc<Revocations>,
    settings: RevocationSettings,
    /// One fetch per URL at a time: concurrent validations of certificates of the same
    /// CA wait for the first fetch instead of each downloading the CRL.
    inflight: tokio::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl Fetcher {
    /// A fetcher.
    pub fn new(
        db: DatabaseConnection,
        state: Arc<Revocations>,
        settings: RevocationSettings,
    ) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(settings.fetch_timeout_ms))
            .redirect(reqwest::redirect::Policy::limited(3))
            .build()?;
        Ok(Self {
            http,
            db,
            state,
            settings,
            inflight: tokio::sync::Mutex::default(),
        })
    }

    /// Tries to establish the status of `cert`: its CRL distribution points first, then
    /// its OCSP responders. Failures are logged; the caller validates again and applies
    /// the unknown-status policy to what is still unknown.
    pub async fn resolve(&self, cert: &Certificate, issuer: &Certificate, at: OffsetDateTime) {
        if self.settings.fetch_crls {
            for url in cert.crl_distribution_points() {
                match self.fetch_crl(&url, issuer, at).await {
                    Ok(()) => return,
                    Err(error) => {
                        tracing::warn!(%url, error = %format!("{error:#}"), "CRL fetch failed")
                    }
                }
            }
        }
        if self.settings.ocsp {
            for url in cert.ocsp_urls() {
                match self.ask_ocsp(&url, cert, issuer, at).await {
                    Ok(()) => return,
                    Err(error) => {
                        tracing::warn!(%url, error = %format!("{error:#}"), "OCSP request failed")
                    }
                }
            }
        }
    }

    async fn url_lock(&self, url: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut map = self.inflight.lock().await;
        if map.len() > 1024 {
            map.retain(|_, m| Arc::strong_count(m) > 1);
        }
        map.entry(url.to_owned()).or_default().clone()
    }

    /// Fetches the CRL at `url`, checks it was signed by `issuer`, holds and stores it.
    pub async fn fetch_crl(
        &self,
        url: &str,
        issuer: &Certificate,
        at: OffsetDateTime,
    ) -> anyhow::Result<()> {
        let lock = self.url_lock(url).await;
        let _guard = lock.lock().await;
        if let Some(held) = self.state.crl(issuer.subject_der())
            && held.signer_spki == issuer.spki_der()
            && held.crl.is_current(at)
            && !self.due(&held.crl)
        {
            return Ok(()); // fetched by someone else meanwhile
        }
        let der = self.get(url).await?;
        let issuer = issuer.clone();
        let crl = tokio::task::spawn_blocking(move || {
            Crl::parse_verified(&der, &issuer).map(|c| (c, der, issuer))
        })
        .await?;
        let (crl, der, issuer) = crl.map_err(|e| anyhow::anyhow!("{e}"))?;
        self.keep(crl, &der, url, &issuer).await
    }

    /// Holds `crl` and stores it for restarts.
    pub async fn keep(
        &self,
        crl: Crl,
        der: &[u8],
        source: &str,
        issuer: &Certificate,
    ) -> anyhow::Result<()> {
        let this_update = to_chrono(crl.this_update());
        let issuer_der = crl.issuer_der().to_vec();
        let taken = self.state.put_crl(HeldCrl {
            crl,
            source: source.to_owned(),
            signer_spki: issuer.spki_der().to_vec(),
        });
        if taken {
            store::upsert_crl(&self.db, &issuer_der, der, source, this_update).await?;
        }
        Ok(())
    }

    async fn get(&self, url: &str) -> anyhow::Result<Vec<u8>> {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            bail!("not an http(s) URL");
        }
        let mut response = self.http.get(url).send().await?.error_for_status()?;
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await? {
            if body.len() + chunk.len() > self.settings.max_crl_bytes {
                bail!("larger than {} bytes", self.settings.max_crl_bytes);
            }
            body.extend_from_slice(&chunk);
        }
        // Some servers publish PEM at the distribution point.
        if body.starts_with(b"-----") {
            let mut all = egide_pki::pem::decode_all(&body, "X509 CRL")
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            return all.pop().context("no CRL in PEM");
        }
        Ok(body)
    }

    async fn ask_ocsp(
        &self,
        url: &str,
        cert: &Certificate,
        issuer: &Certificate,
        at: OffsetDateTime,
    ) -> anyhow::Result<()> {
        let request = ocsp::build_request(cert, issuer);
        let response = self
            .http
            .post(url)
            .header("content-type", "application/ocsp-request")
            .body(request)
            .send()
            .await?
            .error_for_status()?
            .bytes()
            .await?;
        let parsed = ocsp::OcspResponse::parse(&response).map_err(|e| anyhow::anyhow!("{e}"))?;
        let status = parsed
            .status_for(cert, issuer, at)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let until = match &status {
            ocsp::OcspStatus::Good {
                next_update: Some(n),
                ..
            } => *n,
            _ => at + OCSP_DEFAULT_TTL,
        };
        self.state.put_ocsp(
            cert,
            status,
            until.min(OffsetDateTime::now_utc() + OCSP_DEFAULT_TTL),
        );
        Ok(())
    }

    fn due(&self, crl: &Crl) -> bool {
        let ahead = time::Duration::seconds(
            i64::try_from(self.settings.refresh_ahead_secs).unwrap_or(i64::MAX / 2),
        );
        crl.next_update()
            .is_some_and(|n| n - ahead <= OffsetDateTime::now_utc())
    }

    /// Loads the stored CRLs that a CA of `trust` signed.
    pub async fn load_stored(&self, trust: &Trust) -> anyhow::Result<usize> {
        let mut n = 0;
        for row in store::crls(&self.db).await? {
            let Ok(unverified) = Crl::parse_unverified(&row.der) else {
                continue;
            };
            for ca in trust.cas_named(unverified.issuer_der()) {
                if let Ok(crl) = Crl::parse_verified(&row.der, ca) {
                    n += usize::from(self.state.put_crl(HeldCrl {
                        crl,
                        source: row.source.clone(),
                        signer_spki: ca.spki_der().to_vec(),
                    }));
                    break;
                }
            }
        }
        Ok(n)
    }

    /// Every minute, fetches again the CRLs whose nextUpdate is near, from the URL they
    /// came from.
    pub async fn refresh_loop(
        self: Arc<Self>,
        trust: Arc<std::sync::RwLock<Arc<Trust>>>,
        shutdown: CancellationToken,
    ) {
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(Duration::from_secs(60)) => {}
            }
            let now = OffsetDateTime::now_utc();
            for held in self.state.crls() {
                if !held.source.starts_with("http") || !self.due(&held.crl) {
                    continue;
                }
                let issuer = {
                    let trust = trust
                        .read()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .clone();
                    trust
                        .cas_named(held.crl.issuer_der())
                        .iter()
                        .find(|c| c.spki_der() == held.signer_spki.as_slice())
                        .cloned()
                };
                let Some(issuer) = issuer else { continue };
                if let Err(error) = self.fetch_crl(&held.source, &issuer, now).await {
                    tracing::warn!(url = %held.source, error = %format!("{error:#}"), "CRL refresh failed");
                }
            }
        }
    }
}

/// `time` to `chrono`.
pub fn to_chrono(t: OffsetDateTime) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(t.unix_timestamp(), t.nanosecond()).unwrap_or_default()
}
