//! The names clients reach a server by, for its certificate.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};
use std::str::FromStr;

/// A name clients reach a server by: a DNS name or an IP address, for its server
/// certificate.
///
/// Parsed from text, an IP literal (IPv6 with or without brackets) becomes an IP address, which
/// goes into the certificate as an IP SAN (a client that connects by address checks only those);
/// anything else must be a DNS name and goes in as a DNS SAN.
///
/// ```
/// use instamed_soap_listener::Hostname;
///
/// let name: Hostname = "Sim.Test".parse()?;
/// assert_eq!(name.to_string(), "sim.test");
/// let ip: Hostname = "[::1]".parse()?;
/// assert!(matches!(ip, Hostname::Ip(_)));
/// assert!("sim.test:8443".parse::<Hostname>().is_err());
/// # Ok::<(), instamed_soap_listener::InvalidHostname>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Hostname {
    /// An IP address.
    Ip(IpAddr),
    /// A DNS name, lower-cased (names compare without regard to case).
    Dns(String),
}

impl Hostname {
    /// The host as a URL writes it: an IPv6 address in brackets.
    pub fn url_host(&self) -> String {
        match self {
            Self::Ip(IpAddr::V6(v6)) => format!("[{v6}]"),
            other => other.to_string(),
        }
    }
}

impl fmt::Display for Hostname {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ip(ip) => ip.fmt(f),
            Self::Dns(name) => f.write_str(name),
        }
    }
}

impl FromStr for Hostname {
    type Err = InvalidHostname;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = |reason| InvalidHostname {
            given: text.to_owned(),
            reason,
        };
        if let Some(inner) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
            let ip = inner
                .parse::<Ipv6Addr>()
                .map_err(|_| invalid("brackets hold an IPv6 address, and this is not one"))?;
            return Self::from_ip(IpAddr::V6(ip)).map_err(invalid);
        }
        if let Ok(ip) = text.parse::<IpAddr>() {
            return Self::from_ip(ip).map_err(invalid);
        }
        if text.contains(':') {
            return Err(invalid("a host name takes no port or scheme"));
        }
        if text.contains('*') {
            return Err(invalid("wildcards are not supported; list each name"));
        }
        if text.ends_with('.') {
            return Err(invalid("give the name without its trailing dot"));
        }
        // The same rules a client applies to the name it verifies, so that every name accepted
        // here can be checked against the certificate.
        if rustls::pki_types::DnsName::try_from(text).is_err() {
            return Err(invalid(
                "not a DNS name: labels of 1 to 63 letters, digits and hyphens, separated by \
                 dots, 253 characters at most, the last label not all digits",
            ));
        }
        Ok(Self::Dns(text.to_ascii_lowercase()))
    }
}

impl Hostname {
    fn from_ip(ip: IpAddr) -> Result<Self, &'static str> {
        if ip.is_unspecified() {
            // 0.0.0.0 and :: are for listening on every address; no client connects to them.
            return Err("an unspecified address names no host; give the address clients use");
        }
        Ok(Self::Ip(ip))
    }
}

/// Why text is not a [`Hostname`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{given:?} is not a host name or IP address: {reason}")]
pub struct InvalidHostname {
    given: String,
    reason: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostnames_are_ip_literals_or_dns_names() {
        let parse = |text: &str| text.parse::<Hostname>();
        assert_eq!(
            parse("127.0.0.2"),
            Ok(Hostname::Ip(IpAddr::from([127, 0, 0, 2])))
        );
        assert_eq!(
            parse("::1"),
            Ok(Hostname::Ip(IpAddr::from(Ipv6Addr::LOCALHOST)))
        );
        assert_eq!(
            parse("[fd00::5]").map(|h| h.url_host()),
            Ok("[fd00::5]".to_owned())
        );
        assert_eq!(parse("Sim.Test"), Ok(Hostname::Dns("sim.test".to_owned())));
        assert_eq!(
            parse("simulator"),
            Ok(Hostname::Dns("simulator".to_owned()))
        );
        for bad in [
            "",
            "0.0.0.0",
            "::",
            "[::]",
            "[127.0.0.1]",
            "sim.test:8443",
            "https://sim.test",
            "*.sim.test",
            "sim.test.",
            "sim test",
            "-sim.test",
            "sim..test",
            "127.0.0.300",
            "sim/test",
        ] {
            let error = parse(bad).expect_err(bad);
            assert!(
                error.to_string().starts_with(&format!("{bad:?} is not")),
                "{error}"
            );
        }
    }
}
