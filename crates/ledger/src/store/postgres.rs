//! The ledger in a PostgreSQL database (`Ledger::open("postgres://…")`): the same table, the
//! same decisions and the same guarantees as the SQLite file, for several processes on several
//! machines (the gateway's replicas). Every statement this engine runs is in this file; its
//! migrations are beside SQLite's in `schema.rs`, under the same version numbers.
//!
//! - A decision reads the payment's standing and writes its intent in one transaction that
//!   first takes a transaction-scoped advisory lock on the payment's key: two processes
//!   deciding about one payment take turns, the later one sees the earlier one's intent, and
//!   the lock goes with the transaction (commit, rollback, or a dead connection).
//! - An intent's commit waits for the server's WAL flush (`synchronous_commit` as the server
//!   has it, `on` by default; with synchronous replication, for the standby too) before the
//!   request leaves. A void's verdict is committed with `synchronous_commit = off`: lost in a
//!   crash, its entry looks in flight and is reconciled, as SQLite's `NORMAL` verdicts are.
//!
//! The ledger's API is synchronous and called from blocking threads (and from async code that
//! accepts a blocked worker, as with SQLite). So the connections' I/O runs on a small runtime
//! of this engine's own, and a caller waits for each statement's answer with
//! `futures_executor::block_on`: tokio-postgres's requests are channels to the connection's
//! task, which need no runtime of the waiting thread, and a thread of any runtime may wait.

use std::future::Future;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, PoolError, RecyclingMethod};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{NoTls, Row};

use super::{
    Action, Book, CommitObserver, Entry, IntentState, LedgerError, Sends, Standing, at, key,
    now_ms, observe, off_the_runtime,
};
use crate::finding::Finding;
use crate::schema;
use crate::stored::{Named, UnknownName};
use crate::verdict::Verdict;
use instamed_soap::{Outlet, TransactionId};

/// How long a statement waits for another transaction's lock, and a caller for a free
/// connection, before the ledger is called busy (SQLite's busy timeout is the same).
const BUSY_WAIT: Duration = Duration::from_secs(15);

/// Connections per process: a gateway's decisions about different payments run at once, up
/// to this many.
const CONNECTIONS: usize = 16;

/// The key of the advisory lock held while migrating, so that replicas starting at once
/// migrate one after the other ("IMLG", as the SQLite ledger's `application_id`).
const MIGRATION_LOCK: i64 = 0x494D_4C47;

/// The columns of an entry, with its claim's lease, and where they are read from.
const COLUMNS: &str = "id, payment, action, state, amount, refund_id, command, pid, started_ms,
    finished_ms, transaction_status, primary_transaction_status, response_code, detail,
    merchant_id, store_id, terminal_id, settled_by, settled_note,
    claims.until_ms AS lease_until_ms, claims.replica AS claimant
    FROM intents LEFT JOIN claims ON claims.entry = intents.id";

/// The lock every writer about a payment takes first, held to the end of its transaction:
/// deciders, verdicts, withdrawals and a person's settling. Each statement of a transaction
/// at PostgreSQL's default isolation sees what committed before it began, so without it a
/// verdict committed between a decision's reading and its intent would leave the decision
/// taken on what no longer holds (SQLite's one writer at a time has no such gap).
const LOCK_PAYMENT: &str = "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))";

/// [`LOCK_PAYMENT`] for the payment of entry `$1`.
const LOCK_PAYMENT_OF_ENTRY: &str =
    "SELECT pg_advisory_xact_lock(hashtextextended(payment, 0)) FROM intents WHERE id = $1";

/// How often a process waiting for another's claim on a payment reads the ledger again.
const CLAIM_POLL: Duration = Duration::from_millis(25);

/// Whether `location` names a PostgreSQL database rather than a SQLite file.
pub(crate) fn is_url(location: &str) -> bool {
    ["postgres://", "postgresql://"].iter().any(|scheme| {
        location
            .get(..scheme.len())
            .is_some_and(|s| s.eq_ignore_ascii_case(scheme))
    })
}

/// A PostgreSQL ledger's connections, and the runtime that drives them.
pub(crate) struct Postgres {
    pool: Pool,
    /// Drives the connections; shut down in the background on drop, so that a ledger may be
    /// dropped inside async code.
    runtime: Option<tokio::runtime::Runtime>,
    /// The database's URL without its password, for messages.
    location: PathBuf,
    /// How long this process's claims hold ([`Ledger::with_lease`](super::Ledger::with_lease)).
    pub(crate) lease: Duration,
    /// This process among the database's writers: the name on its claims.
    replica: String,
}

