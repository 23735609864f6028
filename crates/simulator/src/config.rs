//! How a simulator is set up.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use instamed_soap_listener::Hostname;

use super::faults::FaultPlan;

/// How the simulator says no to a void (or a sale or refund) it will not make.
///
/// How InstaMed words a refusal is not documented, so both shapes the service could use are
/// offered; the client must read both as the same error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum RefusalStyle {
    /// A normal result with `TransactionStatus` `D` (NVP: `transactionStatus=D` pairs).
    #[default]
    Decline,
    /// A SOAP client/sender fault (NVP: `errorCode` and `errorMessage`).
    Fault,
}

impl RefusalStyle {
    /// The name used on command lines (`decline`, `fault`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Decline => "decline",
            Self::Fault => "fault",
        }
    }
}

impl FromStr for RefusalStyle {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        match name {
            "decline" => Ok(Self::Decline),
            "fault" => Ok(Self::Fault),
            other => Err(format!(
                "unknown refusal style {other:?} (expected decline or fault)"
            )),
        }
    }
}

impl fmt::Display for RefusalStyle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `ResponseMessage` of a successful void. InstaMed's documentation shows `APPROVED`; a
/// production client expected `VOIDED`. A client must not care.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum SuccessMessage {
    /// `APPROVED`.
    #[default]
    Approved,
    /// `VOIDED`.
    Voided,
}

impl SuccessMessage {
    /// The message as sent.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Approved => "APPROVED",
            Self::Voided => "VOIDED",
        }
    }
}

impl FromStr for SuccessMessage {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        if name.eq_ignore_ascii_case("approved") {
            Ok(Self::Approved)
        } else if name.eq_ignore_ascii_case("voided") {
            Ok(Self::Voided)
        } else {
            Err(format!(
                "unknown success message {name:?} (expected APPROVED or VOIDED)"
            ))
        }
    }
}

