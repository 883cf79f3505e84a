//! One validation: parse, look in the cache, validate with what is known about
//! revocation, fetch what was missing, validate again.

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

use egide_pki::{
    Candidates, Certificate, Reason, Skipped,
    path::{Failure, Options, ValidPath},
};
use sha2::{Digest as _, Sha256};
use time::OffsetDateTime;

use crate::{
    config::{CacheSettings, UnknownStatus},
    revocation::{Checker, Revocations, Source, fetch::Fetcher},
    trust::Trust,
};

/// Most intermediates a caller may send.
pub const MAX_INTERMEDIATES: usize = 16;
/// Largest certificate accepted.
pub const MAX_CERT_BYTES: usize = 64 * 1024;

/// The answer to one validation.
pub struct Outcome {
    /// The path, or why not.
    pub result: Result<ValidPath, Failure>,
    /// Where the leaf's revocation status came from.
    pub revocation: Source,
    /// Candidate intermediates left out (they do not parse).
    pub skipped: Vec<Skipped>,
}

impl Outcome {
    fn failed(reason: Reason, detail: String, index: Option<usize>) -> Self {
        Self {
            result: Err(Failure {
                reason,
                detail,
                index,
                path: Vec::new(),
            }),
            revocation: Source::None,
            skipped: Vec::new(),
        }
    }
}

/// A request the service cannot answer (as opposed to a certificate that is not valid).
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// No such purpose.
    #[error("unknown purpose {0:?}")]
    UnknownPurpose(String),
    /// Too many intermediates.
    #[error("at most {MAX_INTERMEDIATES} intermediates")]
    TooManyIntermediates,
}

/// Validations with their shared state.
pub struct Validations {
    trust: Arc<RwLock<Arc<Trust>>>,
    revocations: Arc<Revocations>,
    fetcher: Arc<Fetcher>,
    unknown: UnknownStatus,
    cache: ResultCache,
}

impl Validations {
    /// Validations over `trust` and `revocations`.
    pub fn new(
        trust: Arc<RwLock<Arc<Trust>>>,
        revocations: Arc<Revocations>,
        fetcher: Arc<Fetcher>,
        unknown: UnknownStatus,
        cache: &CacheSettings,
    ) -> Self {
        Self {
            trust,
            revocations,
            fetcher,
            unknown,
            cache: ResultCache::new(cache),
        }
    }

