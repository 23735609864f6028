//! The client: configured once, then cheap to clone and share between tasks.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http::{Request, Response, Uri};
use http_body_util::Full;
use tracing::Instrument as _;

use crate::call::{Call, Rest, Route, Soap, Wire};
use crate::credentials::{ApiKey, Credentials, UserName};
use crate::deadline::Deadlines;
use crate::domain::Amount;
use crate::endpoint;
use crate::error::{AnswerProblem, Error, UnsettledRefund, config, config_with};
use crate::observe::{Observer, WireObserver};
use crate::protocol::Protocol;
use crate::proxy::{self, ProxySetting};
use crate::redact::Redactor;
use crate::refund::{RefundReceipt, RefundRequest, VoidOrRefund};
use crate::retry::RetryPolicy;
use crate::soap::Operation;
use crate::spans;
use crate::timer::Timer;
use crate::transport::{self, Connector, Failure, Transport};
use crate::trust::{Trust, TrustRoots};
use crate::void::{VoidConfirmation, VoidReceipt, VoidRequest};

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest answer read by default: a void's answer is under 2 KiB, and a megabyte leaves
/// room for verbose faults and nothing else.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 1 << 20;
const DEFAULT_MAX_IDLE: usize = 8;
/// IIS closes a keep-alive connection idle for 120 s by default: ours are given up first.
const DEFAULT_POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// Configures a [`Client`]. Start with [`Client::builder`].
#[derive(Clone)]
#[must_use]
pub struct ClientBuilder {
    endpoint: String,
    credentials: Option<Credentials>,
    api_key: Option<ApiKey>,
    user_name: UserName,
    protocol: Protocol,
    timeout: Duration,
    connect_timeout: Duration,
    max_response_bytes: usize,
    trust: Trust,
    proxy: ProxySetting,
    plain_http_on_loopback: bool,
    max_idle_connections: usize,
    pool_idle_timeout: Option<Duration>,
    nvp_endpoint: Option<String>,
    retry: RetryPolicy,
    reconcile: RetryPolicy,
    timer: Option<Arc<dyn Timer>>,
    observer: Option<Observer>,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Addresses redacted: credentials typed into a URL are refused by `build`, not shown.
        f.debug_struct("ClientBuilder")
            .field("endpoint", &crate::sensitive::redacted_url(&self.endpoint))
            .field(
                "nvp_endpoint",
                &self
                    .nvp_endpoint
                    .as_deref()
                    .map(crate::sensitive::redacted_url),
            )
            .field("credentials", &self.credentials)
            .field("api_key", &self.api_key)
            .field("protocol", &self.protocol)
            .field("timeout", &self.timeout)
            .field("trust", &self.trust)
            .field("proxy", &self.proxy)
            .field("wire_observer", &self.observer.is_some())
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// The endpoint as given, for a client of another service built on this builder.
    pub(crate) fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The protocol set so far.
    pub(crate) fn protocol_setting(&self) -> Protocol {
        self.protocol
    }

    /// The account that signs SOAP and NVP requests (HTTP Basic). Required for those
    /// protocols.
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// The API key pair that signs REST requests (`Api-Key`, `Api-Secret`). Required for
    /// [`Protocol::Rest`], whose endpoint is the service's base URL
    /// (`https://connect.instamed.com`): the `/rest/payment/…` paths are appended to it.
    pub fn api_key(mut self, api_key: ApiKey) -> Self {
        self.api_key = Some(api_key);
        self
    }

    /// Which form of the account ID is the Basic user name (default: the whole ID).
    pub fn user_name(mut self, form: UserName) -> Self {
        self.user_name = form;
        self
    }

