//! The ledger of money-moving intents (feature `ledger`): one SQLite file that every command
//! which can move money consults before it sends and writes to on both sides of the request,
//! so that running the same instruction twice (as every ERP retry does) moves money once.
//!
//! - Before a request leaves, its intent (payment, action, amount, command, process, time) is
//!   flushed to disk; after the answer, its verdict is written on the same entry.
//! - Before deciding, the command reads everything the ledger holds about the payment, in the
//!   same write transaction as the intent, so two processes cannot both decide to refund:
//!   - a payment known voided is answered from the ledger;
//!   - an earlier void whose outcome is unknown (its answer lost, its process killed) is
//!     reconciled before anything else is sent;
//!   - a refund that may have been made (in flight, lost, unknown) holds every further refund
//!     of the payment until a person records what they found
//!     ([`Ledger::settle`]): a refund is not idempotent, so software never resends it;
//!   - a refund made is the answer to the same instruction, and a further one needs to be
//!     asked for in so many words.
//! - Something that never left the machine is `failed`, not refused: it is safe to send again.
//!
//! The batch journal is the same design in the same schema (`schema.rs`): a batch records its
//! rows in its journal and its intents here, so a batch started on a fresh journal still
//! refunds nothing that the ledger shows refunded.
//!
//! The ledger is the thing to keep: back it up like any SQLite database in WAL mode, with
//! `sqlite3 ledger.db ".backup copy.db"` (or `VACUUM INTO`), never by copying the file alone
//! while a command runs.
//!
//! Without a ledger, [`Client`](instamed_soap::Client) moves money as it is told: a caller that
//! retries must itself remember which payments it refunded (with the refund's transaction ID)
//! and which voids ended with an unknown outcome, and must never send a refund again whose
//! outcome is unknown.
//!
//! ```
//! use instamed_soap_ledger::{Guarded, Ledger};
//! use instamed_soap_simulator::{Simulator, SimulatorConfig, DEMO_ACCOUNT_ID, DEMO_PASSWORD};
//! use instamed_soap::{Client, Credentials, Outlet, VoidRequest};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let simulator = Simulator::start(SimulatorConfig::default().with_tls(false)).await?;
//! let outlet = Outlet::new("123123123", "123", "456")?;
//! let payment = simulator.ledger().create_payment(&outlet, "10.00")?;
//! let client = Client::builder(simulator.endpoint())
//!     .credentials(Credentials::new(DEMO_ACCOUNT_ID, DEMO_PASSWORD))
//!     .allow_plain_http_on_loopback(true)
//!     .build()?;
//! let dir = tempfile::tempdir()?;
//! let ledger = Ledger::open(dir.path().join("ledger.db"))?;
//! let request = VoidRequest::new(outlet, payment);
//!
//! // The first run sends the void; the second is answered from the ledger.
//! assert!(matches!(ledger.void(&client, &request).await?, Guarded::Sent(Ok(_))));
//! assert!(matches!(ledger.void(&client, &request).await?, Guarded::Known(_)));
//! # Ok(()) }
//! ```

pub mod batch;
mod by_hand;
mod finding;
mod guard;
mod schema;
mod sso;
mod store;
mod stored;
mod verdict;

pub use by_hand::{Attention, Settlement, Waiting, asked_by};
pub use finding::Finding;
pub use guard::{AskedBy, Guarded};
pub use sso::SsoLaunched;
/// For the gateway's own SQLite file beside the ledger.
#[doc(hidden)]
pub use store::switch_to_wal;
pub use store::{
    Action, CommitObserver, DEFAULT_LEASE, Entry, Ledger, LedgerError, Standing, is_sqlite_file,
};
pub use verdict::Verdict;

// What the batch journal shares: the schema.
pub(crate) use schema::{Kind as SchemaKind, SchemaProblem, migrate};

/// An error with every cause in its chain, `: `-separated, for a log line.
fn chain(error: &dyn std::error::Error) -> String {
    instamed_soap::error::chain(error)
}
