//! The client: configured once, then cheap to clone and share between tasks.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE, HOST, USER_AGENT};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Uri};
use http_body_util::Full;
use rustls::RootCertStore;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use crate::bindings::operations::DoCreditCardSecondaryVoid;
use crate::credentials::{Credentials, UserName};
use crate::deadline::Deadlines;
use crate::error::{Error, Refusal, ResponseProblem};
use crate::nvp::{self, NvpProblem, NvpReply};
use crate::protocol::Protocol;
use crate::retry::RetryPolicy;
use crate::scrub::Scrubber;
use crate::soap::{self, Operation, Reply, SoapVersion};
use crate::timer::Timer;
use crate::transport::{self, Failure, Transport};
use crate::void::{self, VoidConfirmation, VoidReceipt, VoidRequest};

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// A void's answer is under 2 KiB; a megabyte leaves room for verbose faults and nothing else.
const DEFAULT_MAX_RESPONSE_BYTES: usize = 1 << 20;
const DEFAULT_MAX_IDLE: usize = 8;
const USER_AGENT_VALUE: &str = concat!("instamed-soap/", env!("CARGO_PKG_VERSION"));
/// SOAP 1.1's action header (header names are case-blind; http keeps them in lower case).
const SOAP_ACTION: HeaderName = HeaderName::from_static("soapaction");

/// Configures a [`Client`]. Start with [`Client::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct ClientBuilder {
    endpoint: String,
    credentials: Option<Credentials>,
    user_name: UserName,
    protocol: Protocol,
    timeout: Duration,
    connect_timeout: Duration,
    max_response_bytes: usize,
    ca_file: Option<PathBuf>,
    plain_http_on_loopback: bool,
    max_idle_connections: usize,
    nvp_endpoint: Option<String>,
    retry: RetryPolicy,
    reconcile: RetryPolicy,
    timer: Option<Arc<dyn Timer>>,
}

impl ClientBuilder {
    /// The account that signs requests (HTTP Basic). Required.
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
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

    /// Where NVP requests go (default: `NVP.aspx` beside `service.asmx`). It must be on the same
    /// scheme, host and port as the SOAP endpoint, so one connection pool serves both.
    pub fn nvp_endpoint(mut self, url: impl Into<String>) -> Self {
        self.nvp_endpoint = Some(url.into());
        self
    }

    /// Deadline for a whole call: connecting, sending, and reading the full answer (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// What keeps the call deadlines (default: a thread of the client's own, which keeps the
    /// hot path free of timed waits). [`TokioTimer`](crate::timer::TokioTimer) follows
    /// `tokio::time::pause`, for tests that step through a deadline.
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

    /// Trust only the CA certificates in this PEM file instead of the Mozilla roots (for a
    /// simulator, or a TLS-inspecting proxy your network requires).
    pub fn ca_certificate_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_file = Some(path.into());
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

    /// Checks the settings and builds the client. Nothing is sent yet.
    pub fn build(self) -> Result<Client, Error> {
        let endpoint: Uri = self
            .endpoint
            .parse()
            .map_err(|e| config_with(format!("endpoint {:?} is not a URL", self.endpoint), e))?;
        let host = endpoint
            .host()
            .ok_or_else(|| config(format!("endpoint {endpoint} has no host")))?;
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
            _ => return Err(config(format!("endpoint {endpoint} is not an https URL"))),
        }
        let credentials = self
            .credentials
            .ok_or_else(|| config("credentials are required".to_owned()))?;
        let scrubber = Scrubber::new(&credentials);
        let authorization = credentials.authorization(self.user_name).map_err(|e| {
            config_with(
                "the account ID or password cannot go in an HTTP header".to_owned(),
                e,
            )
        })?;
        let authority = endpoint.authority().map(|a| a.as_str()).unwrap_or(host);
        let host_header = HeaderValue::from_str(authority)
            .map_err(|e| config_with(format!("bad host {authority:?}"), e))?;

        let nvp_endpoint = nvp_endpoint(&endpoint, self.nvp_endpoint.as_deref())?;
        if self.protocol == Protocol::Nvp && nvp_endpoint.is_none() {
            return Err(config(format!(
                "cannot derive the NVP address from {endpoint}: set nvp_endpoint"
            )));
        }

