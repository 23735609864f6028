//! Void one payment and act on every answer the way a billing system must.
//!
//! `cargo run --example void` runs offline: it starts the embedded simulator and voids a payment
//! made there. Point [`void_payment`] at `https://connect.instamed.com/payment/service.asmx` with
//! your own credentials and nothing else changes.

use instamed_soap::{Client, Credentials, Error, Outlet, Protocol, TransactionId, VoidRequest};
use instamed_soap_simulator::{DEMO_ACCOUNT_ID, DEMO_PASSWORD, Simulator, SimulatorConfig};

/// What the billing system does next with a payment.
#[derive(Debug, PartialEq, Eq)]
enum Next {
    /// Mark it voided in the ledger.
    MarkVoided,
    /// Too late to void: settle it with a refund (see `examples/refund_policy.rs`).
    Refund,
    /// The payment ID or outlet is wrong: a person must look at the record.
    FixTheRecord(String),
    /// The void may or may not have happened: reconcile before anything else (see
    /// `examples/reconcile.rs`). Never void blindly again, never refund.
    Reconcile(String),
    /// Nothing was sent: safe to try again later.
    TryAgainLater(String),
    /// The integration itself is wrong (credentials, endpoint, certificates).
    FixTheSetup(String),
}

/// Voids `payment` and says what to do next. The order of the arms matters: an unknown outcome
/// is checked before anything else, because no wording of an error can prove a void did not
/// happen.
async fn void_payment(client: &Client, outlet: &Outlet, payment: &TransactionId) -> Next {
    let request = VoidRequest::new(outlet.clone(), payment.clone());
    match client.void(&request).await {
        Ok(receipt) => {
            println!(
                "voided {} (TransactionStatus {})",
                receipt.payment, receipt.transaction_status
            );
            Next::MarkVoided
        }
        Err(error) if error.outcome_unknown() => Next::Reconcile(error.report().to_string()),
        // Voided earlier, by this system or another: the ledger can say so.
        Err(Error::AlreadyVoided(_)) => Next::MarkVoided,
        Err(Error::NotVoidable(_)) => Next::Refund,
        Err(error @ (Error::UnknownTransaction(_) | Error::InvalidRequest(_))) => {
            Next::FixTheRecord(error.report().to_string())
        }
        Err(error) if error.never_sent() => Next::TryAgainLater(error.report().to_string()),
        Err(error) => Next::FixTheSetup(error.report().to_string()),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Stand-in for InstaMed: an ASP.NET look-alike on loopback, with its own test CA.
    let simulator = Simulator::start(SimulatorConfig::default()).await?;
    let outlet = Outlet::new("123123123", "123", "123")?;
    let payment = simulator.ledger().create_payment(&outlet, "25.00")?;

    let mut builder = Client::builder(simulator.endpoint())
        .credentials(Credentials::new(DEMO_ACCOUNT_ID, DEMO_PASSWORD))
        .protocol(Protocol::Soap12);
    if let Some(ca) = simulator.ca_path() {
        builder = builder.ca_certificate_file(ca);
    }
    let client = builder.build()?;

    let first = void_payment(&client, &outlet, &payment).await;
    println!("first void: {first:?}");
    let second = void_payment(&client, &outlet, &payment).await;
    println!("same void again: {second:?}");
    let unknown = TransactionId::new("00000000000000000000000000000000")?;
    let third = void_payment(&client, &outlet, &unknown).await;
    println!("a payment InstaMed does not know: {third:?}");

    assert_eq!(first, Next::MarkVoided);
    assert_eq!(second, Next::MarkVoided);
    assert!(matches!(third, Next::FixTheRecord(_)));
    simulator.shutdown().await;
    Ok(())
}
