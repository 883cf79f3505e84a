//! A small deterministic PRNG (SplitMix64) with independent, random-access
//! streams: the data of item `i` is a pure function of `(seed, stream, i)`,
//! so any item can be regenerated without keeping it in memory.

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Independent random streams.
#[derive(Clone, Copy)]
pub(super) enum Stream {
    Professional = 1,
    Establishment = 2,
    Identity = 3,
    Rights = 4,
    Broken = 5,
    Salt = 6,
}

#[derive(Debug, Clone)]
pub(super) struct Rng(u64);

impl Rng {
    /// The generator of item `index` of `stream`.
    pub(super) fn for_item(seed: u64, stream: Stream, index: u64) -> Self {
        let s = stream as u64;
        Self(mix(seed
            ^ mix(
                s.wrapping_mul(GOLDEN) ^ mix(index.wrapping_add(GOLDEN))
            )))
    }

    pub(super) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(GOLDEN);
        mix(self.0)
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    pub(super) fn below(&mut self, n: usize) -> usize {
        let wide = u128::from(self.next_u64()) * n as u128;
        (wide >> 64) as usize
    }

    /// Uniform in `lo..=hi`.
    pub(super) fn between(&mut self, lo: u32, hi: u32) -> u32 {
        let span = hi.saturating_sub(lo) as usize + 1;
        lo + self.below(span) as u32
    }

    /// `true` with probability `percent` / 100.
    pub(super) fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    /// A uniformly chosen element of a non-empty slice.
    pub(super) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// An element chosen with the given integer weights (non-empty slice).
    pub(super) fn weighted<'a, T>(&mut self, items: &'a [(u32, T)]) -> &'a T {
        let total: u32 = items.iter().map(|(w, _)| w).sum();
        let mut r = self.below(total as usize) as u32;
        for (w, item) in items {
            if r < *w {
                return item;
            }
            r -= w;
        }
        &items[items.len() - 1].1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_independent() {
        let a: Vec<u64> = (0..4)
            .map(|_| Rng::for_item(7, Stream::Identity, 3).next_u64())
            .collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        let mut r = Rng::for_item(7, Stream::Identity, 3);
        let mut s = Rng::for_item(7, Stream::Identity, 4);
        assert_ne!(r.next_u64(), s.next_u64());
        let mut counts = [0_usize; 5];
        for _ in 0..10_000 {
            counts[r.below(5)] += 1;
            let b = r.between(3, 5);
            assert!((3..=5).contains(&b));
        }
        assert!(
            counts.iter().all(|&c| (1_700..2_300).contains(&c)),
            "{counts:?}"
        );
        assert_eq!(r.below(0), 0);
        assert_eq!(*r.weighted(&[(0, 'a'), (5, 'b'), (0, 'c')]), 'b');
    }
}