    /// The protocol (default: SOAP 1.1).
    pub fn protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = protocol;
        self
    }

    /// Where NVP requests go (default: `NVP.aspx` beside `service.asmx`; for
    /// [`Protocol::Nvp`], an endpoint that is itself the NVP page is used as it is). It must be
    /// on the same scheme, host and port as the endpoint, so one connection pool serves both.
    pub fn nvp_endpoint(mut self, url: impl Into<String>) -> Self {
        self.nvp_endpoint = Some(url.into());
        self
    }

    /// Deadline for a whole call: connecting, sending, and reading the full answer (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// What keeps the call deadlines and the waits between attempts, and the clock idle
    /// connections expire on (default: a thread of the client's own, which keeps the hot path
    /// free of timed waits, and the system's monotonic clock).
    /// [`TokioTimer`](crate::timer::TokioTimer) follows `tokio::time::pause`, for tests that
    /// step through a deadline.
    pub fn timer(mut self, timer: impl Timer) -> Self {
        self.timer = Some(Arc::new(timer));
        self
    }

    /// Deadline for opening a TCP connection (default 10 s); the call's deadline still applies.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Largest answer read, in bytes (default 1 MiB). A larger one is an error whose outcome is
    /// unknown.
    pub fn max_response_bytes(mut self, limit: usize) -> Self {
        self.max_response_bytes = limit;
        self
    }

    /// The set of root certificates to start from (default [`TrustRoots::Mozilla`]); the
    /// certificates added with [`add_root_certificate_pem`](Self::add_root_certificate_pem)
    /// and [`add_root_certificate_file`](Self::add_root_certificate_file) are trusted as well.
    /// [`TrustRoots::None`] trusts the added certificates alone.
    pub fn trust_roots(mut self, roots: TrustRoots) -> Self {
        self.trust.base = roots;
        self
    }

    /// Also trust the CA certificate(s) in `pem` (one or more `BEGIN CERTIFICATE` blocks),
    /// on top of the [`trust_roots`](Self::trust_roots).
    pub fn add_root_certificate_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.trust.add_pem(pem.into());
        self
    }

    /// Also trust the CA certificate(s) in this PEM file, on top of the
    /// [`trust_roots`](Self::trust_roots). The file is read by [`build`](Self::build), which
    /// refuses (as invalid configuration) anything but a regular file of at most 8 MiB: a FIFO
    /// or a device is never opened for reading.
    pub fn add_root_certificate_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.trust.add_file(path.into());
        self
    }

    /// Trust only the CA certificates in this PEM file (for a simulator, or a TLS-inspecting
    /// gateway your network requires): the same as
    /// [`add_root_certificate_file`](Self::add_root_certificate_file) with
    /// [`trust_roots(TrustRoots::None)`](Self::trust_roots).
    pub fn ca_certificate_file(self, path: impl Into<PathBuf>) -> Self {
        self.add_root_certificate_file(path)
            .trust_roots(TrustRoots::None)
    }

    /// Connect through this HTTP proxy (`http://host:port`, with `user:password@` before the
    /// host when the proxy wants Basic credentials), whatever the environment says and
    /// whatever the host, a loopback one included. The request runs in a CONNECT tunnel, TLS
    /// to InstaMed end to end; the proxy's credentials go only in `Proxy-Authorization` and
    /// are never shown in errors, logs or `Debug`.
    ///
    /// Without this call the proxy comes from the environment, as with curl and reqwest:
    /// `HTTPS_PROXY` (or `https_proxy`), else `ALL_PROXY` (or `all_proxy`), unless the host is
    /// in `NO_PROXY` (or `no_proxy`: host names, `.domain` suffixes, IP addresses or networks,
    /// or `*`). A loopback endpoint (`localhost`, `*.localhost`, `127.0.0.0/8`, `::1`,
    /// IPv4-mapped loopback) is then always reached directly, as with Go and Chrome: a proxy
    /// from the environment is for the network, and through it `127.0.0.1` would be the
    /// proxy's own machine. A plain-HTTP loopback endpoint never goes through a proxy.
    pub fn proxy(mut self, url: impl Into<String>) -> Self {
        self.proxy = ProxySetting::Url(url.into());
        self
    }

    /// Never use a proxy, whatever the environment says. Not needed for a loopback endpoint,
    /// which a proxy from the environment never carries.
    pub fn no_proxy(mut self) -> Self {
        self.proxy = ProxySetting::Off;
        self
    }

    /// Allow an `http://` endpoint on a loopback address (`localhost`, `127.0.0.0/8`, `::1`),
    /// for a local simulator. Any other plain-HTTP endpoint is still refused.
    pub fn allow_plain_http_on_loopback(mut self, allow: bool) -> Self {
        self.plain_http_on_loopback = allow;
        self
    }

    /// Retry requests that certainly never left this machine (connect and TLS failures), with
    /// backoff. Off by default; a request that may have been sent is never retried.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// How [`Client::void_reconciled`] asks again after an unknown outcome (default: up to 3
    /// more attempts, 250 ms apart and doubling).
    pub fn reconcile_policy(mut self, policy: RetryPolicy) -> Self {
        self.reconcile = policy;
        self
    }

    /// How many idle keep-alive connections to keep (default 8).
    pub fn max_idle_connections(mut self, count: usize) -> Self {
        self.max_idle_connections = count;
        self
    }

    /// How long a keep-alive connection may sit idle and still carry a request (default 90 s);
    /// `None` keeps it for as long as the server leaves it open.
    ///
    /// Keep it below the server's own idle timeout (120 s for IIS, which serves InstaMed's
    /// ASMX service, unless configured otherwise): a request written just as the server closes
    /// the connection may have been read, and its outcome is then unknown. An expired
    /// connection is closed when the pool next looks at it; measured on the
    /// [`timer`](Self::timer)'s clock.
    pub fn pool_idle_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.pool_idle_timeout = timeout.into();
        self
    }

    /// Shows `observer` every exchange the client makes, each attempt apart: the request as
    /// sent and the answer as read (start line, headers, body), after this client's secrets
    /// and every card number have been taken out of them (see [`crate::observe`]). For
    /// debugging, as `curl -v` is; nothing is copied or swept when no observer is set.
    ///
    /// ```
    /// use instamed_soap::{Client, Credentials};
    /// let client = Client::builder("https://connect.instamed.com/payment/service.asmx")
    ///     .credentials(Credentials::new("account@clinic", "password"))
    ///     .wire_observer(|exchange: &instamed_soap::observe::WireExchange| {
    ///         eprint!("{exchange}")
    ///     })
    ///     .build();
    /// assert!(client.is_ok());
    /// ```
    pub fn wire_observer(mut self, observer: impl WireObserver) -> Self {
        self.observer = Some(Observer::new(Arc::new(observer)));
        self
    }

    /// Checks the settings and builds the client. Nothing is sent yet.
    pub fn build(self) -> Result<Client, Error> {
        let mut endpoint = endpoint::parse(&self.endpoint, "endpoint")?;
        let host = endpoint
            .host()
            .ok_or_else(|| config(format!("endpoint {endpoint} has no host")))?
            .to_owned();
        let host = host.as_str();
        match endpoint.scheme_str() {
            Some("https") => {}
            Some("http") if self.plain_http_on_loopback && is_loopback(host) => {}
            Some("http") if self.plain_http_on_loopback => {
                return Err(config(format!(
                    "plain HTTP is allowed only on loopback, not to {host}"
                )));
            }
            Some("http") => {
                return Err(config(
                    "plain HTTP is refused: use https, or allow plain HTTP on loopback for a simulator"
                        .to_owned()));
            }
            _ => {
                return Err(config(format!(
                    "endpoint {} is not an https URL",
                    crate::sensitive::redacted_url(&endpoint.to_string())
                )));
            }
        }
        let redactor = Redactor::for_secrets(self.credentials.as_ref(), self.api_key.as_ref());
        let (soap, wire) = if self.protocol == Protocol::Rest {
            let api_key = self.api_key.as_ref().ok_or_else(|| {
                config("REST needs an API key pair (Api-Key and Api-Secret)".to_owned())
            })?;
            if api_key.key().is_empty() || api_key.secret().is_empty() {
                return Err(config("the API key and the API secret must not be empty"));
            }
            (None, Wire::Rest(Rest::new(&endpoint, api_key)?))
        } else {
            let credentials = self
                .credentials
                .as_ref()
                .ok_or_else(|| config("credentials are required".to_owned()))?;
            if credentials.account_id().is_empty() || credentials.password().is_empty() {
                return Err(config("the account ID and the password must not be empty"));
            }
            let (soap_endpoint, nvp_endpoint) =
                addresses(&endpoint, self.protocol, self.nvp_endpoint.as_deref())?;
            endpoint = soap_endpoint;
            let soap_route = Route::new(&endpoint, credentials, self.user_name)?;
            let nvp_route = nvp_endpoint
                .map(|uri| Route::new(&uri, credentials, self.user_name))
                .transpose()?;
            // Typed calls of an NVP client go in SOAP 1.1.
            let version = self.protocol.soap_version().unwrap_or_default();
            let soap = Soap::new(version, soap_route.clone());
            let wire = Wire::new(self.protocol, soap_route, nvp_route)?;
            (Some(soap), wire)
        };

        let tls = tls_config(&self.trust)?;
        let proxy = proxy::Route::choose(&self.proxy, &endpoint, |name| std::env::var(name).ok())?;
        let mut http = hyper_util::client::legacy::connect::HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(self.connect_timeout));
        let connector = hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(tls);
        let connector = if self.plain_http_on_loopback {
            connector.https_or_http()
        } else {
            connector.https_only()
        };
        let connector = connector.enable_http1();
        let connector = match &proxy {
            Some(proxy) => {
                tracing::debug!(?proxy, "connecting through a proxy");
                Connector::Tunnel(Box::new(connector.wrap_connector(proxy.connector(http))))
            }
            None => Connector::Direct(connector.wrap_connector(http)),
        };

        let timer = self
            .timer
            .unwrap_or_else(|| Arc::new(Deadlines::new(self.timeout)));
        let transport = Transport::new(transport::Settings {
            origin: endpoint.clone(),
            connector,
            max_idle: self.max_idle_connections,
            idle_timeout: self.pool_idle_timeout,
            max_response_bytes: self.max_response_bytes,
            timeout: self.timeout,
            timer: Arc::clone(&timer),
        });
        Ok(Client {
            inner: Arc::new(Inner {
                endpoint,
                soap,
                wire,
                redactor,
                protocol: self.protocol,
                timeout: self.timeout,
                retry: self.retry,
                reconcile: self.reconcile,
                timer,
                transport,
                observer: self.observer,
            }),
        })
    }
}

