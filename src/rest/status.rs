//! InstaMed's one- or two-letter transaction status codes, kept exactly as sent.

use std::fmt;

/// A transaction status (`TransactionStatus`, `PrimaryTransactionStatus`).
///
/// A code this crate does not know is kept as [`Other`](Self::Other), never read as a known
/// one: a verdict must not be made from a status nobody has documented.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransactionStatus {
    /// `A`: authorized.
    Authorized,
    /// `C`: captured, approved, completed.
    Completed,
    /// `CB`: charged back.
    Chargeback,
    /// `D`: declined.
    Declined,
    /// `O`: saved on file.
    SavedOnFile,
    /// `V`: voided.
    Voided,
    /// `X`: cancelled.
    Cancelled,
    /// Any other code (`S`, `SE`, `RI` appear in posting files with no published meaning), as
    /// sent.
    Other(String),
}

impl TransactionStatus {
    /// The status for `code`, matched exactly (InstaMed writes them upper case).
    pub fn from_code(code: &str) -> Self {
        match code {
            "A" => Self::Authorized,
            "C" => Self::Completed,
            "CB" => Self::Chargeback,
            "D" => Self::Declined,
            "O" => Self::SavedOnFile,
            "V" => Self::Voided,
            "X" => Self::Cancelled,
            other => Self::Other(other.to_owned()),
        }
    }

    /// Whether the code is one InstaMed documents (FACTS §4): the named statuses, and `S`,
    /// `SE` and `RI`, which appear in posting files. Anything else is a code nobody can say
    /// the meaning of.
    pub fn is_documented(&self) -> bool {
        match self {
            Self::Other(code) => matches!(code.as_str(), "S" | "SE" | "RI"),
            _ => true,
        }
    }

    /// The code as sent on the wire.
    pub fn code(&self) -> &str {
        match self {
            Self::Authorized => "A",
            Self::Completed => "C",
            Self::Chargeback => "CB",
            Self::Declined => "D",
            Self::SavedOnFile => "O",
            Self::Voided => "V",
            Self::Cancelled => "X",
            Self::Other(code) => code,
        }
    }
}

impl fmt::Display for TransactionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl serde::Serialize for TransactionStatus {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl<'de> serde::Deserialize<'de> for TransactionStatus {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Code;
        impl serde::de::Visitor<'_> for Code {
            type Value = TransactionStatus;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a transaction status code as a string")
            }

            fn visit_str<E: serde::de::Error>(self, code: &str) -> Result<Self::Value, E> {
                Ok(TransactionStatus::from_code(code))
            }
        }
        deserializer.deserialize_str(Code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_unknown_ones_are_kept() {
        for code in ["A", "C", "CB", "D", "O", "V", "X", "SE", "v", ""] {
            let status = TransactionStatus::from_code(code);
            assert_eq!(status.code(), code);
            let json = serde_json::to_string(&status).unwrap();
            assert_eq!(
                serde_json::from_str::<TransactionStatus>(&json).unwrap(),
                status
            );
        }
        // Lower case is not InstaMed's spelling: kept, never read as "voided".
        assert_eq!(
            TransactionStatus::from_code("v"),
            TransactionStatus::Other("v".to_owned())
        );
        assert!(serde_json::from_str::<TransactionStatus>("1").is_err());
        assert!(serde_json::from_str::<TransactionStatus>("null").is_err());
    }
}
