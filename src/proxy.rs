//! HTTP CONNECT proxies, the way enterprise networks reach the internet.
//!
//! The client opens a tunnel with `CONNECT host:port` and runs TLS to InstaMed inside it, so
//! the proxy sees the service's host name and nothing else. Opening the tunnel is part of
//! connecting: whatever goes wrong there (the proxy is down, refuses the tunnel, wants other
//! credentials) happens before a byte of the request is written, so the request was not sent.
//!
//! Which proxy applies follows curl and reqwest: `HTTPS_PROXY` (or `https_proxy`), else
//! `ALL_PROXY` (or `all_proxy`), unless `NO_PROXY` (or `no_proxy`) names the host. hyper-util's
//! `Matcher` reads those rules; this module checks the values first, because a proxy URL that
//! cannot be used must be an error, not a silent direct connection.
//!
//! A loopback endpoint (`localhost`, a `*.localhost` name, `127.0.0.0/8`, `::1`, or an
//! IPv4-mapped loopback address) is always reached directly when the proxy comes from the
//! environment, as Go's `net/http` and Chrome do; the variables are not even read, so one
//! that could not be used is no error there (the connection is direct either way). A
//! corporate shell sets `HTTPS_PROXY` for the internet; a tunnel to `127.0.0.1` through that
//! proxy would reach the proxy's own loopback, not this machine's simulator. A proxy given
//! explicitly ([`ProxySetting::Url`]) carries every host, loopback included: it was asked for.

use std::fmt;
use std::future::Future;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{HeaderValue, Uri};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::proxy::matcher::Matcher;
use tower_service::Service;

use crate::endpoint;
use crate::error::{BoxError, Error, config};
use crate::sensitive::redacted_url;

/// The environment variables that name a proxy for HTTPS, in the order they are read.
const HTTPS_VARIABLES: [&str; 4] = ["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"];
/// The environment variables that list hosts reached directly.
const NO_PROXY_VARIABLES: [&str; 2] = ["NO_PROXY", "no_proxy"];

/// How the builder was told to choose a proxy.
#[derive(Clone, Default)]
pub(crate) enum ProxySetting {
    /// From the environment, as curl does (the default, as in reqwest).
    #[default]
    Environment,
    /// This proxy URL for every HTTPS connection, whatever the environment says.
    Url(String),
    /// Never a proxy.
    Off,
}

impl fmt::Debug for ProxySetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Environment => f.write_str("Environment"),
            Self::Url(url) => f.debug_tuple("Url").field(&redacted_url(url)).finish(),
            Self::Off => f.write_str("Off"),
        }
    }
}

/// The proxy a client's connections go through.
#[derive(Clone)]
pub(crate) struct Route {
    /// `http://host:port/`, without credentials.
    uri: Uri,
    /// `Proxy-Authorization: Basic …`, marked sensitive.
    authorization: Option<HeaderValue>,
}

