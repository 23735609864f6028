//! The adapter service between an ERP and InstaMed (`instamed-soap gateway`).
//!
//! A legacy ERP already speaks InstaMed's SOAP contract, retries on every error and cannot
//! link a Rust crate. The gateway serves that same contract at `/payment/service.asmx`, so
//! the ERP changes only its endpoint URL and its credentials, and puts every money-moving call
//! through the ledger ([`instamed_soap_ledger::Ledger`]):
//!
//! - `DoCreditCardSecondaryVoid` is idempotent by payment: the intent is on disk before the
//!   void leaves; a payment voided, refused or in flight is not sent again, and a repeat gets
//!   the settled answer. An unknown outcome is a SOAP `Server` fault with an `OutcomeUnknown`
//!   detail in the gateway's namespace ([`NAMESPACE`]) while a background task reconciles it
//!   on structured proof only.
//! - `DoCreditCardSimpleRefund` follows the ledger's refund rules: never twice for a payment.
//! - Every other operation is forwarded once, never retried, and answered exactly as InstaMed
//!   answered it.
//! - InstaMed's NVP contract (`/payment/NVP.aspx`) is served the same way, answered in pairs.
//!
//! ERPs sign in with HTTP Basic as clients of the gateway ([`Clients`]: names and Argon2id
//! hashes); InstaMed's credentials stay with the gateway. `docs/gateway.md` says what each
//! answer means for the ERP. Operators, with credentials of their own, settle by hand at `/ops`
//! what software cannot (`docs/operators.md`).
//!
//! ```no_run
//! use instamed_soap::{Client, Credentials, UserName};
//! use instamed_soap_gateway::{Clients, Gateway, GatewayConfig, Tls, Upstream};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let endpoint = "https://connect.instamed.com/payment/service.asmx";
//! let credentials = Credentials::new("account@clinic", "password");
//! let client = Client::builder(endpoint).credentials(credentials.clone()).build()?;
//! let upstream = Upstream::new(client, endpoint)?.credentials(credentials, UserName::AccountId);
//! let mut clients = Clients::new()?;
//! clients.add_pair("erp:its-own-secret")?;
//! let config = GatewayConfig::new(
//!     "127.0.0.1:8443".parse()?,
//!     Tls::Generated { ca_out: None },
//!     upstream,
//!     "/var/lib/instamed-soap/ledger.db",
//!     clients,
//! );
//! let running = Gateway::start(config).await?;
//! println!("soap: {}", running.soap_url());
//! running.stop().await;
//! # Ok(()) }
//! ```

mod api;
mod clients;
mod config;
mod faults;
mod metrics;
mod money;
mod nvp;
mod operations;
mod ops;
mod request_log;
mod server;
mod soap;

pub use clients::{Clients, ClientsError, hash_secret};
pub use config::{
    DEFAULT_MAX_BODY_BYTES, DEFAULT_RATE_LIMIT, DEFAULT_RECONCILE_WINDOW, DEFAULT_RETRY_AFTER,
    GatewayConfig, Tls, Upstream,
};
pub use faults::NAMESPACE;
pub use operations::{KEY_RETENTION, OperationsError};
pub use server::{Gateway, Running};

/// Why a gateway could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GatewayError {
    /// Plain HTTP was asked for on an address other than loopback.
    #[error("plain HTTP is served on a loopback address only ({0} is not one): give a certificate")]
    PlainHttpOffLoopback(std::net::SocketAddr),
    /// The upstream address is not an absolute URL.
    #[error("the upstream address is not an absolute http(s) URL")]
    Upstream,
    /// No client could sign in.
    #[error("no client is configured: give --clients FILE or --client NAME:SECRET")]
    NoClients,
    /// The file of the JSON API's operations cannot be opened.
    #[error("cannot open the operations file")]
    Operations(#[source] OperationsError),
    /// The system's random source failed (the operator pages' session key).
    #[error("the system's random source failed")]
    Random,
    /// The ledger cannot be opened.
    #[error("cannot open the ledger")]
    Ledger(#[source] instamed_soap_ledger::LedgerError),
    /// The listener could not start.
    #[error("cannot start listening")]
    Listen(#[source] instamed_soap_listener::ListenError),
}
