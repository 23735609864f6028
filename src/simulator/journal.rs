//! The ledger's persistence: an append-only journal, one JSON object a line.
//!
//! Every change (a payment created, voided, or its funds transfer started) is written as one line
//! *before* the change is applied and before the request that caused it is answered. A line goes
//! to the operating system with one `write` call and no `fsync`: a crash of the simulator loses
//! nothing, a crash of the machine may lose what the kernel had not yet flushed. At start the
//! journal is replayed in order; a torn last line (a crash in the middle of a write) is dropped
//! and cut off the file, any other unreadable line stops the start.
//!
//! ```text
//! {"event":"created","id":"EE52…","merchant_id":"123","store_id":"1","terminal_id":"1","amount":"12.34","at_ms":1700000000000}
//! {"event":"voided","id":"EE52…","at_ms":1700000005000}
//! {"event":"transfer_started","id":"0D6F…","at_ms":1700000009000}
//! ```

use std::borrow::Cow;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::error::SimulatorError;

/// One change to the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub(crate) enum Entry<'a> {
    /// A payment (a sale, a seeded payment or a refund) was created, captured.
    Created {
        #[serde(borrow)]
        id: Cow<'a, str>,
        #[serde(borrow)]
        merchant_id: Cow<'a, str>,
        #[serde(borrow)]
        store_id: Cow<'a, str>,
        #[serde(borrow)]
        terminal_id: Cow<'a, str>,
        #[serde(borrow)]
        amount: Cow<'a, str>,
        at_ms: u64,
        /// The payment a refund gives money back on.
        #[serde(default, borrow, skip_serializing_if = "Option::is_none")]
        refund_of: Option<Cow<'a, str>>,
    },
    /// A payment was voided.
    Voided {
        #[serde(borrow)]
        id: Cow<'a, str>,
        at_ms: u64,
    },
    /// A payment's funds transfer began: it can no longer be voided.
    TransferStarted {
        #[serde(borrow)]
        id: Cow<'a, str>,
        at_ms: u64,
    },
}

/// The open journal file.
#[derive(Debug)]
pub(crate) struct Journal {
    file: File,
    /// Reused for every line so that appending does not allocate once warm.
    line: Vec<u8>,
}

impl Journal {
    /// Opens (or creates) the journal at `path` and hands every entry in it to `apply`, in order.
    /// `apply` says why an entry cannot be applied (an unknown payment, say).
    pub(crate) fn open(
        path: &Path,
        mut apply: impl FnMut(Entry<'_>) -> Result<(), String>,
    ) -> Result<Self, SimulatorError> {
        let io_error = |source| SimulatorError::JournalIo {
            path: path.to_owned(),
            source,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(io_error)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io_error)?;

        // Only whole lines count: whatever follows the last newline is a torn write.
        let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        if complete < bytes.len() {
            tracing::warn!(
                path = %path.display(),
                bytes = bytes.len() - complete,
                "dropping a torn last line from the ledger journal"
            );
            file.set_len(complete as u64).map_err(io_error)?;
        }
        let corrupt = |line: usize, reason: String| SimulatorError::JournalCorrupt {
            path: path.to_owned(),
            line,
            reason,
        };
        let text = std::str::from_utf8(&bytes[..complete])
            .map_err(|e| corrupt(1 + count_lines(&bytes[..e.valid_up_to()]), e.to_string()))?;
        for (index, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let entry: Entry<'_> =
                serde_json::from_str(line).map_err(|e| corrupt(index + 1, e.to_string()))?;
            apply(entry).map_err(|reason| corrupt(index + 1, reason))?;
        }
        Ok(Self {
            file,
            line: Vec::with_capacity(256),
        })
    }

    /// Writes `entry` as one line, with a single `write` so that a crash tears at most this line.
    pub(crate) fn append(&mut self, entry: &Entry<'_>) -> io::Result<()> {
        self.line.clear();
        serde_json::to_writer(&mut self.line, entry).map_err(io::Error::other)?;
        self.line.push(b'\n');
        self.file.write_all(&self.line)
    }

    /// Asks the operating system to put everything written so far on disk.
    pub(crate) fn sync(&self) -> io::Result<()> {
        self.file.sync_data()
    }
}

fn count_lines(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b == b'\n').count()
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn temp_path(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "instamed-journal-test-{}-{name}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("ledger.jsonl");
        let _ = std::fs::remove_file(&path);
        path
    }

    #[test]
    fn entries_round_trip_and_a_torn_last_line_is_cut_off() {
        let path = temp_path("torn");
        let mut journal = Journal::open(&path, |_| Ok(())).unwrap();
        let voided = Entry::Voided {
            id: "ABC".into(),
            at_ms: 5,
        };
        journal.append(&voided).unwrap();
        drop(journal);
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(b"{\"event\":\"vo").unwrap();
        drop(file);

        let mut seen = Vec::new();
        Journal::open(&path, |entry| {
            seen.push(format!("{entry:?}"));
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, [format!("{voided:?}")]);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.ends_with("}\n"), "{text}");
    }

    #[test]
    fn a_bad_line_in_the_middle_names_its_number() {
        let path = temp_path("corrupt");
        std::fs::write(&path, "\n{\"event\":\"nonsense\"}\n").unwrap();
        match Journal::open(&path, |_| Ok(())) {
            Err(SimulatorError::JournalCorrupt { line, .. }) => assert_eq!(line, 2),
            other => panic!("{other:?}"),
        }
    }
}
