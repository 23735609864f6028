//! What a gateway is started with.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use instamed_soap::sso::SsoClient;
use instamed_soap::{Client, Credentials, UserName};
use instamed_soap_listener::{Hostname, Limits};

use crate::Clients;

/// The largest request body taken by default: an InstaMed envelope is a few kilobytes.
pub const DEFAULT_MAX_BODY_BYTES: usize = 256 * 1024;

/// How long an ERP is told to wait before asking again about a payment whose outcome is
/// being reconciled (the `RetryAfterSeconds` of an `OutcomeUnknown` fault, and `Retry-After`).
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(5);

/// How long a void of unknown outcome is left to the gateway's own reconciliation before the
/// operator page lists it for a person.
pub const DEFAULT_RECONCILE_WINDOW: Duration = Duration::from_secs(300);

/// The requests a client may make each second by default (with bursts of twice as many);
/// more are answered 429 with `Retry-After`.
pub const DEFAULT_RATE_LIMIT: u32 = 100;

/// How the gateway serves its ERP clients.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Tls {
    /// The operator's certificate (`--tls-cert`, `--tls-key`), read with
    /// [`instamed_soap_listener::server_config_from_pem_files`]; `host` names the printed URLs.
    Certificate {
        /// The server side of TLS.
        server: Arc<rustls::ServerConfig>,
        /// The host the printed URLs name (one the certificate holds); else the address.
        host: Option<Hostname>,
    },
    /// A CA and a server certificate made at start (`--demo`, tests), the CA written to
    /// `ca_out` or a private temporary file ([`Running::ca_path`](crate::Running::ca_path)).
    Generated {
        /// Where to write the CA certificate.
        ca_out: Option<PathBuf>,
    },
    /// Plain HTTP: refused unless the gateway listens on a loopback address, since an ERP's
    /// own secret and the payments would cross the network in clear.
    PlainHttp,
}

/// InstaMed, as the gateway reaches it.
#[derive(Clone)]
pub struct Upstream {
    /// The client that voids and refunds (its protocol, trust, proxy and deadline as the
    /// operator set them). Its retries of what never left are the client's; nothing else is
    /// retried.
    pub(crate) client: Client,
    /// The SOAP endpoint forwarded requests go to.
    pub(crate) endpoint: http::Uri,
    /// InstaMed's credentials, put on every forwarded request in place of the ERP's own.
    pub(crate) credentials: Option<Credentials>,
    pub(crate) user_name: UserName,
    /// InstaMed's Single Sign-On, for `POST /v1/sso/voids`.
    pub(crate) sso: Option<SsoClient>,
}

impl std::fmt::Debug for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upstream")
            .field("client", &self.client)
            .finish_non_exhaustive()
    }
}

impl Upstream {
    /// InstaMed at `endpoint` (its `service.asmx`), called through `client`, which must be
    /// built for the same service. Without [`credentials`](Self::credentials), operations
    /// other than voids and refunds cannot be forwarded (they are answered with a fault).
    pub fn new(client: Client, endpoint: &str) -> Result<Self, crate::GatewayError> {
        let endpoint = endpoint
            .parse::<http::Uri>()
            .map_err(|_| crate::GatewayError::Upstream)?;
        if endpoint.scheme().is_none() || endpoint.authority().is_none() {
            return Err(crate::GatewayError::Upstream);
        }
        Ok(Self {
            client,
            endpoint,
            credentials: None,
            user_name: UserName::default(),
            sso: None,
        })
    }

    /// InstaMed's Single Sign-On (`SSOService.asmx` and the login), for the void pages of
    /// `POST /v1/sso/voids`; without it that route answers 404.
    pub fn sso(mut self, sso: SsoClient) -> Self {
        self.sso = Some(sso);
        self
    }

    /// InstaMed's account, for the requests the gateway forwards as the ERP wrote them.
    pub fn credentials(mut self, credentials: Credentials, form: UserName) -> Self {
        self.credentials = Some(credentials);
        self.user_name = form;
        self
    }
}

/// Everything a gateway starts with.
#[derive(Debug)]
#[non_exhaustive]
pub struct GatewayConfig {
    /// The address to listen on.
    pub listen: SocketAddr,
    /// How clients are served.
    pub tls: Tls,
    /// InstaMed.
    pub upstream: Upstream,
    /// The ledger: a SQLite file, the same a `void` or `batch` of this machine uses, or a
    /// `postgres://` URL that several gateways share.
    pub ledger: PathBuf,
    /// The JSON API's operations and Idempotency-Keys beside a ledger file: a SQLite file of
    /// their own (default `LEDGER.gateway-operations.db`). Unused with a ledger on PostgreSQL,
    /// whose replicas share their operations in the same database.
    pub operations: PathBuf,
    /// The ERP clients let in.
    pub clients: Clients,
    /// The largest request body taken; a larger one is answered 413 unread.
    pub max_body_bytes: usize,
    /// How long an ERP is told to wait before asking again about an open outcome.
    pub retry_after: Duration,
    /// Bounds on slow and numerous clients.
    pub limits: Limits,
    /// Requests each client may make per second (bursts of twice as many); `None`: no limit.
    pub rate_limit: Option<std::num::NonZeroU32>,
    /// The operators who may sign in to the operator pages at `/ops` (`docs/operators.md`);
    /// `None`: no such pages.
    pub operators: Option<Clients>,
    /// How long a void of unknown outcome is left to reconciliation before the operator page
    /// lists it for a person.
    pub reconcile_window: Duration,
    /// On a PostgreSQL ledger, how long this replica's claim on a payment holds while its
    /// request is out; past it, another replica takes the claimant for dead and reconciles
    /// (`Ledger::with_lease`). A SQLite ledger tells a dead process by its ID instead.
    pub lease: Duration,
}

impl GatewayConfig {
    /// A gateway on `listen`, served as `tls` says, in front of `upstream`, keeping its
    /// intents in `ledger` and letting in `clients`.
    pub fn new(
        listen: SocketAddr,
        tls: Tls,
        upstream: Upstream,
        ledger: impl Into<PathBuf>,
        clients: Clients,
    ) -> Self {
        let ledger: PathBuf = ledger.into();
        // Never a name made of a URL: its password would become a file's name. (On
        // PostgreSQL the operations live in the database and this name is not used.)
        let operations = if instamed_soap_ledger::Ledger::is_database_url(&ledger) {
            PathBuf::from("gateway-operations.db").into_os_string()
        } else {
            let mut operations = ledger.clone().into_os_string();
            operations.push(".gateway-operations.db");
            operations
        };
        Self {
            listen,
            tls,
            upstream,
            operations: operations.into(),
            ledger,
            clients,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            retry_after: DEFAULT_RETRY_AFTER,
            limits: Limits::default(),
            rate_limit: std::num::NonZeroU32::new(DEFAULT_RATE_LIMIT),
            operators: None,
            reconcile_window: DEFAULT_RECONCILE_WINDOW,
            lease: instamed_soap_ledger::DEFAULT_LEASE,
        }
    }
}