impl Postgres {
    /// Connects to `url`, brings its schema up to date (or, with `read_only`, only checks it)
    /// and keeps a pool of connections. `location` is what messages call it.
    pub(crate) fn open(url: &str, read_only: bool) -> Result<Self, LedgerError> {
        let mut config: tokio_postgres::Config = url.parse().map_err(LedgerError::postgres)?;
        let location = PathBuf::from(located(&config));
        let mut options = format!("-c lock_timeout={}", BUSY_WAIT.as_millis());
        if read_only {
            options.push_str(" -c default_transaction_read_only=on");
        }
        config
            .options(&options)
            .application_name("instamed-soap ledger")
            .connect_timeout(BUSY_WAIT);
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let busy = |_| LedgerError::Busy {
            path: location.clone(),
        };
        let pool = Pool::builder(manager)
            .max_size(CONNECTIONS)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(BUSY_WAIT))
            .create_timeout(Some(BUSY_WAIT))
            .build()
            .map_err(busy)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("ledger-postgres")
            .enable_all()
            .build()
            .map_err(|source| LedgerError::Open {
                path: location.clone(),
                source,
            })?;
        let engine = Self {
            pool,
            runtime: Some(runtime),
            location,
            lease: super::DEFAULT_LEASE,
            replica: replica(),
        };
        if read_only {
            engine.check_version()?;
        } else {
            engine.migrate()?;
        }
        Ok(engine)
    }

    /// This process's name on its claims.
    pub(crate) fn replica(&self) -> &str {
        &self.replica
    }

    /// The database's URL without its password.
    pub(crate) fn location(&self) -> &std::path::Path {
        &self.location
    }

    /// A connection of the pool, made on the engine's runtime when none is free.
    fn connection(&self) -> Result<Object, LedgerError> {
        let pool = self.pool.clone();
        let got = match &self.runtime {
            Some(runtime) => wait(runtime.spawn(async move { pool.get().await })),
            None => {
                return Err(LedgerError::Busy {
                    path: self.location.clone(),
                });
            }
        };
        match got {
            Ok(Ok(client)) => Ok(client),
            Ok(Err(PoolError::Backend(error))) => Err(self.classify(error)),
            Ok(Err(other)) => {
                tracing::warn!(error = %other, "no connection to the ledger's database");
                Err(LedgerError::Busy {
                    path: self.location.clone(),
                })
            }
            Err(_) => Err(LedgerError::Busy {
                path: self.location.clone(),
            }),
        }
    }

    fn classify(&self, error: tokio_postgres::Error) -> LedgerError {
        match error.code() {
            Some(code)
                if *code == SqlState::LOCK_NOT_AVAILABLE
                    || *code == SqlState::T_R_DEADLOCK_DETECTED =>
            {
                LedgerError::Busy {
                    path: self.location.clone(),
                }
            }
            _ => LedgerError::postgres(error),
        }
    }

    /// Brings the schema to [`schema::VERSION`] in one transaction, under a lock that makes
    /// replicas starting together take turns.
    fn migrate(&self) -> Result<(), LedgerError> {
        let mut client = self.connection()?;
        let fail = |e| self.classify(e);
        wait(async {
            let tx = client.transaction().await.map_err(fail)?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
                .await
                .map_err(fail)?;
            let found = version(&tx).await.map_err(fail)?;
            let found = match found {
                Found::Version(found) if found > schema::VERSION => {
                    return Err(LedgerError::Newer {
                        path: self.location.clone(),
                        version: found,
                    });
                }
                Found::Version(found) => found,
                Found::Nothing => 0,
                Found::Foreign => {
                    return Err(LedgerError::NotALedger {
                        path: self.location.clone(),
                    });
                }
            };
            for (version, sql) in schema::POSTGRES {
                if *version > found {
                    tx.batch_execute(sql).await.map_err(fail)?;
                }
            }
            if found < schema::VERSION {
                tx.execute(
                    "INSERT INTO instamed_schema(kind, version) VALUES ('ledger', $1)
                     ON CONFLICT (kind) DO UPDATE SET version = EXCLUDED.version",
                    &[&schema::VERSION],
                )
                .await
                .map_err(fail)?;
            }
            tx.commit().await.map_err(fail)
        })
    }

    /// Refuses a database this build would have to migrate, or must not touch.
    fn check_version(&self) -> Result<(), LedgerError> {
        let client = self.connection()?;
        let path = self.location.clone();
        match wait(version(&client)).map_err(|e| self.classify(e))? {
            Found::Version(version) if version == schema::VERSION => Ok(()),
            Found::Version(version) if version > schema::VERSION => {
                Err(LedgerError::Newer { path, version })
            }
            Found::Version(version) => Err(LedgerError::Older { path, version }),
            Found::Nothing | Found::Foreign => Err(LedgerError::NotALedger { path }),
        }
    }

    /// Whether a write transaction can run now: one is begun, writes a lock and is rolled back.
    pub(crate) fn check_writable(&self) -> Result<(), LedgerError> {
        let mut client = self.connection()?;
        let fail = |e| self.classify(e);
        wait(async {
            let tx = client.transaction().await.map_err(fail)?;
            tx.execute("LOCK TABLE intents IN ROW EXCLUSIVE MODE NOWAIT", &[])
                .await
                .map_err(fail)?;
            tx.rollback().await.map_err(fail)
        })
    }

    /// Entries matching `condition` (parameters `$1`…).
    pub(crate) fn select(
        &self,
        condition: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Entry>, LedgerError> {
        let client = self.connection()?;
        let sql = format!("SELECT {COLUMNS} WHERE {condition}");
        let rows = wait(async {
            let statement = client.prepare_cached(&sql).await?;
            client.query(&statement, params).await
        })
        .map_err(|e| self.classify(e))?;
        rows.iter().map(entry).collect()
    }

    /// Takes up to `limit` voids left open by a process that is gone (`sent` past its lease,
    /// or answered `outcome_unknown`) and not taken by another replica now, claiming each for
    /// this one for a lease: replicas sweeping at once each get their own, and none is
    /// reconciled twice at once. `FOR UPDATE … SKIP LOCKED`: an entry another sweeper is
    /// taking is passed over rather than waited for. The entries as they stood when taken.
    pub(crate) fn claim_lost_voids(&self, limit: u32) -> Result<Vec<Entry>, LedgerError> {
        let mut client = self.connection()?;
        let fail = |e| self.classify(e);
        let now = now_ms();
        let until = now.saturating_add(i64::try_from(self.lease.as_millis()).unwrap_or(i64::MAX));
        wait(async {
            let tx = client.transaction().await.map_err(fail)?;
            let taken = format!(
                "SELECT {COLUMNS}
                 WHERE action = $1 AND state IN ($2, $3)
                   AND (claims.entry IS NULL OR claims.until_ms <= $4)
                 ORDER BY id LIMIT $5
                 FOR UPDATE OF intents SKIP LOCKED"
            );
            let rows = tx
                .query(
                    &taken,
                    &[
                        &Action::Void.name(),
                        &IntentState::Sent.name(),
                        &IntentState::Answered(Verdict::Unknown).name(),
                        &now,
                        &i64::from(limit),
                    ],
                )
                .await
                .map_err(fail)?;
            let entries: Vec<Entry> = rows.iter().map(entry).collect::<Result<_, _>>()?;
            for entry in &entries {
                tx.execute(
                    "INSERT INTO claims(entry, replica, until_ms) VALUES ($1, $2, $3)
                     ON CONFLICT (entry) DO UPDATE
                         SET replica = EXCLUDED.replica, until_ms = EXCLUDED.until_ms",
                    &[&entry.id, &self.replica, &until],
                )
                .await
                .map_err(fail)?;
            }
            tx.commit().await.map_err(fail)?;
            Ok(entries)
        })
    }

    /// Everything the ledger holds about `payment`.
    pub(crate) fn standing(&self, payment: &TransactionId) -> Result<Standing, LedgerError> {
        Ok(Standing {
            entries: self.select("payment = $1 ORDER BY id", &[&key(payment)])?,
        })
    }

    /// Decides about one payment in one transaction: its lock, its standing, `decide`, and the
    /// intent when the plan sends, committed (flushed by the server) before this returns.
    ///
    /// While another process (another replica) holds a live claim on the payment, its request
    /// is out: this one waits, holding no lock, and decides once that answer is recorded (the
    /// payment then known voided, say, is answered from the ledger) or the claim's lease has
    /// run out (the claimant died mid-call: its void is reconciled, its refund held).
    pub(crate) fn intend<P: Sends>(
        &self,
        outlet: Option<&Outlet>,
        payment: &TransactionId,
        amount: Option<&str>,
        command: &str,
        observer: Option<&CommitObserver>,
        decide: impl FnOnce(&Standing) -> P,
    ) -> Result<(P, Option<i64>), LedgerError> {
        let mut decide = Some(decide);
        loop {
            let decided = self.book(true, observer, |book| {
                let standing = book.standing(payment)?;
                if book.claimed_elsewhere(payment)? {
                    return Ok(None);
                }
                // Taken only once deciding: a wait comes round again with it, and a decision
                // that failed has ended the loop.
                let Some(decide) = decide.take() else {
                    return Err(LedgerError::Busy {
                        path: self.location.clone(),
                    });
                };
                let plan = decide(&standing);
                let id = match plan.sends() {
                    Some(action) => {
                        Some(book.insert_intent(outlet, payment, action, amount, command)?)
                    }
                    None => None,
                };
                Ok(Some((plan, id)))
            })?;
            match decided {
                Some(decided) => return Ok(decided),
                None => pause(),
            }
        }
    }

    /// Runs `work` in one transaction; `durable` waits for the server's flush at commit.
    pub(crate) fn book<T>(
        &self,
        durable: bool,
        observer: Option<&CommitObserver>,
        work: impl FnOnce(&mut dyn Book) -> Result<T, LedgerError>,
    ) -> Result<T, LedgerError> {
        let mut client = self.connection()?;
        let fail = |e| self.classify(e);
        let tx = wait(client.transaction()).map_err(fail)?;
        if !durable {
            wait(tx.batch_execute("SET LOCAL synchronous_commit = off")).map_err(fail)?;
        }
        let mut book = PgBook {
            tx: &tx,
            engine: self,
            claimed: None,
        };
        // On an error the transaction is dropped, which rolls it back.
        let result = work(&mut book)?;
        let started = Instant::now();
        wait(tx.commit()).map_err(fail)?;
        if let Some(observer) = observer {
            observe(observer, started.elapsed(), durable);
        }
        Ok(result)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// The ledger's rows inside one PostgreSQL transaction.
struct PgBook<'a> {
    tx: &'a deadpool_postgres::Transaction<'a>,
    engine: &'a Postgres,
    /// Whether another process had the payment of the last standing read out (its key, and
    /// the answer), read with it: the payment's lock, held since, keeps it true for
    /// [`Book::claimed_elsewhere`] without another round trip to the server.
    claimed: Option<(String, bool)>,
}

impl PgBook<'_> {
    /// Takes the lock of entry `id`'s payment ([`LOCK_PAYMENT`]).
    fn lock_payment_of(&self, id: i64) -> Result<(), LedgerError> {
        self.execute(LOCK_PAYMENT_OF_ENTRY, &[&id])?;
        Ok(())
    }

    fn execute(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64, LedgerError> {
        wait(async {
            let statement = self.tx.prepare_cached(sql).await?;
            self.tx.execute(&statement, params).await
        })
        .map_err(|e| self.engine.classify(e))
    }
}

impl Book for PgBook<'_> {
    fn standing(&mut self, payment: &TransactionId) -> Result<Standing, LedgerError> {
        let key = key(payment);
        // Competitors about this payment wait here until this transaction ends, and then see
        // what it wrote: the read below and the intent after it are one decision.
        self.execute(LOCK_PAYMENT, &[&key])?;
        let sql = format!("SELECT {COLUMNS} WHERE payment = $1 ORDER BY id");
        let rows = wait(async {
            let statement = self.tx.prepare_cached(&sql).await?;
            self.tx.query(&statement, &[&key]).await
        })
        .map_err(|e| self.engine.classify(e))?;
        let now = now_ms();
        let mut claimed = false;
        for row in &rows {
            let state: String = row.try_get("state").map_err(LedgerError::postgres)?;
            let claimant: Option<String> =
                row.try_get("claimant").map_err(LedgerError::postgres)?;
            let until: Option<i64> = row
                .try_get("lease_until_ms")
                .map_err(LedgerError::postgres)?;
            claimed |= state == IntentState::Sent.name()
                && claimant.is_some_and(|claimant| claimant != self.engine.replica)
                && until.is_some_and(|until| until > now);
        }
        self.claimed = Some((key, claimed));
        Ok(Standing {
            entries: rows.iter().map(entry).collect::<Result<_, _>>()?,
        })
    }

    fn insert_intent(
        &mut self,
        outlet: Option<&Outlet>,
        payment: &TransactionId,
        action: Action,
        amount: Option<&str>,
        command: &str,
    ) -> Result<i64, LedgerError> {
        // The intent and this process's claim on it, in one statement.
        let sql = "WITH entry AS (
                 INSERT INTO intents(payment, action, state, amount, merchant_id, store_id,
                     terminal_id, command, pid, started_ms)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id)
             INSERT INTO claims(entry, replica, until_ms) SELECT id, $11, $12 FROM entry
             RETURNING entry";
        let lease = i64::try_from(self.engine.lease.as_millis()).unwrap_or(i64::MAX);
        let params: [&(dyn ToSql + Sync); 12] = [
            &key(payment),
            &action.name(),
            &IntentState::Sent.name(),
            &amount,
            &outlet.map_or("", Outlet::merchant_id),
            &outlet.map_or("", Outlet::store_id),
            &outlet.map_or("", Outlet::terminal_id),
            &command,
            &i64::from(std::process::id()),
            &now_ms(),
            &self.engine.replica,
            &now_ms().saturating_add(lease),
        ];
        let row = wait(async {
            let statement = self.tx.prepare_cached(sql).await?;
            self.tx.query_one(&statement, &params).await
        })
        .map_err(|e| self.engine.classify(e))?;
        row.try_get(0).map_err(LedgerError::postgres)
    }

    fn set_detail(&mut self, id: i64, detail: &str) -> Result<(), LedgerError> {
        self.lock_payment_of(id)?;
        self.execute(
            "UPDATE intents SET detail = $2 WHERE id = $1 AND state = $3",
            &[&id, &detail, &IntentState::Sent.name()],
        )
        .map(drop)
    }

    fn record(&mut self, id: i64, answer: &Finding) -> Result<(), LedgerError> {
        self.lock_payment_of(id)?;
        let verdict = answer.verdict.unwrap_or(Verdict::Unknown);
        let settles = super::settles_earlier_voids(verdict);
        // One statement, one round trip to the server: the verdict (written only over an
        // entry still out or of unknown outcome, and never over a person's record), the claim
        // given up (nobody need wait for the entry any longer), and, when the verdict proves
        // something about the payment, its earlier voids left open settled with it. Its parts
        // touch different rows, and the last reads the first's only through what it returns.
        let sql = "WITH answered AS (
                 UPDATE intents SET state = $2, transaction_status = $3,
                     primary_transaction_status = $4, response_code = $5, detail = $6,
                     refund_id = COALESCE($7, refund_id), finished_ms = $8
                 WHERE id = $1 AND settled_by IS NULL AND state IN ($9, $10, $11)
                 RETURNING payment),
             released AS (DELETE FROM claims WHERE entry = $1),
             earlier AS (
                 UPDATE intents SET state = $12, finished_ms = $8,
                     detail = 'settled by ledger entry ' || $1 || ': ' || detail
                 WHERE $13 AND action = $14 AND id < $1 AND state IN ($9, $10)
                   AND payment IN (SELECT payment FROM answered))
             SELECT count(*) FROM answered";
        let settled_name = IntentState::Answered(settles.unwrap_or(verdict)).name();
        let params: [&(dyn ToSql + Sync); 14] = [
            &id,
            &IntentState::Answered(verdict).name(),
            &answer.transaction_status,
            &answer.primary_transaction_status,
            &answer.response_code,
            &answer.detail,
            &answer.refund_id,
            &now_ms(),
            &IntentState::Sent.name(),
            &IntentState::Answered(Verdict::Unknown).name(),
            &IntentState::Answered(Verdict::RefundUnknown).name(),
            &settled_name,
            &settles.is_some(),
            &Action::Void.name(),
        ];
        let row = wait(async {
            let statement = self.tx.prepare_cached(sql).await?;
            self.tx.query_one(&statement, &params).await
        })
        .map_err(|e| self.engine.classify(e))?;
        let changed: i64 = row.try_get(0).map_err(LedgerError::postgres)?;
        if changed == 0 {
            // As in SQLite: the record stands, and the late answer is said beside it.
            super::settled_before_its_answer(id, verdict);
        }
        Ok(())
    }

    fn claimed_elsewhere(&mut self, payment: &TransactionId) -> Result<bool, LedgerError> {
        if let Some((read, claimed)) = &self.claimed {
            if *read == key(payment) {
                return Ok(*claimed);
            }
        }
        let sql = "SELECT EXISTS (SELECT 1 FROM claims JOIN intents ON intents.id = claims.entry
             WHERE intents.payment = $1 AND intents.state = $2 AND claims.replica <> $3
               AND claims.until_ms > $4)";
        let row = wait(async {
            let statement = self.tx.prepare_cached(sql).await?;
            self.tx
                .query_one(
                    &statement,
                    &[
                        &key(payment),
                        &IntentState::Sent.name(),
                        &self.engine.replica,
                        &now_ms(),
                    ],
                )
                .await
        })
        .map_err(|e| self.engine.classify(e))?;
        row.try_get(0).map_err(LedgerError::postgres)
    }

    fn release_claims(&mut self, claimant: &str) -> Result<(), LedgerError> {
        // Without the payments' locks: taking several at once here, in no order the deciders
        // share, could deadlock with them; and a decider that reads the entry just before the
        // claim goes waits for a process that is dead only until it looks again. The claims'
        // rows are locked in the order of their entries, as a sweep claiming lost voids
        // writes them: deleted in the table's own order, a sweep holding one and waiting for
        // another could wait for this delete holding the second and waiting for the first.
        self.execute(
            "DELETE FROM claims WHERE entry IN (
                 SELECT entry FROM claims WHERE replica = $1 ORDER BY entry FOR UPDATE)",
            &[&claimant],
        )?;
        Ok(())
    }

    fn withdraw(&mut self, id: i64) -> Result<(), LedgerError> {
        self.lock_payment_of(id)?;
        self.execute(
            "DELETE FROM intents WHERE id = $1 AND state = $2",
            &[&id, &IntentState::Sent.name()],
        )?;
        Ok(())
    }

    fn entry(&mut self, id: i64) -> Result<Option<Entry>, LedgerError> {
        self.lock_payment_of(id)?;
        let sql = format!("SELECT {COLUMNS} WHERE id = $1");
        let rows = wait(async {
            let statement = self.tx.prepare_cached(&sql).await?;
            self.tx.query(&statement, &[&id]).await
        })
        .map_err(|e| self.engine.classify(e))?;
        rows.iter().map(entry).next().transpose()
    }

    fn settle(
        &mut self,
        id: i64,
        was: IntentState,
        verdict: Verdict,
        refund_id: Option<&str>,
        by: &str,
        note: &str,
    ) -> Result<bool, LedgerError> {
        self.lock_payment_of(id)?;
        let changed = self.execute(
            "UPDATE intents SET state = $2, refund_id = COALESCE($3, refund_id),
                 settled_by = $4, settled_note = $5, finished_ms = $6
             WHERE id = $1 AND state = $7 AND settled_by IS NULL",
            &[
                &id,
                &IntentState::Answered(verdict).name(),
                &refund_id,
                &by,
                &note,
                &now_ms(),
                &was.name(),
            ],
        )?;
        if changed == 0 {
            return Ok(false);
        }
        // Settled: no replica need wait for its claim any longer.
        self.execute("DELETE FROM claims WHERE entry = $1", &[&id])?;
        Ok(true)
    }
}

