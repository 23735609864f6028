//! Operations in the ledger's PostgreSQL database, shared by every replica: a key used on one
//! replica is found on the others, and an operation begun on one is read on any.
//!
//! An operation in flight on a replica that died would hold its key until it expires, answering
//! the ERP's every retry with 409. So each replica names its connections after itself
//! (`application_name`), and a key found in flight is let go when no connection of its replica
//! is left in `pg_stat_activity`: the server closes a dead process's connections.

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use tokio_postgres::NoTls;

use super::{Begun, OperationsError, Stored, expired_before, new_id, now_ms};

/// How long a statement waits for a connection, or for the server, before the store fails.
const WAIT: Duration = Duration::from_secs(15);

/// Connections per replica for operations (the ledger has a pool of its own).
const CONNECTIONS: usize = 8;

/// The lock taken while the table is made, so that replicas starting at once take turns.
const SCHEMA_LOCK: i64 = 0x494D_4F50;

const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS gateway_operations (
        id TEXT PRIMARY KEY,
        client TEXT NOT NULL,
        idempotency_key TEXT,
        -- The SHA-256 of the request's path and body (its fingerprint), never the body.
        body_sha256 BYTEA NOT NULL,
        kind TEXT NOT NULL,
        payment TEXT NOT NULL,
        state TEXT NOT NULL,
        status INTEGER,
        answer TEXT,
        -- The replica carrying it out: its connections' application_name.
        replica TEXT NOT NULL,
        created_ms BIGINT NOT NULL,
        finished_ms BIGINT
    );
    CREATE UNIQUE INDEX IF NOT EXISTS gateway_operations_by_key
        ON gateway_operations(client, idempotency_key) WHERE idempotency_key IS NOT NULL;
    CREATE INDEX IF NOT EXISTS gateway_operations_by_age ON gateway_operations(created_ms);";

/// The operations every replica on one database shares.
pub(crate) struct SharedOperations {
    pool: Pool,
    /// The database's URL without its password.
    location: String,
    /// This replica's name on its connections and operations.
    replica: String,
}

