//! How long renewal waits after a failure: exponential backoff with
//! jitter, after certmagic's renewal loop, so that a CA having a bad hour
//! is neither hammered nor given up on.

use std::time::Duration;

/// The share of a delay jitter may take off: each delay is drawn between
/// 80% and 100% of its nominal value, so delays still grow (80% of twice
/// a delay exceeds all of it) while servers that failed together spread
/// out.
const JITTER: f64 = 0.2;

/// The waits between failed renewals: `first` after the first failure,
/// doubling after each further one up to `max`, each drawn between 80%
/// and 100% of that nominal value. A permanent failure
/// ([`Error::is_permanent`](crate::Error::is_permanent)) waits as long as
/// `max` at once; a CA's `Retry-After` is a floor.
///
/// ```
/// use std::time::Duration;
/// let backoff = paf_le::Backoff::default();
/// assert_eq!(backoff.nominal(1), Duration::from_secs(60));
/// assert_eq!(backoff.nominal(2), Duration::from_secs(120));
/// assert_eq!(backoff.nominal(30), Duration::from_secs(86_400));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    first: Duration,
    max: Duration,
}

impl Default for Backoff {
    /// One minute, doubling up to one day.
    fn default() -> Self {
        Backoff {
            first: Duration::from_secs(60),
            max: Duration::from_secs(86_400),
        }
    }
}

impl Backoff {
    /// From `first` doubling up to `max` (raised to `first` if below it).
    pub fn new(first: Duration, max: Duration) -> Self {
        Backoff {
            first,
            max: max.max(first),
        }
    }

    /// The wait after the first failure.
    pub fn first(&self) -> Duration {
        self.first
    }

    /// The longest wait.
    pub fn max(&self) -> Duration {
        self.max
    }

    /// The wait after `failures` failures in a row, before jitter.
    pub fn nominal(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1);
        if doublings >= 32 {
            return self.max;
        }
        self.first
            .checked_mul(1u32 << doublings)
            .map_or(self.max, |delay| delay.min(self.max))
    }

    /// The wait after `failures` failures in a row, the last one permanent
    /// or not, when the CA asked to wait `retry_after`: jittered, and
    /// never shorter than `retry_after`.
    pub fn delay(&self, failures: u32, permanent: bool, retry_after: Option<Duration>) -> Duration {
        let nominal = if permanent {
            self.max
        } else {
            self.nominal(failures)
        };
        let jittered = nominal.mul_f64(1.0 - JITTER * unit_random());
        jittered.max(retry_after.unwrap_or(Duration::ZERO))
    }
}

/// A random number in `[0, 1]`; 0 when the system's generator fails
/// (jitter is a nicety, not worth an error).
pub(crate) fn unit_random() -> f64 {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 4];
    match ring::rand::SystemRandom::new().fill(&mut bytes) {
        Ok(()) => f64::from(u32::from_le_bytes(bytes)) / f64::from(u32::MAX),
        Err(_) => 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nominal_delays_double_from_a_minute_to_a_day() {
        let backoff = Backoff::default();
        let minutes: Vec<u64> = (1..=12)
            .map(|n| backoff.nominal(n).as_secs() / 60)
            .collect();
        assert_eq!(minutes, [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 1440]);
        assert_eq!(backoff.nominal(0), Duration::from_secs(60));
        assert_eq!(backoff.nominal(u32::MAX), Duration::from_secs(86_400));
    }

    #[test]
    fn delays_are_jittered_within_bounds_and_grow() {
        let backoff = Backoff::default();
        for failures in 1..=14 {
            let nominal = backoff.nominal(failures);
            let delays: Vec<Duration> = (0..50)
                .map(|_| backoff.delay(failures, false, None))
                .collect();
            for delay in &delays {
                assert!(
                    *delay <= nominal && *delay >= nominal.mul_f64(0.8),
                    "{delay:?} vs {nominal:?}"
                );
            }
            if nominal < backoff.max() {
                assert!(delays.iter().any(|d| *d != delays[0]), "jittered");
            }
        }
    }

    #[test]
    fn permanent_failures_wait_the_longest_and_retry_after_is_a_floor() {
        let backoff = Backoff::default();
        let permanent = backoff.delay(1, true, None);
        assert!(
            permanent >= Duration::from_secs(69_120) && permanent <= Duration::from_secs(86_400)
        );
        let asked = Duration::from_secs(7200);
        assert_eq!(backoff.delay(1, false, Some(asked)), asked);
        assert!(backoff.delay(30, false, Some(Duration::from_secs(1))) > asked);
        assert_eq!(
            Backoff::new(Duration::from_secs(10), Duration::ZERO).max(),
            Duration::from_secs(10)
        );
    }
}
