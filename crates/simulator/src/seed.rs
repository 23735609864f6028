//! Payments created at start from a seed file.
//!
//! One payment a line, comma-separated: `transaction_id,merchant_id,store_id,terminal_id,amount`
//! and an optional sixth field, the payment's state: `captured` (the default), `voided`, or
//! `transferred` (captured, funds transfer begun). Fields are trimmed; blank lines and lines
//! starting with `#` are skipped. A payment whose ID is already in the ledger (replayed from its
//! journal) is left as it is, so the same seed file can be given at every start.
//!
//! ```text
//! # transaction_id,merchant_id,store_id,terminal_id,amount[,state]
//! EE52401813A74328AAA7D93319FF4383,123123123,123,123,12.34
//! 0D6F1C2B3A4958677685A4B3C2D1E0F1,123123123,123,123,5.00,transferred
//! ```

use std::path::Path;
use std::time::SystemTime;

use instamed_soap::{Outlet, TransactionId};

use super::error::SimulatorError;
use super::ledger::Ledger;

/// The largest seed file read: about eight million payments, a line each. The file is read
/// whole, so a device named by mistake (`/dev/zero`) must not be.
pub const MAX_SEED_FILE_BYTES: u64 = 512 << 20;

/// Creates the payments listed in the seed file at `path`; returns how many were created.
pub(crate) fn load(path: &Path, ledger: &Ledger) -> Result<usize, SimulatorError> {
    let text =
        instamed_soap::files::read_to_string(path, MAX_SEED_FILE_BYTES).map_err(|source| {
            SimulatorError::SeedIo {
                path: path.to_owned(),
                source,
            }
        })?;
    let mut created = 0;
    for (index, line) in text.lines().enumerate() {
        let bad = |reason: String| SimulatorError::Seed {
            path: path.to_owned(),
            line: index + 1,
            reason,
        };
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let (id, merchant, store, terminal, amount, state) = match fields[..] {
            [id, merchant, store, terminal, amount] => {
                (id, merchant, store, terminal, amount, "captured")
            }
            [id, merchant, store, terminal, amount, state] => {
                (id, merchant, store, terminal, amount, state)
            }
            _ => {
                return Err(bad(format!(
                    "expected 5 or 6 comma-separated fields, found {}",
                    fields.len()
                )));
            }
        };
        let id = TransactionId::new(id).map_err(|e| bad(e.to_string()))?;
        if ledger.status(&id).is_some() {
            continue;
        }
        let outlet = Outlet::new(merchant, store, terminal).map_err(|e| bad(e.to_string()))?;
        if !matches!(state, "captured" | "voided" | "transferred") {
            return Err(bad(format!(
                "unknown state {state:?} (expected captured, voided or transferred)"
            )));
        }
        let id = ledger
            .insert(&id, &outlet, amount)
            .map_err(|e| bad(e.to_string()))?;
        let changed = match state {
            "voided" => ledger.void(&id, SystemTime::now()).map(drop),
            "transferred" => ledger.start_transfer(&id),
            _ => Ok(()),
        };
        changed.map_err(|e| bad(e.to_string()))?;
        created += 1;
    }
    Ok(created)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PaymentStatus;

    #[test]
    fn reads_payments_and_names_the_bad_line() {
        let dir = std::env::temp_dir().join(format!("instamed-seed-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("seed.csv");
        std::fs::write(
            &path,
            "# id,merchant,store,terminal,amount\n\nab12,1,2,3,1.00\nCD34, 1, 2, 3, 2.50, voided\n\
             EF56,1,2,3,3,transferred\n",
        )
        .unwrap();
        let ledger = Ledger::open(None, None).unwrap();
        assert_eq!(load(&path, &ledger).unwrap(), 3);
        let id = |id: &str| TransactionId::new(id).unwrap();
        assert_eq!(ledger.status(&id("AB12")), Some(PaymentStatus::Captured));
        assert_eq!(ledger.status(&id("cd34")), Some(PaymentStatus::Voided));
        assert!(ledger.payment(&id("EF56")).unwrap().transfer_started);
        assert_eq!(
            load(&path, &ledger).unwrap(),
            0,
            "a second load skips known IDs"
        );

        std::fs::write(&path, "GH78,1,2,3,1.00\nIJ90,1,2\n").unwrap();
        match load(&path, &ledger) {
            Err(SimulatorError::Seed { line, .. }) => assert_eq!(line, 2),
            other => panic!("{other:?}"),
        }
    }
}