impl SharedOperations {
    pub(crate) async fn open(url: &str, location: &str) -> Result<Self, OperationsError> {
        let fail =
            |error: Box<dyn std::error::Error + Send + Sync>| OperationsError::new(location, error);
        let mut config: tokio_postgres::Config = url.parse().map_err(|e| fail(Box::new(e)))?;
        let replica = replica_name();
        config.application_name(&replica).connect_timeout(WAIT);
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(CONNECTIONS)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(WAIT))
            .create_timeout(Some(WAIT))
            .build()
            .map_err(|e| fail(Box::new(e)))?;
        let shared = Self {
            pool,
            location: location.to_owned(),
            replica,
        };
        let mut client = shared.connection().await?;
        let tx = client.transaction().await.map_err(|e| shared.fail(e))?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])
            .await
            .map_err(|e| shared.fail(e))?;
        tx.batch_execute(SCHEMA).await.map_err(|e| shared.fail(e))?;
        tx.commit().await.map_err(|e| shared.fail(e))?;
        drop(client);
        Ok(shared)
    }

    fn fail(&self, error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> OperationsError {
        OperationsError::new(self.location.clone(), error)
    }

    async fn connection(&self) -> Result<Object, OperationsError> {
        self.pool.get().await.map_err(|e| self.fail(e))
    }

    /// As [`Operations::begin`](super::Operations::begin), given the request's fingerprint.
    pub(crate) async fn begin(
        &self,
        client: &str,
        key: Option<&str>,
        hash: &[u8],
        kind: &str,
        payment: &str,
    ) -> Result<Begun, OperationsError> {
        let db = self.connection().await?;
        let fail = |e| self.fail(e);
        db.execute(
            "DELETE FROM gateway_operations WHERE created_ms < $1 AND state <> 'in_flight'",
            &[&expired_before()],
        )
        .await
        .map_err(fail)?;
        let insert = "INSERT INTO gateway_operations(id, client, idempotency_key, body_sha256,
                 kind, payment, state, replica, created_ms)
             VALUES ($1, $2, $3, $4, $5, $6, 'in_flight', $7, $8)
             ON CONFLICT (client, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
             RETURNING id";
        // Twice at most: once more after letting go of a dead replica's key, or after the key's
        // operation expired between the insert and the read.
        for _ in 0..3 {
            let id = new_id();
            let inserted = db
                .query_opt(
                    insert,
                    &[
                        &id,
                        &client,
                        &key,
                        &hash,
                        &kind,
                        &payment,
                        &self.replica,
                        &now_ms(),
                    ],
                )
                .await
                .map_err(fail)?;
            if inserted.is_some() {
                return Ok(Begun::New(id));
            }
            let found = db
                .query_opt(
                    "SELECT id, body_sha256, state, status, answer, replica FROM gateway_operations
                     WHERE client = $1 AND idempotency_key = $2",
                    &[&client, &key],
                )
                .await
                .map_err(fail)?;
            let Some(found) = found else {
                continue;
            };
            let stored_hash: Vec<u8> = found.try_get(1).map_err(fail)?;
            let state: String = found.try_get(2).map_err(fail)?;
            if stored_hash != hash {
                return Ok(Begun::OtherBody);
            }
            if state != "in_flight" {
                let status: Option<i32> = found.try_get(3).map_err(fail)?;
                let answer: Option<String> = found.try_get(4).map_err(fail)?;
                return Ok(Begun::Stored {
                    status: status.and_then(|s| u16::try_from(s).ok()).unwrap_or(500),
                    answer: answer.unwrap_or_default(),
                });
            }
            let replica: String = found.try_get(5).map_err(fail)?;
            let alive: bool = db
                .query_one(
                    "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name = $1)",
                    &[&replica],
                )
                .await
                .map_err(fail)?
                .try_get(0)
                .map_err(fail)?;
            if alive {
                return Ok(Begun::InFlight);
            }
            // Its replica is gone: the request, repeated, goes through the ledger again.
            let id: String = found.try_get(0).map_err(fail)?;
            db.execute(
                "UPDATE gateway_operations SET state = 'interrupted', idempotency_key = NULL,
                     finished_ms = $2 WHERE id = $1 AND state = 'in_flight'",
                &[&id, &now_ms()],
            )
            .await
            .map_err(fail)?;
        }
        Ok(Begun::InFlight)
    }

    /// As [`Operations::finish`](super::Operations::finish).
    pub(crate) async fn finish(
        &self,
        id: &str,
        status: u16,
        answer: &str,
        keep_key: bool,
    ) -> Result<(), OperationsError> {
        let db = self.connection().await?;
        db.execute(
            "UPDATE gateway_operations SET state = 'done', status = $2, answer = $3,
                 finished_ms = $4,
                 idempotency_key = CASE WHEN $5 THEN idempotency_key ELSE NULL END
             WHERE id = $1",
            &[&id, &i32::from(status), &answer, &now_ms(), &keep_key],
        )
        .await
        .map_err(|e| self.fail(e))?;
        Ok(())
    }

    /// As [`Operations::get`](super::Operations::get).
    pub(crate) async fn get(
        &self,
        client: &str,
        id: &str,
    ) -> Result<Option<Stored>, OperationsError> {
        let db = self.connection().await?;
        let fail = |e| self.fail(e);
        let Some(row) = db
            .query_opt(
                "SELECT kind, payment, state, status, answer FROM gateway_operations
                 WHERE id = $1 AND client = $2",
                &[&id, &client],
            )
            .await
            .map_err(fail)?
        else {
            return Ok(None);
        };
        let status: Option<i32> = row.try_get(3).map_err(fail)?;
        Ok(Some(Stored {
            kind: row.try_get(0).map_err(fail)?,
            payment: row.try_get(1).map_err(fail)?,
            state: row.try_get(2).map_err(fail)?,
            status: status.and_then(|s| u16::try_from(s).ok()),
            answer: row.try_get(4).map_err(fail)?,
        }))
    }
}

/// This replica's name: the program and an operation ID's 128 random bits, unique among the
/// replicas.
fn replica_name() -> String {
    format!("instamed-soap gateway {}", new_id())
}
