//! The ledger's persistence: an append-only journal, one JSON object a line.
//!
//! Every change (a payment created, voided, or its funds transfer started) is written as one line
//! *before* the change is applied and before the request that caused it is answered. A line goes
//! to the operating system with one `write` call and no `fsync`: a crash of the simulator loses
//! nothing, a crash of the machine may lose what the kernel had not yet flushed.
//!
//! A write that fails (a full disk) may leave part of its line behind. The change is then not
//! made and the request gets a server fault, and the journal cuts the file back to its last
//! whole line at once, or before the next write if it could not then, so that a later line never
//! follows a torn one. A journal torn all the same (the simulator was killed, or an older
//! version wrote it) is recovered at start: every whole entry is kept, even one that follows
//! torn bytes on the same line; what is dropped is reported (line, byte offset, length) and the
//! file is rewritten without it, atomically. A line that reads as an entry but cannot be applied
//! (a void of a payment never created) still stops the start: that is not a torn write.
//!
//! ```text
//! {"event":"created","id":"EE52…","merchant_id":"123","store_id":"1","terminal_id":"1","amount":"12.34","at_ms":1700000000000}
//! {"event":"voided","id":"EE52…","at_ms":1700000005000}
//! {"event":"transfer_started","id":"0D6F…","at_ms":1700000009000}
//! ```

use std::borrow::Cow;
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::error::SimulatorError;

/// How every entry begins: serde writes the tag first, and a `"` inside a value is escaped, so
/// these bytes start an entry and appear nowhere else.
const ENTRY_START: &[u8] = b"{\"event\":\"";

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

/// Bytes dropped from the journal at start because they were not a whole entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cut {
    /// The line they were on, counting from 1.
    pub line: usize,
    /// Where they began in the file, in bytes.
    pub offset: usize,
    /// How many bytes were dropped (a newline ending them included).
    pub bytes: usize,
}

/// Where the journal's lines go: the file, or in tests a file that fails on purpose.
pub(crate) trait Storage: Send + fmt::Debug {
    /// Writes `bytes` at the end.
    fn append(&mut self, bytes: &[u8]) -> io::Result<()>;
    /// Cuts the storage to `len` bytes.
    fn truncate(&mut self, len: u64) -> io::Result<()>;
    /// Puts what was written on disk.
    fn sync(&self) -> io::Result<()>;
}

impl Storage for File {
    fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.write_all(bytes)
    }

    fn truncate(&mut self, len: u64) -> io::Result<()> {
        self.set_len(len)
    }

    fn sync(&self) -> io::Result<()> {
        self.sync_data()
    }
}

/// The open journal.
#[derive(Debug)]
pub(crate) struct Journal {
    storage: Box<dyn Storage>,
    /// The length of the whole lines written: where the next line starts.
    len: u64,
    /// A write failed and the bytes it left past `len` are not cut off yet.
    torn: bool,
    /// Reused for every line so that appending does not allocate once warm.
    line: Vec<u8>,
}

