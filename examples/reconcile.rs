//! Settle a void whose outcome is unknown, on proof only.
//!
//! The simulator here voids the payment and then cuts its answer in half, as a dropped
//! connection would: the first attempt cannot know whether the void happened.
//! [`Client::void_reconciled`] asks again until an answer proves which way it went, and never
//! takes the words of an error as proof. `cargo run --example reconcile` runs it offline.

use std::time::Duration;

use instamed_soap::{
    Client, Credentials, Error, Outlet, RetryPolicy, VoidConfirmation, VoidRequest,
};
use instamed_soap_simulator::{
    DEMO_ACCOUNT_ID, DEMO_PASSWORD, FaultPlan, PaymentStatus, Simulator, SimulatorConfig,
};

/// Voids `request`, reconciling an unknown outcome; returns a line for the operator's log.
async fn void_for_sure(client: &Client, request: &VoidRequest) -> Result<String, Error> {
    match client.void_reconciled(request).await? {
        VoidConfirmation::Voided(receipt) => Ok(format!("voided {}", receipt.payment)),
        VoidConfirmation::VoidedOnRetry { receipt, attempts } => Ok(format!(
            "voided {} on attempt {attempts}: the first attempt had not gone through",
            receipt.payment
        )),
        VoidConfirmation::ConfirmedAlreadyVoided { refusal, attempts } => Ok(format!(
            "attempt {attempts} found {} voided (PrimaryTransactionStatus {}): the first \
             attempt had gone through",
            request.payment(),
            refusal.primary_transaction_status.as_deref().unwrap_or("?"),
        )),
        other => Ok(format!("settled: {other:?}")),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let faults = FaultPlan::seeded(7)
        .with_truncate_rate(1.0)
        .with_max_faults(1);
    let simulator = Simulator::start(SimulatorConfig::default().with_faults(faults)).await?;
    let outlet = Outlet::new("123123123", "123", "123")?;
    let payment = simulator.ledger().create_payment(&outlet, "45.00")?;

    let mut builder = Client::builder(simulator.endpoint())
        .credentials(Credentials::new(DEMO_ACCOUNT_ID, DEMO_PASSWORD))
        // Up to three more attempts, 200 ms apart and doubling, before giving up as unknown.
        .reconcile_policy(RetryPolicy::exponential(3, Duration::from_millis(200)));
    if let Some(ca) = simulator.ca_path() {
        builder = builder.ca_certificate_file(ca);
    }
    let client = builder.build()?;
    let request = VoidRequest::new(outlet, payment.clone());

    match void_for_sure(&client, &request).await {
        Ok(line) => println!("{line}"),
        // Still unknown after every attempt: leave it for a person, with the payment ID.
        Err(error) if error.outcome_unknown() => {
            eprintln!(
                "{payment}: outcome still unknown, check it by hand: {}",
                error.report()
            );
        }
        Err(error) => eprintln!("{payment}: not voided: {}", error.report()),
    }
    let status = simulator.ledger().payment(&payment).map(|p| p.status);
    println!("the simulator's ledger says: {status:?}");
    assert_eq!(status, Some(PaymentStatus::Voided));
    simulator.shutdown().await;
    Ok(())
}
