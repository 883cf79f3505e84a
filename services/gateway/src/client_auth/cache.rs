//! Chains certval found valid, by chain SHA-256, until min(ttl, the leaf's notAfter).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
    time::Instant,
};

use egide_kit::caller::StructureCaller;

/// The cache. `clear` bumps a generation so that an answer certval gave before a
/// revocation event is not stored after the event emptied the cache.
#[derive(Debug)]
pub struct Cache {
    capacity: usize,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    generation: u64,
    entries: HashMap<[u8; 32], (Arc<StructureCaller>, Instant)>,
}

impl Cache {
    /// At most `capacity` chains (at least one).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            inner: Mutex::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // The map stays consistent whatever panicked while holding it.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The caller of a chain still remembered.
    pub fn get(&self, chain: &[u8; 32], now: Instant) -> Option<Arc<StructureCaller>> {
        let mut inner = self.lock();
        match inner.entries.get(chain) {
            Some((caller, expires)) if *expires > now => Some(caller.clone()),
            Some(_) => {
                inner.entries.remove(chain);
                None
            }
            None => None,
        }
    }

    /// The generation to pass to [`Self::insert`], read before asking certval.
    pub fn generation(&self) -> u64 {
        self.lock().generation
    }

    /// Remembers `caller` until `expires`, unless the cache was cleared since
    /// `generation` was read.
    pub fn insert(
        &self,
        chain: [u8; 32],
        caller: Arc<StructureCaller>,
        expires: Instant,
        generation: u64,
        now: Instant,
    ) {
        let mut inner = self.lock();
        if inner.generation != generation {
            return;
        }
        if inner.entries.len() >= self.capacity {
            inner.entries.retain(|_, (_, e)| *e > now);
            if inner.entries.len() >= self.capacity {
                inner.entries.clear();
            }
        }
        inner.entries.insert(chain, (caller, expires));
    }

    /// Forgets everything.
    pub fn clear(&self) {
        let mut inner = self.lock();
        inner.generation = inner.generation.wrapping_add(1);
        inner.entries.clear();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn caller(id: &str) -> Arc<StructureCaller> {
        Arc::new(StructureCaller {
            idnat_struct: id.into(),
            organisation: "O".into(),
            application: "A".into(),
            certificate_sha256: "00".into(),
        })
    }

    #[test]
    fn entries_expire() {
        let cache = Cache::new(10);
        let now = Instant::now();
        cache.insert([1; 32], caller("1"), now + Duration::from_secs(5), 0, now);
        assert!(cache.get(&[1; 32], now).is_some());
        assert!(cache.get(&[1; 32], now + Duration::from_secs(5)).is_none());
        assert!(cache.get(&[1; 32], now).is_none(), "removed once expired");
    }

    #[test]
    fn an_answer_older_than_a_clear_is_not_stored() {
        let cache = Cache::new(10);
        let now = Instant::now();
        let before = cache.generation();
        cache.clear();
        cache.insert(
            [1; 32],
            caller("1"),
            now + Duration::from_secs(5),
            before,
            now,
        );
        assert!(cache.get(&[1; 32], now).is_none());
        cache.insert(
            [1; 32],
            caller("1"),
            now + Duration::from_secs(5),
            cache.generation(),
            now,
        );
        assert!(cache.get(&[1; 32], now).is_some());
    }

    #[test]
    fn a_full_cache_drops_expired_entries_then_everything() {
        let cache = Cache::new(2);
        let now = Instant::now();
        let later = now + Duration::from_secs(60);
        cache.insert([1; 32], caller("1"), now + Duration::from_secs(1), 0, now);
        cache.insert([2; 32], caller("2"), later, 0, now);
        let t = now + Duration::from_secs(2);
        cache.insert([3; 32], caller("3"), later, 0, t);
        assert!(
            cache.get(&[2; 32], t).is_some(),
            "only the expired one went"
        );
        assert!(cache.get(&[3; 32], t).is_some());
        cache.insert([4; 32], caller("4"), later, 0, t);
        assert!(cache.get(&[2; 32], t).is_none());
        assert!(cache.get(&[4; 32], t).is_some());
    }
}