impl Journal {
    /// Opens (or creates) the journal at `path`, recovers it if a write tore it, and hands every
    /// entry in it to `apply`, in order. `apply` says why an entry cannot be applied (an unknown
    /// payment, say). What recovery dropped is returned.
    pub(crate) fn open(
        path: &Path,
        apply: impl FnMut(Entry<'_>) -> Result<(), String>,
    ) -> Result<(Self, Vec<Cut>), SimulatorError> {
        Self::open_on(path, |file| Box::new(file), apply)
    }

    /// [`open`](Self::open), writing through the storage `wrap` makes of the file.
    pub(crate) fn open_on(
        path: &Path,
        wrap: impl FnOnce(File) -> Box<dyn Storage>,
        mut apply: impl FnMut(Entry<'_>) -> Result<(), String>,
    ) -> Result<(Self, Vec<Cut>), SimulatorError> {
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
        // A device such as /dev/zero would be read for ever.
        if !file.metadata().map_err(io_error)?.is_file() {
            return Err(io_error(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the ledger journal must be a regular file",
            )));
        }
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io_error)?;

        let corrupt = |line: usize, reason: String| SimulatorError::JournalCorrupt {
            path: path.to_owned(),
            line,
            reason,
        };
        let mut kept = Vec::with_capacity(bytes.len());
        let mut cuts = Vec::new();
        let mut offset = 0;
        for (index, line) in bytes.split_inclusive(|&b| b == b'\n').enumerate() {
            let number = index + 1;
            let at = offset;
            offset += line.len();
            let Some(body) = line.strip_suffix(b"\n") else {
                // Whatever follows the last newline is a torn write, whole JSON or not: its
                // request was never answered as done.
                cuts.push(Cut {
                    line: number,
                    offset: at,
                    bytes: line.len(),
                });
                continue;
            };
            if body.trim_ascii().is_empty() {
                kept.extend_from_slice(line);
                continue;
            }
            let (skip, entry) = match whole_entry(body) {
                Some(found) => found,
                None => {
                    cuts.push(Cut {
                        line: number,
                        offset: at,
                        bytes: line.len(),
                    });
                    continue;
                }
            };
            if skip > 0 {
                cuts.push(Cut {
                    line: number,
                    offset: at,
                    bytes: skip,
                });
            }
            apply(entry).map_err(|reason| corrupt(number, reason))?;
            kept.extend_from_slice(&line[skip..]);
        }
        for cut in &cuts {
            tracing::warn!(
                path = %path.display(),
                line = cut.line,
                offset = cut.offset,
                bytes = cut.bytes,
                "dropped bytes of the ledger journal that are not a whole entry (a torn write)"
            );
        }
        let torn_tail_only = cuts.len() == 1 && cuts[0].offset + cuts[0].bytes == bytes.len();
        if torn_tail_only {
            file.set_len(kept.len() as u64).map_err(io_error)?;
        } else if !cuts.is_empty() {
            file = rewrite(path, &kept).map_err(io_error)?;
        }
        let journal = Self {
            storage: wrap(file),
            len: kept.len() as u64,
            torn: false,
            line: Vec::with_capacity(256),
        };
        Ok((journal, cuts))
    }

    /// Writes `entry` as one line, with a single `write` so that a crash tears at most this line.
    /// When the write fails, the file is cut back to its last whole line.
    pub(crate) fn append(&mut self, entry: &Entry<'_>) -> io::Result<()> {
        if self.torn {
            self.storage.truncate(self.len)?;
            self.torn = false;
        }
        self.line.clear();
        serde_json::to_writer(&mut self.line, entry).map_err(io::Error::other)?;
        self.line.push(b'\n');
        match self.storage.append(&self.line) {
            Ok(()) => {
                self.len += self.line.len() as u64;
                Ok(())
            }
            Err(error) => {
                // Part of the line may be in the file: cut it now, or before the next line.
                self.torn = self.storage.truncate(self.len).is_err();
                Err(error)
            }
        }
    }

    /// Asks the operating system to put everything written so far on disk.
    pub(crate) fn sync(&self) -> io::Result<()> {
        self.storage.sync()
    }
}

/// The entry `line` holds, and how many torn bytes come before it: a torn write followed by a
/// whole entry on the same line (an older simulator appended after a failed write) keeps the
/// entry.
fn whole_entry(line: &[u8]) -> Option<(usize, Entry<'_>)> {
    if let Some(entry) = parse(line) {
        return Some((0, entry));
    }
    let start = line
        .windows(ENTRY_START.len())
        .rposition(|window| window == ENTRY_START)
        .filter(|&start| start > 0)?;
    parse(&line[start..]).map(|entry| (start, entry))
}

fn parse(bytes: &[u8]) -> Option<Entry<'_>> {
    serde_json::from_str(std::str::from_utf8(bytes).ok()?).ok()
}

/// Replaces the journal at `path` with `kept`, atomically (a crash leaves the old file or the
/// new one), and opens the new one for appending.
fn rewrite(path: &Path, kept: &[u8]) -> io::Result<File> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut repaired = tempfile::NamedTempFile::new_in(dir)?;
    repaired.write_all(kept)?;
    repaired.as_file().sync_data()?;
    repaired.persist(path).map_err(|error| error.error)?;
    OpenOptions::new().read(true).append(true).open(path)
}

