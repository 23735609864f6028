//! SOAP faults of both versions, read into one shape.

use std::fmt;

use super::SoapVersion;

/// Longest text kept from any one part of a fault; a hostile or buggy server can send megabytes.
const MAX_FAULT_TEXT: usize = 4096;

/// Who a fault blames, with SOAP 1.1's names mapped onto SOAP 1.2's.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FaultCode {
    /// The request was at fault (1.1 `Client`, 1.2 `Sender`): sending it again unchanged fails again.
    Sender,
    /// The service failed while handling it (1.1 `Server`, 1.2 `Receiver`).
    Receiver,
    /// The service does not speak the envelope's SOAP version.
    VersionMismatch,
    /// A header the service had to understand was not understood.
    MustUnderstand,
    /// SOAP 1.2 `DataEncodingUnknown`.
    DataEncodingUnknown,
    /// A code outside the SOAP specifications, as written (`prefix:Local` or `Local`).
    Other(String),
}

impl FaultCode {
    /// Reads a fault code from its QName: `local` is its local part, `is_soap` whether its
    /// namespace is the envelope's. Dotted 1.1 codes (`Client.Authentication`) keep their class.
    pub(crate) fn from_qname(written: &str, local: &str, is_soap: bool) -> Self {
        let class = local.split('.').next().unwrap_or(local);
        match (is_soap, class) {
            (true, "Client" | "Sender") => Self::Sender,
            (true, "Server" | "Receiver") => Self::Receiver,
            (true, "VersionMismatch") => Self::VersionMismatch,
            (true, "MustUnderstand") => Self::MustUnderstand,
            (true, "DataEncodingUnknown") => Self::DataEncodingUnknown,
            _ => Self::Other(written.to_owned()),
        }
    }
}

impl fmt::Display for FaultCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sender => f.write_str("Sender"),
            Self::Receiver => f.write_str("Receiver"),
            Self::VersionMismatch => f.write_str("VersionMismatch"),
            Self::MustUnderstand => f.write_str("MustUnderstand"),
            Self::DataEncodingUnknown => f.write_str("DataEncodingUnknown"),
            Self::Other(code) => f.write_str(code),
        }
    }
}

/// A SOAP fault: the service's own account of why it did not answer with a result.
///
/// SOAP 1.1's `faultcode`/`faultstring`/`faultactor`/`detail` and SOAP 1.2's
/// `Code`/`Subcode`/`Reason`/`Role`/`Detail` land in the same fields. Text is trimmed and cut
/// at 4 KiB per field.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SoapFault {
    /// The SOAP version the fault came in.
    pub version: SoapVersion,
    /// The fault class.
    pub code: FaultCode,
    /// The code exactly as written (`soap:Client`).
    pub raw_code: String,
    /// SOAP 1.2 subcodes, outermost first, as written.
    pub subcodes: Vec<String>,
    /// `faultstring` or the first `Reason/Text`.
    pub reason: Option<String>,
    /// `faultactor` or `Role`.
    pub actor: Option<String>,
    /// The detail, flattened to `Name=text` pairs (or its bare text).
    pub detail: Option<String>,
}

impl SoapFault {
    /// A fault built from its parts (used by tests and by the simulator).
    pub fn new(version: SoapVersion, code: FaultCode, reason: impl Into<String>) -> Self {
        let raw_code = match (&code, version) {
            (FaultCode::Sender, SoapVersion::Soap11) => "soap:Client".to_owned(),
            (FaultCode::Receiver, SoapVersion::Soap11) => "soap:Server".to_owned(),
            (FaultCode::Other(written), _) => written.clone(),
            (code, _) => format!("soap:{code}"),
        };
        Self {
            version,
            code,
            raw_code,
            subcodes: Vec::new(),
            reason: Some(bounded(reason.into())),
            actor: None,
            detail: None,
        }
    }

    /// Whether the fault blames the request (1.1 `Client`, 1.2 `Sender`).
    pub fn is_sender_fault(&self) -> bool {
        self.code == FaultCode::Sender
    }

    /// All the human-readable text of the fault, for matching known refusals.
    pub(crate) fn text(&self) -> String {
        [self.reason.as_deref(), self.detail.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ")
    }
}

impl fmt::Display for SoapFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} fault {}", self.version, self.raw_code)?;
        for subcode in &self.subcodes {
            write!(f, " / {subcode}")?;
        }
        if let Some(reason) = &self.reason {
            write!(f, ": {reason}")?;
        }
        if let Some(detail) = &self.detail {
            write!(f, " ({detail})")?;
        }
        Ok(())
    }
}

impl std::error::Error for SoapFault {}

/// Trims `text` and cuts it at [`MAX_FAULT_TEXT`] bytes on a character boundary.
pub(crate) fn bounded(text: String) -> String {
    let trimmed = text.trim();
    if trimmed.len() <= MAX_FAULT_TEXT {
        return if trimmed.len() == text.len() {
            text
        } else {
            trimmed.to_owned()
        };
    }
    let mut end = MAX_FAULT_TEXT;
    while !trimmed.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &trimmed[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soap11_codes_map_onto_soap12_names() {
        assert_eq!(
            FaultCode::from_qname("soap:Client", "Client", true),
            FaultCode::Sender
        );
        assert_eq!(
            FaultCode::from_qname("soap:Server.Db", "Server.Db", true),
            FaultCode::Receiver
        );
        assert_eq!(
            FaultCode::from_qname("x:Client", "Client", false),
            FaultCode::Other("x:Client".to_owned())
        );
    }

    #[test]
    fn long_text_is_cut_on_a_char_boundary() {
        let cut = bounded("é".repeat(5000));
        assert!(cut.len() <= MAX_FAULT_TEXT + '…'.len_utf8());
        assert!(cut.ends_with('…'));
    }
}
