//! What is known about revocation, in memory: revocations recorded by events, CRLs by
//! issuer, OCSP answers by certificate. Validation reads it synchronously; what it lacks
//! is fetched ([`fetch`]) and validation runs again.

pub mod fetch;
pub mod live;

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex, RwLock,
        atomic::{AtomicU64, Ordering},
    },
};

use egide_pki::{
    Certificate,
    crl::Crl,
    ocsp::OcspStatus,
    path::{RevocationChecker, RevocationStatus},
};
use time::OffsetDateTime;

/// Where a certificate's status came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// A revocation event (or the revocations table).
    Event,
    /// A CRL.
    Crl,
    /// An OCSP response.
    Ocsp,
    /// Nothing: not checked, or unknown and allowed.
    None,
}

/// A revocation recorded by an event: the key is (issuer name SHA-256 hex, serial hex).
#[derive(Clone, Debug)]
pub struct Revoked {
    /// RFC 5280 reason name.
    pub reason: String,
    /// When.
    pub at: OffsetDateTime,
}

/// A CRL held, with where it came from and the key that signed it.
pub struct HeldCrl {
    /// The CRL.
    pub crl: Crl,
    /// A distribution point URL, or `submitted`.
    pub source: String,
    /// The SPKI of the CA that signed it.
    pub signer_spki: Vec<u8>,
}

/// An OCSP answer held until its nextUpdate.
#[derive(Clone, Debug)]
struct OcspEntry {
    status: OcspStatus,
    until: OffsetDateTime,
}

/// The revocation state of this replica.
#[derive(Default)]
pub struct Revocations {
    live: RwLock<HashMap<(String, String), Revoked>>,
    crls: RwLock<HashMap<Vec<u8>, Arc<HeldCrl>>>,
    ocsp: RwLock<HashMap<[u8; 32], OcspEntry>>,
    /// Bumped at every change that may turn a valid answer invalid: cached answers of an
    /// older generation are not used.
    generation: AtomicU64,
}

