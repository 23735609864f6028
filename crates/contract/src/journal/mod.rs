//! The replaying server's journal: every request it received, matched or not, as WireMock
//! keeps one, so that a test can ask afterwards what the client under test sent.
//!
//! Each [`Entry`] says when, what (method, target, protocol, operation) and what became of
//! it (the cassette that answered, or the closest one and where it differed). Bodies and
//! targets go through the same [`redact`](crate::redact) as a cassette does: a journal
//! is written beside cassettes and read in CI logs, so it holds no secret either.
//!
//! With a file, each entry is written as one JSON line the moment it is taken, so that a
//! server stopped by a signal leaves a whole journal behind. [`expect`] checks counts.

pub mod expect;
mod time;

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::record::SeenRequest;
use crate::redact::Redaction;
use crate::replay::Replayed;
use instamed_soap::Protocol;

/// One request the replaying server received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// When it was read whole: RFC 3339, UTC, to the millisecond.
    pub time: String,
    /// The HTTP method.
    pub method: String,
    /// Path and query, redacted as a cassette's target is.
    pub target: String,
    /// `soap11`, `soap12`, `nvp` or `rest`; `None` when the request is of none of them.
    pub protocol: Option<String>,
    /// The operation (`DoCreditCardSecondaryVoid`, `Void`, `void`…): the answering cassette's,
    /// else the one the request names; `None` when the request is of no protocol.
    pub operation: Option<String>,
    /// Whether a cassette answered.
    pub matched: bool,
    /// The file name of the cassette that answered.
    pub cassette: Option<String>,
    /// When none answered: the file name of the closest cassette.
    pub closest: Option<String>,
    /// When none answered: where the closest cassette first differs (never the values).
    pub differs_at: Option<String>,
    /// Whether the request was answered as a refused sign-in, its credentials not the ones
    /// `replay` was told to expect (no cassette was consulted).
    #[serde(default)]
    pub credentials_refused: bool,
    /// The status answered.
    pub status: u16,
    /// The request body, redacted as a cassette's is.
    pub body: String,
}

impl Entry {
    /// The entry for `request`, answered with `answer`; `operation` is the answering
    /// cassette's, when one answered.
    pub(crate) fn of(
        request: &SeenRequest<'_>,
        answer: &Replayed,
        operation: Option<String>,
        at: SystemTime,
    ) -> Self {
        let protocol = request.protocol();
        let mut redaction = Redaction::new(request.headers, &http::HeaderMap::new());
        let target = redaction.target(request.target);
        let body = redaction.body(
            request.headers,
            request.body,
            protocol == Some(Protocol::Nvp),
        );
        let body = redaction.finish_body_text(body);
        let target = redaction.finish_text(&target);
        let file_name = |path: &Path| {
            path.file_name()
                .map(|name| name.to_string_lossy().into_owned())
        };
        Self {
            time: time::rfc3339(at),
            method: request.method.as_str().to_owned(),
            target,
            protocol: protocol.map(|p| p.as_str().to_owned()),
            operation: operation
                .or_else(|| protocol.map(|_| crate::names::loggable(&request.operation()))),
            matched: answer.cassette.is_some(),
            cassette: answer.cassette.as_deref().and_then(file_name),
            closest: answer.unmatched.as_ref().and_then(|u| u.closest.clone()),
            // A path names the request's own keys, which a client may fill with anything, a
            // card number or a control character included.
            differs_at: answer
                .unmatched
                .as_ref()
                .and_then(|u| u.at.as_deref())
                .map(|at| instamed_soap::sensitive::shown(at).into_owned()),
            credentials_refused: answer.credentials_refused,
            status: answer.status.as_u16(),
            body,
        }
    }
}

/// The entries taken so far, and the file they are written to.
#[derive(Debug, Default)]
pub struct Journal {
    entries: Mutex<Vec<Entry>>,
    file: Option<Mutex<File>>,
}

impl Journal {
    /// A journal kept in memory only.
    pub fn in_memory() -> Self {
        Self::default()
    }

    /// A journal also written to `path`, emptied first: a journal describes one run.
    pub fn to_file(path: &Path) -> std::io::Result<Self> {
        Ok(Self {
            entries: Mutex::default(),
            file: Some(Mutex::new(File::create(path)?)),
        })
    }

    /// Takes an entry, and writes it as one line when the journal has a file.
    pub fn take(&self, entry: Entry) {
        if let Some(file) = &self.file {
            let mut file = file.lock().unwrap_or_else(|p| p.into_inner());
            // A journal that cannot be written must not stop the replay the client waits on;
            // the operator is told, and the in-memory journal still holds the entry.
            let written = serde_json::to_string(&entry)
                .map_err(std::io::Error::other)
                .and_then(|line| writeln!(file, "{line}").and_then(|()| file.flush()));
            if let Err(error) = written {
                tracing::error!(%error, "cannot write the journal");
            }
        }
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(entry);
    }

    /// Every entry so far, in the order the requests were read.
    pub fn entries(&self) -> Vec<Entry> {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// Why a journal file cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// The file cannot be read.
    #[error("cannot read the journal {file}")]
    Read {
        /// The file.
        file: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A line is not an entry.
    #[error("{file}, line {line}: not a journal entry ({reason})")]
    Line {
        /// The file.
        file: PathBuf,
        /// Its line number, from 1.
        line: usize,
        /// What is wrong, without the value found (a hand-edited line may hold anything).
        reason: String,
    },
}

/// The largest journal read: a test suite's requests, many times over, never a device.
const MAX_JOURNAL_BYTES: u64 = 256 * 1024 * 1024;

/// Reads a journal written by a replaying server; blank lines are skipped.
pub fn read(file: &Path) -> Result<Vec<Entry>, JournalError> {
    let failed = |source| JournalError::Read {
        file: file.to_path_buf(),
        source,
    };
    let reader =
        BufReader::new(instamed_soap::files::open(file, MAX_JOURNAL_BYTES).map_err(failed)?);
    let mut entries = Vec::new();
    for (index, line) in reader.lines().enumerate() {
        let line = line.map_err(failed)?;
        if line.trim().is_empty() {
            continue;
        }
        let entry = serde_json::from_str(&line).map_err(|error| JournalError::Line {
            file: file.to_path_buf(),
            line: index + 1,
            reason: format!("{:?} at column {}", error.classify(), error.column()),
        })?;
        entries.push(entry);
    }
    Ok(entries)
}