/// What a database holds of this program.
enum Found {
    /// Nothing: a new database.
    Nothing,
    /// A ledger of this schema version.
    Version(i64),
    /// Another program's `intents` table, without our mark.
    Foreign,
}

async fn version(
    client: &impl deadpool_postgres::GenericClient,
) -> Result<Found, tokio_postgres::Error> {
    let row = client
        .query_one(
            "SELECT to_regclass('instamed_schema') IS NOT NULL, to_regclass('intents') IS NOT NULL",
            &[],
        )
        .await?;
    let (marked, intents): (bool, bool) = (row.try_get(0)?, row.try_get(1)?);
    if !marked {
        return Ok(if intents {
            Found::Foreign
        } else {
            Found::Nothing
        });
    }
    let version = client
        .query_opt(
            "SELECT version FROM instamed_schema WHERE kind = 'ledger'",
            &[],
        )
        .await?;
    Ok(match version {
        Some(row) => Found::Version(row.try_get(0)?),
        None if intents => Found::Foreign,
        None => Found::Nothing,
    })
}

/// Waits [`CLAIM_POLL`] before another look at a claimed payment. On a worker of a
/// multi-thread runtime (an async caller, as the library's `Ledger::void` is), the worker's
/// other tasks are handed to another thread first: among them may be the very request whose
/// answer is awaited, or the server that answers it. A current-thread runtime cannot hand
/// them over: its callers wait on a blocking thread, as the gateway does.
fn pause() {
    off_the_runtime(|| std::thread::sleep(CLAIM_POLL));
}