/// A client for InstaMed's payment service. Clone it freely: clones share one connection pool.
///
/// ```no_run
/// use instamed_soap::{Client, Credentials, Outlet, Protocol, TransactionId, VoidRequest};
///
/// # async fn run() -> Result<(), instamed_soap::Error> {
/// let client = Client::builder("https://connect.instamed.com/payment/service.asmx")
///     .credentials(Credentials::new("account@clinic", "password"))
///     .protocol(Protocol::Soap12)
///     .build()?;
/// let request = VoidRequest::new(
///     Outlet::new("123123123", "123", "123")?,
///     TransactionId::new("EE52401813A74328AAA7D93319FF4383")?,
/// );
/// match client.void(&request).await {
///     Ok(receipt) => println!("voided {}", receipt.payment),
///     Err(error) if error.outcome_unknown() => eprintln!("reconcile: {}", error.report()),
///     Err(error) => eprintln!("not voided: {}", error.report()),
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    endpoint: Uri,
    /// Typed calls of any operation (in SOAP 1.1 for an NVP client; none for a REST client,
    /// which holds no HTTP Basic credentials).
    soap: Option<Soap>,
    /// The client's protocol: what a void becomes on the wire and what its answer proves.
    wire: Wire,
    /// Takes this client's secrets out of whatever an answer makes it say.
    redactor: Redactor,
    protocol: Protocol,
    timeout: Duration,
    retry: RetryPolicy,
    reconcile: RetryPolicy,
    /// Keeps the waits between attempts (and, in the transport, the deadlines).
    timer: Arc<dyn Timer>,
    transport: Transport,
    /// Shown every exchange, cleaned, when set.
    observer: Option<Observer>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field(
                "endpoint",
                &crate::sensitive::redacted_url(&self.inner.endpoint.to_string()),
            )
            .field("protocol", &self.inner.protocol)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Starts configuring a client for the service at `endpoint`
    /// (`https://connect.instamed.com/payment/service.asmx`).
    pub fn builder(endpoint: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            endpoint: endpoint.into(),
            credentials: None,
            api_key: None,
            user_name: UserName::default(),
            protocol: Protocol::default(),
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            trust: Trust::default(),
            proxy: ProxySetting::default(),
            plain_http_on_loopback: false,
            max_idle_connections: DEFAULT_MAX_IDLE,
            pool_idle_timeout: Some(DEFAULT_POOL_IDLE_TIMEOUT),
            nvp_endpoint: None,
            retry: RetryPolicy::none(),
            reconcile: RetryPolicy::exponential(3, Duration::from_millis(250)),
            timer: None,
            observer: None,
        }
    }

    /// The protocol this client speaks.
    pub fn protocol(&self) -> Protocol {
        self.inner.protocol
    }

    /// Voids a captured credit-card payment (`DoCreditCardSecondaryVoid`).
    ///
    /// Succeeds only when InstaMed reports the void completed and the payment voided. Refusals
    /// come back as [`Error::AlreadyVoided`], [`Error::NotVoidable`],
    /// [`Error::UnknownTransaction`] or [`Error::Declined`], and only on structured evidence
    /// (statuses in a result, a fault's detail or NVP pairs) or from a request the service
    /// rejected as such. Check [`Error::outcome_unknown`] before retrying anything: a
    /// `Server`/`Receiver` fault is an unknown outcome, whatever it says.
    ///
    /// Whatever the answer puts in the receipt or the error has this client's password, Basic
    /// token and any card-like number taken out.
    pub async fn void(&self, request: &VoidRequest) -> Result<VoidReceipt, Error> {
        let span = tracing::info_span!(
            "instamed_soap.void",
            payment = %request.payment(),
            protocol = %self.inner.protocol,
            verdict = tracing::field::Empty,
        );
        let result = self.void_in_span(request).instrument(span.clone()).await;
        spans::record(&span, &result, |_| "voided");
        result
    }

    async fn void_in_span(&self, request: &VoidRequest) -> Result<VoidReceipt, Error> {
        let wire = &self.inner.wire;
        let redactor = &self.inner.redactor;
        let http_request = wire.request(request)?;
        let operation = Call::<VoidRequest>::operation(wire);
        let answer = self.exchange(operation, http_request).await?;
        wire.judge(request, &answer)
            .map(|receipt| redactor.receipt(receipt))
            .map_err(|error| redactor.error(error))
    }

    /// Voids a payment and, when the outcome is unknown, finds out: it voids again (following
    /// the reconcile policy) until an answer proves, on structured evidence, which way it went.
    ///
    /// - A receipt: the earlier void had not gone through, this one did
    ///   ([`VoidConfirmation::VoidedOnRetry`]).
    /// - A refusal whose `PrimaryTransactionStatus` is `V` for this payment (in a result, a
    ///   fault's detail or NVP pairs): the earlier void went through
    ///   ([`VoidConfirmation::ConfirmedAlreadyVoided`]). The words "already voided" alone
    ///   prove nothing.
    /// - A refusal whose `PrimaryTransactionStatus` says the payment is there and not voided:
    ///   the earlier void had not gone through; that refusal is returned.
    /// - An [`Error::UnknownTransaction`] with `TransactionStatus` `D` or `X` (about this
    ///   payment, as every judged answer is): there is no such payment, so the earlier void
    ///   changed nothing; that refusal is returned ([`Error::proves_not_voided`]).
    ///
    /// Anything else (a fault, an HTTP error, a lost connection, a refusal without the
    /// payment's status) says nothing about the first attempt, so reconciling goes on; if no
    /// attempt settles it, the first attempt's error is returned, its outcome still unknown. A
    /// first attempt answered "already voided" is an [`Error::AlreadyVoided`]: the payment was
    /// voided before this call.
    pub async fn void_reconciled(&self, request: &VoidRequest) -> Result<VoidConfirmation, Error> {
        let span = tracing::info_span!(
            "instamed_soap.void_reconciled",
            payment = %request.payment(),
            protocol = %self.inner.protocol,
            attempts = tracing::field::Empty,
            verdict = tracing::field::Empty,
        );
        let result = self
            .void_reconciled_in_span(request)
            .instrument(span.clone())
            .await;
        if let Ok(confirmation) = &result {
            span.record("attempts", confirmation.attempts());
        }
        spans::record(&span, &result, spans::confirmation);
        result
    }

    async fn void_reconciled_in_span(
        &self,
        request: &VoidRequest,
    ) -> Result<VoidConfirmation, Error> {
        let first = match self.void(request).await {
            Ok(receipt) => return Ok(VoidConfirmation::Voided(receipt)),
            Err(error) if error.outcome_unknown() => error,
            Err(error) => return Err(error),
        };
        let policy = self.inner.reconcile;
        for retry in 0..policy.max_retries {
            let attempts = retry + 2;
            self.inner.timer.sleep(policy.backoff(retry)).await;
            tracing::info!(payment = %request.payment(), attempts, "reconciling a void of unknown outcome");
            match self.void(request).await {
                Ok(receipt) => return Ok(VoidConfirmation::VoidedOnRetry { receipt, attempts }),
                Err(Error::AlreadyVoided(refusal)) if refusal.payment_is_voided() => {
                    return Ok(VoidConfirmation::ConfirmedAlreadyVoided {
                        refusal: *refusal,
                        attempts,
                    });
                }
                // InstaMed looked and the payment is not voided: its status says so, or there
                // is no such payment for a void to have changed. Asking again would hear the
                // same, on every run, for ever.
                Err(error) if error.proves_not_voided() => return Err(error),
                Err(error) => {
                    tracing::debug!(attempts, %error, "no proof about the payment; asking again");
                }
            }
        }
        Err(first)
    }

    /// Gives back `request.amount()` of a captured payment as a simple refund
    /// (`DoCreditCardSimpleRefund`, NVP `SimpleRefund`, REST `/rest/payment/refund-simple`).
    ///
    /// Succeeds only on `TransactionStatus` `C` with the refund's own transaction ID. Refusals
    /// are [`Error::OverRefundable`], [`Error::RefundWindowPassed`],
    /// [`Error::UnknownTransaction`] and [`Error::Declined`]. A refund is not idempotent, so
    /// one whose outcome is unknown is never sent again: it comes back as
    /// [`Error::RefundOutcomeUnknown`], saying what to check by hand before refunding again.
    /// (Requests that certainly never left this machine are still retried under the
    /// [`retry_policy`](ClientBuilder::retry_policy): they cannot have refunded anything.)
    ///
    /// Like every call of `Client`, it has no memory between calls; `ledger::Ledger::refund`
    /// (feature `ledger`) refuses to send a refund while another of the payment may have been
    /// made.
    pub async fn refund(&self, request: &RefundRequest) -> Result<RefundReceipt, Error> {
        let span = tracing::info_span!(
            "instamed_soap.refund",
            payment = %request.payment(),
            amount = %request.amount(),
            protocol = %self.inner.protocol,
            verdict = tracing::field::Empty,
        );
        let result = self.refund_in_span(request).instrument(span.clone()).await;
        spans::record(&span, &result, |_| "refunded");
        result
    }

    async fn refund_in_span(&self, request: &RefundRequest) -> Result<RefundReceipt, Error> {
        let wire = &self.inner.wire;
        let redactor = &self.inner.redactor;
        let http_request = wire.request(request)?;
        let sent_at = SystemTime::now();
        let operation = Call::<RefundRequest>::operation(wire);
        let result = match self.exchange(operation, http_request).await {
            Ok(answer) => wire.judge(request, &answer),
            Err(error) => Err(error),
        };
        result
            .map(|receipt| redactor.refund_receipt(receipt))
            .map_err(|error| {
                let error = redactor.error(error);
                if error.outcome_unknown() {
                    Error::RefundOutcomeUnknown(Box::new(UnsettledRefund {
                        payment: request.payment().clone(),
                        amount: request.amount(),
                        sent_at,
                        protocol: self.inner.protocol,
                        cause: error,
                    }))
                } else {
                    error
                }
            })
    }

    /// Voids the payment or, only when InstaMed refuses the void as too late (a *known*
    /// [`Error::NotVoidable`] refusal: the funds transfer has begun, shown by statuses about
    /// this payment, `TransactionStatus` `D`/`X` and a `PrimaryTransactionStatus` present and
    /// not `V`), refunds `amount` of it.
    ///
    /// Never refunds after any other answer: an unknown void outcome (the void may have gone
    /// through) comes back as it is, to be reconciled; so do the other refusals. What happened
    /// is reported as it happened: [`VoidOrRefund::Voided`] or [`VoidOrRefund::Refunded`],
    /// never a refund as a void. A failed refund is returned as the refund's error.
    ///
    /// This call has no memory: run twice on a payment whose transfer began, it refunds twice.
    /// A caller that retries (as every ERP does) must remember, durably and before sending,
    /// which refunds it sent and what came back, and must never send again a refund whose
    /// outcome is unknown; or use `ledger::Ledger::void_or_refund` (feature `ledger`), which
    /// does exactly that with the file the command-line tool uses.
    pub async fn void_or_refund(
        &self,
        request: &VoidRequest,
        amount: Amount,
    ) -> Result<VoidOrRefund, Error> {
        let span = tracing::info_span!(
            "instamed_soap.void_or_refund",
            payment = %request.payment(),
            amount = %amount,
            protocol = %self.inner.protocol,
            verdict = tracing::field::Empty,
        );
        let result = self
            .void_or_refund_in_span(request, amount)
            .instrument(span.clone())
            .await;
        spans::record(&span, &result, spans::void_or_refund);
        result
    }

    async fn void_or_refund_in_span(
        &self,
        request: &VoidRequest,
        amount: Amount,
    ) -> Result<VoidOrRefund, Error> {
        // Checked first: an amount that could not be refunded must not wait until the void
        // is already refused.
        let refund = RefundRequest::for_void(request, amount)?;
        match self.void(request).await {
            Ok(receipt) => Ok(VoidOrRefund::Voided(receipt)),
            Err(Error::NotVoidable(refusal)) => {
                tracing::info!(payment = %request.payment(), %amount, refusal = %refusal,
                    "the void is too late; refunding instead");
                self.refund(&refund).await.map(VoidOrRefund::Refunded)
            }
            Err(error) => Err(error),
        }
    }

    /// Calls any operation of the service with its generated request element, and returns its
    /// generated response element. A fault is [`Error::Fault`]; no business rule is applied.
    /// A client set to [`Protocol::Nvp`] makes such calls in SOAP 1.1.
    ///
    /// ```no_run
    /// use instamed_soap::bindings::{operations, types};
    /// # async fn run(client: instamed_soap::Client) -> Result<(), instamed_soap::Error> {
    /// let request = types::DoCreditCardSecondaryVoid::default();
    /// let answer = client
    ///     .call::<operations::DoCreditCardSecondaryVoid>(&request)
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn call<O: Operation>(&self, request: &O::Request) -> Result<O::Response, Error> {
        let span = tracing::info_span!(
            "instamed_soap.call",
            operation = O::NAME,
            verdict = tracing::field::Empty,
        );
        let result = self
            .call_in_span::<O>(request)
            .instrument(span.clone())
            .await;
        spans::record(&span, &result, |_| "answered");
        result
    }

    async fn call_in_span<O: Operation>(&self, request: &O::Request) -> Result<O::Response, Error> {
        let soap = self
            .inner
            .soap
            .as_ref()
            .ok_or_else(|| config("typed SOAP calls need a SOAP or NVP client".to_owned()))?;
        let http_request = soap.operation_request::<O>(request)?;
        let answer = self.exchange(O::NAME, http_request).await?;
        soap.read::<O>(&answer)
            .map_err(|error| self.inner.redactor.error(error))
    }

    /// Calls operation `O` as [`call`](Self::call) does, but without HTTP Basic: for a
    /// service whose credentials travel in the body (SSOService), where this client's
    /// credentials are held only so that their secret is taken out of what it says.
    pub(crate) async fn call_unsigned<O: Operation>(
        &self,
        request: &O::Request,
    ) -> Result<O::Response, Error> {
        let span = tracing::info_span!(
            "instamed_soap.call",
            operation = O::NAME,
            verdict = tracing::field::Empty,
        );
        let result = async {
            let soap =
                self.inner.soap.as_ref().ok_or_else(|| {
                    config("typed SOAP calls need a SOAP or NVP client".to_owned())
                })?;
            let mut http_request = soap.operation_request::<O>(request)?;
            http_request
                .headers_mut()
                .remove(http::header::AUTHORIZATION);
            let answer = self.exchange(O::NAME, http_request).await?;
            soap.read::<O>(&answer)
        }
        .instrument(span.clone())
        .await
        .map_err(|error| self.inner.redactor.error(error));
        spans::record(&span, &result, |_| "answered");
        result
    }

    /// The timer that keeps this client's deadlines and waits.
    pub(crate) fn timer(&self) -> &Arc<dyn Timer> {
        &self.inner.timer
    }

    /// `error` with this client's secrets and card numbers taken out.
    pub(crate) fn clean_error(&self, error: Error) -> Error {
        self.inner.redactor.error(error)
    }

    /// Whether `text` holds one of this client's secrets, in any encoding.
    pub(crate) fn holds_secret(&self, text: &str) -> bool {
        self.inner.redactor.holds_secret(text)
    }

    /// `receipt` with this client's secrets and card numbers taken out.
    pub(crate) fn clean_receipt(&self, receipt: VoidReceipt) -> VoidReceipt {
        self.inner.redactor.receipt(receipt)
    }

    /// Sends `request` as it is and returns the whole answer, whatever its status: the way a
    /// tool that builds its own requests (a recording proxy, say) uses this client's
    /// connections, deadlines and limits. Nothing in the answer is judged.
    pub async fn execute(&self, request: Request<Bytes>) -> Result<Response<Bytes>, Error> {
        // Debug, not info: a recording proxy sends every request through here and says so in
        // a line of its own. Its route alone: a query may carry a card number, and a path what
        // its caller put there (a card, a password), which this client cannot know of.
        let span = tracing::debug_span!(
            "instamed_soap.execute",
            method = %request.method(),
            path = %crate::sensitive::route(request.uri().path()),
            status = tracing::field::Empty,
            verdict = tracing::field::Empty,
        );
        let result = self
            .exchange("execute", request)
            .instrument(span.clone())
            .await;
        if let Ok(response) = &result {
            span.record("status", response.status().as_u16());
        }
        spans::record(&span, &result, |_| "answered");
        result
    }

    /// Sends one request and reads its whole answer, logging what may be logged (never a body
    /// or a header value).
    async fn exchange(
        &self,
        operation: &'static str,
        request: Request<Bytes>,
    ) -> Result<Response<Bytes>, Error> {
        let inner = &*self.inner;
        let mut retry = 0;
        let mut request = Some(request);
        loop {
            // Timed only for the log: the clock is not free at this rate.
            let started = tracing::enabled!(tracing::Level::DEBUG).then(Instant::now);
            tracing::debug!(operation, protocol = %inner.protocol, retry, "sending");
            // Copied only while a retry may still need it; the last attempt takes it.
            let attempt = match &request {
                Some(pending) if retry < inner.retry.max_retries => copy(pending),
                _ => request
                    .take()
                    .ok_or_else(|| config("no request left to send"))?,
            };
            // Copied only for an observer, which sees the request after it was sent.
            let shown = inner
                .observer
                .as_ref()
                .map(|observer| (observer, copy(&attempt)));
            let result = inner.transport.send(attempt.map(Full::new)).await;
            let elapsed_ms = started.map_or(0.0, |started| started.elapsed().as_secs_f64() * 1e3);
            let error = match result {
                Ok(response) => {
                    let status = response.status.as_u16();
                    tracing::debug!(operation, status, elapsed_ms, "answered");
                    let response = response.into_http();
                    if let Some((observer, sent)) = &shown {
                        observer.show(&inner.redactor, operation, sent, Ok(&response));
                    }
                    return Ok(response);
                }
                Err(failure) => from_failure(failure, inner.timeout),
            };
            if let Some((observer, sent)) = &shown {
                observer.show(&inner.redactor, operation, sent, Err(&error));
            }
            tracing::debug!(operation, elapsed_ms, %error, "failed");
            if !(error.never_sent() && retry < inner.retry.max_retries) {
                return Err(error);
            }
            inner.timer.sleep(inner.retry.backoff(retry)).await;
            retry += 1;
        }
    }
}

