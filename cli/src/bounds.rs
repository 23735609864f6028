//! The ranges of the numeric flags, in one place: every value clap accepts is one the command
//! can carry out, and a value outside is refused by clap (exit 2, the flag and the range named)
//! before anything starts. Without them a typo could ask for 2^61 semaphore permits, a float
//! number of seconds no `Duration` holds, or a run that never ends.

use std::time::Duration;

use clap::builder::{RangedU64ValueParser, TypedValueParser};

/// `batch --concurrency`: requests in flight. One process at 64 already outruns InstaMed's
/// rate limits on a merchant's credentials (`docs/ledger.md`); each request holds a connection,
/// so many more would meet the descriptor limit before they met the service.
pub const BATCH_CONCURRENCY: std::ops::RangeInclusive<u64> = 1..=256;

/// `batch --rate`: requests per second. More than the service accepts from one merchant; a
/// rate the token bucket cannot space out (above 10^9 a second) would not limit anything.
pub const BATCH_RATE: std::ops::RangeInclusive<u64> = 1..=10_000;

/// `void --attempts` (and `refund`, `reconcile`): reconciling attempts after the first. The
/// back-off doubles up to 30 s, so twenty already wait about ten minutes.
pub const ATTEMPTS: std::ops::RangeInclusive<u64> = 0..=20;

/// `void --backoff-ms`: the first wait when reconciling. Waits stop doubling at 30 s, so a
/// longer first wait would silently be 30 s.
pub const BACKOFF_MS: std::ops::RangeInclusive<u64> = 0..=30_000;

/// `serve --latency-ms`: added to every answer. No client waits longer than the 10-minute
/// `--timeout` limit.
pub const LATENCY_MS: std::ops::RangeInclusive<u64> = 0..=600_000;

/// `serve --void-cutoff` and `--refund-window`, in seconds: ten years. Any longer is "never"
/// for a simulator's payments, and a float beyond `Duration`'s range would not be a duration.
pub const AGE_SECONDS: u64 = 10 * 365 * 24 * 3600;

/// `soak --voids`: payments voided in one run; the simulator holds every one in memory.
pub const SOAK_VOIDS: std::ops::RangeInclusive<u64> = 1..=1_000_000;

/// `bench --voids`: per client and round; the simulator holds every one of them, for both
/// clients and every round, so this times [`ROUNDS`] times two is its most.
pub const BENCH_VOIDS: std::ops::RangeInclusive<u64> = 1..=100_000;

/// `soak --concurrency` and `bench --concurrency`: voids in flight, each on its own connection
/// to a simulator on this machine.
pub const LOAD_CONCURRENCY: std::ops::RangeInclusive<u64> = 1..=1024;

/// `bench --rounds`: the figures are medians over them; more than a few dozen add time, not
/// precision.
pub const ROUNDS: std::ops::RangeInclusive<u64> = 1..=20;

/// A parser for a whole number within `range`, as `T` (`usize`, `u32`, `u64`).
pub fn within<T>(range: std::ops::RangeInclusive<u64>) -> RangedU64ValueParser<T>
where
    T: TryFrom<u64> + Clone + Send + Sync + 'static,
    <T as TryFrom<u64>>::Error: std::error::Error + Send + Sync + 'static,
{
    RangedU64ValueParser::<T>::new().range(range)
}

/// `batch --rate`: within [`BATCH_RATE`], never zero.
pub fn rate() -> impl TypedValueParser<Value = std::num::NonZeroU32> {
    within::<u32>(BATCH_RATE).try_map(|n| std::num::NonZeroU32::new(n).ok_or("zero"))
}

/// A share of requests, `0` to `1` (`--fault-rate` and the other injected faults).
pub fn share(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(share) if (0.0..=1.0).contains(&share) => Ok(share),
        Ok(_) => Err("a share of requests from 0 to 1 (0.01 is one in a hundred)".to_owned()),
        Err(error) => Err(format!("{error}; expected a share from 0 to 1")),
    }
}

/// A number of seconds, possibly fractional, from 0 to [`AGE_SECONDS`] (`--void-cutoff`).
pub fn seconds(text: &str) -> Result<Duration, String> {
    let expected = format!("expected seconds from 0 to {AGE_SECONDS} (ten years)");
    let seconds: f64 = text
        .trim()
        .parse()
        .map_err(|error| format!("{error}; {expected}"))?;
    // NaN fails both comparisons, so it is refused here too.
    if !(0.0..=AGE_SECONDS as f64).contains(&seconds) {
        return Err(expected);
    }
    Duration::try_from_secs_f64(seconds).map_err(|error| format!("{error}; {expected}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_outside_ten_years_and_non_numbers_are_refused() {
        for bad in [
            "-1",
            "-0.5",
            "NaN",
            "inf",
            "-inf",
            "18446744073709551615",
            "1e300",
            "315360001",
            "",
            "ten",
        ] {
            assert!(seconds(bad).is_err(), "{bad:?} was accepted");
        }
        assert_eq!(seconds("0"), Ok(Duration::ZERO));
        assert_eq!(seconds("1.5"), Ok(Duration::from_millis(1500)));
        assert_eq!(seconds("315360000"), Ok(Duration::from_secs(AGE_SECONDS)));
    }

    #[test]
    fn shares_outside_zero_to_one_are_refused() {
        for bad in ["-0.1", "1.01", "NaN", "inf", "2", "", "half"] {
            assert!(share(bad).is_err(), "{bad:?} was accepted");
        }
        assert_eq!(share("0"), Ok(0.0));
        assert_eq!(share("1"), Ok(1.0));
        assert_eq!(share("0.25"), Ok(0.25));
    }
}
