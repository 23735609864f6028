//! What only the PostgreSQL engine has to show: its URL's password never shown, a database of
//! another program or a later version left alone, replicas starting together migrating once,
//! and names it cannot read refused as on SQLite.

use instamed_soap::TransactionId;
use instamed_soap::error::chain;
use instamed_soap_ledger::{Ledger, LedgerError};
use instamed_soap_test_support::leaks::leaked;
use instamed_soap_test_support::postgres::PgCluster;

/// A connection of the test's own to `url`, beside the ledger's.
async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("the test connects");
    tokio::spawn(connection);
    client
}

fn payment() -> TransactionId {
    TransactionId::new("EE52401813A74328AAA7D93319FF4383").unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_password_never_shows_in_the_ledgers_debug_path_or_errors() {
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    let url = cluster.database();
    let name = url.rsplit('/').next().unwrap().to_owned();
    let ledger = Ledger::open(&url).unwrap();
    let shown = format!("{ledger:?} {}", ledger.path().display());
    assert!(leaked(&shown).is_empty(), "{shown}");
    assert_eq!(
        ledger.path().display().to_string(),
        cluster.url_without_password(&name)
    );
    let error = Ledger::open(cluster.url("no_such_database")).unwrap_err();
    let said = format!("{error} {} {error:?}", chain(&error));
    assert!(said.contains("no_such_database"), "{said}");
    assert!(leaked(&said).is_empty(), "{said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_holding_another_programs_intents_table_is_left_alone() {
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    let url = cluster.database();
    let client = connect(&url).await;
    client
        .batch_execute("CREATE TABLE intents (note TEXT); INSERT INTO intents VALUES ('theirs')")
        .await
        .unwrap();
    assert!(matches!(
        Ledger::open(&url),
        Err(LedgerError::NotALedger { .. })
    ));
    let notes: Vec<String> = client
        .query("SELECT note FROM intents", &[])
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(notes, ["theirs"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_of_a_later_version_is_left_alone_and_one_opened_to_read_is_never_made() {
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    let fresh = cluster.database();
    assert!(matches!(
        Ledger::open_to_read(&fresh),
        Err(LedgerError::NotALedger { .. })
    ));
    let client = connect(&fresh).await;
    let tables: i64 = client
        .query_one(
            "SELECT COUNT(*) FROM pg_tables WHERE schemaname = 'public'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(tables, 0, "opening to read made a ledger");

    drop(Ledger::open(&fresh).unwrap());
    let read = Ledger::open_to_read(&fresh).unwrap();
    assert!(read.standing(&payment()).unwrap().entries.is_empty());
    client
        .execute("UPDATE instamed_schema SET version = version + 1", &[])
        .await
        .unwrap();
    assert!(matches!(
        Ledger::open(&fresh),
        Err(LedgerError::Newer { .. })
    ));
}

/// Replicas started together: each migrates under one lock, so all open and one table is made.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_starting_at_once_on_a_new_database_all_open_it() {
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    let url = cluster.database();
    let opened: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || Ledger::open(url).map(drop))
        })
        .collect();
    for open in opened {
        open.join().unwrap().unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_stored_entry_state_is_an_error_naming_it_on_postgres() {
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    let url = cluster.database();
    let ledger = Ledger::open(&url).unwrap();
    connect(&url)
        .await
        .execute(
            "INSERT INTO intents(payment, action, state, merchant_id, store_id, terminal_id,
                 command, pid, started_ms)
             VALUES ($1, 'void', 'half_voided', '1', '2', '3', 'void', 1, 0)",
            &[&payment().as_str()],
        )
        .await
        .unwrap();
    let error = ledger.standing(&payment()).unwrap_err();
    let text = chain(&error);
    assert!(
        text.contains("ledger entry state \"half_voided\""),
        "{text}"
    );
}

/// The database stopped under a running process: nothing can be decided (so nothing is sent),
/// and once it is back the same ledger works again, without being opened anew.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ledger_refuses_while_its_database_is_down_and_resumes_when_it_returns() {
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    let ledger = Ledger::open(cluster.database()).unwrap();
    ledger.check_writable().unwrap();
    cluster.stop();
    assert!(ledger.check_writable().is_err());
    let error = ledger.standing(&payment()).unwrap_err();
    assert!(leaked(&chain(&error)).is_empty());
    cluster.restart();
    ledger.check_writable().unwrap();
    assert!(ledger.standing(&payment()).unwrap().entries.is_empty());
}
