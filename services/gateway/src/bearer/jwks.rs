//! The token verification keys, from auth's `GetJwks`, cached.
//!
//! Fetched at start (retried until auth answers), every `jwks_refresh_secs`, and when a
//! token names a key the set lacks, at most once per `jwks_min_refetch_secs` (a flood of
//! tokens with made-up `kid`s costs auth one call per period, not one per token). Held in
//! memory only: with auth or Vault away, tokens keep being verified with the last set.

use std::{
    sync::{Arc, Mutex, RwLock},
    time::{Duration, Instant},
};

use egide_proto::auth::v1::{GetJwksRequest, auth_service_client::AuthServiceClient};
use egide_token::{Jwk, KeySet};
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;

/// A fetched set: the verifier's keys and the JWKs as published (for the HTTP JWKS).
pub type Published = (KeySet, Vec<Jwk>);

/// The cached key set.
#[derive(Debug)]
pub struct Jwks {
    auth: Option<Channel>,
    keys: RwLock<Option<Arc<Published>>>,
    last_fetch: Mutex<Option<Instant>>,
    min_refetch: Duration,
}

impl Jwks {
    /// A cache fed from the `auth` route (none: no key, every token refused).
    pub fn new(auth: Option<Channel>, min_refetch: Duration) -> Self {
        Self {
            auth,
            keys: RwLock::new(None),
            last_fetch: Mutex::new(None),
            min_refetch,
        }
    }

    /// The current set, if one was ever fetched.
    pub fn keys(&self) -> Option<Arc<Published>> {
        self.keys.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Fetches now, unless the last fetch is more recent than `min_refetch`; returns
    /// whether a new set was installed.
    pub async fn refetch(&self) -> bool {
        {
            let mut last = self.last_fetch.lock().unwrap_or_else(|e| e.into_inner());
            if last.is_some_and(|t| t.elapsed() < self.min_refetch) {
                return false;
            }
            *last = Some(Instant::now());
        }
        self.fetch().await
    }

    async fn fetch(&self) -> bool {
        let Some(channel) = &self.auth else {
            return false;
        };
        let mut request = tonic::Request::new(GetJwksRequest {});
        request.set_timeout(Duration::from_secs(3));
        let answer = match AuthServiceClient::new(channel.clone())
            .get_jwks(request)
            .await
        {
            Ok(a) => a.into_inner(),
            Err(status) => {
                tracing::warn!(code = ?status.code(), message = status.message(), "JWKS fetch failed; keeping the last set");
                return false;
            }
        };
        let jwks: Vec<Jwk> = answer
            .keys
            .into_iter()
            .map(egide_kit::jwks::from_proto)
            .collect();
        match KeySet::new(&jwks) {
            Ok(set) if !set.is_empty() => {
                *self.keys.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new((set, jwks)));
                true
            }
            Ok(_) => {
                tracing::warn!("auth published an empty JWKS; keeping the last set");
                false
            }
            Err(error) => {
                tracing::error!(%error, "auth published an unusable JWKS; keeping the last set");
                false
            }
        }
    }

    /// Fetches until the first set arrives (quickly), then every `every`, until `shutdown`.
    pub async fn follow(self: Arc<Self>, every: Duration, shutdown: CancellationToken) {
        loop {
            let got = self.fetch().await;
            *self.last_fetch.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
            let wait = if got || self.keys().is_some() {
                every
            } else {
                Duration::from_millis(500)
            };
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(wait) => {}
            }
        }
    }
}
