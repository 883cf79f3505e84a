//! The revoked-serial index of a CRL: O(1) lookups, no allocation per entry.
//!
//! Serials live back to back in one arena; entries are 16-byte records
//! pointing into it; an open-addressing table (linear probing, load ≤ 1/2)
//! maps a keyed SipHash of the serial to the entry. A slot keeps the upper
//! half of the hash beside the entry number, so a miss — the common answer —
//! is decided without touching the arena. For a million entries this is about
//! 20 MB of serials, 16 MB of entries and 16 MB of table.
//!
//! The hash is std's randomly keyed SipHash: CRLs parsed without a signature
//! check (listing, fuzzing) cannot be crafted to collide and turn the build
//! quadratic.

use std::hash::{BuildHasher, RandomState};

/// One revoked serial: where its bytes are, when and why it was revoked.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Entry {
    offset: u32,
    len: u8,
    /// CRLReason code, or [`NO_REASON`].
    pub reason: u8,
    /// Seconds since the epoch.
    pub revoked_at: i64,
}

/// `Entry::reason` when the entry has no reasonCode extension.
pub(crate) const NO_REASON: u8 = u8::MAX;

/// Collects entries, then [`Builder::finish`]es into a [`SerialIndex`].
#[derive(Default)]
pub(crate) struct Builder {
    arena: Vec<u8>,
    entries: Vec<Entry>,
}

impl Builder {
    /// Reserves room for about `bytes` of DER entries (each at least 20 bytes).
    pub(crate) fn with_capacity_for(bytes: usize) -> Self {
        Self {
            arena: Vec::with_capacity(bytes / 3),
            entries: Vec::with_capacity(bytes / 32),
        }
    }

    /// Adds a canonical serial (at most 32 bytes; checked by the caller).
    pub(crate) fn push(&mut self, serial: &[u8], revoked_at: i64, reason: u8) -> Option<()> {
        let offset = u32::try_from(self.arena.len()).ok()?;
        let len = u8::try_from(serial.len()).ok()?;
        self.arena.extend_from_slice(serial);
        self.entries.push(Entry {
            offset,
            len,
            reason,
            revoked_at,
        });
        Some(())
    }

    /// Builds the table. A serial listed twice keeps its first entry.
    pub(crate) fn finish(mut self) -> SerialIndex {
        self.arena.shrink_to_fit();
        self.entries.shrink_to_fit();
        let mut index = SerialIndex {
            slots: Vec::new(),
            distinct: 0,
            arena: self.arena,
            entries: self.entries,
            hasher: RandomState::new(),
        };
        if index.entries.is_empty() {
            return index;
        }
        let size = (index.entries.len() * 2).next_power_of_two();
        index.slots = vec![0u64; size];
        for (i, entry) in index.entries.iter().enumerate() {
            let key = index.key(entry);
            let hash = index.hasher.hash_one(key);
            match index.probe(key, hash) {
                Ok(_) => {} // duplicate serial
                Err(slot) => {
                    // `i + 1` fits: at most 256 MiB / 20 bytes entries.
                    index.slots[slot] = (hash & TAG_MASK) | (i as u64 + 1);
                    index.distinct += 1;
                }
            }
        }
        index
    }
}

/// The high half of a slot holds hash bits, the low half the entry number + 1.
const TAG_MASK: u64 = 0xffff_ffff_0000_0000;

/// The finished index; see the module documentation.
pub(crate) struct SerialIndex {
    arena: Vec<u8>,
    entries: Vec<Entry>,
    slots: Vec<u64>,
    distinct: usize,
    hasher: RandomState,
}

impl std::fmt::Debug for SerialIndex {
    // Megabytes of serials are no use in a debug print.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SerialIndex")
            .field("serials", &self.distinct)
            .field("arena_bytes", &self.arena.len())
            .finish_non_exhaustive()
    }
}

impl SerialIndex {
    /// The entry of a canonical serial.
    pub(crate) fn get(&self, serial: &[u8]) -> Option<&Entry> {
        if self.slots.is_empty() {
            return None;
        }
        let hash = self.hasher.hash_one(serial);
        let slot = self.probe(serial, hash).ok()?;
        let n = (self.slots[slot] & !TAG_MASK) as usize;
        self.entries.get(n - 1)
    }

    /// Number of distinct serials.
    pub(crate) fn len(&self) -> usize {
        self.distinct
    }

    fn key(&self, entry: &Entry) -> &[u8] {
        let start = entry.offset as usize;
        &self.arena[start..start + usize::from(entry.len)]
    }

    /// `Ok(slot)` holding `serial`, or `Err(empty slot)` where it would go.
    fn probe(&self, serial: &[u8], hash: u64) -> Result<usize, usize> {
        let mask = self.slots.len() - 1;
        let mut i = hash as usize & mask;
        loop {
            let slot = self.slots[i];
            if slot == 0 {
                return Err(i);
            }
            if slot & TAG_MASK == hash & TAG_MASK {
                let n = (slot & !TAG_MASK) as usize;
                if self.key(&self.entries[n - 1]) == serial {
                    return Ok(i);
                }
            }
            i = (i + 1) & mask;
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn finds_what_was_pushed_and_nothing_else() {
        let mut b = Builder::default();
        for i in 0u32..10_000 {
            b.push(&i.to_be_bytes(), i64::from(i), (i % 11) as u8)
                .unwrap();
        }
        b.push(&5u32.to_be_bytes(), -1, 0).unwrap(); // duplicate: first kept
        let index = b.finish();
        assert_eq!(index.len(), 10_000);
        for i in 0u32..10_000 {
            let e = index.get(&i.to_be_bytes()).unwrap();
            assert_eq!(e.revoked_at, i64::from(i));
        }
        assert!(index.get(&10_000u32.to_be_bytes()).is_none());
        assert!(index.get(&[0, 0, 0]).is_none());
        assert!(index.get(&[]).is_none());
    }

    #[test]
    fn empty_index_answers_none() {
        let index = Builder::default().finish();
        assert_eq!(index.len(), 0);
        assert!(index.get(&[1]).is_none());
    }
}