        let tls = tls_config(self.ca_file.as_ref())?;
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
        let connector = connector.enable_http1().wrap_connector(http);

        let transport = Transport::new(transport::Settings {
            origin: endpoint.clone(),
            connector,
            max_idle: self.max_idle_connections,
            max_response_bytes: self.max_response_bytes,
            timeout: self.timeout,
            timer: self
                .timer
                .unwrap_or_else(|| Arc::new(Deadlines::new(self.timeout))),
        });
        // Built once: a void is the hot path, and its headers never change for a client.
        let operation = match self.protocol.soap_version() {
            Some(version) => SoapHeaders::of::<DoCreditCardSecondaryVoid>(version).ok(),
            None => Some(SoapHeaders::form()),
        };
        let void_headers =
            operation.map(|operation| request_headers(&host_header, &authorization, operation));
        Ok(Client {
            inner: Arc::new(Inner {
                soap_target: origin_form(&endpoint),
                nvp_target: nvp_endpoint.as_ref().map(origin_form),
                endpoint,
                host_header,
                authorization,
                scrubber,
                void_headers,
                protocol: self.protocol,
                timeout: self.timeout,
                retry: self.retry,
                reconcile: self.reconcile,
                transport,
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
    /// The request-targets of SOAP and NVP requests: their paths alone, as HTTP/1.1 sends
    /// them to an origin server. The endpoint's scheme and authority pick the connection.
    soap_target: Uri,
    nvp_target: Option<Uri>,
    host_header: HeaderValue,
    authorization: HeaderValue,
    /// Takes this client's secrets out of whatever an answer makes it say.
    scrubber: Scrubber,
    /// Every header of a void in the client's protocol; `None` when the WSDL has no binding
    /// for its SOAP version (each void then reports why).
    void_headers: Option<HeaderMap>,
    protocol: Protocol,
    timeout: Duration,
    retry: RetryPolicy,
    reconcile: RetryPolicy,
    transport: Transport,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("endpoint", &self.inner.endpoint)
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
            user_name: UserName::default(),
            protocol: Protocol::default(),
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            ca_file: None,
            plain_http_on_loopback: false,
            max_idle_connections: DEFAULT_MAX_IDLE,
            nvp_endpoint: None,
            retry: RetryPolicy::none(),
            reconcile: RetryPolicy::before_sending(3, Duration::from_millis(250)),
            timer: None,
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
        let http_request = self.void_http_request(request)?;
        let response = self.exchange(self.void_operation(), http_request).await?;
        self.void_outcome(request, response)
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
    ///
    /// Anything else (a fault, an HTTP error, a lost connection, a refusal without the
    /// payment's status) says nothing about the first attempt, so reconciling goes on; if no
    /// attempt settles it, the first attempt's error is returned, its outcome still unknown. A
    /// first attempt answered "already voided" is an [`Error::AlreadyVoided`]: the payment was
    /// voided before this call.
    pub async fn void_reconciled(&self, request: &VoidRequest) -> Result<VoidConfirmation, Error> {
        let first = match self.void(request).await {
            Ok(receipt) => return Ok(VoidConfirmation::Voided(receipt)),
            Err(error) if error.outcome_unknown() => error,
            Err(error) => return Err(error),
        };
        let policy = self.inner.reconcile;
        for retry in 0..policy.max_retries {
            let attempts = retry + 2;
            tokio::time::sleep(policy.backoff(retry)).await;
            tracing::info!(payment = %request.payment(), attempts, "reconciling a void of unknown outcome");
            match self.void(request).await {
                Ok(receipt) => return Ok(VoidConfirmation::VoidedOnRetry { receipt, attempts }),
                Err(Error::AlreadyVoided(refusal)) if refusal.payment_is_voided() => {
                    return Ok(VoidConfirmation::ConfirmedAlreadyVoided { refusal, attempts });
                }
                // InstaMed looked at the payment and its status says it is not voided.
                Err(error) if error.refusal().is_some_and(Refusal::payment_is_not_voided) => {
                    return Err(error);
                }
                Err(error) => {
                    tracing::debug!(attempts, %error, "no proof about the payment; asking again");
                }
            }
        }
        Err(first)
    }

    /// Calls any operation of the service with its generated request element, and returns its
    /// generated response element. A fault is [`Error::Fault`]; no business rule is applied.
    /// A client set to [`Protocol::Nvp`] makes such calls in SOAP 1.1.
    pub async fn call<O: Operation>(&self, request: &O::Request) -> Result<O::Response, Error> {
        let version = self.soap_version();
        let http_request = self.soap_request::<O>(version, request)?;
        let response = self.exchange(O::NAME, http_request).await?;
        read_reply::<O>(version, response).map_err(|error| self.inner.scrubber.error(error))
    }

    /// Sends a request as it is (the recording proxy's way to the upstream).
    #[cfg(feature = "contract")]
    pub(crate) async fn forward(
        &self,
        request: Request<Bytes>,
    ) -> Result<transport::Response, Error> {
        self.exchange("forward", request).await
    }

    /// The operation name a void goes by in logs and cassettes.
    pub(crate) fn void_operation(&self) -> &'static str {
        match self.inner.protocol {
            Protocol::Nvp => "Void",
            _ => DoCreditCardSecondaryVoid::NAME,
        }
    }

    /// The HTTP request this client sends to void `request`, exactly as it would go on the
    /// wire (with the `Authorization` header, marked sensitive). Building it sends nothing:
    /// contract verification compares it with a recorded one, and benchmarks replay it.
    pub fn void_http_request(&self, request: &VoidRequest) -> Result<Request<Bytes>, Error> {
        let inner = &*self.inner;
        if inner.protocol != Protocol::Nvp {
            let version = self.soap_version();
            let headers = match &inner.void_headers {
                Some(headers) => headers.clone(),
                None => self.headers(SoapHeaders::of::<DoCreditCardSecondaryVoid>(version)?),
            };
            let body = soap::encode::<DoCreditCardSecondaryVoid>(version, &request.to_soap());
            return Ok(post(inner.soap_target.clone(), headers, Bytes::from(body)));
        }
        let Some(uri) = inner.nvp_target.clone() else {
            return Err(config("no NVP endpoint is configured"));
        };
        let headers = match &inner.void_headers {
            Some(headers) => headers.clone(),
            None => self.headers(SoapHeaders::form()),
        };
        Ok(post(uri, headers, Bytes::from(nvp::encode_void(request))))
    }

    /// What a recorded answer to a void means, judged as if this client had just read it: an
    /// answer larger than [`ClientBuilder::max_response_bytes`] (by its body or its declared
    /// `Content-Length`) is refused as the transport refuses it, before anything else.
    #[cfg(feature = "contract")]
    pub(crate) fn recorded_void_outcome(
        &self,
        request: &VoidRequest,
        response: transport::Response,
    ) -> Result<VoidReceipt, Error> {
        let limit = self.inner.transport.max_response_bytes();
        let declared = response
            .headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<u64>().ok());
        if response.body.len() > limit || declared.is_some_and(|length| length > limit as u64) {
            let status = response.status.as_u16();
            let failure = Failure::TooLarge { limit, status };
            return Err(from_failure(failure, self.inner.timeout));
        }
        self.void_outcome(request, response)
    }

    /// What the answer to a void means: the receipt, or why there is none, with this client's
    /// secrets taken out of whatever the answer put in either.
    pub(crate) fn void_outcome(
        &self,
        request: &VoidRequest,
        response: transport::Response,
    ) -> Result<VoidReceipt, Error> {
        let scrubber = &self.inner.scrubber;
        self.judge_void(request, response)
            .map(|receipt| scrubber.receipt(receipt))
            .map_err(|error| scrubber.error(error))
    }

    fn judge_void(
        &self,
        request: &VoidRequest,
        response: transport::Response,
    ) -> Result<VoidReceipt, Error> {
        let protocol = self.inner.protocol;
        let status = response.status.as_u16();
        if protocol == Protocol::Nvp {
            return match read_nvp_reply(response)? {
                NvpReply::Answer(answer) => void::judge(request, answer, protocol),
                NvpReply::Error {
                    code,
                    message,
                    answer,
                } => Err(void::judge_nvp_error(
                    request, code, message, answer, status,
                )),
            };
        }
        let reply = match read_reply::<DoCreditCardSecondaryVoid>(self.soap_version(), response) {
            Ok(reply) => reply,
            Err(Error::Fault(fault)) => {
                return Err(void::judge_fault(
                    request,
                    fault,
                    DoCreditCardSecondaryVoid::NAMESPACE,
                ));
            }
            Err(error) => return Err(error),
        };
        let data =
            reply
                .do_credit_card_secondary_void_result
                .ok_or_else(|| Error::MalformedResponse {
                    status,
                    problem: ResponseProblem::Inconsistent(
                        "the answer has no DoCreditCardSecondaryVoidResult".to_owned(),
                    ),
                })?;
        void::judge(request, data.into(), protocol)
    }

    /// The SOAP version calls are made in (SOAP 1.1 for an NVP client).
    fn soap_version(&self) -> SoapVersion {
        self.inner.protocol.soap_version().unwrap_or_default()
    }

    fn soap_request<O: Operation>(
        &self,
        version: SoapVersion,
        request: &O::Request,
    ) -> Result<Request<Bytes>, Error> {
        let headers = self.headers(SoapHeaders::of::<O>(version)?);
        let body = soap::encode::<O>(version, request);
        Ok(post(
            self.inner.soap_target.clone(),
            headers,
            Bytes::from(body),
        ))
    }

    /// Sends one request and reads its whole answer, logging what may be logged (never a body
    /// or a header value).
    async fn exchange(
        &self,
        operation: &'static str,
        request: Request<Bytes>,
    ) -> Result<transport::Response, Error> {
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
            let result = inner.transport.send(attempt.map(Full::new)).await;
            let elapsed_ms = started.map_or(0.0, |started| started.elapsed().as_secs_f64() * 1e3);
            let error = match result {
                Ok(response) => {
                    let status = response.status.as_u16();
                    tracing::debug!(operation, status, elapsed_ms, "answered");
                    return Ok(response);
                }
                Err(failure) => from_failure(failure, inner.timeout),
            };
            tracing::debug!(operation, elapsed_ms, %error, "failed");
            if !(error.never_sent() && retry < inner.retry.max_retries) {
                return Err(error);
            }
            tokio::time::sleep(inner.retry.backoff(retry)).await;
            retry += 1;
        }
    }

    /// Every header of a request for `operation`.
    fn headers(&self, operation: SoapHeaders) -> HeaderMap {
        request_headers(
            &self.inner.host_header,
            &self.inner.authorization,
            operation,
        )
    }
}

/// The request-target HTTP/1.1 sends to an origin server for `uri`: its path and query alone
/// (RFC 9112, section 3.2.1). The whole URL is for proxies.
fn origin_form(uri: &Uri) -> Uri {
    uri.path_and_query()
        .cloned()
        .map_or_else(|| Uri::from_static("/"), Uri::from)
}

/// A POST of `body` to `uri` with `headers`.
fn post(uri: Uri, headers: HeaderMap, body: Bytes) -> Request<Bytes> {
    let mut request = Request::new(body);
    *request.method_mut() = Method::POST;
    *request.uri_mut() = uri;
    *request.headers_mut() = headers;
    request
}

/// Every header of a request: who it goes to, who sends it, and what it calls.
fn request_headers(
    host: &HeaderValue,
    authorization: &HeaderValue,
    operation: SoapHeaders,
) -> HeaderMap {
    let mut headers = HeaderMap::with_capacity(5);
    headers.insert(HOST, host.clone());
    headers.insert(CONTENT_TYPE, operation.content_type);
    headers.insert(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE));
    headers.insert(AUTHORIZATION, authorization.clone());
    if let Some(action) = operation.soap_action {
        headers.insert(SOAP_ACTION, action);
    }
    headers
}

