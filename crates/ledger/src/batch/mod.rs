//! Voiding a file of payments (feature `batch`): every row settled once, even across a killed
//! process.
//!
//! The engine ([`Batch`]) takes its rows from a [`Journal`], a SQLite file that records each
//! row's intent before its request leaves and its verdict after the answer. Re-running on the
//! same journal resumes: rows with a final verdict are skipped, rows caught in flight are
//! unknown outcomes and are reconciled on proof only (never voided blindly, never refunded on a
//! guess), a refund caught in flight is reported unknown and never sent again. The service is
//! reached through [`Settle`], which [`instamed_soap::Client`] implements by the rules of
//! `docs/outcomes.md`; `docs/ledger.md` describes the journal's states.
//!
//! ```
//! use instamed_soap_ledger::batch::{Batch, BatchOptions, InputRow, Journal, Verdict};
//! use instamed_soap_simulator::{Simulator, SimulatorConfig, DEMO_ACCOUNT_ID, DEMO_PASSWORD};
//! use instamed_soap::{Client, Credentials, Outlet, VoidRequest};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let simulator = Simulator::start(SimulatorConfig::default().with_tls(false)).await?;
//! let outlet = Outlet::new("123123123", "123", "456")?;
//! let payments: Vec<_> = (0..3)
//!     .map(|_| simulator.ledger().create_payment(&outlet, "10.00"))
//!     .collect::<Result<_, _>>()?;
//! let client = Client::builder(simulator.endpoint())
//!     .credentials(Credentials::new(DEMO_ACCOUNT_ID, DEMO_PASSWORD))
//!     .allow_plain_http_on_loopback(true)
//!     .build()?;
//!
//! let dir = tempfile::tempdir()?;
//! let mut journal = Journal::open(dir.path().join("batch.journal"))?;
//! journal.load(payments.iter().enumerate().map(|(i, payment)| {
//!     let request = VoidRequest::new(outlet.clone(), payment.clone());
//!     Ok(InputRow::from_request(i as u64 + 1, &request, None))
//! }))?;
//! let batch = Batch::new(client, BatchOptions { concurrency: 2, ..BatchOptions::default() });
//! let (journal, summary) = batch.run(journal, std::future::pending()).await?;
//! assert_eq!(summary.count(Verdict::Voided), 3);
//! journal.for_each_row(|row| {
//!     println!("line {}: {} {}", row.line, row.raw.transaction_id, row.verdict);
//!     Ok(())
//! })?;
//! # Ok(()) }
//! ```

mod dry_run;
mod engine;
mod error;
mod input;
mod journal;
mod report;
mod settle;
mod state;

pub use crate::Finding;
pub use crate::Verdict;
pub use dry_run::{DryRun, Planned, PlannedRow, Would};
pub use engine::{
    Batch, BatchOptions, MAX_CONCURRENCY, Observer, RowDone, Summary, WAIT_FOR_OTHERS,
};
pub use error::{Duplicate, InputError, JournalError};
pub use input::{
    BatchRow, Format, InputRow, MAX_INPUT_BYTES, OPTIONAL_COLUMNS, REQUIRED_COLUMNS, RawRow,
    csv_rows, json_rows, read_file,
};
pub use journal::{Journal, JournalStats, Loaded, RowRecord};
pub use report::{REPORT_COLUMNS, ReportError, write_report};
pub use settle::Settle;
