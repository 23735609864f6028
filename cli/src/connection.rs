//! How the commands that call InstaMed reach it: trust, proxy, plain HTTP for a simulator and
//! the deadline. One set of flags, so `void` and `batch` cannot drift apart; and the profile of
//! the configuration file that fills in what neither a flag nor the environment gave.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use instamed_soap::{ApiKey, ClientBuilder, Error, TrustRoots};

use crate::profile::{self, Profile};

/// The deadline when neither `--timeout` nor the profile gives one.
const TIMEOUT: Duration = Duration::from_secs(30);

/// The connection flags shared by every command that connects: `void`, `refund`,
/// `reconcile`, `batch`, `record` (to its upstream) and `bench` (to an endpoint given).
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
    /// seconds), from 100ms to 10m. Default: 30s.
    #[arg(long, value_name = "DURATION", value_parser = crate::duration::TIMEOUT.parser())]
    timeout: Option<Duration>,
    /// The configuration file of profiles. Default:
    /// $XDG_CONFIG_HOME/instamed-soap/config.toml (~/.config/instamed-soap/config.toml).
    #[arg(long, value_name = "FILE", env = "INSTAMED_CONFIG")]
    config: Option<PathBuf>,
    /// The profile of the configuration file to use; without it, the profile named default,
    /// if there is one. Flags and environment variables win over its settings.
    #[arg(long, value_name = "NAME", env = "INSTAMED_PROFILE")]
    profile: Option<String>,
    /// The profile, read once however many settings are taken from it.
    #[arg(skip)]
    loaded: OnceLock<Result<Profile, String>>,
}

impl Connection {
    /// `builder` set up as the flags say, and the profile where they say nothing.
    pub fn apply(&self, mut builder: ClientBuilder) -> Result<ClientBuilder, Error> {
        let profile = self.profile()?;
        // Flags replace the profile's certificates rather than add to them, as a flag replaces
        // any other setting of the file.
        let ca_cert = if self.ca_cert.is_empty() {
            &profile.ca_cert
        } else {
            &self.ca_cert
        };
        builder = builder
            .allow_plain_http_on_loopback(self.allow_plain_http)
            .timeout(self.timeout.or(profile.timeout).unwrap_or(TIMEOUT))
            .trust_roots(trust_roots(
                self.trust.as_deref().or(profile.trust.as_deref()),
                ca_cert,
            )?);
        for ca in ca_cert {
            builder = builder.add_root_certificate_file(ca);
        }
        if let Some(url) = &self.proxy {
            builder = builder.proxy(url);
        } else if self.no_proxy {
            builder = builder.no_proxy();
        } else if let Some(url) = profile.proxy.as_ref().filter(|_| !proxy_in_environment()) {
            builder = builder.proxy(url);
        }
        Ok(builder)
    }

    /// The flags of this connection a follow-up command needs to reach the service the same
    /// way (trust, plain HTTP, the configuration and profile), as words for a shell. Never the
    /// proxy, whose URL may carry a password: the follow-up finds it where this run did.
    pub fn repeated(&self) -> Vec<String> {
        let mut words = Vec::new();
        for ca in &self.ca_cert {
            words.push("--ca-cert".to_owned());
            words.push(ca.display().to_string());
        }
        if let Some(trust) = &self.trust {
            words.extend(["--trust".to_owned(), trust.clone()]);
        }
        if self.no_proxy {
            words.push("--no-proxy".to_owned());
        }
        if self.allow_plain_http {
            words.push("--allow-plain-http".to_owned());
        }
        if let Some(config) = &self.config {
            words.extend(["--config".to_owned(), config.display().to_string()]);
        }
        if let Some(profile) = &self.profile {
            words.extend(["--profile".to_owned(), profile.clone()]);
        }
        words
    }

    /// The chosen profile (`--profile`, INSTAMED_PROFILE, or `default`), or an empty one when
    /// there is no file or no default profile.
    pub fn profile(&self) -> Result<&Profile, Error> {
        self.loaded
            .get_or_init(|| profile::load(self.config.as_deref(), self.profile.as_deref()))
            .as_ref()
            .map_err(|reason| Error::InvalidConfig {
                reason: reason.clone(),
                source: None,
            })
    }

    /// The CA certificates to trust: `--ca-cert`'s, else the profile's.
    pub fn ca_certs(&self) -> Result<Vec<PathBuf>, Error> {
        Ok(if self.ca_cert.is_empty() {
            self.profile()?.ca_cert.clone()
        } else {
            self.ca_cert.clone()
        })
    }

    /// Whether a proxy is named by `--proxy`, or by the profile (and not overridden by
    /// `--no-proxy` or the environment), as [`Connection::apply`] chooses one.
    pub fn names_proxy(&self) -> Result<bool, Error> {
        Ok(self.proxy.is_some()
            || (!self.no_proxy && self.profile()?.proxy.is_some() && !proxy_in_environment()))
    }

    /// Whether CA certificates to trust are given, by `--ca-cert` or the profile.
    pub fn gives_ca_cert(&self) -> bool {
        self.ca_certs().is_ok_and(|certs| !certs.is_empty())
    }

    /// A secret given by a flag or the environment, else read from the file the profile names
    /// for it (`password_file`, `api_secret_file`), checked to be readable by this user alone.
    pub fn secret(
        &self,
        given: Option<&str>,
        file: fn(&Profile) -> Option<&Path>,
    ) -> Result<Option<String>, Error> {
        if let Some(given) = given {
            return Ok(Some(given.to_owned()));
        }
        match file(self.profile()?) {
            Some(path) => {
                profile::read_secret(path)
                    .map(Some)
                    .map_err(|reason| Error::InvalidConfig {
                        reason,
                        source: None,
                    })
            }
            None => Ok(None),
        }
    }
}

/// Whether the environment names a proxy, which wins over the profile's as every variable does.
fn proxy_in_environment() -> bool {
    ["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"]
        .iter()
        .any(|name| std::env::var_os(name).is_some_and(|value| !value.is_empty()))
}

/// The roots `trust` names; without it, Mozilla's, or none when a CA file is given.
fn trust_roots(trust: Option<&str>, ca_cert: &[PathBuf]) -> Result<TrustRoots, Error> {
    match trust {
        Some(name) => name.parse().map_err(|reason| Error::InvalidConfig {
            reason,
            source: None,
        }),
        None if ca_cert.is_empty() => Ok(TrustRoots::Mozilla),
        None => Ok(TrustRoots::None),
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