/// The headers that say which operation a request calls: `Content-Type` (which carries the
/// action in SOAP 1.2, and is the form's for NVP) and, in SOAP 1.1, `SOAPAction`.
#[derive(Debug, Clone)]
struct SoapHeaders {
    content_type: HeaderValue,
    soap_action: Option<HeaderValue>,
}

impl SoapHeaders {
    /// An NVP form post's: no action to name.
    fn form() -> Self {
        Self {
            content_type: HeaderValue::from_static("application/x-www-form-urlencoded"),
            soap_action: None,
        }
    }

    fn of<O: Operation>(version: SoapVersion) -> Result<Self, Error> {
        let action = match version {
            SoapVersion::Soap11 => O::SOAP11_ACTION,
            SoapVersion::Soap12 => O::SOAP12_ACTION,
        }
        .ok_or_else(|| config(format!("the WSDL has no {version} binding for {}", O::NAME)))?;
        let unfit = |e| config_with(format!("soapAction {action:?} cannot go in a header"), e);
        let content_type = HeaderValue::from_str(&version.content_type(action)).map_err(unfit)?;
        let soap_action = match version {
            SoapVersion::Soap11 => {
                Some(HeaderValue::from_str(&format!("\"{action}\"")).map_err(unfit)?)
            }
            SoapVersion::Soap12 => None,
        };
        Ok(Self {
            content_type,
            soap_action,
        })
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

/// Checks what every answer must pass whatever the protocol: credentials accepted, no content
/// coding that was not asked for, a body.
fn check_answer(response: &transport::Response) -> Result<(), Error> {
    let status = response.status.as_u16();
    if matches!(status, 401 | 403) {
        return Err(Error::AuthenticationRefused { status });
    }
    if let Some(coding) = response.headers.get(CONTENT_ENCODING) {
        let coding = String::from_utf8_lossy(coding.as_bytes()).into_owned();
        if !coding.eq_ignore_ascii_case("identity") {
            let problem = ResponseProblem::ContentEncoding(coding);
            return Err(Error::MalformedResponse { status, problem });
        }
    }
    if response.body.is_empty() {
        return Err(if response.status.is_success() {
            Error::MalformedResponse {
                status,
                problem: ResponseProblem::Empty,
            }
        } else {
            Error::HttpStatus {
                status,
                body_excerpt: String::new(),
            }
        });
    }
    Ok(())
}

/// Reads a whole HTTP answer as an NVP reply, or says why it cannot be read.
fn read_nvp_reply(response: transport::Response) -> Result<NvpReply, Error> {
    check_answer(&response)?;
    let status = response.status.as_u16();
    let success = response.status.is_success();
    let malformed = |problem| Error::MalformedResponse { status, problem };
    // NVP.aspx is an ASP.NET page: its media type says nothing, so the body is judged.
    match nvp::decode(&response.body) {
        Ok(reply @ NvpReply::Error { .. }) => Ok(reply),
        Ok(reply) if success => Ok(reply),
        Ok(_) => Err(malformed(ResponseProblem::Inconsistent(format!(
            "an answer came with HTTP {status}"
        )))),
        Err(NvpProblem::NoPairs) if !success => Err(Error::HttpStatus {
            status,
            body_excerpt: excerpt(&response.body),
        }),
        Err(NvpProblem::NoPairs) if response.body.trim_ascii_start().starts_with(b"<") => {
            Err(malformed(ResponseProblem::Html))
        }
        Err(problem) => Err(malformed(ResponseProblem::Inconsistent(
            problem.to_string(),
        ))),
    }
}

/// Reads a whole HTTP answer as operation `O`'s reply, or says why it cannot be read.
fn read_reply<O: Operation>(
    version: SoapVersion,
    response: transport::Response,
) -> Result<O::Response, Error> {
    check_answer(&response)?;
    let status = response.status.as_u16();
    let malformed = |problem| Error::MalformedResponse { status, problem };
    let http_error = |body: &[u8]| Error::HttpStatus {
        status,
        body_excerpt: excerpt(body),
    };
    let success = response.status.is_success();
    let media_type = response
        .headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .map_or("", |value| value.split(';').next().unwrap_or("").trim());
    let is = |name: &str| media_type.eq_ignore_ascii_case(name);
    if !(is("text/xml") || is("application/soap+xml") || is("application/xml")) {
        let problem = if !success {
            return Err(http_error(&response.body));
        } else if is("text/html") {
            ResponseProblem::Html
        } else {
            ResponseProblem::ContentType(media_type.to_ascii_lowercase())
        };
        return Err(malformed(problem));
    }
    match soap::decode::<O>(version, &response.body) {
        Ok(Reply::Response(reply)) if success => Ok(reply),
        Ok(Reply::Response(_)) => Err(malformed(ResponseProblem::Inconsistent(format!(
            "a result came with HTTP {status}"
        )))),
        Ok(Reply::Fault(mut fault)) => {
            fault.http_status = Some(status);
            Err(Error::Fault(Box::new(fault)))
        }
        Err(problem) if success || status == 500 => {
            Err(malformed(ResponseProblem::Envelope(problem)))
        }
        Err(_) => Err(http_error(&response.body)),
    }
}

fn from_failure(failure: Failure, timeout: Duration) -> Error {
    match failure {
        Failure::Connect(source) => Error::Connect { source },
        Failure::Tls(source) => Error::Tls { source },
        Failure::Io { sent, source } => Error::Transport { sent, source },
        Failure::TooLarge { limit, status } => Error::MalformedResponse {
            status,
            problem: ResponseProblem::TooLarge { limit },
        },
        Failure::Timeout { sent } => Error::Timeout {
            after: timeout,
            sent,
        },
    }
}

fn tls_config(ca_file: Option<&PathBuf>) -> Result<rustls::ClientConfig, Error> {
    let mut roots = RootCertStore::empty();
    match ca_file {
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        Some(path) => {
            let unreadable = |e: rustls_pki_types::pem::Error| {
                config_with(
                    format!("cannot read CA certificates from {}", path.display()),
                    e,
                )
            };
            for certificate in CertificateDer::pem_file_iter(path).map_err(unreadable)? {
                roots.add(certificate.map_err(unreadable)?).map_err(|e| {
                    config_with(format!("bad CA certificate in {}", path.display()), e)
                })?;
            }
            if roots.is_empty() {
                return Err(config(format!("no CA certificate in {}", path.display())));
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| config_with("no usable TLS protocol version", e))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config)
}

fn config(reason: impl Into<String>) -> Error {
    Error::InvalidConfig {
        reason: reason.into(),
        source: None,
    }
}

fn config_with(
    reason: impl Into<String>,
    source: impl std::error::Error + Send + Sync + 'static,
) -> Error {
    Error::InvalidConfig {
        reason: reason.into(),
        source: Some(Box::new(source)),
    }
}

/// The NVP address: the one given, or `NVP.aspx` beside `service.asmx`. Same origin only.
fn nvp_endpoint(endpoint: &Uri, given: Option<&str>) -> Result<Option<Uri>, Error> {
    let uri = match given {
        Some(url) => url
            .parse::<Uri>()
            .map_err(|e| config_with(format!("NVP endpoint {url:?} is not a URL"), e))?,
        None => {
            let path = endpoint.path();
            let Some(dir) = path
                .len()
                .checked_sub("service.asmx".len())
                .filter(|&at| path.is_char_boundary(at))
                .filter(|&at| path[at..].eq_ignore_ascii_case("service.asmx"))
                .map(|at| &path[..at])
            else {
                return Ok(None);
            };
            let authority = endpoint.authority().map_or("", |a| a.as_str());
            let scheme = endpoint.scheme_str().unwrap_or("https");
            format!("{scheme}://{authority}{dir}NVP.aspx")
                .parse::<Uri>()
                .map_err(|e| config_with("cannot derive the NVP endpoint", e))?
        }
    };
    if uri.scheme() != endpoint.scheme() || uri.authority() != endpoint.authority() {
        return Err(config(format!(
            "the NVP endpoint {uri} must be on the same scheme, host and port as {endpoint}"
        )));
    }
    Ok(Some(uri))
}

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The start of a body as text, for an error message: 4 KiB, which the scrubber cleans of
/// secrets and then cuts to [`Scrubber::EXCERPT_CHARS`], so that a secret is never cut in half
/// and shown in part.
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(4096)]);
    text.chars()
        .filter(|c| !c.is_control() || *c == ' ')
        .collect()
}