impl fmt::Debug for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Route")
            .field("uri", &self.uri)
            .field(
                "authorization",
                &self.authorization.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

impl Route {
    /// Which proxy, if any, `endpoint` is reached through. `variable` reads the environment
    /// (a parameter so that tests need not change the process's environment).
    pub(crate) fn choose(
        setting: &ProxySetting,
        endpoint: &Uri,
        variable: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Self>, Error> {
        // Plain HTTP is allowed only to a loopback simulator, which is never behind a proxy.
        if endpoint.scheme_str() != Some("https") {
            return Ok(None);
        }
        let matcher = match setting {
            ProxySetting::Off => return Ok(None),
            ProxySetting::Url(url) => {
                check(url, "the proxy URL")?;
                Matcher::builder().https(url.as_str()).build()
            }
            ProxySetting::Environment if endpoint.host().is_some_and(is_loopback) => {
                return Ok(None);
            }
            ProxySetting::Environment => {
                let set = |name: &&str| variable(name).filter(|value| !value.trim().is_empty());
                let Some((name, url)) = HTTPS_VARIABLES
                    .iter()
                    .find_map(|name| set(name).map(|url| (*name, url)))
                else {
                    return Ok(None);
                };
                check(&url, name)?;
                let no = NO_PROXY_VARIABLES.iter().find_map(set).unwrap_or_default();
                Matcher::builder().https(url).no(no).build()
            }
        };
        Ok(matcher.intercept(endpoint).map(|intercept| Self {
            uri: intercept.uri().clone(),
            authorization: intercept.basic_auth().cloned(),
        }))
    }

    /// A connector that tunnels through this proxy, opening TCP connections with `tcp`.
    pub(crate) fn connector(&self, tcp: HttpConnector) -> ProxyConnector {
        let mut tunnel = Tunnel::new(self.uri.clone(), tcp);
        if let Some(authorization) = &self.authorization {
            tunnel = tunnel.with_auth(authorization.clone());
        }
        ProxyConnector {
            tunnel,
            proxy: Arc::from(self.shown()),
            with_credentials: self.authorization.is_some(),
        }
    }

    /// The proxy's address as messages show it: `host:port`.
    fn shown(&self) -> String {
        self.uri
            .authority()
            .map_or_else(|| self.uri.to_string(), ToString::to_string)
    }
}

/// Whether `host` (as a URI writes it, IPv6 in brackets) names this machine's loopback:
/// `localhost` and `*.localhost` (RFC 6761 reserves them for it), `127.0.0.0/8`, `::1` and
/// `::ffff:127.0.0.0/104`. IPv4-compatible `::127.0.0.1` is deprecated and not loopback.
fn is_loopback(host: &str) -> bool {
    if let Some(v6) = host
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
    {
        return v6.parse::<Ipv6Addr>().is_ok_and(|ip| {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        });
    }
    if let Ok(ip) = host.parse::<Ipv4Addr>() {
        return ip.is_loopback();
    }
    // A fully qualified name may end in a dot; the name is the same.
    let name = host.strip_suffix('.').unwrap_or(host);
    let suffix = name.len().checked_sub(".localhost".len());
    name.eq_ignore_ascii_case("localhost")
        || suffix.is_some_and(|start| {
            start > 0
                && name
                    .get(start..)
                    .is_some_and(|tail| tail.eq_ignore_ascii_case(".localhost"))
        })
}

/// Refuses a proxy URL that cannot be used, naming where it came from and never its password.
fn check(url: &str, origin: &str) -> Result<(), Error> {
    let shown = redacted_url(url);
    let uri = endpoint::parse_authority(url, origin)?;
    // A proxy is a host and a port; anything after them is a password's `/`, `?` or `#`
    // that cut the authority short, and the rest of the password with it.
    if !matches!(uri.path(), "" | "/") || uri.query().is_some() || url.contains('#') {
        return Err(config(format!(
            "{origin} {shown} is more than http://[user:password@]host:port (percent-encode \
             a /, ? or # in the password)"
        )));
    }
    match uri.scheme_str() {
        None | Some("http") => {}
        Some("https") => {
            return Err(config(format!(
                "{origin} {shown}: a proxy reached over TLS is not supported; use an http:// \
                 proxy (the tunnel inside it is TLS to InstaMed all the same)"
            )));
        }
        Some(other) => {
            return Err(config(format!(
                "{origin} {shown}: {other} proxies are not supported; use an http:// proxy"
            )));
        }
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(config(format!("{origin} {shown} has no host")));
    }
    Ok(())
}

/// Opens HTTP CONNECT tunnels through one proxy, and says in its errors what the proxy did.
#[derive(Clone)]
pub(crate) struct ProxyConnector {
    tunnel: Tunnel<HttpConnector>,
    proxy: Arc<str>,
    with_credentials: bool,
}

/// hyper-util's tunnel error: its module is private, so it is reached through the connector.
type TunnelError = <Tunnel<HttpConnector> as Service<Uri>>::Error;
type TunnelStream = <Tunnel<HttpConnector> as Service<Uri>>::Response;

impl Service<Uri> for ProxyConnector {
    type Response = TunnelStream;
    type Error = ProxyError;
    type Future = Pin<Box<dyn Future<Output = Result<TunnelStream, ProxyError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        let proxy = self.proxy.clone();
        let with_credentials = self.with_credentials;
        self.tunnel
            .poll_ready(cx)
            .map_err(|error| ProxyError::new(&proxy, String::new(), with_credentials, error))
    }

    fn call(&mut self, target: Uri) -> Self::Future {
        let proxy = self.proxy.clone();
        let with_credentials = self.with_credentials;
        let shown_target = target
            .authority()
            .map_or_else(String::new, ToString::to_string);
        let opening = self.tunnel.call(target);
        Box::pin(async move {
            opening
                .await
                .map_err(|error| ProxyError::new(&proxy, shown_target, with_credentials, error))
        })
    }
}

/// A tunnel through the proxy could not be opened; nothing was sent to the service.
///
/// It is the [`source`](std::error::Error::source) of an [`Error::Connect`]. Its message names
/// the proxy by host and port only: credentials written in the proxy URL are never shown.
#[derive(Debug)]
pub struct ProxyError {
    proxy: String,
    target: String,
    kind: ProxyFailure,
    source: Option<BoxError>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ProxyFailure {
    /// No TCP connection to the proxy.
    Unreachable,
    /// HTTP 407 to credentials that were sent.
    CredentialsRefused,
    /// HTTP 407 when no credentials were sent.
    CredentialsRequired,
    /// Any other answer than 200 to CONNECT.
    TunnelRefused,
    /// The proxy closed the connection or answered something that is not HTTP.
    Broken,
}

impl ProxyError {
    fn new(proxy: &str, target: String, with_credentials: bool, error: TunnelError) -> Self {
        let (kind, source): (_, Option<BoxError>) = match error {
            TunnelError::ConnectFailed(cause) => (ProxyFailure::Unreachable, Some(cause)),
            TunnelError::ProxyAuthRequired if with_credentials => {
                (ProxyFailure::CredentialsRefused, None)
            }
            TunnelError::ProxyAuthRequired => (ProxyFailure::CredentialsRequired, None),
            TunnelError::TunnelUnsuccessful => (ProxyFailure::TunnelRefused, None),
            TunnelError::Io(cause) => (ProxyFailure::Broken, Some(Box::new(cause))),
            _ => (ProxyFailure::Broken, None),
        };
        Self {
            proxy: proxy.to_owned(),
            target,
            kind,
            source,
        }
    }

    /// Whether the proxy answered 407: it refused the credentials in the proxy URL, or wants
    /// some and none were given.
    pub fn credentials_refused(&self) -> bool {
        matches!(
            self.kind,
            ProxyFailure::CredentialsRefused | ProxyFailure::CredentialsRequired
        )
    }
}

impl fmt::Display for ProxyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let proxy = &self.proxy;
        match self.kind {
            ProxyFailure::Unreachable => write!(f, "could not connect to the proxy {proxy}"),
            ProxyFailure::CredentialsRefused => write!(
                f,
                "the proxy {proxy} refused the credentials in the proxy URL (HTTP 407)"
            ),
            ProxyFailure::CredentialsRequired => write!(
                f,
                "the proxy {proxy} requires credentials (HTTP 407): give them in the proxy URL, \
                 http://user:password@host:port"
            ),
            ProxyFailure::TunnelRefused => write!(
                f,
                "the proxy {proxy} refused to open a tunnel to {}",
                self.target
            ),
            ProxyFailure::Broken => write!(
                f,
                "the proxy {proxy} broke off while opening a tunnel to {}",
                self.target
            ),
        }
    }
}