    /// The trust configuration in force.
    pub fn trust(&self) -> Arc<Trust> {
        self.trust
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Replaces the trust configuration; cached answers are dropped.
    pub fn set_trust(&self, trust: Trust) {
        *self
            .trust
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(trust);
        self.revocations.bump();
    }

    /// The revocation state.
    pub fn revocations(&self) -> &Arc<Revocations> {
        &self.revocations
    }

    /// The fetcher.
    pub fn fetcher(&self) -> &Arc<Fetcher> {
        &self.fetcher
    }

    /// Validates `leaf` with candidate `intermediates` for `purpose` (none: plain RFC
    /// 5280) at `at` (none: now, and the answer may come from or go to the cache).
    pub async fn validate(
        &self,
        leaf: &[u8],
        intermediates: &[impl AsRef<[u8]>],
        purpose: Option<&str>,
        at: Option<OffsetDateTime>,
    ) -> Result<Arc<Outcome>, RequestError> {
        if intermediates.len() > MAX_INTERMEDIATES {
            return Err(RequestError::TooManyIntermediates);
        }
        let trust = self.trust();
        if let Some(p) = purpose
            && !trust.profiles.contains_key(p)
        {
            return Err(RequestError::UnknownPurpose(p.to_owned()));
        }
        let key = at
            .is_none()
            .then(|| cache_key(leaf, intermediates, purpose));
        let generation = self.revocations.generation();
        if let Some(key) = &key
            && let Some(hit) = self.cache.get(key, generation)
        {
            return Ok(hit);
        }
        let at = at.unwrap_or_else(OffsetDateTime::now_utc);
        let outcome = Arc::new(
            self.validate_uncached(&trust, leaf, intermediates, purpose, at)
                .await,
        );
        if let Some(key) = key
            && cacheable(&outcome)
        {
            self.cache.put(key, generation, outcome.clone(), at);
        }
        Ok(outcome)
    }

    async fn validate_uncached(
        &self,
        trust: &Trust,
        leaf: &[u8],
        intermediates: &[impl AsRef<[u8]>],
        purpose: Option<&str>,
        at: OffsetDateTime,
    ) -> Outcome {
        let leaf = match parse_leaf(leaf) {
            Ok(leaf) => leaf,
            Err(outcome) => return *outcome,
        };
        let Candidates { usable, skipped } = Candidates::parse(intermediates);
        let pool: Vec<Certificate> = usable
            .into_iter()
            .chain(trust.intermediates.iter().cloned())
            .take(MAX_INTERMEDIATES * 2)
            .collect();
        let profile = purpose.and_then(|p| trust.profiles.get(p));
        let mut options = Options::at(at);
        options.max_intermediates = MAX_INTERMEDIATES * 2;
        // First pass: unknown statuses allowed, to learn which are unknown.
        options.unknown_revocation_allowed = true;
        let checker = Checker::new(&self.revocations);
        let first = trust
            .validator
            .validate(&leaf, &pool, profile, &options, &checker);
        let unknown = checker.take_unknown();
        if first.is_err() || unknown.is_empty() {
            let revocation = if unknown.is_empty() {
                checker.leaf_source()
            } else {
                Source::None
            };
            return Outcome {
                result: first,
                revocation,
                skipped,
            };
        }
        for (cert, issuer) in &unknown {
            self.fetcher.resolve(cert, issuer, at).await;
        }
        options.unknown_revocation_allowed = self.unknown == UnknownStatus::Allow;
        let checker = Checker::new(&self.revocations);
        let result = trust
            .validator
            .validate(&leaf, &pool, profile, &options, &checker);
        Outcome {
            result,
            revocation: checker.leaf_source(),
            skipped,
        }
    }

    /// Validates without touching the network (benchmarks, offline answers): unknown
    /// statuses follow the policy at once.
    pub fn validate_offline(
        &self,
        leaf: &Certificate,
        pool: &[Certificate],
        purpose: Option<&str>,
        at: OffsetDateTime,
    ) -> Outcome {
        let trust = self.trust();
        let profile = purpose.and_then(|p| trust.profiles.get(p));
        let mut options = Options::at(at);
        options.unknown_revocation_allowed = self.unknown == UnknownStatus::Allow;
        let checker = Checker::new(&self.revocations);
        let result = trust
            .validator
            .validate(leaf, pool, profile, &options, &checker);
        Outcome {
            result,
            revocation: checker.leaf_source(),
            skipped: Vec::new(),
        }
    }
}

fn parse_leaf(leaf: &[u8]) -> Result<Certificate, Box<Outcome>> {
    if leaf.len() > MAX_CERT_BYTES {
        return Err(Box::new(Outcome::failed(
            Reason::MalformedCertificate,
            format!("leaf: larger than {MAX_CERT_BYTES} bytes"),
            Some(0),
        )));
    }
    Certificate::from_der(leaf).map_err(|e| {
        Box::new(Outcome::failed(
            Reason::MalformedCertificate,
            format!("leaf: {}", e.detail),
            Some(0),
        ))
    })
}

/// Answers that depend on the moment (a revocation status not known yet) are not kept.
fn cacheable(outcome: &Outcome) -> bool {
    !matches!(&outcome.result, Err(f) if f.reason == Reason::RevocationUnknown)
}

fn cache_key(leaf: &[u8], intermediates: &[impl AsRef<[u8]>], purpose: Option<&str>) -> [u8; 32] {
    let mut h = Sha256::new();
    let purpose = purpose.unwrap_or("");
    h.update((purpose.len() as u64).to_be_bytes());
    h.update(purpose.as_bytes());
    h.update((leaf.len() as u64).to_be_bytes());
    h.update(leaf);
    for i in intermediates {
        let i = i.as_ref();
        h.update((i.len() as u64).to_be_bytes());
        h.update(i);
    }
    h.finalize().into()
}

struct Entry {
    generation: u64,
    until: Instant,
    outcome: Arc<Outcome>,
}

/// Answers by (chain, purpose), valid while the revocation generation is unchanged.
struct ResultCache {
    map: RwLock<HashMap<[u8; 32], Entry>>,
    capacity: usize,
    ttl: Duration,
}

impl ResultCache {
    fn new(settings: &CacheSettings) -> Self {
        Self {
            map: RwLock::default(),
            capacity: settings.capacity,
            ttl: Duration::from_secs(settings.ttl_secs),
        }
    }

    fn get(&self, key: &[u8; 32], generation: u64) -> Option<Arc<Outcome>> {
        let map = self
            .map
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let e = map.get(key)?;
        (e.generation == generation && Instant::now() < e.until).then(|| e.outcome.clone())
    }

    fn put(&self, key: [u8; 32], generation: u64, outcome: Arc<Outcome>, at: OffsetDateTime) {
        if self.capacity == 0 {
            return;
        }
        // A valid answer is not reused past the leaf's notAfter.
        let mut ttl = self.ttl;
        if let Ok(v) = &outcome.result
            && let Some(leaf) = v.path.first()
        {
            let left = (leaf.not_after() - at).whole_milliseconds().max(0);
            ttl = ttl.min(Duration::from_millis(u64::try_from(left).unwrap_or(0)));
        }
        let mut map = self
            .map
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() >= self.capacity {
            map.retain(|_, e| e.generation == generation);
            if map.len() >= self.capacity {
                map.clear();
            }
        }
        map.insert(
            key,
            Entry {
                generation,
                until: Instant::now() + ttl,
                outcome,
            },
        );
    }
}
