//! `instamed-soap soak`: many concurrent voids against the simulator with injected faults, and
//! an account of every single one against the simulator's ledger.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use instamed_soap::{
    Client, Credentials, Outlet, Protocol, RetryPolicy, TransactionId, VoidConfirmation,
    VoidRequest,
};
use instamed_soap_simulator::{
    DEMO_ACCOUNT_ID, DEMO_PASSWORD, FaultPlan, PaymentStatus, Simulator, SimulatorConfig,
};

/// How many voids, how fast, and how many faults.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Options {
    /// How many payments to void, 1 to 1000000.
    pub voids: usize,
    /// How many voids are in flight at once, 1 to 1024.
    pub concurrency: usize,
    /// Share of requests (0 to 1) that meet an injected fault, spread evenly over server
    /// faults, HTTP 503, dropped connections, cut answers and garbage.
    pub fault_rate: f64,
    /// Seed of the fault injection.
    pub seed: u64,
    /// Protocol: soap11, soap12 or nvp.
    pub protocol: String,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            voids: 50_000,
            concurrency: 200,
            fault_rate: 0.01,
            seed: 1,
            protocol: "soap11".to_owned(),
        }
    }
}

/// How one void ended, from the caller's side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Ending {
    Voided,
    VoidedOnRetry,
    ConfirmedAlreadyVoided,
    /// An answer that is not a void: the payment must still be captured.
    NotVoided(&'static str),
    /// Still unknown after reconciling.
    Unknown,
}

impl Ending {
    /// How the account names it: words, as the rest of the tool's output.
    fn words(self) -> String {
        match self {
            Self::Voided => "voided".to_owned(),
            Self::VoidedOnRetry => "voided on a later attempt".to_owned(),
            Self::ConfirmedAlreadyVoided => "voided, confirmed by a later attempt".to_owned(),
            Self::NotVoided(code) => format!("not voided ({})", code.replace('_', " ")),
            Self::Unknown => "outcome unknown after reconciling".to_owned(),
        }
    }

    fn is_voided(self) -> bool {
        matches!(
            self,
            Self::Voided | Self::VoidedOnRetry | Self::ConfirmedAlreadyVoided
        )
    }
}