impl fmt::Display for SuccessMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything a [`Simulator`](super::Simulator) needs to start. [`Default`] gives an HTTPS
/// simulator on a free loopback port with one demo account and an in-memory ledger.
///
/// ```
/// use std::time::Duration;
/// use instamed_soap_simulator::{RefusalStyle, SimulatorConfig};
///
/// let config = SimulatorConfig::default()
///     .with_tls(false)
///     .with_refusal_style(RefusalStyle::Fault)
///     .with_void_cutoff(Some(Duration::from_secs(3600)));
/// assert_eq!(config.accounts.len(), 1);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SimulatorConfig {
    /// Where to listen (default `127.0.0.1:0`: a free port, see
    /// [`Simulator::local_addr`](super::Simulator::local_addr)).
    pub listen: SocketAddr,
    /// Serve HTTPS with a CA and server certificate made at start (default `true`).
    pub tls: bool,
    /// Where to write the CA certificate (PEM). Default: a new file under the system's temporary
    /// directory, removed at shutdown.
    pub ca_out: Option<PathBuf>,
    /// More names for the server certificate, so that clients reaching the simulator by
    /// another name or address (from a container, another host) can verify it. `localhost`,
    /// `127.0.0.1`, `::1` and a specific listening address are always in it. The first one, if
    /// any, is also the host of [`Simulator::origin`](super::Simulator::origin) and the
    /// endpoints built on it. Default: none.
    pub hostnames: Vec<Hostname>,
    /// The accounts that may sign in, as (account ID, password). Default: one demo account,
    /// [`DEMO_ACCOUNT_ID`] with [`DEMO_PASSWORD`].
    pub accounts: Vec<(String, String)>,
    /// The API key pairs the REST endpoints accept, as (key, secret). Default: one demo pair,
    /// [`DEMO_API_KEY`] with [`DEMO_API_SECRET`]. Empty: every REST request gets 401.
    pub api_keys: Vec<(String, String)>,
    /// A payment older than this can no longer be refunded (default
    /// [`DEFAULT_REFUND_WINDOW`], InstaMed's one year). `None`: no age limit. Try it on old
    /// payments made with [`Ledger::create_payment_at`](super::Ledger::create_payment_at) or
    /// the admin endpoint's `ageSeconds`.
    pub refund_window: Option<Duration>,
    /// A payment at least this old can no longer be voided, as if its funds transfer had begun.
    /// `None` (the default): only an explicit transfer start blocks a void.
    pub void_cutoff: Option<Duration>,
    /// How refusals are worded (default [`RefusalStyle::Decline`]).
    pub refusal_style: RefusalStyle,
    /// The message of a successful void (default [`SuccessMessage::Approved`]).
    pub success_message: SuccessMessage,
    /// Faults to inject (default: none).
    pub faults: FaultPlan,
    /// The ledger's journal: with it, payments survive a restart. `None` (the default) keeps
    /// the ledger in memory.
    pub ledger_file: Option<PathBuf>,
    /// Payments to create at start; the [module documentation](super#persistence-and-seeding)
    /// gives the format.
    pub seed_file: Option<PathBuf>,
    /// How long a client may take to send a request's headers (or to start its next request on
    /// a kept-alive connection), and then its body (default 20 seconds). A slower client gets
    /// 408, or is disconnected.
    pub request_timeout: Duration,
    /// How many connections are served at once (default 512). A connection beyond that takes
    /// the place of the one that has waited longest on its client, so slow clients cannot lock
    /// prompt ones out; see the [module documentation](super#slow-and-numerous-clients).
    pub max_connections: usize,
    /// The Single Sign-On accounts, as (account ID, SSO alias, security key): what the SSO
    /// login and `SSOService.asmx` accept. Default: one demo account, [`DEMO_ACCOUNT_ID`] with
    /// [`DEMO_SSO_ALIAS`] and [`DEMO_SSO_KEY`].
    pub sso_accounts: Vec<(String, String, String)>,
    /// How long an SSO token stays good (default [`DEFAULT_SSO_TOKEN_LIFETIME`], InstaMed's
    /// 15 minutes); shorten it to test expiry (zero: every token is expired at once).
    pub sso_token_lifetime: Duration,
}

/// The account ID of the default demo account.
pub const DEMO_ACCOUNT_ID: &str = "demo@instamed.test";
/// The password of the default demo account.
pub const DEMO_PASSWORD: &str = "demo-password";
/// The key of the default REST API key pair.
pub const DEMO_API_KEY: &str = "demo-api-key";
/// The secret of the default REST API key pair.
pub const DEMO_API_SECRET: &str = "demo-api-secret";
/// The SSO alias of the default demo account.
pub const DEMO_SSO_ALIAS: &str = "demo-sso";
/// The SSO security key of the default demo account.
pub const DEMO_SSO_KEY: &str = "demo-sso-key";
/// How long an SSO token is good for: "only good for 15 minutes", InstaMed says.
pub const DEFAULT_SSO_TOKEN_LIFETIME: Duration = Duration::from_secs(15 * 60);
/// How long after a payment it may be refunded: one year (365 days), as InstaMed documents.
pub const DEFAULT_REFUND_WINDOW: Duration = Duration::from_secs(365 * 24 * 60 * 60);

impl Default for SimulatorConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            tls: true,
            ca_out: None,
            hostnames: Vec::new(),
            accounts: vec![(DEMO_ACCOUNT_ID.to_owned(), DEMO_PASSWORD.to_owned())],
            api_keys: vec![(DEMO_API_KEY.to_owned(), DEMO_API_SECRET.to_owned())],
            refund_window: Some(DEFAULT_REFUND_WINDOW),
            void_cutoff: None,
            refusal_style: RefusalStyle::default(),
            success_message: SuccessMessage::default(),
            faults: FaultPlan::default(),
            ledger_file: None,
            seed_file: None,
            request_timeout: instamed_soap_listener::DEFAULT_REQUEST_TIMEOUT,
            max_connections: instamed_soap_listener::DEFAULT_MAX_CONNECTIONS,
            sso_accounts: vec![(
                DEMO_ACCOUNT_ID.to_owned(),
                DEMO_SSO_ALIAS.to_owned(),
                DEMO_SSO_KEY.to_owned(),
            )],
            sso_token_lifetime: DEFAULT_SSO_TOKEN_LIFETIME,
        }
    }
}