impl std::error::Error for ProxyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|source| source as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn environment<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        }
    }

    fn route(endpoint: &str, pairs: &[(&str, &str)]) -> Option<Route> {
        let endpoint: Uri = endpoint.parse().unwrap();
        Route::choose(&ProxySetting::Environment, &endpoint, environment(pairs)).unwrap()
    }

    const SERVICE: &str = "https://connect.instamed.com/payment/service.asmx";

    #[test]
    fn https_proxy_then_all_proxy_are_read_in_both_cases() {
        let chosen = route(SERVICE, &[("HTTPS_PROXY", "http://proxy:3128")]).unwrap();
        assert_eq!(chosen.uri, "http://proxy:3128/");
        let chosen = route(SERVICE, &[("https_proxy", "proxy.lan:8080")]).unwrap();
        assert_eq!(chosen.uri, "http://proxy.lan:8080/");
        let chosen = route(SERVICE, &[("all_proxy", "http://all:1")]).unwrap();
        assert_eq!(chosen.uri, "http://all:1/");
        assert!(route(SERVICE, &[("HTTP_PROXY", "http://plain:1")]).is_none());
        assert!(route(SERVICE, &[("HTTPS_PROXY", "  ")]).is_none());
        assert!(route(SERVICE, &[]).is_none());
    }

    #[test]
    fn no_proxy_matches_hosts_the_way_curl_does() {
        let proxy = ("HTTPS_PROXY", "http://proxy:3128");
        let bypassed =
            |endpoint: &str, list: &str| route(endpoint, &[proxy, ("NO_PROXY", list)]).is_none();
        // Hosts that are not loopback, which the proxy carries unless NO_PROXY names them.
        assert!(bypassed(
            "https://instamed.test:8443/s.asmx",
            "instamed.test"
        ));
        assert!(bypassed(SERVICE, ".instamed.com"));
        assert!(bypassed(SERVICE, "instamed.com"));
        assert!(bypassed(SERVICE, "*"));
        assert!(bypassed("https://10.1.2.3:9/s.asmx", "10.1.2.3"));
        assert!(bypassed("https://10.1.2.3/s.asmx", "10.0.0.0/8"));
        assert!(bypassed("https://[2001:db8::1]:9/s.asmx", "2001:db8::1"));
        assert!(!bypassed(SERVICE, "notinstamed.com,10.1.2.3"));
        assert!(!bypassed(
            "https://10.1.2.4/s.asmx",
            "instamed.test,10.1.2.3"
        ));
        assert!(
            route(SERVICE, &[proxy, ("no_proxy", "connect.instamed.com")]).is_none(),
            "the lower-case name counts too"
        );
    }

    #[test]
    fn loopback_is_reached_directly_whatever_the_environment_says() {
        let proxy = ("HTTPS_PROXY", "http://proxy:3128");
        for endpoint in [
            "https://localhost:8443/s.asmx",
            "https://LocalHost./s.asmx",
            "https://simulator.localhost:8443/s.asmx",
            "https://a.b.LOCALHOST/s.asmx",
            "https://127.0.0.1:8443/s.asmx",
            "https://127.255.0.9/s.asmx",
            "https://[::1]:8443/s.asmx",
            "https://[::ffff:127.0.0.1]:8443/s.asmx",
            "https://[::ffff:7f00:2]/s.asmx",
        ] {
            assert!(route(endpoint, &[proxy]).is_none(), "{endpoint}");
            assert!(
                route(endpoint, &[("ALL_PROXY", "http://all:1")]).is_none(),
                "{endpoint}"
            );
            // The variables are not read for loopback: one that could not be used is no error.
            assert!(
                route(endpoint, &[("HTTPS_PROXY", "socks5://proxy:1080")]).is_none(),
                "{endpoint}"
            );
        }
        // Names and addresses that only look like loopback are proxied as any other host.
        for endpoint in [
            "https://localhost.instamed.com/s.asmx",
            "https://notlocalhost/s.asmx",
            "https://localhostx/s.asmx",
            "https://xlocalhost/s.asmx",
            "https://localhost.example/s.asmx",
            "https://128.0.0.1/s.asmx",
            "https://[::127.0.0.1]/s.asmx",
            "https://[::ffff:10.0.0.1]/s.asmx",
            "https://[::2]/s.asmx",
            "https://0.0.0.0/s.asmx",
            "https://instamed.test:8443/s.asmx",
        ] {
            let chosen = route(endpoint, &[proxy]);
            assert!(
                chosen.is_some_and(|chosen| chosen.uri == "http://proxy:3128/"),
                "{endpoint}"
            );
        }
    }

    #[test]
    fn an_explicit_proxy_carries_loopback_too() {
        let explicit = ProxySetting::Url("http://mine:2".into());
        for endpoint in ["https://localhost:8443/s.asmx", "https://[::1]:9/s.asmx"] {
            let endpoint: Uri = endpoint.parse().unwrap();
            let chosen = Route::choose(&explicit, &endpoint, environment(&[])).unwrap();
            assert!(
                chosen.is_some_and(|chosen| chosen.uri == "http://mine:2/"),
                "{endpoint}"
            );
        }
    }

    #[test]
    fn proxy_credentials_become_a_sensitive_header_and_stay_out_of_debug() {
        let chosen = route(
            SERVICE,
            &[("HTTPS_PROXY", "http://us%40er:p%3Ass@proxy:3128")],
        )
        .unwrap();
        let header = chosen.authorization.clone().unwrap();
        assert!(header.is_sensitive());
        assert_eq!(header, "Basic dXNAZXI6cDpzcw==");
        let shown = format!(
            "{chosen:?} {:?}",
            ProxySetting::Url("http://u:p4ss@x:1".into())
        );
        assert!(
            !shown.contains("p%3Ass") && !shown.contains("p4ss"),
            "{shown}"
        );
        assert_eq!(chosen.uri, "http://proxy:3128/");
    }

    #[test]
    fn an_unusable_proxy_url_is_an_error_that_names_its_variable_not_its_password() {
        let endpoint: Uri = SERVICE.parse().unwrap();
        for (value, says) in [
            ("socks5://u:s3cret@proxy:1080", "socks5 proxies"),
            ("https://u:s3cret@proxy:443", "over TLS"),
            ("http://u:s3cret@pro xy:1", "not a URL"),
        ] {
            let error = Route::choose(
                &ProxySetting::Environment,
                &endpoint,
                environment(&[("HTTPS_PROXY", value)]),
            )
            .unwrap_err();
            let text = crate::error::Error::report(&error).to_string();
            assert!(
                text.contains("HTTPS_PROXY") && text.contains(says),
                "{text}"
            );
            assert!(!text.contains("s3cret") && !text.contains("u:"), "{text}");
        }
    }

    #[test]
    fn an_explicit_proxy_or_none_overrides_the_environment() {
        let endpoint: Uri = SERVICE.parse().unwrap();
        let env = environment(&[("HTTPS_PROXY", "http://env:1"), ("NO_PROXY", "*")]);
        let explicit = ProxySetting::Url("http://mine:2".into());
        let chosen = Route::choose(&explicit, &endpoint, &env).unwrap().unwrap();
        assert_eq!(chosen.uri, "http://mine:2/");
        assert!(
            Route::choose(&ProxySetting::Off, &endpoint, &env)
                .unwrap()
                .is_none()
        );
        let plain: Uri = "http://127.0.0.1:9/s.asmx".parse().unwrap();
        assert!(Route::choose(&explicit, &plain, &env).unwrap().is_none());
    }
}