/// This process's name on its claims: the machine, the process, and a number of this opening
/// (two ledgers opened by one process are two claimants).
fn replica() -> String {
    use std::hash::{BuildHasher, Hasher};
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_default();
    // A random number without a dependency of its own: std seeds each `RandomState` anew.
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_i64(now_ms());
    format!(
        "{}:{}:{:016x}",
        host.trim(),
        std::process::id(),
        hasher.finish()
    )
}

/// Waits for `future` on this thread (see the module's docs for why that is safe anywhere).
///
/// Unconstrained by tokio's cooperative budget: on a thread inside a runtime's `block_on`
/// the budget is that outer future's, and it is renewed only when the outer one yields, which
/// it cannot while this waits; spent, a `JoinHandle` would answer "not yet" for ever.
fn wait<F: Future>(future: F) -> F::Output {
    futures_executor::block_on(tokio::task::unconstrained(future))
}

/// The database as messages name it: its hosts, port and name, never its password.
fn located(config: &tokio_postgres::Config) -> String {
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .zip(config.get_ports().iter().chain(std::iter::repeat(&5432)))
        .map(|(host, port)| match host {
            tokio_postgres::config::Host::Tcp(name) => format!("{name}:{port}"),
            tokio_postgres::config::Host::Unix(path) => format!("{}:{port}", path.display()),
        })
        .collect();
    let user = config
        .get_user()
        .map(|user| format!("{user}@"))
        .unwrap_or_default();
    format!(
        "postgres://{user}{}/{}",
        hosts.join(","),
        config.get_dbname().unwrap_or_default()
    )
}

