//! The ledger as a caller uses it: the same instruction twice moves money once, on a SQLite
//! file and on PostgreSQL alike.

mod by_hand;
mod guard;
mod opening;
mod postgres;
mod replicas;
mod sso;
mod workers;

use std::time::Duration;

use instamed_soap::TransactionId;
use instamed_soap_ledger::Ledger;
use instamed_soap_simulator::{FaultPlan, Simulator, SimulatorConfig};
use instamed_soap_test_support::outlet;
use instamed_soap_test_support::postgres::PgCluster;

/// Where a test keeps its ledger: a SQLite file in a temporary directory, or a fresh database
/// of a throwaway PostgreSQL cluster of the test's own.
pub(crate) enum Store {
    Sqlite(tempfile::TempDir),
    Postgres { cluster: PgCluster, url: String },
}

impl Store {
    pub(crate) fn sqlite() -> Self {
        Self::Sqlite(tempfile::tempdir().expect("a temporary directory"))
    }

    /// `None` (said loudly) where PostgreSQL's server binaries are missing, outside CI.
    pub(crate) fn postgres() -> Option<Self> {
        let cluster = PgCluster::start()?;
        let url = cluster.database();
        Some(Self::Postgres { cluster, url })
    }

    /// What `Ledger::open` is given: the file's path, or the database's URL.
    pub(crate) fn location(&self) -> String {
        match self {
            Self::Sqlite(dir) => dir.path().join("ledger.db").display().to_string(),
            Self::Postgres { url, .. } => url.clone(),
        }
    }

    /// A new handle on the ledger: another process's, as far as the ledger can tell.
    pub(crate) fn open(&self) -> Ledger {
        Ledger::open(self.location()).expect("the ledger opens")
    }

    /// The cluster, for the tests that stop it or read its database directly.
    #[allow(dead_code)]
    pub(crate) fn cluster(&self) -> Option<&PgCluster> {
        match self {
            Self::Sqlite(_) => None,
            Self::Postgres { cluster, .. } => Some(cluster),
        }
    }
}

/// A test whose body takes a [`Store`], run once on SQLite and once on PostgreSQL: a module
/// named after the behaviour, with the tests `on_sqlite` and `on_postgres`.
#[macro_export]
macro_rules! on_both {
    ($(#[$attr:meta])* async fn $name:ident($store:ident: &Store) $body:block) => {
        $(#[$attr])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn run($store: &$crate::Store) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn on_sqlite() {
                run(&$crate::Store::sqlite()).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn on_postgres() {
                if let Some(store) = $crate::Store::postgres() {
                    run(&store).await;
                }
            }
        }
    };
}

/// A payment of 10.00 on the simulator's books, ready to void.
pub(crate) fn payment(simulator: &Simulator) -> TransactionId {
    simulator
        .ledger()
        .create_payment(&outlet(), "10.00")
        .expect("a payment")
}

/// `count` payments of 10.00, ready to void.
pub(crate) fn payments(simulator: &Simulator, count: usize) -> Vec<TransactionId> {
    (0..count).map(|_| payment(simulator)).collect()
}

/// A simulator whose every answer takes `latency`: calls that overlap, or stay out.
pub(crate) async fn slow_simulator(latency: Duration) -> Simulator {
    Simulator::start(
        SimulatorConfig::default().with_faults(FaultPlan::default().with_latency(latency)),
    )
    .await
    .expect("the simulator starts")
}
