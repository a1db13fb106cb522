//! The error policy: a failed reconcile is retried after an exponentially growing delay with
//! jitter (so many clusters failing at once do not retry in lockstep), reset by a success.

use std::time::Duration;

use rand::Rng;

/// First retry delay.
pub const BASE: Duration = Duration::from_millis(500);
/// Longest retry delay.
pub const MAX: Duration = Duration::from_secs(60);

/// Consecutive failures of one cluster.
#[derive(Debug, Default, Clone)]
pub struct Backoff {
    failures: u32,
}

impl Backoff {
    /// Records a failure; returns the delay before the next attempt.
    pub fn failed(&mut self) -> Duration {
        self.failures = self.failures.saturating_add(1);
        let exp = BASE.saturating_mul(1u32 << self.failures.min(10).saturating_sub(1));
        let capped = exp.min(MAX);
        // Full jitter on the upper half: between d/2 and d.
        let half = capped / 2;
        let jitter = rand::rng().random_range(0..=half.as_millis() as u64);
        half + Duration::from_millis(jitter)
    }

    /// A success: the next failure starts from the base delay again.
    pub fn reset(&mut self) {
        self.failures = 0;
    }

    /// Consecutive failures so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_are_capped_and_reset_on_success() {
        let mut b = Backoff::default();
        let first = b.failed();
        assert!(first >= BASE / 2 && first <= BASE, "{first:?}");
        for _ in 0..20 {
            let d = b.failed();
            assert!(d <= MAX, "{d:?}");
        }
        assert!(b.failed() >= MAX / 2);
        b.reset();
        assert!(b.failed() <= BASE);
    }
}
