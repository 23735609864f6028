//! Injected faults: the ways a real service and the network between fail, on demand and
//! reproducibly.
//!
//! Every SOAP, NVP or REST request that passed authentication draws one number from a generator seeded
//! with [`FaultPlan::seed`]; the rates cut `[0, 1)` into bands, in the order of the fields. The
//! same seed and the same order of requests give the same faults.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::error::SimulatorError;

/// Which faults to inject, and how often. The default injects nothing.
///
/// Plain data: build it with the `with_*` methods or with struct update syntax,
/// `FaultPlan { reset_rate: 0.1, ..FaultPlan::default() }`, so that fields added later keep
/// their defaults.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FaultPlan {
    /// Seed of the generator that decides each request's fate.
    pub seed: u64,
    /// Added to every SOAP, NVP and REST answer (after the request was processed).
    pub latency: Duration,
    /// Share of requests answered with a receiver fault ("Simulated fault."), NVP `errorCode=500`.
    pub fault_rate: f64,
    /// Share answered with HTTP 503 and a small HTML page.
    pub unavailable_rate: f64,
    /// Share whose connection is closed without any answer.
    pub reset_rate: f64,
    /// Share answered with HTTP 500 and no body at all (a front end failing before the
    /// service could say anything).
    pub bare_fault_rate: f64,
    /// Share processed normally whose answer is cut in half (with a matching Content-Length).
    pub truncate_rate: f64,
    /// Share answered with `text/xml` that is not XML at all.
    pub malformed_rate: f64,
    /// Stop injecting after this many faults (`None`: never stop). With rates of 1 it makes a
    /// burst at start: the first request fails, the next ones are answered normally.
    pub max_faults: Option<u64>,
}

impl FaultPlan {
    /// No fault yet, with generator seed `seed`.
    pub fn seeded(seed: u64) -> Self {
        Self {
            seed,
            ..Self::default()
        }
    }

    /// With `latency` added to every answer.
    pub fn with_latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// With a share of receiver faults.
    pub fn with_fault_rate(mut self, rate: f64) -> Self {
        self.fault_rate = rate;
        self
    }

    /// With a share of HTTP 503 answers.
    pub fn with_unavailable_rate(mut self, rate: f64) -> Self {
        self.unavailable_rate = rate;
        self
    }

    /// With a share of connections closed without an answer.
    pub fn with_reset_rate(mut self, rate: f64) -> Self {
        self.reset_rate = rate;
        self
    }

    /// With a share of HTTP 500 answers without a body.
    pub fn with_bare_fault_rate(mut self, rate: f64) -> Self {
        self.bare_fault_rate = rate;
        self
    }

    /// With a share of answers cut in half.
    pub fn with_truncate_rate(mut self, rate: f64) -> Self {
        self.truncate_rate = rate;
        self
    }

    /// With at most `count` injected faults in all.
    pub fn with_max_faults(mut self, count: u64) -> Self {
        self.max_faults = Some(count);
        self
    }

    /// With a share of garbage answers.
    pub fn with_malformed_rate(mut self, rate: f64) -> Self {
        self.malformed_rate = rate;
        self
    }

    fn rates(&self) -> [(f64, Injected); 6] {
        // A new kind goes last, so that a seed keeps drawing the faults it drew before.
        [
            (self.fault_rate, Injected::Fault),
            (self.unavailable_rate, Injected::Unavailable),
            (self.reset_rate, Injected::Reset),
            (self.truncate_rate, Injected::Truncate),
            (self.malformed_rate, Injected::Malformed),
            (self.bare_fault_rate, Injected::BareFault),
        ]
    }

    /// Checks that every rate is in `[0, 1]` and that they add up to at most 1.
    pub(crate) fn validate(&self) -> Result<(), SimulatorError> {
        let mut total = 0.0;
        for (rate, kind) in self.rates() {
            if !(0.0..=1.0).contains(&rate) {
                return Err(SimulatorError::InvalidConfig(format!(
                    "the {kind:?} rate must be between 0 and 1, got {rate}"
                )));
            }
            total += rate;
        }
        if total > 1.0 + 1e-9 {
            return Err(SimulatorError::InvalidConfig(format!(
                "the fault rates add up to {total}, more than 1"
            )));
        }
        Ok(())
    }
}

/// The fate drawn for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Injected {
    /// A receiver fault instead of processing.
    Fault,
    /// HTTP 503 instead of processing.
    Unavailable,
    /// The connection is closed instead of processing.
    Reset,
    /// The request is processed; its answer is cut in half.
    Truncate,
    /// Garbage instead of processing.
    Malformed,
    /// HTTP 500 with an empty body instead of processing.
    BareFault,
}

/// Draws each request's fate from the plan.
#[derive(Debug)]
pub(crate) struct Injector {
    plan: FaultPlan,
    /// `None` when the plan injects nothing, so that the common case takes no lock.
    rng: Option<Mutex<fastrand::Rng>>,
    /// How many faults were injected so far.
    injected: AtomicU64,
}

impl Injector {
    pub(crate) fn new(plan: FaultPlan) -> Self {
        let active = plan.rates().iter().any(|(rate, _)| *rate > 0.0);
        let rng = active.then(|| Mutex::new(fastrand::Rng::with_seed(plan.seed)));
        Self {
            plan,
            rng,
            injected: AtomicU64::new(0),
        }
    }

    /// The latency to add to every answer.
    pub(crate) fn latency(&self) -> Duration {
        self.plan.latency
    }

    /// Draws the next request's fate: `None` to answer it normally.
    pub(crate) fn draw(&self) -> Option<Injected> {
        let rng = self.rng.as_ref()?;
        let x = rng
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .f64();
        let mut upper = 0.0;
        let kind = self.plan.rates().into_iter().find_map(|(rate, kind)| {
            upper += rate;
            (x < upper).then_some(kind)
        })?;
        let so_far = self.injected.fetch_add(1, Ordering::Relaxed);
        match self.plan.max_faults {
            Some(limit) if so_far >= limit => None,
            _ => Some(kind),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_faults() {
        let plan = FaultPlan::seeded(42)
            .with_fault_rate(0.2)
            .with_reset_rate(0.2)
            .with_malformed_rate(0.2);
        let draws = |plan: &FaultPlan| {
            let injector = Injector::new(plan.clone());
            (0..64).map(|_| injector.draw()).collect::<Vec<_>>()
        };
        let first = draws(&plan);
        assert_eq!(first, draws(&plan));
        assert!(first.contains(&None) && first.contains(&Some(Injected::Reset)));
        assert_ne!(first, draws(&FaultPlan { seed: 43, ..plan }));
    }

    #[test]
    fn rates_are_checked() {
        assert!(FaultPlan::default().validate().is_ok());
        assert!(
            FaultPlan::seeded(1)
                .with_fault_rate(1.5)
                .validate()
                .is_err()
        );
        assert!(
            FaultPlan::seeded(1)
                .with_fault_rate(f64::NAN)
                .validate()
                .is_err()
        );
        let too_much = FaultPlan::seeded(1)
            .with_fault_rate(0.6)
            .with_reset_rate(0.6);
        assert!(too_much.validate().is_err());
        assert_eq!(Injector::new(FaultPlan::default()).draw(), None);
    }
}
