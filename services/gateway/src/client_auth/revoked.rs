//! Certificates revoked in the last hour, from revocation events, checked on every call
//! before the cache and before certval: another certval replica may not have applied the
//! event yet when the gateway sees it.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Mutex, PoisonError},
    time::{Duration, Instant},
};

use super::peer::LeafFacts;

/// How long a revocation is remembered here; certval's own state (events, the database
/// read-back, CRLs) answers after that.
pub const WINDOW: Duration = Duration::from_secs(3600);

#[derive(Clone, Debug, Hash, PartialEq, Eq)]
enum Key {
    /// (issuer name SHA-256, serial), lowercase hex.
    IssuerSerial(String, String),
    /// The certificate's SHA-256, lowercase hex.
    Certificate(String),
}

/// The recently revoked set, bounded in time ([`WINDOW`]) and size.
#[derive(Debug)]
pub struct RecentlyRevoked {
    capacity: usize,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    until: HashMap<Key, Instant>,
    order: VecDeque<(Instant, Key)>,
}

impl RecentlyRevoked {
    /// At most `capacity` keys; the oldest go first.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(2),
            inner: Mutex::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records a revocation; `certificate_sha256` may be empty (revoked by serial).
    pub fn insert(
        &self,
        issuer_name_sha256: &str,
        serial_hex: &str,
        certificate_sha256: &str,
        now: Instant,
    ) {
        let mut keys = vec![Key::IssuerSerial(
            issuer_name_sha256.to_ascii_lowercase(),
            serial_hex.to_ascii_lowercase(),
        )];
        if !certificate_sha256.is_empty() {
            keys.push(Key::Certificate(certificate_sha256.to_ascii_lowercase()));
        }
        let until = now + WINDOW;
        let mut inner = self.lock();
        while let Some((t, _)) = inner.order.front() {
            if *t > now && inner.order.len() + keys.len() <= self.capacity {
                break;
            }
            if let Some((t, key)) = inner.order.pop_front() {
                // Only if not refreshed by a later event for the same key.
                if inner.until.get(&key) == Some(&t) {
                    inner.until.remove(&key);
                }
            }
        }
        for key in keys {
            inner.until.insert(key.clone(), until);
            inner.order.push_back((until, key));
        }
    }

    /// Whether the leaf (by issuer and serial, or by its SHA-256) was revoked recently.
    pub fn contains(&self, leaf: &LeafFacts, leaf_sha256_hex: &str, now: Instant) -> bool {
        let inner = self.lock();
        let live = |key: &Key| inner.until.get(key).is_some_and(|until| *until > now);
        live(&Key::IssuerSerial(
            leaf.issuer_name_sha256.clone(),
            leaf.serial_hex.clone(),
        )) || live(&Key::Certificate(leaf_sha256_hex.to_owned()))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::time::SystemTime;

    use super::*;

    fn leaf(serial: &str) -> LeafFacts {
        LeafFacts {
            issuer_name_sha256: "aa".into(),
            serial_hex: serial.into(),
            not_after: SystemTime::now(),
        }
    }

    #[test]
    fn matches_by_issuer_and_serial_or_by_certificate() {
        let set = RecentlyRevoked::new(100);
        let now = Instant::now();
        set.insert("AA", "0102", "", now);
        assert!(set.contains(&leaf("0102"), "ff", now));
        assert!(!set.contains(&leaf("0103"), "ff", now));
        set.insert("bb", "99", "FF", now);
        assert!(
            set.contains(&leaf("0103"), "ff", now),
            "by certificate hash"
        );
    }

    #[test]
    fn forgets_after_the_window() {
        let set = RecentlyRevoked::new(100);
        let now = Instant::now();
        set.insert("aa", "01", "", now);
        assert!(set.contains(&leaf("01"), "", now + WINDOW - Duration::from_secs(1)));
        assert!(!set.contains(&leaf("01"), "", now + WINDOW));
        // Expired keys are pruned by the next insertion.
        set.insert("aa", "02", "", now + WINDOW);
        assert_eq!(set.lock().until.len(), 1);
    }

    #[test]
    fn is_bounded() {
        let set = RecentlyRevoked::new(3);
        let now = Instant::now();
        for i in 0..10 {
            set.insert("aa", &format!("{i:02x}"), "", now);
        }
        let inner = set.lock();
        assert!(inner.until.len() <= 3, "{}", inner.until.len());
        drop(inner);
        assert!(set.contains(&leaf("09"), "", now), "the newest stays");
        assert!(!set.contains(&leaf("00"), "", now), "the oldest went");
    }
}
