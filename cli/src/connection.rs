//! How the commands that call InstaMed reach it: trust, proxy, plain HTTP for a simulator and
//! the deadline. One set of flags, so `void` and `batch` cannot drift apart.

use std::path::PathBuf;
use std::time::Duration;

use instamed_soap::{ClientBuilder, Error, TrustRoots};

/// The connection flags shared by `void`, `refund`, `reconcile` and `batch`.
#[derive(Debug, clap::Args)]
pub struct Connection {
    /// Trust the CA certificate(s) in this PEM file (e.g. the simulator's, or a TLS-inspecting
    /// gateway's). Alone, it replaces the built-in roots, as curl's --cacert does; with
    /// --trust mozilla or --trust os it is added to them. May be repeated.
    #[arg(long, value_name = "FILE")]
    ca_cert: Vec<PathBuf>,
    /// Which root certificates to trust: mozilla (compiled in), os (the system's store, or
    /// SSL_CERT_FILE / SSL_CERT_DIR when set) or none (only --ca-cert). Default: mozilla, or
    /// none when --ca-cert is given.
    #[arg(long, value_name = "ROOTS", value_parser = ["mozilla", "os", "none"])]
    trust: Option<String>,
    /// Connect through this HTTP proxy (http://[user:password@]host:port) in a CONNECT tunnel,
    /// instead of the one HTTPS_PROXY or ALL_PROXY names, for every host: NO_PROXY does not
    /// apply to it, and unlike a proxy from the environment it carries loopback hosts too.
    /// Prefer HTTPS_PROXY for a proxy password: a command line is visible to other users.
    #[arg(long, value_name = "URL", conflicts_with = "no_proxy")]
    proxy: Option<String>,
    /// Connect directly, ignoring HTTPS_PROXY, ALL_PROXY and NO_PROXY.
    #[arg(long)]
    no_proxy: bool,
    /// Allow http:// on a loopback address (for the simulator started with --plain-http).
    #[arg(long)]
    allow_plain_http: bool,
    /// Deadline for each call: a duration such as 30s, 1m or 500ms (a bare number is
    /// seconds), from 100ms to 10m.
    #[arg(long, default_value = "30s", value_parser = crate::timeout::parse)]
    timeout: Duration,
}

impl Connection {
    /// `builder` set up as the flags say.
    pub fn apply(&self, mut builder: ClientBuilder) -> Result<ClientBuilder, Error> {
        builder = builder
            .allow_plain_http_on_loopback(self.allow_plain_http)
            .timeout(self.timeout)
            .trust_roots(self.trust_roots()?);
        for ca in &self.ca_cert {
            builder = builder.add_root_certificate_file(ca);
        }
        if let Some(url) = &self.proxy {
            builder = builder.proxy(url);
        } else if self.no_proxy {
            builder = builder.no_proxy();
        }
        Ok(builder)
    }

    /// The roots `--trust` names; without it, Mozilla's, or none when `--ca-cert` names the CA.
    fn trust_roots(&self) -> Result<TrustRoots, Error> {
        match &self.trust {
            Some(name) => name.parse().map_err(|reason| Error::InvalidConfig {
                reason,
                source: None,
            }),
            None if self.ca_cert.is_empty() => Ok(TrustRoots::Mozilla),
            None => Ok(TrustRoots::None),
        }
    }
}
