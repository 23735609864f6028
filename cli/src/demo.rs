//! `instamed-soap demo`: the whole story in one offline command.

use std::process::ExitCode;

use instamed_soap::simulator::{Simulator, SimulatorConfig};
use instamed_soap::{Client, Credentials, Error, Outlet, Protocol, TransactionId, VoidRequest};

use crate::exit;

/// Arguments of `demo`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Answer refusals as SOAP faults / NVP errors instead of decline results.
    #[arg(long)]
    fault_refusals: bool,
}

/// One line of the demo's table.
struct Row {
    step: &'static str,
    protocol: Protocol,
    payment: String,
    outcome: String,
    detail: String,
}

/// Runs `demo`.
pub async fn run(args: Args) -> ExitCode {
    match demo(args).await {
        Ok(rows) => {
            print_table(&rows);
            ExitCode::from(exit::VOIDED)
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(exit::FAILED)
        }
    }
}

async fn demo(args: Args) -> Result<Vec<Row>, Box<dyn std::error::Error>> {
    let mut config = SimulatorConfig::default();
    if args.fault_refusals {
        config.refusal_style = instamed_soap::simulator::RefusalStyle::Fault;
    }
    let (account, password) = config.accounts.first().cloned().ok_or("no demo account")?;
    let simulator = Simulator::start(config).await?;
    println!("Simulator: {}", simulator.endpoint());
    if let Some(ca) = simulator.ca_path() {
        println!("CA:        {}", ca.display());
    }
    println!();

    let outlet = Outlet::new("123123123", "123", "123")?;
    let ledger = simulator.ledger();
    let payments: Vec<TransactionId> = ["25.00", "40.10", "12.75", "99.99"]
        .into_iter()
        .map(|amount| ledger.create_payment(&outlet, amount))
        .collect::<Result<_, _>>()?;
    ledger.start_transfer(&payments[3])?;
    let unknown = TransactionId::new("00000000000000000000000000000000")?;

    let steps = [
        ("void over SOAP 1.1", Protocol::Soap11, &payments[0]),
        ("void over SOAP 1.2", Protocol::Soap12, &payments[1]),
        ("void over NVP", Protocol::Nvp, &payments[2]),
        ("void it again", Protocol::Soap11, &payments[0]),
        ("void after transfer began", Protocol::Soap12, &payments[3]),
        ("void an unknown payment", Protocol::Nvp, &unknown),
    ];
    let mut rows = Vec::new();
    for (step, protocol, payment) in steps {
        let mut builder = Client::builder(simulator.endpoint())
            .credentials(Credentials::new(&account, &password))
            .protocol(protocol);
        if let Some(ca) = simulator.ca_path() {
            builder = builder.ca_certificate_file(ca);
        }
        let client = builder.build()?;
        let request = VoidRequest::new(outlet.clone(), payment.clone());
        let (outcome, detail) = match client.void(&request).await {
            Ok(receipt) => (
                "voided".to_owned(),
                format!(
                    "TransactionStatus {}, PrimaryTransactionStatus {}",
                    receipt.transaction_status, receipt.primary_transaction_status
                ),
            ),
            Err(error) => (
                exit::outcome_name(&error).replace('_', " "),
                refusal_detail(&error),
            ),
        };
        rows.push(Row {
            step,
            protocol,
            payment: payment.to_string(),
            outcome,
            detail,
        });
    }
    simulator.shutdown().await;
    Ok(rows)
}

fn refusal_detail(error: &Error) -> String {
    match error.refusal() {
        Some(refusal) => refusal.to_string(),
        None => error.report().to_string(),
    }
}

fn print_table(rows: &[Row]) {
    let width =
        |f: fn(&Row) -> usize, title: &str| rows.iter().map(f).max().unwrap_or(0).max(title.len());
    let w_step = width(|r| r.step.len(), "step");
    let w_proto = width(|r| r.protocol.as_str().len(), "protocol");
    let w_pay = width(|r| r.payment.len(), "payment");
    let w_out = width(|r| r.outcome.len(), "outcome");
    println!(
        "{:<w_step$}  {:<w_proto$}  {:<w_pay$}  {:<w_out$}  detail",
        "step", "protocol", "payment", "outcome"
    );
    println!("{}", "-".repeat(w_step + w_proto + w_pay + w_out + 8 + 30));
    for row in rows {
        println!(
            "{:<w_step$}  {:<w_proto$}  {:<w_pay$}  {:<w_out$}  {}",
            row.step,
            row.protocol.as_str(),
            row.payment,
            row.outcome,
            row.detail
        );
    }
}
