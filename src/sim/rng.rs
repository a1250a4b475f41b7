//! Seeded random streams. One portable generator (`ChaCha8Rng`) per subsystem and
//! series, selected with `set_stream`, so that adding a twin or a fault does not shift
//! the random numbers of every other twin.
//!
//! The engine's metric noise is the bulk of its random numbers, so it has a faster
//! path: one ChaCha8 block generator per twin (`NoiseStream`), read 64 words at a
//! time, and standard normals by inverse transform through a table of 2¹⁶ quantiles
//! (`normal`), two per 32-bit word. The normals are exact quantiles of N(0, 1) at
//! 65,536 equally likely levels, so they reach ±4.32 σ. A series with heavy tails
//! takes its innovations from a table of Student's t quantiles the same way
//! (`noise_tables`).

use rand::SeedableRng;
use rand_chacha::rand_core::block::BlockRngCore;
use rand_chacha::{ChaCha8Core, ChaCha8Rng};

/// A random stream for `(seed, purpose)`: the same arguments always give the same
/// sequence, on any machine.
pub fn stream(seed: u64, purpose: &str) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream_id(purpose));
    rng
}

/// A stable 64-bit id for a stream purpose (the first 8 bytes of its BLAKE3 hash).
pub fn stream_id(purpose: &str) -> u64 {
    let hash = blake3::hash(purpose.as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&hash.as_bytes()[..8]);
    u64::from_le_bytes(bytes)
}

/// A ChaCha8 block generator for `(seed, purpose)`, keyed by the BLAKE3 hash of both.
#[derive(Clone, Debug)]
pub(crate) struct NoiseStream(ChaCha8Core);

impl NoiseStream {
    pub fn new(seed: u64, purpose: &str) -> Self {
        let mut hasher = blake3::Hasher::new();
        hasher.update(&seed.to_le_bytes());
        hasher.update(purpose.as_bytes());
        Self(ChaCha8Core::from_seed(*hasher.finalize().as_bytes()))
    }

    /// Fills `out` with the stream's next words, 64 at a time (the words of the last
    /// 64 beyond `out` are skipped).
    pub fn fill(&mut self, out: &mut [u32]) {
        let mut block = <ChaCha8Core as BlockRngCore>::Results::default();
        for chunk in out.chunks_mut(64) {
            self.0.generate(&mut block);
            chunk.copy_from_slice(&block.as_ref()[..chunk.len()]);
        }
    }
}

pub(crate) use crate::model::noise::{innovation, noise_tables, tails_offset};

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn streams_are_reproducible_and_independent() {
        let a: Vec<u32> = stream(7, "history/web/cpu").random_iter().take(4).collect();
        let b: Vec<u32> = stream(7, "history/web/cpu").random_iter().take(4).collect();
        let c: Vec<u32> = stream(7, "history/db/cpu").random_iter().take(4).collect();
        let d: Vec<u32> = stream(8, "history/web/cpu").random_iter().take(4).collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
    }

    #[test]
    fn noise_streams_are_reproducible_and_independent() {
        let words = |seed, purpose| {
            let mut out = [0u32; 70];
            NoiseStream::new(seed, purpose).fill(&mut out);
            out
        };
        assert_eq!(words(7, "engine/noise/web"), words(7, "engine/noise/web"));
        assert_ne!(words(7, "engine/noise/web"), words(7, "engine/noise/db"));
        assert_ne!(words(7, "engine/noise/web"), words(8, "engine/noise/web"));
        // Filling 70 words reads two blocks; the first 64 are the same as one block's.
        let mut one = [0u32; 64];
        NoiseStream::new(7, "engine/noise/web").fill(&mut one);
        assert_eq!(one[..], words(7, "engine/noise/web")[..64]);
    }
}
