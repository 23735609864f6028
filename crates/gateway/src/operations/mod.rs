//! The JSON API's operations and their `Idempotency-Key`s: a SQLite file of one gateway's beside
//! a ledger file ([`file`]), or, with the ledger in PostgreSQL, a table in the same database that
//! every replica shares ([`shared`]), so that an ERP's retry or its `GET /v1/operations/{id}`
//! finds the operation whichever replica the load balancer picks. Losing them loses stored
//! answers, never money: a repeated request then goes through the ledger again, which answers
//! it without sending anything twice.

mod file;
mod shared;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ring::rand::{SecureRandom as _, SystemRandom};

use file::FileOperations;
use shared::SharedOperations;

/// How long a key and its answer are kept after the operation ended.
pub const KEY_RETENTION: Duration = Duration::from_secs(24 * 60 * 60);

/// What a new request with a key finds.
#[derive(Debug)]
pub(crate) enum Begun {
    /// A new operation: carry it out.
    New(String),
    /// The same key and body answered before: the stored answer.
    Stored { status: u16, answer: String },
    /// The same key with another body.
    OtherBody,
    /// The same key's operation is still being carried out.
    InFlight,
}

/// One operation, as `GET /v1/operations/{id}` shows it.
#[derive(Debug)]
pub(crate) struct Stored {
    pub kind: String,
    pub payment: String,
    pub state: String,
    pub status: Option<u16>,
    pub answer: Option<String>,
}

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
#[error("the operations store {location} failed")]
pub struct OperationsError {
    /// The file, or the database's URL without its password.
    location: String,
    #[source]
    source: Box<dyn std::error::Error + Send + Sync>,
}

impl OperationsError {
    fn new(
        location: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self {
            location: location.into(),
            source: source.into(),
        }
    }
}

/// Where a gateway keeps its operations.
pub(crate) enum Operations {
    File(Arc<FileOperations>),
    Shared(SharedOperations),
}

impl Operations {
    /// Opens (or makes) one gateway's file. Operations a killed gateway left in flight are
    /// closed and their keys let go: their requests, repeated, go through the ledger again.
    pub(crate) fn open_file(path: &Path) -> Result<Self, OperationsError> {
        FileOperations::open(path).map(|file| Self::File(Arc::new(file)))
    }

    /// Connects to the ledger's PostgreSQL database at `url` (named `location` in messages,
    /// without its password) and makes the shared table unless it is there.
    pub(crate) async fn open_shared(url: &str, location: &str) -> Result<Self, OperationsError> {
        SharedOperations::open(url, location)
            .await
            .map(Self::Shared)
    }

    /// Starts an operation of `client`, under `key` if given; `request` is what makes two
    /// requests the same (their path and body), kept as its SHA-256 only.
    pub(crate) async fn begin(
        &self,
        client: &str,
        key: Option<&str>,
        request: &[u8],
        kind: &'static str,
        payment: &str,
    ) -> Result<Begun, OperationsError> {
        let hash = ring::digest::digest(&ring::digest::SHA256, request);
        match self {
            Self::File(file) => {
                let (file, client, key) = (file.clone(), client.to_owned(), key.map(str::to_owned));
                let (hash, payment) = (hash.as_ref().to_owned(), payment.to_owned());
                blocking(move || file.begin(&client, key.as_deref(), &hash, kind, &payment)).await
            }
            Self::Shared(shared) => {
                shared
                    .begin(client, key, hash.as_ref(), kind, payment)
                    .await
            }
        }
    }

    /// Records an operation's answer. `keep_key` false lets its key go: an answer that is not
    /// final (an outcome still open, nothing sent) must not be replayed, the repeat must ask
    /// the ledger again.
    pub(crate) async fn finish(
        &self,
        id: &str,
        status: u16,
        answer: &str,
        keep_key: bool,
    ) -> Result<(), OperationsError> {
        match self {
            Self::File(file) => {
                let (file, id, answer) = (file.clone(), id.to_owned(), answer.to_owned());
                blocking(move || file.finish(&id, status, &answer, keep_key)).await
            }
            Self::Shared(shared) => shared.finish(id, status, answer, keep_key).await,
        }
    }

    /// Operation `id` of `client`.
    pub(crate) async fn get(
        &self,
        client: &str,
        id: &str,
    ) -> Result<Option<Stored>, OperationsError> {
        match self {
            Self::File(file) => {
                let (file, client, id) = (file.clone(), client.to_owned(), id.to_owned());
                blocking(move || file.get(&client, &id)).await
            }
            Self::Shared(shared) => shared.get(client, id).await,
        }
    }
}

/// Runs the file's SQLite work off the runtime's threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, OperationsError> + Send + 'static,
) -> Result<T, OperationsError> {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|panicked| {
            Err(OperationsError::new(
                "of this gateway",
                format!("the operations store's call panicked: {panicked}"),
            ))
        })
}

/// A new operation's ID: 128 random bits in hex.
fn new_id() -> String {
    let mut bytes = [0_u8; 16];
    // The system's random source failing leaves the time and a counter, still unique here.
    if SystemRandom::new().fill(&mut bytes).is_err() {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let next = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        bytes[..8].copy_from_slice(&now_ms().to_le_bytes());
        bytes[8..].copy_from_slice(&next.to_le_bytes());
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The oldest `created_ms` a key is kept for.
fn expired_before() -> i64 {
    now_ms() - i64::try_from(KEY_RETENTION.as_millis()).unwrap_or(i64::MAX)
}