/// An entry from a row of [`COLUMNS`].
fn entry(row: &Row) -> Result<Entry, LedgerError> {
    let get = |name: &str| -> Result<Option<String>, LedgerError> {
        row.try_get(name).map_err(LedgerError::postgres)
    };
    let text = |name: &str| -> Result<String, LedgerError> {
        row.try_get(name).map_err(LedgerError::postgres)
    };
    let number = |name: &str| -> Result<Option<i64>, LedgerError> {
        row.try_get(name).map_err(LedgerError::postgres)
    };
    let state: IntentState = named(&text("state")?)?;
    Ok(Entry {
        id: number("id")?.unwrap_or(0),
        payment: text("payment")?,
        action: named(&text("action")?)?,
        verdict: state.verdict(),
        amount: get("amount")?,
        refund_id: get("refund_id")?,
        command: text("command")?,
        pid: number("pid")?
            .and_then(|pid| pid.try_into().ok())
            .unwrap_or(0),
        started: at(number("started_ms")?.unwrap_or(0)),
        finished: number("finished_ms")?.map(at),
        transaction_status: get("transaction_status")?,
        primary_transaction_status: get("primary_transaction_status")?,
        response_code: get("response_code")?,
        detail: text("detail")?,
        outlet: match (get("merchant_id")?, get("store_id")?, get("terminal_id")?) {
            (Some(merchant), Some(store), Some(terminal)) => {
                Outlet::new(merchant, store, terminal).ok()
            }
            _ => None,
        },
        settled_by: get("settled_by")?,
        settled_note: get("settled_note")?,
        // Every intent is written with its claim, so an entry still `sent` without one had it
        // released by a run that knew its claimant dead (a batch re-run on its journal): ended,
        // whatever process on this machine now has the ID it was written with.
        lease_until: match state.verdict() {
            Some(_) => None,
            None => Some(at(number("lease_until_ms")?.unwrap_or(0))),
        },
    })
}

/// The value a stored name stands for; an unknown one is an error naming it, as in SQLite.
fn named<T: Named>(name: &str) -> Result<T, LedgerError> {
    T::from_name(name).ok_or_else(|| {
        LedgerError::postgres(UnknownName {
            what: T::WHAT,
            name: name.to_owned(),
        })
    })
}