/// Runs the soak and prints its account; `Ok(false)` when a void is unaccounted for.
pub async fn run(args: &Options) -> Result<bool, Box<dyn std::error::Error>> {
    let protocol: Protocol = args.protocol.parse()?;
    let share = args.fault_rate / 5.0;
    let plan = FaultPlan::seeded(args.seed)
        .with_fault_rate(share)
        .with_unavailable_rate(share)
        .with_reset_rate(share)
        .with_truncate_rate(share)
        .with_malformed_rate(share);
    let simulator = Simulator::start(SimulatorConfig::default().with_faults(plan)).await?;
    let outlet = Outlet::new("123123123", "123", "123")?;
    let payments: Vec<TransactionId> = (0..args.voids)
        .map(|_| simulator.ledger().create_payment(&outlet, "1.00"))
        .collect::<Result<_, _>>()?;
    let payments = Arc::new(payments);

    let mut builder = Client::builder(simulator.endpoint())
        .credentials(Credentials::new(DEMO_ACCOUNT_ID, DEMO_PASSWORD))
        .protocol(protocol)
        // The simulator runs in this process: a proxy from the environment could not reach it.
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .max_idle_connections(args.concurrency)
        .retry_policy(RetryPolicy::exponential(3, Duration::from_millis(20)))
        .reconcile_policy(RetryPolicy::exponential(5, Duration::from_millis(20)));
    if let Some(ca) = simulator.ca_path() {
        builder = builder.ca_certificate_file(ca);
    }
    let client = builder.build()?;

    println!(
        "soak: {} voids over {protocol}, {} in flight, {:.2} % injected faults (seed {})",
        args.voids,
        args.concurrency,
        args.fault_rate * 100.0,
        args.seed
    );
    let next = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    // Allocated whole before the run, so that the memory samples show the client and the
    // simulator, not this tally growing.
    let endings: Arc<Mutex<Vec<Option<Ending>>>> = Arc::new(Mutex::new(vec![None; args.voids]));
    let counted_twice = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::with_capacity(args.concurrency);
    for _ in 0..args.concurrency {
        let (client, payments, outlet) = (client.clone(), payments.clone(), outlet.clone());
        let (next, done) = (next.clone(), done.clone());
        let (endings, counted_twice) = (endings.clone(), counted_twice.clone());
        workers.push(tokio::spawn(async move {
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(payment) = payments.get(index) else {
                    return;
                };
                let request = VoidRequest::new(outlet.clone(), payment.clone());
                let ending = match client.void_reconciled(&request).await {
                    Ok(VoidConfirmation::Voided(_)) => Ending::Voided,
                    Ok(VoidConfirmation::VoidedOnRetry { .. }) => Ending::VoidedOnRetry,
                    Ok(VoidConfirmation::ConfirmedAlreadyVoided { .. }) => {
                        Ending::ConfirmedAlreadyVoided
                    }
                    Ok(_) => Ending::NotVoided("unexpected_confirmation"),
                    Err(error) if error.outcome_unknown() => Ending::Unknown,
                    Err(error) => Ending::NotVoided(error.code()),
                };
                let mut endings = endings
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                if endings[index].replace(ending).is_some() {
                    counted_twice.fetch_add(1, Ordering::Relaxed);
                }
                drop(endings);
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }

    // Resident memory, sampled as the run goes, to show it stays flat.
    let mut memory = Vec::new();
    let sampler = async {
        let mut next_tenth = 1;
        while next_tenth <= 10 {
            tokio::time::sleep(Duration::from_millis(20)).await;
            if done.load(Ordering::Relaxed) * 10 >= args.voids * next_tenth {
                memory.push((next_tenth * 10, resident_kib()));
                next_tenth += 1;
            }
        }
    };
    let (results, ()) = tokio::join!(futures_all(workers), sampler);
    results?;
    let elapsed = started.elapsed();
    let endings = std::mem::take(
        &mut *endings
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()),
    );
    let counted_twice = counted_twice.load(Ordering::Relaxed);

    // The account: every payment once, and the ledger agreeing with what the client was told.
    let mut tally: BTreeMap<String, usize> = BTreeMap::new();
    let (mut lost, mut disagree, mut unknown_voided) = (0, 0, 0);
    for (index, ending) in endings.iter().enumerate() {
        let Some(ending) = ending else {
            lost += 1;
            continue;
        };
        *tally.entry(ending.words()).or_default() += 1;
        let status = simulator.ledger().status(&payments[index]);
        let voided_in_ledger = status == Some(PaymentStatus::Voided);
        match ending {
            Ending::Unknown => unknown_voided += usize::from(voided_in_ledger),
            ending if ending.is_voided() != voided_in_ledger => disagree += 1,
            _ => {}
        }
    }
    simulator.shutdown().await;

    println!("{:<40} {:>8}", "ending", "voids");
    for (ending, count) in &tally {
        println!("{ending:<40} {count:>8}");
    }
    println!(
        "accounted {} of {}; lost {lost}; counted twice {counted_twice}; ledger disagrees {disagree}",
        endings.iter().flatten().count(),
        args.voids
    );
    if unknown_voided > 0 {
        println!("of the voids still unknown, {unknown_voided} are voided in the ledger");
    }
    println!(
        "{:.0} voids/s over {:.1} s",
        args.voids as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64()
    );
    let samples: Vec<String> = memory
        .iter()
        .map(|(percent, kib)| format!("{percent}%: {:.1} MiB", *kib as f64 / 1024.0))
        .collect();
    println!("resident memory: {}", samples.join(", "));
    Ok(lost == 0 && counted_twice == 0 && disagree == 0)
}

async fn futures_all<T: Send + 'static>(
    handles: Vec<tokio::task::JoinHandle<T>>,
) -> Result<Vec<T>, tokio::task::JoinError> {
    let mut out = Vec::with_capacity(handles.len());
    for handle in handles {
        out.push(handle.await?);
    }
    Ok(out)
}

/// This process's resident set size in KiB (Linux; 0 elsewhere).
fn resident_kib() -> u64 {
    crate::process::status_kib("VmRSS:").unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::Ending;

    #[test]
    fn every_ending_is_said_in_words() {
        let endings = [
            Ending::Voided,
            Ending::VoidedOnRetry,
            Ending::ConfirmedAlreadyVoided,
            Ending::NotVoided("unknown_transaction"),
            Ending::Unknown,
        ];
        for ending in endings {
            let words = ending.words();
            assert!(
                words
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || " (),".contains(c)),
                "{words}"
            );
        }
        assert_eq!(
            Ending::NotVoided("unknown_transaction").words(),
            "not voided (unknown transaction)"
        );
    }
}