#[cfg(test)]
pub(crate) mod tests {
    use std::path::PathBuf;

    use super::*;

    /// A journal file that fails on purpose: the `fail_at`-th append (counting from 0) writes
    /// half its bytes and then reports a full disk, as `write` does on ENOSPC; truncation fails
    /// while `truncate_fails` is set.
    #[derive(Debug)]
    pub(crate) struct FullDisk {
        pub file: File,
        pub appends: usize,
        pub fail_at: usize,
        pub truncate_fails: bool,
    }

    impl FullDisk {
        pub(crate) fn failing_at(fail_at: usize) -> impl FnOnce(File) -> Box<dyn Storage> {
            move |file| {
                Box::new(Self {
                    file,
                    appends: 0,
                    fail_at,
                    truncate_fails: false,
                })
            }
        }
    }

    impl Storage for FullDisk {
        fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
            let this = self.appends;
            self.appends += 1;
            if this == self.fail_at {
                self.file.write_all(&bytes[..bytes.len() / 2])?;
                return Err(io::Error::from_raw_os_error(28)); // ENOSPC
            }
            self.file.write_all(bytes)
        }

        fn truncate(&mut self, len: u64) -> io::Result<()> {
            if self.truncate_fails {
                return Err(io::Error::from_raw_os_error(5)); // EIO
            }
            self.file.set_len(len)
        }

