//! Every flag that takes a time takes it one way: a human duration (`30s`, `250ms`, `2m`,
//! `1h 30m`), or a bare number of seconds (`30`, `0.5`) as `--timeout` took before, each flag
//! within bounds of its own. A value outside them is refused by clap, which names the flag; the
//! message says the bounds and gives a valid example.

use std::time::Duration;

/// The values one flag accepts.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    /// The shortest accepted (zero included when it is zero).
    min: Duration,
    /// The longest accepted.
    max: Duration,
    /// The bounds and an example, in words, for `--help` and refusals.
    expected: &'static str,
    /// Why a value under `min` is refused, when `min` is not zero.
    too_short: &'static str,
}

/// `--timeout` (every command that connects): the deadline of one call. A void answers in
/// about a second; ten minutes covers any proxy or gateway in the way, and anything longer is
/// a typo that would hang a script. Less than 100ms cannot carry a TLS handshake and an answer
/// even on loopback, so every call would fail before it began.
pub const TIMEOUT: Bounds = Bounds {
    min: Duration::from_millis(100),
    max: Duration::from_secs(600),
    expected: "a duration such as 30s, 1m or 500ms (a bare number is seconds), from 100ms to 10m",
    too_short: "shorter than 100ms, which no call can be answered in",
};

/// `--backoff` (`void --reconcile`, `reconcile`, `refund`): the first wait when reconciling.
/// Waits stop doubling at 30s, so a longer first wait would silently be 30s.
pub const BACKOFF: Bounds = Bounds {
    min: Duration::ZERO,
    max: Duration::from_secs(30),
    expected: "a duration such as 250ms or 2s (a bare number is seconds), from 0 to 30s",
    too_short: "",
};

/// `serve --latency`: added to every answer. No client waits longer than the 10-minute
/// `--timeout` limit.
pub const LATENCY: Bounds = Bounds {
    min: Duration::ZERO,
    max: Duration::from_secs(600),
    expected: "a duration such as 250ms or 2s (a bare number is seconds), from 0 to 10m",
    too_short: "",
};

/// `serve --void-cutoff` and `--refund-window`: ten years at most (3650 days). Any longer is
/// "never" for a simulator's payments.
pub const AGE: Bounds = Bounds {
    min: Duration::ZERO,
    max: Duration::from_secs(10 * 365 * 24 * 3600),
    expected: "a duration such as 90s, 2h or 30days (a bare number is seconds), from 0 to \
               3650days",
    too_short: "",
};

/// `gateway --lease`: how long a replica's claim on a payment holds on PostgreSQL. Under a
/// second a live replica's call would be taken for a dead one's at every handshake; over an hour
/// a dead replica's payments would wait longer than any ERP retries.
pub const LEASE: Bounds = Bounds {
    min: Duration::from_secs(1),
    max: Duration::from_secs(3600),
    expected: "a duration such as 30s or 2m (a bare number is seconds), from 1s to 1h",
    too_short: "shorter than 1s, which a live replica's call outlasts",
};

/// `batch --wait-for-others`: how long a batch waits at its end for rows another process has
/// out. Zero leaves them at once; a day is longer than any night's run should hang.
pub const WAIT_FOR_OTHERS: Bounds = Bounds {
    min: Duration::ZERO,
    max: Duration::from_secs(24 * 3600),
    expected: "a duration such as 15m or 1h (a bare number is seconds), from 0 to 24h",
    too_short: "",
};

impl Bounds {
    /// Reads `text` as a duration within these bounds.
    pub fn parse(&self, text: &str) -> Result<Duration, String> {
        let expected = self.expected;
        let text = text.trim();
        let duration = match text.parse::<f64>() {
            // Only a plain decimal: `inf`, `NaN` and exponents are not how anyone writes
            // seconds.
            Ok(seconds) if text.bytes().all(|b| b.is_ascii_digit() || b == b'.') => {
                if seconds > self.max.as_secs_f64() {
                    return Err(self.too_long());
                }
                Duration::from_secs_f64(seconds)
            }
            _ => humantime::parse_duration(text)
                .map_err(|error| format!("{error}; expected {expected}"))?,
        };
        if duration < self.min {
            if duration.is_zero() {
                return Err(format!("zero would fail every call; expected {expected}"));
            }
            return Err(format!("{}; expected {expected}", self.too_short));
        }
        if duration > self.max {
            return Err(self.too_long());
        }
        Ok(duration)
    }

    fn too_long(&self) -> String {
        format!("longer than the limit; expected {}", self.expected)
    }

    /// A clap value parser for these bounds.
    pub fn parser(self) -> impl Fn(&str) -> Result<Duration, String> + Clone + Send + Sync {
        move |text| self.parse(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_durations_and_bare_seconds_are_read() {
        let parse = |text| TIMEOUT.parse(text);
        assert_eq!(parse("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse("2"), Ok(Duration::from_secs(2)));
        assert_eq!(parse("0.25"), Ok(Duration::from_millis(250)));
        assert_eq!(parse("10m"), Ok(TIMEOUT.max));
        assert_eq!(BACKOFF.parse("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(BACKOFF.parse("0"), Ok(Duration::ZERO));
        assert_eq!(LATENCY.parse("1.5"), Ok(Duration::from_millis(1500)));
        assert_eq!(AGE.parse("315360000"), Ok(AGE.max));
        assert_eq!(AGE.parse("30days"), Ok(Duration::from_secs(30 * 86400)));
    }

    #[test]
    fn absurd_values_are_refused_with_a_reason_and_an_example() {
        for bad in [
            "0", "0s", "-1", "-5s", "1e300", "inf", "NaN", "11m", "601", "1y", "abc", "", ".",
            "1ns", "99ms", "0.05",
        ] {
            let refused = TIMEOUT.parse(bad);
            assert!(refused.is_err(), "{bad:?} was accepted");
            assert!(refused.unwrap_err().contains("such as 30s"), "{bad:?}");
        }
        assert!(TIMEOUT.parse("0").unwrap_err().contains("zero"));
        assert!(TIMEOUT.parse("1h").unwrap_err().contains("10m"));
        assert!(TIMEOUT.parse("1ns").unwrap_err().contains("100ms"));
        assert_eq!(TIMEOUT.parse("100ms"), Ok(TIMEOUT.min));
        for bad in ["31s", "-1", "250x", "1e3", "18446744073709551615"] {
            assert!(BACKOFF.parse(bad).is_err(), "{bad:?} was accepted");
        }
        for bad in ["315360001", "3651days", "-inf", "NaN"] {
            assert!(AGE.parse(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
