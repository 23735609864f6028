//! SOAP faults of both versions, read into one shape.

use std::fmt;

use super::SoapVersion;

/// Longest text kept from any one part of a fault; a hostile or buggy server can send megabytes.
const MAX_FAULT_TEXT: usize = 4096;
/// Most detail leaves kept. ASP.NET details hold a handful; the rest are read but dropped, so
/// that a detail of a million leaves costs a million steps and a few kilobytes.
pub const MAX_DETAIL_ENTRIES: usize = 64;

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

/// One leaf of a fault's detail: an element that holds text (or nothing), wherever it sits
/// below the detail element.
///
/// ASP.NET services put structured fields in the detail (`ResponseCode`, `TransactionStatus`,
/// `PrimaryTransactionStatus` in the service namespace), usually inside a wrapper element:
/// the wrapper is not kept, its leaves are. A detail that holds bare text and no element is one
/// entry named after the detail element itself.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DetailEntry {
    /// The element's namespace URI (empty for none).
    pub namespace: String,
    /// The element's local name.
    pub name: String,
    /// Its text, entities resolved, trimmed and cut at 4 KiB.
    pub text: String,
}

impl DetailEntry {
    /// An entry built from its parts.
    pub fn new(
        namespace: impl Into<String>,
        name: impl Into<String>,
        text: impl Into<String>,
    ) -> Self {
        Self {
            namespace: namespace.into(),
            name: name.into(),
            text: bounded(text.into()),
        }
    }
}

/// A SOAP fault: the service's own account of why it did not answer with a result.
///
/// SOAP 1.1's `faultcode`/`faultstring`/`faultactor`/`detail` and SOAP 1.2's
/// `Code`/`Subcode`/`Reason`/`Node`/`Role`/`Detail` land in the same fields. Text is trimmed
/// and cut at 4 KiB per field; the detail keeps its first [`MAX_DETAIL_ENTRIES`] leaves.
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
    /// SOAP 1.2 `Node`: the service that faulted (ASP.NET writes its URL there).
    pub node: Option<String>,
    /// The detail's leaves, in document order (qualified SOAP 1.2 `Detail` and ASP.NET's
    /// unqualified `detail` alike).
    pub detail: Vec<DetailEntry>,
    /// The HTTP status the fault came with, once the client has read it off the answer.
    pub http_status: Option<u16>,
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
            node: None,
            detail: Vec::new(),
            http_status: None,
        }
    }

    /// Whether the fault blames the request (1.1 `Client`, 1.2 `Sender`).
    pub fn is_sender_fault(&self) -> bool {
        self.code == FaultCode::Sender
    }

    /// The texts of the detail's leaves named `{namespace}name`, in document order.
    pub fn detail_values<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
    ) -> impl Iterator<Item = &'a str> + 'a {
        self.detail
            .iter()
            .filter(move |entry| entry.name == name && entry.namespace == namespace)
            .map(|entry| entry.text.as_str())
    }

    /// All the human-readable text of the fault, for the wording rules that may pick which
    /// refusal a known refusal is.
    pub(crate) fn text(&self) -> String {
        let mut text = self.reason.clone().unwrap_or_default();
        for entry in &self.detail {
            text.push(' ');
            text.push_str(&entry.text);
        }
        text
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
        // Shown for people, never read back: judging uses the entries themselves. A stack
        // trace in the detail is shown as a bounded excerpt.
        let mut shown = 0;
        for (n, entry) in self.detail.iter().enumerate() {
            if shown >= MAX_DETAIL_SHOWN {
                f.write_str(", …")?;
                break;
            }
            f.write_str(if n == 0 { " (" } else { ", " })?;
            let text = excerpt(&entry.text, MAX_DETAIL_SHOWN - shown);
            write!(f, "{}={text}", entry.name)?;
            shown += entry.name.len() + text.len() + 2;
        }
        if !self.detail.is_empty() {
            f.write_str(")")?;
        }
        Ok(())
    }
}

impl std::error::Error for SoapFault {}

/// Most bytes of detail text a fault's `Display` shows.
const MAX_DETAIL_SHOWN: usize = 1024;

/// `text`, cut at `max` bytes on a character boundary (with `…` when cut).
fn excerpt(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    if text.len() <= max {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    std::borrow::Cow::Owned(format!("{}…", &text[..end]))
}

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
    // The text is cut before anyone redacts it: a card number the cut splits would be too short
    // to be recognised as one, so the digits the cut leaves hanging go with the rest.
    let kept = crate::sensitive::trim_hanging_digits(&trimmed[..end]);
    format!("{kept}…")
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
    fn a_cut_never_leaves_part_of_a_number_behind() {
        for at in 4080..4100 {
            let text = format!("{}4111 1111 1111 1111 declined", "x".repeat(at));
            let cut = bounded(text);
            let digits = cut.chars().filter(char::is_ascii_digit).count();
            assert!(digits == 0 || digits == 16, "{at}: {digits} digits kept");
        }
    }

    #[test]
    fn long_text_is_cut_on_a_char_boundary() {
        let cut = bounded("é".repeat(5000));
        assert!(cut.len() <= MAX_FAULT_TEXT + '…'.len_utf8());
        assert!(cut.ends_with('…'));
    }
}
