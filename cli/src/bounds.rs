//! The ranges of the numeric flags, in one place: every value clap accepts is one the command
//! can carry out, and a value outside is refused by clap (exit 2, the flag and the range named)
//! before anything starts. Without them a typo could ask for 2^61 semaphore permits, a float
//! number of seconds no `Duration` holds, or a run that never ends.

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

/// `gateway --threads`: the runtime's worker threads; more than a machine has cores only
/// adds hand-offs.
pub const GATEWAY_THREADS: std::ops::RangeInclusive<u64> = 1..=1024;

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

#[cfg(test)]
mod tests {
    use super::*;

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
