//! A refund policy for payments too old to void: void first, refund only when InstaMed refuses
//! the void as too late, and never refund twice.
//!
//! `cargo run --example refund_policy` runs it offline against the embedded simulator, where one
//! payment's funds transfer has begun (InstaMed then refuses its void as not voidable).

use instamed_soap::rest::Amount;
use instamed_soap::{
    ApiKey, Client, Error, Outlet, Protocol, TransactionId, VoidOrRefund, VoidRequest,
};
use instamed_soap_simulator::{DEMO_API_KEY, DEMO_API_SECRET, Simulator, SimulatorConfig};

/// How a cancelled charge was settled, for the ERP's books.
#[derive(Debug, PartialEq, Eq)]
enum Settled {
    /// The payment was voided: nothing reaches the card statement.
    Voided,
    /// The payment was refunded, with the refund's own transaction ID.
    Refunded { refund_id: String },
    /// The void's outcome is unknown: reconcile it first; a refund now could pay twice.
    ReconcileFirst,
    /// A refund was sent and its outcome is unknown. It is never resent automatically: a
    /// person checks the payment's refunds at InstaMed first.
    CheckRefundByHand { payment: TransactionId },
    /// Refused for good (already voided, unknown payment, over the refundable amount...).
    Refused(String),
}

/// Cancels a charge of `amount` on `payment`.
async fn cancel_charge(
    client: &Client,
    outlet: &Outlet,
    payment: &TransactionId,
    amount: Amount,
) -> Settled {
    let request = VoidRequest::new(outlet.clone(), payment.clone());
    match client.void_or_refund(&request, amount).await {
        Ok(VoidOrRefund::Voided(_)) => Settled::Voided,
        Ok(VoidOrRefund::Refunded(receipt)) => Settled::Refunded {
            refund_id: receipt.refund_id,
        },
        Ok(other) => Settled::Refused(format!("not handled yet: {other:?}")),
        Err(Error::RefundOutcomeUnknown(unsettled)) => Settled::CheckRefundByHand {
            payment: unsettled.payment,
        },
        // The void itself may have happened: refunding on top of it would pay twice.
        Err(error) if error.outcome_unknown() => Settled::ReconcileFirst,
        Err(error) => Settled::Refused(error.report().to_string()),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let simulator = Simulator::start(SimulatorConfig::default()).await?;
    let outlet = Outlet::new("123123123", "123", "123")?;
    let recent = simulator.ledger().create_payment(&outlet, "30.00")?;
    let transferred = simulator.ledger().create_payment(&outlet, "60.00")?;
    simulator.ledger().start_transfer(&transferred)?;

    // REST here; the same calls work over SOAP 1.1, SOAP 1.2 and NVP.
    let mut builder = Client::builder(simulator.rest_base())
        .api_key(ApiKey::new(DEMO_API_KEY, DEMO_API_SECRET))
        .protocol(Protocol::Rest);
    if let Some(ca) = simulator.ca_path() {
        builder = builder.ca_certificate_file(ca);
    }
    let client = builder.build()?;

    let first = cancel_charge(&client, &outlet, &recent, Amount::from_cents(3000)).await;
    println!("{recent}: {first:?}");
    let second = cancel_charge(&client, &outlet, &transferred, Amount::from_cents(6000)).await;
    println!("{transferred}: {second:?}");

    assert_eq!(first, Settled::Voided);
    assert!(matches!(second, Settled::Refunded { .. }));
    simulator.shutdown().await;
    Ok(())
}
