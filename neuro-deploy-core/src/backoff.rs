//! The one retry delay every adapter uses: exponential from a first delay, capped by a ceiling,
//! and jittered (each wait is between half and all of the capped value) so that many clients
//! retrying together spread out.

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

/// A capped, jittered exponential backoff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The (un-jittered) delay before the first retry.
    pub first: Duration,
    /// No delay is longer than this.
    pub ceiling: Duration,
}

impl Backoff {
    /// The delay before retry number `retry` (0 for the first retry): `first × 2^retry`, at
    /// most `ceiling`, then jittered into its upper half.
    pub fn delay(&self, retry: u32) -> Duration {
        let capped = self
            .first
            .saturating_mul(2u32.saturating_pow(retry))
            .min(self.ceiling);
        let half = capped / 2;
        half + half.mul_f64(unit_random())
    }
}

/// A number in [0, 1) from the standard library's randomly seeded hasher: enough to spread
/// retries, no dependency for it.
fn unit_random() -> f64 {
    let bits = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_ceiling_within_their_jitter() {
        let backoff = Backoff {
            first: Duration::from_millis(200),
            ceiling: Duration::from_secs(5),
        };
        for (retry, full) in [(0, 200), (1, 400), (2, 800), (5, 5000), (30, 5000)] {
            let full = Duration::from_millis(full);
            for _ in 0..50 {
                let delay = backoff.delay(retry);
                assert!(delay >= full / 2 && delay <= full, "{retry}: {delay:?}");
            }
        }
    }
}