        fn sync(&self) -> io::Result<()> {
            Ok(())
        }
    }

    fn scratch() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.jsonl");
        (dir, path)
    }

    fn voided(id: &str) -> Entry<'_> {
        Entry::Voided {
            id: id.into(),
            at_ms: 5,
        }
    }

    /// Every entry the journal at `path` replays, and what opening it cut.
    fn replay(path: &Path) -> (Vec<String>, Vec<Cut>) {
        let mut seen = Vec::new();
        let (_, cuts) = Journal::open(path, |entry| {
            seen.push(format!("{entry:?}"));
            Ok(())
        })
        .unwrap();
        (seen, cuts)
    }

    #[test]
    fn entries_round_trip_and_a_torn_last_line_is_cut_off() {
        let (_dir, path) = scratch();
        let (mut journal, cuts) = Journal::open(&path, |_| Ok(())).unwrap();
        assert!(cuts.is_empty());
        journal.append(&voided("ABC")).unwrap();
        drop(journal);
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(b"{\"event\":\"vo").unwrap();
        drop(file);

        let (seen, cuts) = replay(&path);
        assert_eq!(seen, [format!("{:?}", voided("ABC"))]);
        let whole = "{\"event\":\"voided\",\"id\":\"ABC\",\"at_ms\":5}\n".len();
        assert_eq!(
            cuts,
            [Cut {
                line: 2,
                offset: whole,
                bytes: 12
            }]
        );
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.ends_with("}\n"), "{text}");
    }

    #[test]
    fn a_torn_line_in_the_middle_is_cut_and_every_whole_entry_kept() {
        let (_dir, path) = scratch();
        // Line 2: a torn write, then (as an older simulator appended) a whole entry; line 3:
        // a torn write alone; line 5: garbage.
        let journal = "{\"event\":\"voided\",\"id\":\"A\",\"at_ms\":1}\n\
                       {\"event\":\"voided\",\"id\":\"B\",\"at{\"event\":\"voided\",\"id\":\"C\",\"at_ms\":3}\n\
                       {\"event\":\"created\",\"id\":\"D\",\"merch\n\
                       {\"event\":\"voided\",\"id\":\"E\",\"at_ms\":5}\n\
                       \u{0}\u{0}\u{0}\n\
                       {\"event\":\"voided\",\"id\":\"F\",\"at_ms\":6}\n";
        std::fs::write(&path, journal).unwrap();
        let (seen, cuts) = replay(&path);
        let ids: Vec<&str> = seen
            .iter()
            .map(|entry| &entry[entry.find("id: \"").unwrap() + 5..][..1])
            .collect();
        assert_eq!(ids, ["A", "C", "E", "F"]);
        let line_2 = journal.find("{\"event\":\"voided\",\"id\":\"B\"").unwrap();
        let line_3 = journal.find("{\"event\":\"created\"").unwrap();
        let line_5 = journal.find('\u{0}').unwrap();
        assert_eq!(
            cuts,
            [
                Cut {
                    line: 2,
                    offset: line_2,
                    bytes: "{\"event\":\"voided\",\"id\":\"B\",\"at".len()
                },
                Cut {
                    line: 3,
                    offset: line_3,
                    bytes: "{\"event\":\"created\",\"id\":\"D\",\"merch\n".len()
                },
                Cut {
                    line: 5,
                    offset: line_5,
                    bytes: 4
                },
            ]
        );

        // The file was repaired: it opens clean, and a new line lands on a line of its own.
        let (mut reopened, cuts) = Journal::open(&path, |_| Ok(())).unwrap();
        assert!(cuts.is_empty());
        reopened.append(&voided("G")).unwrap();
        drop(reopened);
        let (seen, cuts) = replay(&path);
        assert!(cuts.is_empty());
        assert_eq!(seen.len(), 5);
    }

    #[test]
    fn an_entry_that_cannot_be_applied_stops_the_start() {
        let (_dir, path) = scratch();
        std::fs::write(&path, "\n{\"event\":\"voided\",\"id\":\"X\",\"at_ms\":1}\n").unwrap();
        match Journal::open(&path, |_| Err("no payment X".to_owned())) {
            Err(SimulatorError::JournalCorrupt { line, reason, .. }) => {
                assert_eq!((line, reason.as_str()), (2, "no payment X"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_failed_write_is_cut_back_so_the_next_line_is_whole() {
        let (_dir, path) = scratch();
        let (mut journal, _) =
            Journal::open_on(&path, FullDisk::failing_at(1), |_| Ok(())).unwrap();
        journal.append(&voided("A")).unwrap();
        let error = journal.append(&voided("B")).unwrap_err();
        assert_eq!(error.raw_os_error(), Some(28));
        journal.append(&voided("C")).unwrap();
        drop(journal);
        let (seen, cuts) = replay(&path);
        assert!(cuts.is_empty(), "{cuts:?}");
        assert_eq!(seen, [voided("A"), voided("C")].map(|e| format!("{e:?}")));
    }

    #[test]
    fn a_torn_line_that_could_not_be_cut_at_once_is_cut_before_the_next() {
        let (_dir, path) = scratch();
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap();
        let mut journal = Journal {
            storage: Box::new(FullDisk {
                file,
                appends: 0,
                fail_at: 0,
                truncate_fails: true,
            }),
            len: 0,
            torn: false,
            line: Vec::new(),
        };
        assert!(journal.append(&voided("A")).is_err());
        assert!(journal.torn);
        let torn = std::fs::read(&path).unwrap().len();
        assert!(torn > 0);
        // The cut still fails: nothing is appended after the torn bytes.
        assert!(journal.append(&voided("B")).is_err());
        assert_eq!(std::fs::read(&path).unwrap().len(), torn);
        drop(journal);
        // The disk works again: the torn bytes go before the next line is written.
        let mut journal = Journal {
            storage: Box::new(FullDisk {
                file: OpenOptions::new().append(true).open(&path).unwrap(),
                appends: 1,
                fail_at: 0,
                truncate_fails: false,
            }),
            len: 0,
            torn: true,
            line: Vec::new(),
        };
        journal.append(&voided("C")).unwrap();
        drop(journal);
        let (seen, cuts) = replay(&path);
        assert!(cuts.is_empty());
        assert_eq!(seen, [format!("{:?}", voided("C"))]);
    }

    #[test]
    fn a_device_is_not_a_journal() {
        match Journal::open(Path::new("/dev/full"), |_| Ok(())) {
            Err(SimulatorError::JournalIo { source, .. }) => {
                assert_eq!(source.kind(), io::ErrorKind::InvalidInput);
            }
            other => panic!("{other:?}"),
        }
    }
}
