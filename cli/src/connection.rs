//! How the commands that call InstaMed reach it: trust, proxy, plain HTTP for a simulator and
//! the deadline. One set of flags, so `void` and `batch` cannot drift apart.

use std::path::PathBuf;
use std::time::Duration;

use instamed_soap::{ApiKey, ClientBuilder, Error, TrustRoots};

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

/// The REST key pair from `--api-key` (or INSTAMED_API_KEY) and INSTAMED_API_SECRET (or
/// `--api-secret`).
///
/// `serve` prints its demo pair as `api-key: KEY:SECRET`, the form its own `--api-key` takes;
/// so a key given as `KEY:SECRET` with no secret apart is that pair, split at its first colon.
/// A secret given apart wins, and the key is then taken whole: a key with a colon in it stays
/// usable.
pub fn api_key(key: Option<&str>, secret: Option<&str>) -> Result<ApiKey, Error> {
    let refused = |reason: String| Error::InvalidConfig {
        reason,
        source: None,
    };
    let key = match key {
        Some(key) if !key.is_empty() => key,
        Some(_) => {
            return Err(refused(
                "the API key is empty: set INSTAMED_API_KEY or --api-key".into(),
            ));
        }
        None => {
            return Err(refused(
                "the API key is missing: set INSTAMED_API_KEY or --api-key".into(),
            ));
        }
    };
    match (secret, key.split_once(':')) {
        (Some(secret), _) if !secret.is_empty() => Ok(ApiKey::new(key, secret)),
        (Some(_), _) => Err(refused(
            "the API secret is empty: set INSTAMED_API_SECRET".into(),
        )),
        (None, Some((key, secret))) if !key.is_empty() && !secret.is_empty() => {
            Ok(ApiKey::new(key, secret))
        }
        (None, Some(_)) => Err(refused(
            "the API key is given as KEY:SECRET with an empty part: give both".into(),
        )),
        (None, None) => Err(refused(
            "the API secret is missing: set INSTAMED_API_SECRET, or give the pair as \
             --api-key KEY:SECRET"
                .into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::api_key;
    use instamed_soap::ApiKey;

    fn pair(key: Option<&str>, secret: Option<&str>) -> Result<ApiKey, String> {
        api_key(key, secret).map_err(|error| error.to_string())
    }

    #[test]
    fn a_pair_as_serve_prints_it_is_split_and_a_secret_given_apart_wins() {
        let both = |key: &str, secret: &str| Ok(ApiKey::new(key, secret));
        assert_eq!(pair(Some("k:s:t"), None), both("k", "s:t"));
        assert_eq!(pair(Some("k:s"), Some("apart")), both("k:s", "apart"));
        assert_eq!(pair(Some("k"), Some("s")), both("k", "s"));
        for (key, secret, said) in [
            (None, Some("s"), "API key is missing"),
            (Some(""), Some("s"), "API key is empty"),
            (Some("k"), None, "API secret is missing"),
            (Some("k"), Some(""), "API secret is empty"),
            (Some("k:"), None, "empty part"),
            (Some(":s"), None, "empty part"),
        ] {
            let error = pair(key, secret).unwrap_err();
            assert!(error.contains(said), "{key:?} {secret:?}: {error}");
        }
    }
}
