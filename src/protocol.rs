//! Which of InstaMed's interfaces carries a void.

use std::fmt;
use std::str::FromStr;

use crate::soap::SoapVersion;

/// The interface a [`Client`](crate::Client) speaks. Switching is one builder setting; requests,
/// receipts and errors are the same whichever is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Protocol {
    /// SOAP 1.1 to `service.asmx`.
    #[default]
    Soap11,
    /// SOAP 1.2 to `service.asmx`.
    Soap12,
    /// Form-encoded name/value pairs to `NVP.aspx`.
    Nvp,
    /// JSON to `/rest/payment/…` under the service's base URL, signed with an API key pair
    /// ([`ApiKey`](crate::ApiKey)). What is guessed about it is listed in [`rest`](crate::rest).
    Rest,
}

impl Protocol {
    /// The SOAP version, for the SOAP protocols.
    pub fn soap_version(self) -> Option<SoapVersion> {
        match self {
            Self::Soap11 => Some(SoapVersion::Soap11),
            Self::Soap12 => Some(SoapVersion::Soap12),
            Self::Nvp | Self::Rest => None,
        }
    }

    /// The name used on command lines and in reports (`soap11`, `soap12`, `nvp`, `rest`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Soap11 => "soap11",
            Self::Soap12 => "soap12",
            Self::Nvp => "nvp",
            Self::Rest => "rest",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Protocol {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        match name {
            "soap11" => Ok(Self::Soap11),
            "soap12" => Ok(Self::Soap12),
            "nvp" => Ok(Self::Nvp),
            "rest" => Ok(Self::Rest),
            other => Err(format!(
                "unknown protocol {other:?} (expected soap11, soap12, nvp or rest)"
            )),
        }
    }
}