impl Revocations {
    /// The current generation.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Marks every cached answer stale.
    pub fn bump(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// Records a revocation; true when it was not known.
    pub fn record(&self, issuer_name_sha256: String, serial_hex: String, revoked: Revoked) -> bool {
        let new = write(&self.live)
            .insert((issuer_name_sha256, serial_hex), revoked)
            .is_none();
        if new {
            self.bump();
        }
        new
    }

    /// Revocations known.
    pub fn live_len(&self) -> usize {
        read(&self.live).len()
    }

    /// The CRL held for `issuer_der`.
    pub fn crl(&self, issuer_der: &[u8]) -> Option<Arc<HeldCrl>> {
        read(&self.crls).get(&crl_key(issuer_der)).cloned()
    }

    /// Every CRL held.
    pub fn crls(&self) -> Vec<Arc<HeldCrl>> {
        read(&self.crls).values().cloned().collect()
    }

    /// Holds `crl` unless a newer or equal one is held; true when it was taken.
    pub fn put_crl(&self, held: HeldCrl) -> bool {
        let key = crl_key(held.crl.issuer_der());
        let mut crls = write(&self.crls);
        if let Some(old) = crls.get(&key)
            && old.crl.this_update() >= held.crl.this_update()
        {
            return false;
        }
        crls.insert(key, Arc::new(held));
        drop(crls);
        self.bump();
        true
    }

    /// Holds an OCSP answer for `cert` until `until`.
    pub fn put_ocsp(&self, cert: &Certificate, status: OcspStatus, until: OffsetDateTime) {
        let revoked = matches!(status, OcspStatus::Revoked { .. });
        let mut map = write(&self.ocsp);
        if map.len() > 100_000 {
            map.clear();
        }
        map.insert(cert.sha256(), OcspEntry { status, until });
        drop(map);
        if revoked {
            self.bump();
        }
    }

    /// The status of `cert` (issued by `issuer`) at `at` from what is held, and where it
    /// came from.
    pub fn status(
        &self,
        cert: &Certificate,
        issuer: &Certificate,
        at: OffsetDateTime,
    ) -> (RevocationStatus, Source) {
        // The key costs a hash and two strings: only when something was revoked at all.
        let live = read(&self.live);
        let revoked = (!live.is_empty())
            .then(|| {
                let key = (
                    egide_pki::name_sha256_hex(cert.issuer_der()),
                    cert.serial_hex(),
                );
                live.get(&key).cloned()
            })
            .flatten();
        drop(live);
        if let Some(r) = revoked
            && r.at <= at
        {
            return (
                RevocationStatus::Revoked {
                    reason: r.reason,
                    at: Some(r.at),
                },
                Source::Event,
            );
        }
        // By the issuer's own subject (the child may spell that name otherwise, RFC 5280
        // §7.1); the CRL is its issuer's by key.
        if let Some(held) = self.crl(issuer.subject_der())
            && held.signer_spki == issuer.spki_der()
            && held.crl.is_current(at)
            && held.crl.covers(cert)
        {
            return (held.crl.status(cert.serial(), at), Source::Crl);
        }
        if let Some(entry) = read(&self.ocsp).get(&cert.sha256())
            && at < entry.until
        {
            return match &entry.status {
                OcspStatus::Good { .. } => (RevocationStatus::Good, Source::Ocsp),
                OcspStatus::Revoked { at: when, reason } if *when <= at => (
                    RevocationStatus::Revoked {
                        reason: reason.unwrap_or("unspecified").to_owned(),
                        at: Some(*when),
                    },
                    Source::Ocsp,
                ),
                OcspStatus::Revoked { .. } => (RevocationStatus::Good, Source::Ocsp),
                OcspStatus::Unknown => (RevocationStatus::Unknown, Source::Ocsp),
            };
        }
        (RevocationStatus::Unknown, Source::None)
    }
}

/// The checker one validation uses: answers from [`Revocations`] and remembers what it
/// could not answer (to fetch) and where the leaf's status came from.
pub struct Checker<'a> {
    state: &'a Revocations,
    /// (certificate, issuer) pairs whose status is unknown.
    pub unknown: Mutex<Vec<(Certificate, Certificate)>>,
    /// Source of the first (leaf) status asked.
    pub leaf_source: Mutex<Option<Source>>,
}

impl<'a> Checker<'a> {
    /// A checker over `state`.
    pub fn new(state: &'a Revocations) -> Self {
        Self {
            state,
            unknown: Mutex::new(Vec::new()),
            leaf_source: Mutex::new(None),
        }
    }

    /// The pairs whose status was unknown.
    pub fn take_unknown(&self) -> Vec<(Certificate, Certificate)> {
        std::mem::take(&mut *lock(&self.unknown))
    }

    /// Where the leaf's status came from.
    pub fn leaf_source(&self) -> Source {
        lock(&self.leaf_source).unwrap_or(Source::None)
    }
}

impl RevocationChecker for Checker<'_> {
    fn check(
        &self,
        cert: &Certificate,
        issuer: &Certificate,
        at: OffsetDateTime,
    ) -> RevocationStatus {
        let (status, source) = self.state.status(cert, issuer, at);
        lock(&self.leaf_source).get_or_insert(source);
        if matches!(status, RevocationStatus::Unknown) {
            lock(&self.unknown).push((cert.clone(), issuer.clone()));
        }
        status
    }
}

// A poisoned lock only means a panic elsewhere while holding it; the maps stay usable.
fn read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn lock<T>(l: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    l.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// CRLs are held by their issuer's name as RFC 5280 §7.1 compares names, so that a CA
/// whose subject and CRL spell its name with other string types still finds its CRL.
fn crl_key(issuer_der: &[u8]) -> Vec<u8> {
    egide_pki::names::canonical_name(issuer_der).unwrap_or_else(|| issuer_der.to_vec())
}
