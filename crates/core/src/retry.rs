//! The retry policy shared by every client: exponential backoff with jitter, honoring the
//! server's `Retry-After`, within a bounded total wait.
//!
//! Pure arithmetic: the caller supplies the attempt number, the server's hint and a jitter
//! sample from its own random source, and sleeps for whatever this returns. Which failures are
//! worth retrying is the caller's call ([`crate::ErrorCode::is_transient`] plus the known
//! propagation errors of each cloud); this module only says how long to wait and when to stop.
//!
//! Deliberately absent: sleeping, clocks and randomness (the core does no IO).

use std::time::Duration;

/// How long to wait between attempts and when to give up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Delay before the first retry (doubled for each further one).
    pub initial_delay: Duration,
    /// Upper bound for one delay (before a `Retry-After` is honored).
    pub max_delay: Duration,
    /// Upper bound for all delays of one operation together.
    pub max_total_wait: Duration,
    /// Upper bound for the number of retries (not counting the first attempt).
    pub max_retries: u32,
}

impl Default for RetryPolicy {
    /// Suits API throttling and 5xx: 0.5 s, 1 s, 2 s, … up to 20 s each, 2 minutes in all.
    fn default() -> Self {
        RetryPolicy {
            initial_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(20),
            max_total_wait: Duration::from_secs(120),
            max_retries: 8,
        }
    }
}

impl RetryPolicy {
    /// For cloud propagation delays (new principals, new roles): patient, up to 3 minutes.
    pub fn propagation() -> Self {
        RetryPolicy {
            initial_delay: Duration::from_secs(2),
            max_delay: Duration::from_secs(15),
            max_total_wait: Duration::from_secs(180),
            max_retries: 30,
        }
    }

    /// Tiny delays for tests against the local sandbox.
    pub fn fast() -> Self {
        RetryPolicy {
            initial_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(100),
            max_total_wait: Duration::from_secs(5),
            max_retries: 8,
        }
    }

    /// The delay before retry number `attempt` (1 for the first retry), or `None` to give up.
    ///
    /// `waited` is the total already waited for this operation; `retry_after` is the server's
    /// hint, which wins over the computed backoff (a server that asks for more than the
    /// remaining budget makes us give up rather than hammer it); `jitter` in `0.0..=1.0`
    /// spreads the computed delay over its upper half ("equal jitter").
    pub fn next_delay(
        &self,
        attempt: u32,
        waited: Duration,
        retry_after: Option<Duration>,
        jitter: f64,
    ) -> Option<Duration> {
        if attempt == 0 || attempt > self.max_retries {
            return None;
        }
        let remaining = self.max_total_wait.checked_sub(waited)?;
        let delay = match retry_after {
            Some(hint) => hint,
            None => {
                let exponent = (attempt - 1).min(30);
                let backoff = self
                    .initial_delay
                    .saturating_mul(1u32 << exponent)
                    .min(self.max_delay);
                let jitter = jitter.clamp(0.0, 1.0);
                backoff.mul_f64(0.5 + 0.5 * jitter)
            }
        };
        if delay > remaining || remaining.is_zero() {
            return None;
        }
        Some(delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_and_jitter_stays_in_the_upper_half() {
        let policy = RetryPolicy::default();
        let at = |n| policy.next_delay(n, Duration::ZERO, None, 1.0);
        assert_eq!(at(1), Some(Duration::from_millis(500)));
        assert_eq!(at(2), Some(Duration::from_secs(1)));
        assert_eq!(at(3), Some(Duration::from_secs(2)));
        assert_eq!(at(8), Some(Duration::from_secs(20)));
        assert_eq!(at(9), None, "max_retries");
        let low = policy.next_delay(3, Duration::ZERO, None, 0.0);
        assert_eq!(low, Some(Duration::from_secs(1)));
    }

    #[test]
    fn retry_after_wins_but_never_beyond_the_budget() {
        let policy = RetryPolicy::default();
        let hint = Some(Duration::from_secs(7));
        assert_eq!(
            policy.next_delay(1, Duration::ZERO, hint, 0.3),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            policy.next_delay(1, Duration::from_secs(115), hint, 0.3),
            None
        );
        assert_eq!(
            policy.next_delay(2, Duration::from_secs(120), None, 0.3),
            None
        );
    }
}
