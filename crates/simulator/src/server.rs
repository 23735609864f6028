//! The running simulator: InstaMed's service behind an HTTPS [`Listening`] server.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use instamed_soap_listener::{Abort, Handler, Limits, Listening};

use super::auth::{Accounts, ApiKeys};
use super::config::SimulatorConfig;
use super::engine::Engine;
use super::error::SimulatorError;
use super::faults::Injector;
use super::ledger::Ledger;
use super::service;
use super::shared::Shared;
use super::sso;
use super::tokens::Sso;
use super::{health, seed};

impl Handler for Shared {
    fn handle(
        &self,
        request: Request<Incoming>,
    ) -> impl Future<Output = Result<Response<Full<Bytes>>, Abort>> + Send {
        // Ahead of the service's sign-in and fault injection: see the `health` module.
        let health = health::answer(request.method(), request.uri().path());
        async move {
            match health {
                Some(answer) => Ok(answer.map(Full::new)),
                None => service::handle(self, request).await,
            }
        }
    }
}

/// A running InstaMed look-alike. Dropping it stops accepting connections; prefer
/// [`shutdown`](Simulator::shutdown), which also waits for requests in flight and flushes the
/// ledger.
///
/// ```no_run
/// use instamed_soap_simulator::{Simulator, SimulatorConfig, DEMO_ACCOUNT_ID, DEMO_PASSWORD};
/// use instamed_soap::{Client, Credentials, Outlet, VoidRequest};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let simulator = Simulator::start(SimulatorConfig::default()).await?;
/// let outlet = Outlet::new("123123123", "123", "123")?;
/// let payment = simulator.ledger().create_payment(&outlet, "12.34")?;
///
/// let client = Client::builder(simulator.endpoint())
///     .credentials(Credentials::new(DEMO_ACCOUNT_ID, DEMO_PASSWORD))
///     .ca_certificate_file(simulator.ca_path().expect("TLS is on by default"))
///     .build()?;
/// client.void(&VoidRequest::new(outlet, payment)).await?;
/// simulator.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Simulator {
    listening: Listening,
    shared: Arc<Shared>,
}

impl Simulator {
    /// Opens the ledger (replaying its journal), creates the seed file's payments, makes the
    /// certificates and starts listening, on the current Tokio runtime.
    pub async fn start(config: SimulatorConfig) -> Result<Self, SimulatorError> {
        if config.accounts.is_empty() {
            return Err(SimulatorError::InvalidConfig(
                "at least one account is required".to_owned(),
            ));
        }
        config.faults.validate()?;

        let ledger = Ledger::open_with(
            config.ledger_file.as_deref(),
            config.void_cutoff,
            config.refund_window,
        )?;
        if let Some(path) = &config.seed_file {
            let created = seed::load(path, &ledger)?;
            tracing::info!(created, path = %path.display(), "seeded the ledger");
        }
        let shared = Arc::new(Shared {
            engine: Engine {
                ledger,
                success_message: config.success_message,
                scheme: if config.tls { "https" } else { "http" },
            },
            accounts: Accounts::new(&config.accounts),
            api_keys: ApiKeys::new(&config.api_keys),
            refusal_style: config.refusal_style,
            faults: Injector::new(config.faults),
            sso: Sso::new(&config.sso_accounts, config.sso_token_lifetime),
        });
        let limits = Limits::new(config.request_timeout, config.max_connections);
        let listening = Listening::start_with(
            config.listen,
            config.tls,
            config.ca_out.as_deref(),
            &config.hostnames,
            shared.clone(),
            limits,
        )
        .await?;
        tracing::info!(local_addr = %listening.local_addr(), tls = config.tls, "simulator listening");
        Ok(Self { listening, shared })
    }

    /// The SOAP endpoint: `https://localhost:PORT/payment/service.asmx` (`http://` without TLS;
    /// the first of [`SimulatorConfig::hostnames`] instead of `localhost` when there are any).
    pub fn endpoint(&self) -> String {
        format!("{}/payment/service.asmx", self.origin())
    }

    /// The NVP endpoint: `https://localhost:PORT/payment/NVP.aspx`.
    pub fn nvp_endpoint(&self) -> String {
        format!("{}/payment/NVP.aspx", self.origin())
    }

    /// The SSO login URL (the "SSO URL" an application keeps per account):
    /// `https://localhost:PORT/providers/Form/SSO/SSOLogin`.
    pub fn sso_login_url(&self) -> String {
        format!("{}{}", self.origin(), sso::LOGIN_PATH)
    }

    /// The void page's URL, as the login's `RelayState` names it.
    pub fn sso_void_page(&self) -> String {
        format!("{}{}", self.origin(), sso::VOID_PAGE)
    }

    /// `SSOService.asmx`'s URL.
    pub fn sso_service_endpoint(&self) -> String {
        format!("{}{}", self.origin(), sso::SERVICE_PATH)
    }

    /// The REST base URL, to which `/rest/payment/void` and its siblings are appended: the
    /// same as [`origin`](Self::origin), as `https://connect.instamed.com` is for InstaMed.
    pub fn rest_base(&self) -> String {
        self.origin()
    }

    /// `scheme://host:port`, naming the host as the certificate does.
    pub fn origin(&self) -> String {
        self.listening.origin()
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.listening.local_addr()
    }

    /// The CA certificate (PEM) that clients must trust; `None` without TLS.
    pub fn ca_path(&self) -> Option<&Path> {
        self.listening.ca_path()
    }

    /// The ledger, for tests and demos: create payments, start transfers, read statuses.
    pub fn ledger(&self) -> &Ledger {
        &self.shared.engine.ledger
    }

    /// Stops accepting connections, lets the requests in flight finish (for up to 10 seconds),
    /// closes idle keep-alive connections and puts the ledger's journal on disk.
    pub async fn shutdown(mut self) {
        self.listening.stop().await;
        if let Err(error) = self.ledger().sync() {
            tracing::warn!(%error, "could not put the ledger journal on disk");
        }
    }
}
