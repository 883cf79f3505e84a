//! Client authentication by certificate (mTLS): hospital software presents an
//! IGC-Santé ORG AUTH_CLI certificate; the gateway has certval validate the chain for
//! the configured purpose, remembers valid chains for a while, forgets them on
//! revocation events, and passes the verified structure to the backends as headers
//! (the contract is in `egide_kit::caller`).

pub mod cache;
pub mod follow;
pub mod headers;
pub mod metrics;
pub mod peer;
pub mod revoked;
pub mod verifier;

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant, SystemTime},
};

use egide_kit::{ApiError, caller::StructureCaller};
use egide_proto::certval::v1::{
    CertificateRevoked, ValidateChainRequest, ValidateChainResponse, certificate_identity::Kind,
    certificate_validation_service_client::CertificateValidationServiceClient,
};
use http::HeaderMap;
use tonic::{Code, Status, transport::Channel};

use crate::config::{ClientAuthConfig, ClientAuthMode};

use self::{cache::Cache, metrics::Metrics, peer::PeerChain, revoked::RecentlyRevoked};

/// Refusal reason: no certificate where one is required.
pub const REQUIRED: &str = "client_certificate_required";

/// Refusal reason: a certificate certval did not accept (metadata `cause`).
pub const INVALID: &str = "client_certificate_invalid";

/// How many recent revocations are remembered.
const RECENTLY_REVOKED_CAPACITY: usize = 100_000;

/// The refusal of a call that brings no client certificate where one is needed.
fn certificate_required() -> Status {
    ApiError::new(
        Code::Unauthenticated,
        REQUIRED,
        "a client certificate is required (an IGC-Santé ORG AUTH_CLI certificate)",
    )
    .into()
}

/// Per-call client authentication.
#[derive(Debug)]
pub struct ClientAuth {
    mode: ClientAuthMode,
    public_routes: Vec<String>,
    purpose: String,
    ttl: Duration,
    timeout: Duration,
    certval: Option<Channel>,
    cache: Cache,
    /// False while revocation events may be missed (NATS configured but disconnected):
    /// every call then asks certval.
    cache_trusted: AtomicBool,
    revoked: RecentlyRevoked,
    /// Counters for `/metrics`.
    pub metrics: Metrics,
}

impl ClientAuth {
    /// `certval` is the channel of the `certval` route; required unless the mode is off.
    /// `events` tells whether revocation events will be followed.
    pub fn new(
        config: &ClientAuthConfig,
        certval: Option<Channel>,
        events: bool,
    ) -> anyhow::Result<Self> {
        if config.mode != ClientAuthMode::Off && certval.is_none() {
            anyhow::bail!(
                "client_auth.mode = {:?} needs a `certval` route (or client_auth.mode = \"off\")",
                config.mode
            );
        }
        Ok(Self {
            mode: config.mode,
            public_routes: config.public_routes.clone(),
            purpose: config.purpose.clone(),
            ttl: Duration::from_secs(config.cache_ttl_secs),
            timeout: Duration::from_millis(config.validate_timeout_ms.max(1)),
            certval,
            cache: Cache::new(config.cache_capacity),
            // Until the first connection is seen, when events are followed.
            cache_trusted: AtomicBool::new(!events),
            revoked: RecentlyRevoked::new(RECENTLY_REVOKED_CAPACITY),
            metrics: Metrics::default(),
        })
    }

    /// Whether the TLS handshake asks for a client certificate.
    pub fn asks_for_certificates(&self) -> bool {
        self.mode != ClientAuthMode::Off
    }

    /// Admits a call to `path` or says why not. Removes forged identity headers first,
    /// whatever the mode, then adds the verified caller's.
    pub async fn admit(
        &self,
        path: &str,
        peer: Option<&PeerChain>,
        headers: &mut HeaderMap,
    ) -> Result<(), Status> {
        headers::strip_forged(headers);
        if self.mode == ClientAuthMode::Off
            || self
                .public_routes
                .iter()
                .any(|p| path.starts_with(p.as_str()))
        {
            return Ok(());
        }
        let Some(peer) = peer else {
            if self.mode == ClientAuthMode::Optional {
                return Ok(());
            }
            self.metrics.refused("missing");
            return Err(certificate_required());
        };
        let caller = self.verify(peer).await?;
        if let Err(error) = headers::inject(headers, &caller) {
            // Checked before caching; unreachable unless the check and the header rules part.
            return Err(ApiError::internal(error).into());
        }
        tracing::debug!(structure = %caller.idnat_struct, cert_sha256 = %caller.certificate_sha256, "client certificate accepted");
        Ok(())
    }

    /// Authenticates an HTTP client by its certificate (RFC 8705 `tls_client_auth`, for
    /// the OAuth endpoints): a chain certval accepts for the purpose, whatever the mode
    /// of the gRPC routes. On success `headers` carry the structure, as for gRPC.
    pub async fn authenticate_client(
        &self,
        peer: Option<&PeerChain>,
        headers: &mut HeaderMap,
    ) -> Result<(), Status> {
        headers::strip_forged(headers);
        let (Some(peer), Some(_)) = (peer, &self.certval) else {
            return Err(certificate_required());
        };
        let caller = self.verify(peer).await?;
        headers::inject(headers, &caller).map_err(ApiError::internal)?;
        Ok(())
    }

