//! Void a file of payments from Rust: the engine behind `instamed-soap batch`.
//!
//! Every row is voided at most once, even if the process is killed: the journal (a SQLite
//! file) records each request before it leaves and each verdict after its answer, and a run on
//! the same journal resumes. `cargo run --example batch` runs it offline
//! against the embedded simulator.

use std::sync::Arc;

use instamed_soap::{Client, Credentials, Outlet};
use instamed_soap_ledger::batch::{
    Batch, BatchOptions, Format, Journal, RowDone, Verdict, read_file, write_report,
};
use instamed_soap_simulator::{DEMO_ACCOUNT_ID, DEMO_PASSWORD, Simulator, SimulatorConfig};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let simulator = Simulator::start(SimulatorConfig::default()).await?;
    let outlet = Outlet::new("123123123", "123", "123")?;
    let ledger = simulator.ledger();
    let fresh = ledger.create_payment(&outlet, "10.00")?;
    let transferred = ledger.create_payment(&outlet, "20.00")?;
    ledger.start_transfer(&transferred)?;

    // The night's file, as an ERP exports it; a bad row is reported, never sent.
    let dir = tempfile::tempdir()?;
    let input = dir.path().join("voids.csv");
    std::fs::write(
        &input,
        format!(
            "transaction_id,merchant_id,store_id,terminal_id,amount,invoice\n\
             {fresh},123123123,123,123,10.00,INV-1\n\
             {transferred},123123123,123,123,20.00,INV-2\n\
             C0FFEE0000000000000000000000BEEF,123123123,123,123,five dollars,INV-3\n"
        ),
    )?;

    let mut journal = Journal::open(dir.path().join("voids.journal"))?;
    let loaded = journal.load(read_file(&input)?)?;
    println!("loaded {} rows, {} invalid", loaded.rows, loaded.invalid);

    let mut builder = Client::builder(simulator.endpoint())
        .credentials(Credentials::new(DEMO_ACCOUNT_ID, DEMO_PASSWORD));
    if let Some(ca) = simulator.ca_path() {
        builder = builder.ca_certificate_file(ca);
    }
    let options = BatchOptions {
        concurrency: 4,
        // Too late to void: refund the row's amount instead (known refusals only).
        or_refund: true,
        observer: Some(Arc::new(|row: &RowDone| {
            println!("line {}: {} {}", row.line, row.transaction_id, row.verdict);
        })),
        ..BatchOptions::default()
    };
    let batch = Batch::new(builder.build()?, options);
    // A real job passes a future that resolves on Ctrl-C; the journal resumes after it.
    let stop = std::future::pending();
    let (journal, summary) = batch.run(journal, stop).await?;

    println!(
        "{} voided, {} refunded, {} invalid{}",
        summary.count(Verdict::Voided),
        summary.count(Verdict::Refunded),
        summary.count(Verdict::Invalid),
        if summary.interrupted { "; stopped" } else { "" }
    );
    // The report keeps the ERP's own columns (here, invoice) beside each verdict.
    // `exit_class` is the exit code a command would give the row alone; this program has none.
    write_report(&journal, Format::Csv, |_| 0, std::io::stdout().lock())?;
    assert_eq!(summary.count(Verdict::Voided), 1);
    assert_eq!(summary.count(Verdict::Refunded), 1);
    assert_eq!(summary.count(Verdict::Invalid), 1);
    simulator.shutdown().await;
    Ok(())
}
