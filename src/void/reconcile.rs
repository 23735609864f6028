//! What a reconciled void proved.

use crate::error::Refusal;

use super::VoidReceipt;

/// How [`Client::void_reconciled`](crate::Client::void_reconciled) knows the payment is voided.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum VoidConfirmation {
    /// The first attempt voided it, with a receipt.
    Voided(VoidReceipt),
    /// The first attempt's outcome was unknown; a later attempt voided it, so the earlier one
    /// had not reached the ledger.
    VoidedOnRetry {
        /// The receipt of the attempt that voided it.
        receipt: VoidReceipt,
        /// How many attempts were made in all.
        attempts: u32,
    },
    /// The first attempt's outcome was unknown; a later attempt found the payment already
    /// voided, which proves that the earlier void went through.
    ConfirmedAlreadyVoided {
        /// What InstaMed said to the later attempt.
        refusal: Refusal,
        /// How many attempts were made in all.
        attempts: u32,
    },
}

impl VoidConfirmation {
    /// How many attempts it took.
    pub fn attempts(&self) -> u32 {
        match self {
            Self::Voided(_) => 1,
            Self::VoidedOnRetry { attempts, .. }
            | Self::ConfirmedAlreadyVoided { attempts, .. } => *attempts,
        }
    }
}