/// A copy of a request (`http::Request` is not `Clone`: its extensions may not be).
fn copy(request: &Request<Bytes>) -> Request<Bytes> {
    let mut copy = Request::new(request.body().clone());
    *copy.method_mut() = request.method().clone();
    *copy.uri_mut() = request.uri().clone();
    *copy.headers_mut() = request.headers().clone();
    copy
}

fn from_failure(failure: Failure, timeout: Duration) -> Error {
    match failure {
        Failure::Connect(source) => Error::Connect { source },
        Failure::Tls(source) => Error::Tls { source },
        Failure::Io { sent, source } => Error::Transport { sent, source },
        Failure::TooLarge { limit, status } => {
            Error::malformed(status, AnswerProblem::TooLarge { limit })
        }
        Failure::Timeout { sent } => Error::Timeout {
            after: timeout,
            sent,
        },
    }
}

fn tls_config(trust: &Trust) -> Result<rustls::ClientConfig, Error> {
    let roots = trust.root_store()?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| config_with("no usable TLS protocol version", e))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config)
}

/// The SOAP and NVP addresses for `endpoint`. The NVP one is the one given, or for an NVP
/// client whose endpoint is the NVP page that page (SOAP then goes to `service.asmx` beside
/// it), or else `NVP.aspx` beside `service.asmx`. Same origin only.
fn addresses(
    endpoint: &Uri,
    protocol: Protocol,
    given: Option<&str>,
) -> Result<(Uri, Option<Uri>), Error> {
    let nvp_page = endpoint::is_nvp_page(endpoint);
    if nvp_page && protocol != Protocol::Nvp {
        return Err(config(format!(
            "the endpoint {endpoint} is the NVP page: use the NVP protocol, or the \
             service.asmx address for {protocol}"
        )));
    }
    let soap = if nvp_page {
        endpoint::soap_beside_nvp(endpoint).unwrap_or_else(|| endpoint.clone())
    } else {
        endpoint.clone()
    };
    let nvp = match given {
        Some(url) => Some(endpoint::parse(url, "NVP endpoint")?),
        None if nvp_page => Some(endpoint.clone()),
        None => crate::call::nvp_address(endpoint),
    };
    let Some(nvp) = nvp else {
        if protocol == Protocol::Nvp {
            return Err(config(format!(
                "cannot derive the NVP address from {endpoint}: give the NVP page \
                 (…/NVP.aspx) as the endpoint, or set nvp_endpoint"
            )));
        }
        return Ok((soap, None));
    };
    if nvp.scheme() != endpoint.scheme() || nvp.authority() != endpoint.authority() {
        return Err(config(format!(
            "the NVP endpoint {nvp} must be on the same scheme, host and port as {endpoint}"
        )));
    }
    Ok((soap, Some(nvp)))
}

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::timer::Sleep;
    use crate::{Outlet, TransactionId};

    /// The call deadline of the test clients: long, and never reached.
    const DEADLINE: Duration = Duration::from_secs(3600);

    /// A timer that notes every wait it is asked for and ends each at once, except the call
    /// deadline, which it never ends: a back-off taken anywhere but here would stall the test.
    #[derive(Debug, Default)]
    struct Recording(Arc<Mutex<Vec<Duration>>>);

    impl Timer for Recording {
        fn sleep(&self, span: Duration) -> Sleep {
            self.0
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .push(span);
            if span == DEADLINE {
                Box::pin(std::future::pending())
            } else {
                Box::pin(std::future::ready(()))
            }
        }
    }

    #[tokio::test]
    async fn the_retry_back_off_is_asked_of_the_timer() {
        // A port nothing listens on: every attempt fails to connect, which is never sent.
        let port = {
            let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            probe.local_addr().unwrap().port()
        };
        let waits = Arc::new(Mutex::new(Vec::new()));
        // Minutes apart: a real sleep would hold the test far past its own timeout below.
        let policy = RetryPolicy::exponential(2, Duration::from_secs(7 * 60))
            .with_max_backoff(Duration::from_secs(3600));
        let client = Client::builder(format!("http://127.0.0.1:{port}/payment/service.asmx"))
            .credentials(Credentials::new("a", "b"))
            .allow_plain_http_on_loopback(true)
            .no_proxy()
            .timeout(DEADLINE)
            .retry_policy(policy)
            .timer(Recording(Arc::clone(&waits)))
            .build()
            .unwrap();
        let request = VoidRequest::new(
            Outlet::new("1", "2", "3").unwrap(),
            TransactionId::new("AB").unwrap(),
        );
        let error = tokio::time::timeout(Duration::from_secs(20), client.void(&request))
            .await
            .expect("the back-off slept for real")
            .unwrap_err();
        assert!(error.never_sent(), "{error:?}");
        let waits = waits.lock().unwrap().clone();
        let back_offs: Vec<Duration> = waits.into_iter().filter(|&w| w != DEADLINE).collect();
        assert_eq!(back_offs, [policy.backoff(0), policy.backoff(1)]);
    }
}
