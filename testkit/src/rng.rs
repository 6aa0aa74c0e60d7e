//! A seeded pseudo-random generator for tests: the same seed gives the same numbers on every
//! machine and every run, so a failing case can be replayed.

/// SplitMix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number generators",
/// OOPSLA 2014; the constants of Vigna's reference `splitmix64.c`): a 64-bit counter stepped
/// by the golden-ratio increment, each value scrambled by two xor-shift-multiply rounds. Every
/// seed, 0 included, starts a full-period stream of 2^64 outputs that passes BigCrush.
///
/// Not for anything secret: the next output follows from any one output.
#[derive(Debug, Clone)]
pub struct Rng {
    state: u64,
}

impl Rng {
    /// The stream for `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number from `0` to `n - 1`. The modulo bias, below 2^-40 for the `n` tests use, does
    /// not matter here.
    ///
    /// # Panics
    /// When `n` is 0.
    pub fn below(&mut self, n: usize) -> usize {
        assert!(n > 0, "below(0): no number is below 0");
        (self.next_u64() % n as u64) as usize
    }

    /// A number in `range` (`start..end`, `end` excluded).
    ///
    /// # Panics
    /// When the range is empty.
    pub fn range(&mut self, range: std::ops::Range<usize>) -> usize {
        assert!(range.start < range.end, "empty range {range:?}");
        range.start + self.below(range.end - range.start)
    }

    /// One random byte.
    pub fn byte(&mut self) -> u8 {
        (self.next_u64() >> 56) as u8
    }

    /// Fills `out` with random bytes.
    pub fn fill(&mut self, out: &mut [u8]) {
        for chunk in out.chunks_mut(8) {
            chunk.copy_from_slice(&self.next_u64().to_le_bytes()[..chunk.len()]);
        }
    }

    /// `len` random bytes: data that does not compress.
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        let mut out = vec![0; len];
        self.fill(&mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first outputs for seed 0 (of `splitmix64.c`, state 0): the stream is the published
    /// one, so seeds written in tests keep meaning the same data.
    #[test]
    fn known_outputs() {
        let mut rng = Rng::new(0);
        assert_eq!(rng.next_u64(), 0xe220_a839_7b1d_cdaf);
        assert_eq!(rng.next_u64(), 0x6e78_9e6a_a1b9_65f4);
        assert_eq!(rng.next_u64(), 0x06c4_5d18_8009_454f);
    }

    #[test]
    fn same_seed_same_stream_other_seed_other_stream() {
        let (mut a, mut b, mut c) = (Rng::new(7), Rng::new(7), Rng::new(8));
        let a: Vec<u64> = (0..100).map(|_| a.next_u64()).collect();
        let b: Vec<u64> = (0..100).map(|_| b.next_u64()).collect();
        let c: Vec<u64> = (0..100).map(|_| c.next_u64()).collect();
        assert_eq!(a, b);
        assert!(a.iter().zip(&c).all(|(x, y)| x != y));
    }

    #[test]
    fn below_and_range_stay_inside_and_reach_every_value() {
        let mut rng = Rng::new(1);
        let mut seen = [0u32; 10];
        for _ in 0..10_000 {
            seen[rng.below(10)] += 1;
            let r = rng.range(3..6);
            assert!((3..6).contains(&r), "{r}");
        }
        // Each value about 1000 times; 800 is more than six standard deviations off.
        assert!(seen.iter().all(|&n| n > 800), "{seen:?}");
        assert_eq!(Rng::new(5).below(1), 0);
    }

    #[test]
    fn fill_uses_every_byte_of_each_word() {
        let mut rng = Rng::new(3);
        let bytes = rng.bytes(1 << 16);
        let mut counts = [0u32; 256];
        bytes.iter().for_each(|&b| counts[b as usize] += 1);
        // 256 expected of each value.
        assert!(
            counts.iter().all(|&n| (150..400).contains(&n)),
            "{counts:?}"
        );
        // A length that is not a multiple of 8 is filled to the end, from the same stream.
        let mut odd = [0u8; 13];
        Rng::new(3).fill(&mut odd);
        assert_eq!(odd, bytes[..13]);
        let byte = Rng::new(9).byte();
        assert_eq!(byte, (Rng::new(9).next_u64() >> 56) as u8);
    }

    #[test]
    #[should_panic(expected = "below(0)")]
    fn below_zero_panics() {
        Rng::new(0).below(0);
    }
}
