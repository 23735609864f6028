//! Retrying a request that never left the machine, and nothing else.
//!
//! A void that may have reached InstaMed is never sent again blindly: that is
//! [`Client::void_reconciled`](crate::Client::void_reconciled)'s job, which reads the second
//! answer as evidence about the first. What this policy retries are failures that happened
//! before a byte of the request was written (DNS, TCP connect, the TLS handshake, a connection
//! that closed before the request went out); see [`Error::never_sent`](crate::Error::never_sent).

use std::time::Duration;

/// How often, and how patiently, to retry requests that were never sent. Off by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Retries after the first attempt (0: no retry).
    pub max_retries: u32,
    /// The wait before the first retry; each later wait doubles, up to `max_backoff`.
    pub initial_backoff: Duration,
    /// The longest wait between two attempts.
    pub max_backoff: Duration,
}

impl RetryPolicy {
    /// No retry: the default.
    pub const fn none() -> Self {
        Self {
            max_retries: 0,
            initial_backoff: Duration::ZERO,
            max_backoff: Duration::ZERO,
        }
    }

    /// Up to `max_retries` retries, waiting `initial_backoff`, then twice as long each time, at
    /// most 30 seconds.
    pub const fn exponential(max_retries: u32, initial_backoff: Duration) -> Self {
        Self {
            max_retries,
            initial_backoff,
            max_backoff: Duration::from_secs(30),
        }
    }

    /// The same policy with another cap on the wait.
    pub const fn with_max_backoff(mut self, max_backoff: Duration) -> Self {
        self.max_backoff = max_backoff;
        self
    }

    /// The wait before retry number `retry` (0-based).
    pub fn backoff(&self, retry: u32) -> Duration {
        let factor = 2u32.saturating_pow(retry.min(31));
        self.initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self::none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let policy = RetryPolicy::exponential(10, Duration::from_millis(100))
            .with_max_backoff(Duration::from_millis(500));
        let waits: Vec<u128> = (0..5).map(|n| policy.backoff(n).as_millis()).collect();
        assert_eq!(waits, [100, 200, 400, 500, 500]);
        assert_eq!(policy.backoff(u32::MAX), Duration::from_millis(500));
        assert_eq!(RetryPolicy::default().max_retries, 0);
    }
}
