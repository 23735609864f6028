//! Opening one new SQLite ledger from several places at the same moment, as workers started
//! together do.

use instamed_soap_ledger::Ledger;

/// Each round, four connections open one new file at once: every one of them opens it (SQLite
/// refuses a switch to WAL at once, without waiting, while another connection makes it).
#[test]
fn connections_opening_a_new_ledger_at_the_same_moment_all_open_it() {
    for round in 0..200 {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("ledger.db");
        let start = std::sync::Barrier::new(4);
        std::thread::scope(|scope| {
            let opened: Vec<_> = (0..4)
                .map(|_| {
                    scope.spawn(|| {
                        start.wait();
                        Ledger::open(&path).map(drop)
                    })
                })
                .collect();
            for opening in opened {
                let result = opening.join().expect("the opening thread ended");
                assert!(result.is_ok(), "round {round}: {result:?}");
            }
        });
    }
}
