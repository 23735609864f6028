//! `--timeout` values: human durations (`30s`, `1m`, `500ms`), or a bare number of seconds as
//! earlier versions took, within bounds that make sense for one call to a payment service.

use std::time::Duration;

/// The longest deadline accepted. A void answers in about a second; ten minutes covers any
/// proxy or gateway in the way, and anything longer is a typo that would hang a script.
pub const MAX: Duration = Duration::from_secs(600);

/// The shortest deadline accepted: less cannot carry a TLS handshake and an answer even on
/// loopback, so every call would fail before it began.
pub const MIN: Duration = Duration::from_millis(100);

/// What `--help` says about the value.
pub const HELP: &str = "a duration such as 30s, 1m or 500ms (a bare number is seconds), \
                        from 100ms to 10m";

/// Parses a `--timeout` value for clap, which names the flag in its message and exits 2.
pub fn parse(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let duration = match text.parse::<f64>() {
        // Only a plain decimal: `inf`, `NaN` and exponents are not how anyone writes seconds.
        Ok(seconds) if text.bytes().all(|b| b.is_ascii_digit() || b == b'.') => {
            if seconds > MAX.as_secs_f64() {
                return Err(too_long());
            }
            Duration::from_secs_f64(seconds)
        }
        _ => {
            humantime::parse_duration(text).map_err(|error| format!("{error}; expected {HELP}"))?
        }
    };
    if duration.is_zero() {
        return Err(format!(
            "a zero timeout would fail every call; expected {HELP}"
        ));
    }
    if duration < MIN {
        return Err(format!(
            "shorter than 100ms, which no call can be answered in; expected {HELP}"
        ));
    }
    if duration > MAX {
        return Err(too_long());
    }
    Ok(duration)
}

fn too_long() -> String {
    format!("longer than the 10m limit; expected {HELP}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_durations_and_bare_seconds_are_read() {
        assert_eq!(parse("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse("2"), Ok(Duration::from_secs(2)));
        assert_eq!(parse("0.25"), Ok(Duration::from_millis(250)));
        assert_eq!(parse("10m"), Ok(MAX));
    }

    #[test]
    fn absurd_values_are_refused_with_a_reason() {
        for bad in [
            "0", "0s", "-1", "-5s", "1e300", "inf", "NaN", "11m", "601", "1y", "abc", "", ".",
            "1ns", "99ms", "0.05",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(parse("0").unwrap_err().contains("zero"));
        assert!(parse("1h").unwrap_err().contains("10m"));
        assert!(parse("1ns").unwrap_err().contains("100ms"));
        assert_eq!(parse("100ms"), Ok(MIN));
    }
}