impl SimulatorConfig {
    /// Listen on `addr`.
    pub fn with_listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// Serve HTTPS (`true`) or plain HTTP.
    pub fn with_tls(mut self, tls: bool) -> Self {
        self.tls = tls;
        self
    }

    /// Write the CA certificate to `path` (kept after shutdown).
    pub fn with_ca_out(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_out = Some(path.into());
        self
    }

    /// Put these names in the server certificate; the first one names the host of the
    /// endpoints (see [`hostnames`](Self::hostnames)).
    pub fn with_hostnames(mut self, names: impl IntoIterator<Item = Hostname>) -> Self {
        self.hostnames = names.into_iter().collect();
        self
    }

    /// Accept exactly these accounts, as (account ID, password).
    pub fn with_accounts<I, A, P>(mut self, accounts: I) -> Self
    where
        I: IntoIterator<Item = (A, P)>,
        A: Into<String>,
        P: Into<String>,
    {
        self.accounts = accounts
            .into_iter()
            .map(|(account, password)| (account.into(), password.into()))
            .collect();
        self
    }

    /// Accept exactly these REST API key pairs, as (key, secret).
    pub fn with_api_keys<I, K, S>(mut self, pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, S)>,
        K: Into<String>,
        S: Into<String>,
    {
        self.api_keys = pairs
            .into_iter()
            .map(|(key, secret)| (key.into(), secret.into()))
            .collect();
        self
    }

    /// Refuse refunds of payments older than `window` (`None`: no age limit).
    pub fn with_refund_window(mut self, window: Option<Duration>) -> Self {
        self.refund_window = window;
        self
    }

    /// Refuse voids of payments at least `cutoff` old (`None`: no age limit).
    pub fn with_void_cutoff(mut self, cutoff: Option<Duration>) -> Self {
        self.void_cutoff = cutoff;
        self
    }

    /// Word refusals as `style`.
    pub fn with_refusal_style(mut self, style: RefusalStyle) -> Self {
        self.refusal_style = style;
        self
    }

    /// Answer a successful void with `message`.
    pub fn with_success_message(mut self, message: SuccessMessage) -> Self {
        self.success_message = message;
        self
    }

    /// Inject the faults of `plan`.
    pub fn with_faults(mut self, plan: FaultPlan) -> Self {
        self.faults = plan;
        self
    }

    /// Keep the ledger in the journal at `path`.
    pub fn with_ledger_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ledger_file = Some(path.into());
        self
    }

    /// Create the payments listed in `path` at start.
    pub fn with_seed_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.seed_file = Some(path.into());
        self
    }

    /// Give clients `timeout` to send a request's headers, and as long again for its body.
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Serve at most `max` connections at once.
    pub fn with_max_connections(mut self, max: usize) -> Self {
        self.max_connections = max;
        self
    }

    /// Sets the SSO accounts, as (account ID, SSO alias, security key).
    pub fn with_sso_accounts<I, A, L, K>(mut self, accounts: I) -> Self
    where
        I: IntoIterator<Item = (A, L, K)>,
        A: Into<String>,
        L: Into<String>,
        K: Into<String>,
    {
        self.sso_accounts = accounts
            .into_iter()
            .map(|(id, alias, key)| (id.into(), alias.into(), key.into()))
            .collect();
        self
    }

    /// Sets how long an SSO token stays good.
    pub fn with_sso_token_lifetime(mut self, lifetime: Duration) -> Self {
        self.sso_token_lifetime = lifetime;
        self
    }
}