    /// The structure `peer` authenticates, from the cache or certval.
    async fn verify(&self, peer: &PeerChain) -> Result<Arc<StructureCaller>, Status> {
        let Some(facts) = &peer.facts else {
            return Err(self.refuse(peer, "malformed_certificate"));
        };
        let now = Instant::now();
        if self.revoked.contains(facts, &peer.leaf_sha256_hex, now) {
            return Err(self.refuse(peer, "revoked"));
        }
        if self.cache_trusted.load(Ordering::Acquire)
            && let Some(caller) = self.cache.get(&peer.chain_sha256, now)
        {
            self.metrics.cache_hits.fetch_add(1, Ordering::Relaxed);
            return Ok(caller);
        }
        let generation = self.cache.generation();
        let answer = self.validate(peer).await?;
        // A revocation event may have arrived while certval, not knowing it yet, answered.
        if self
            .revoked
            .contains(facts, &peer.leaf_sha256_hex, Instant::now())
        {
            return Err(self.refuse(peer, "revoked"));
        }
        if !answer.valid {
            let cause = if answer.reason.is_empty() {
                "invalid"
            } else {
                answer.reason.as_str()
            };
            return Err(self.refuse(peer, cause));
        }
        let Some(Kind::Structure(structure)) = answer.identity.and_then(|i| i.kind) else {
            return Err(self.refuse(peer, "identity_missing"));
        };
        if !headers::is_header_safe(&structure.idnat_struct) {
            return Err(self.refuse(peer, "identity_missing"));
        }
        let caller = Arc::new(StructureCaller {
            idnat_struct: structure.idnat_struct,
            organisation: structure.organisation,
            application: structure.application,
            certificate_sha256: peer.leaf_sha256_hex.clone(),
        });
        let now = Instant::now();
        let left = facts
            .not_after
            .duration_since(SystemTime::now())
            .unwrap_or_default();
        let expires = now + self.ttl.min(left);
        if expires > now {
            self.cache
                .insert(peer.chain_sha256, caller.clone(), expires, generation, now);
        }
        Ok(caller)
    }

    /// Asks certval. Fails closed: no answer is UNAVAILABLE, never a pass.
    async fn validate(&self, peer: &PeerChain) -> Result<ValidateChainResponse, Status> {
        let Some(channel) = &self.certval else {
            return Err(ApiError::unavailable(anyhow::anyhow!("no certval route")).into());
        };
        self.metrics.validations.fetch_add(1, Ordering::Relaxed);
        let mut request = tonic::Request::new(ValidateChainRequest {
            leaf: peer.leaf.to_vec(),
            intermediates: peer.intermediates.iter().map(|c| c.to_vec()).collect(),
            purpose: self.purpose.clone(),
            at: None,
        });
        request.set_timeout(self.timeout);
        let mut client = CertificateValidationServiceClient::new(channel.clone());
        let answer = tokio::time::timeout(
            self.timeout + Duration::from_millis(200),
            client.validate_chain(request),
        )
        .await;
        match answer {
            Ok(Ok(response)) => Ok(response.into_inner()),
            Ok(Err(status)) if status.code() == Code::InvalidArgument => {
                // certval refuses the input itself (too many or too large certificates).
                let reason = egide_kit::error::decode(&status)
                    .0
                    .unwrap_or_else(|| "invalid_argument".to_owned());
                Err(self.refuse(peer, &reason))
            }
            Ok(Err(status)) => {
                self.metrics.refused("validator_unavailable");
                Err(ApiError::unavailable(anyhow::anyhow!(
                    "certval ValidateChain: {:?} {}",
                    status.code(),
                    status.message()
                ))
                .into())
            }
            Err(_) => {
                self.metrics.refused("validator_unavailable");
                Err(ApiError::unavailable(anyhow::anyhow!(
                    "certval ValidateChain: no answer within {:?}",
                    self.timeout
                ))
                .into())
            }
        }
    }

    fn refuse(&self, peer: &PeerChain, cause: &str) -> Status {
        let cause = metrics::label(cause);
        self.metrics.refused(&cause);
        tracing::debug!(cert_sha256 = %peer.leaf_sha256_hex, %cause, "client certificate refused");
        ApiError::new(
            Code::Unauthenticated,
            INVALID,
            format!("client certificate refused: {cause}"),
        )
        .with_metadata("cause", cause)
        .into()
    }

    /// A revocation event: the cache is emptied (simplest correct) and the certificate
    /// refused here for the next hour whatever certval's replicas know yet.
    pub fn on_revoked(&self, event: &CertificateRevoked) {
        self.revoked.insert(
            &event.issuer_name_sha256,
            &event.serial_hex,
            &event.certificate_sha256,
            Instant::now(),
        );
        self.cache.clear();
        self.metrics
            .revocation_events
            .fetch_add(1, Ordering::Relaxed);
        tracing::info!(serial = %event.serial_hex, issuer = %event.issuer, "revocation event: client certificate cache cleared");
    }

    /// Appends the counters to `/metrics`.
    pub fn render_metrics(&self, out: &mut String) {
        self.metrics
            .render(out, self.cache_trusted.load(Ordering::Relaxed));
    }

    /// Whether cached answers may be used: not while revocation events may be missed.
    /// Turning it on again empties the cache (events were perhaps missed meanwhile).
    pub fn set_events_live(&self, live: bool) {
        if live && !self.cache_trusted.load(Ordering::Acquire) {
            self.cache.clear();
        }
        self.cache_trusted.store(live, Ordering::Release);
    }
}
