//! The two SOAP versions the service answers on one URL.

use std::fmt;

/// The SOAP version of an exchange. ASP.NET serves both on the same address and answers in the
/// version it was asked in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum SoapVersion {
    /// SOAP 1.1: `text/xml` and a quoted `SOAPAction` header.
    #[default]
    Soap11,
    /// SOAP 1.2: `application/soap+xml` with the action as a media-type parameter.
    Soap12,
}

impl SoapVersion {
    /// Namespace URI of this version's `Envelope`, `Body` and `Fault`.
    pub const fn envelope_namespace(self) -> &'static str {
        match self {
            Self::Soap11 => "http://schemas.xmlsoap.org/soap/envelope/",
            Self::Soap12 => "http://www.w3.org/2003/05/soap-envelope",
        }
    }

    /// The media type a request of this version is sent with (without parameters).
    pub const fn media_type(self) -> &'static str {
        match self {
            Self::Soap11 => "text/xml",
            Self::Soap12 => "application/soap+xml",
        }
    }

    /// The `Content-Type` header value for a request carrying `action`.
    pub fn content_type(self, action: &str) -> String {
        match self {
            Self::Soap11 => "text/xml; charset=utf-8".to_owned(),
            Self::Soap12 => format!("application/soap+xml; charset=utf-8; action=\"{action}\""),
        }
    }

    /// The version whose envelope namespace is `uri`, if any.
    pub fn from_envelope_namespace(uri: &str) -> Option<Self> {
        [Self::Soap11, Self::Soap12]
            .into_iter()
            .find(|version| version.envelope_namespace() == uri)
    }
}

impl fmt::Display for SoapVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Soap11 => "SOAP 1.1",
            Self::Soap12 => "SOAP 1.2",
        })
    }
}
