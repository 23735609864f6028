//! Voids payments against an in-process, InstaMed-style HTTPS server on loopback: offline, with a
//! certificate made at start. Run it with `cargo run --example void_loopback`.
//!
//! The server keeps a tiny ledger of captured payments and answers like `service.asmx`, so the
//! example shows a success over each SOAP version and the refusals a real integration meets.

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::HashMap;
use std::sync::Mutex;

use instamed_soap::{Client, Credentials, Error, Outlet, Protocol, TransactionId, VoidRequest};
use support::{Reply, Server, field, version_of, void_result};

const CAPTURED: [&str; 2] = [
    "EE52401813A74328AAA7D93319FF4383",
    "0D6F1C2B3A4958677685A4B3C2D1E0F1",
];

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let ledger: Mutex<HashMap<String, &'static str>> =
        Mutex::new(CAPTURED.iter().map(|id| (id.to_string(), "C")).collect());
    let server = Server::start(move |exchange| {
        let version = version_of(exchange);
        let id = field(exchange, "PrimaryTransactionID").unwrap_or_default();
        let mut ledger = ledger
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let (status, primary, message) = match ledger.get(id.as_str()).copied() {
            Some("C") => {
                ledger.insert(id.clone(), "V");
                ("C", "V", "APPROVED")
            }
            Some(current) => ("D", current, "Transaction already voided"),
            None => ("D", "", "Transaction not found"),
        };
        let mut fields = vec![("TransactionStatus", status), ("ResponseMessage", message)];
        if !primary.is_empty() {
            fields.extend([
                ("PrimaryTransactionID", id.as_str()),
                ("PrimaryTransactionStatus", primary),
            ]);
        }
        Reply::xml(200, version, void_result(version, &fields))
    })
    .await;
    println!(
        "InstaMed-style service on {} (CA: {})\n",
        server.url,
        server.ca_path.display()
    );

    let outlet = Outlet::new("123123123", "123", "123")?;
    let attempts = [
        (Protocol::Soap11, CAPTURED[0]),
        (Protocol::Soap12, CAPTURED[1]),
        (Protocol::Soap11, CAPTURED[0]),
        (Protocol::Soap12, "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"),
    ];
    println!(
        "{:<8} {:<34} {:<20} detail",
        "protocol", "payment", "outcome"
    );
    for (protocol, payment) in attempts {
        let client = Client::builder(&server.url)
            .credentials(Credentials::new("demo@clinic.example", "demo-password"))
            .ca_certificate_file(&server.ca_path)
            .protocol(protocol)
            .build()?;
        let request = VoidRequest::new(outlet.clone(), TransactionId::new(payment)?);
        let (outcome, detail) = match client.void(&request).await {
            Ok(receipt) => (
                "voided".to_owned(),
                format!(
                    "status {}/{}",
                    receipt.transaction_status, receipt.primary_transaction_status
                ),
            ),
            Err(error @ Error::AlreadyVoided(_)) => {
                ("already voided".to_owned(), error.to_string())
            }
            Err(error @ Error::UnknownTransaction(_)) => {
                ("unknown payment".to_owned(), error.to_string())
            }
            Err(error) => ("failed".to_owned(), error.report().to_string()),
        };
        println!(
            "{:<8} {:<34} {:<20} {detail}",
            protocol.as_str(),
            payment,
            outcome
        );
    }
    Ok(())
}
