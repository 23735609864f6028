//! The error a value that breaks InstaMed's rules is refused with, before anything is sent.

use super::InvalidAmount;

/// A request field that failed validation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
#[non_exhaustive]
pub struct InvalidRequest {
    /// The field, by its wire name (`MerchantID`).
    pub field: &'static str,
    /// What is wrong with it.
    pub problem: String,
}

impl InvalidRequest {
    pub(crate) fn new(field: &'static str, problem: impl Into<String>) -> Self {
        Self {
            field,
            problem: problem.into(),
        }
    }
}

/// An amount that is not one is a request refused before anything is sent.
impl From<InvalidAmount> for InvalidRequest {
    fn from(invalid: InvalidAmount) -> Self {
        Self::new("Amount", invalid.to_string())
    }
}
