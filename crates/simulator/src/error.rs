//! Why the simulator could not start, and why a ledger change was refused.

use std::io;
use std::path::PathBuf;

/// Why a [`Simulator`](super::Simulator) could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimulatorError {
    /// A setting is out of range (a fault rate above 1, no account, …).
    #[error("invalid simulator configuration: {0}")]
    InvalidConfig(String),
    /// The server could not start listening (address, certificates).
    #[error(transparent)]
    Listen(#[from] instamed_soap_listener::ListenError),
    /// The ledger journal could not be opened or read.
    #[error("cannot open the ledger journal {path}")]
    JournalIo {
        /// The journal file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A line of the ledger journal cannot be replayed.
    #[error("ledger journal {path}, line {line}: {reason}")]
    JournalCorrupt {
        /// The journal file.
        path: PathBuf,
        /// The line, counting from 1.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// The seed file could not be read.
    #[error("cannot read the seed file {path}")]
    SeedIo {
        /// The seed file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A line of the seed file is not a payment.
    #[error("seed file {path}, line {line}: {reason}")]
    Seed {
        /// The seed file.
        path: PathBuf,
        /// The line, counting from 1.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
}

/// Why the [`Ledger`](super::Ledger) refused a change.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerError {
    /// No payment has this ID.
    #[error("no payment {0}")]
    Unknown(String),
    /// A payment with this ID exists already.
    #[error("payment {0} exists already")]
    Duplicate(String),
    /// The amount is not dollars and cents, or is zero.
    #[error("invalid amount: {0}")]
    InvalidAmount(String),
    /// The ID is not 1 to 50 characters without control characters.
    #[error("invalid transaction ID {0:?}")]
    InvalidId(String),
    /// The change could not be written to the journal, so it was not made.
    #[error("cannot write the ledger journal")]
    Journal(#[source] io::Error),
}
