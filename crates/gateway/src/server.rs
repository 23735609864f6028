//! The gateway's HTTP side: routes, sign-in, the body cap, one log line per request.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming;
use instamed_soap_ledger::Ledger;
use instamed_soap_listener::{Abort, BodyRefused, Handler, Listening, read_body};

use governor::{Quota, RateLimiter};
use tracing::Instrument as _;

use crate::api::Api;
use crate::metrics::Metrics;
use crate::money::Money;
use crate::operations::Operations;
use crate::request_log::Pending;
use crate::{Clients, GatewayConfig, GatewayError, Tls, Upstream};

/// Where InstaMed's contract is served, as InstaMed serves it.
const SOAP_PATH: &str = "/payment/service.asmx";
/// InstaMed's NVP page, beside it.
const NVP_PATH: &str = "/payment/NVP.aspx";
/// The JSON API's root.
const API_PATH: &str = "/v1";
/// Prometheus text.
const METRICS_PATH: &str = "/metrics";
use crate::ops::{OPS_PATH, Ops};

/// The gateway: [`Gateway::start`] serves it.
#[derive(Debug)]
pub struct Gateway;

/// A running gateway: its addresses, and its graceful stop.
#[derive(Debug)]
pub struct Running {
    listening: Listening,
    money: Arc<Money>,
    ops: bool,
}

/// Each client's bucket of requests.
type Limiter = RateLimiter<
    String,
    governor::state::keyed::HashMapStateStore<String>,
    governor::clock::DefaultClock,
>;

struct Service {
    clients: Arc<Clients>,
    money: Arc<Money>,
    api: Api,
    metrics: Arc<Metrics>,
    limiter: Option<Limiter>,
    upstream: Upstream,
    /// The operator pages, when operators are configured.
    ops: Option<Ops>,
    max_body_bytes: usize,
    /// `https` or `http`, and the listener's origin, for the addresses the WSDL names.
    scheme: &'static str,
    origin: std::sync::OnceLock<String>,
}

impl Gateway {
    /// Opens the ledger and starts serving on the current Tokio runtime (multi-threaded: the
    /// ledger's work runs on its blocking threads).
    pub async fn start(config: GatewayConfig) -> Result<Running, GatewayError> {
        let GatewayConfig {
            listen,
            tls,
            upstream,
            ledger,
            operations,
            clients,
            max_body_bytes,
            retry_after,
            limits,
            rate_limit,
            operators,
            reconcile_window,
            lease,
        } = config;
        if clients.is_empty() {
            return Err(GatewayError::NoClients);
        }
        if matches!(tls, Tls::PlainHttp) && !listen.ip().is_loopback() {
            return Err(GatewayError::PlainHttpOffLoopback(listen));
        }
        let metrics = Arc::new(Metrics::new());
        let observer = metrics.clone();
        // Opened once, at start: the only SQLite work done on the runtime's thread.
        let ledger_url = Ledger::is_database_url(&ledger)
            .then(|| ledger.to_str().map(str::to_owned))
            .flatten();
        let ledger = Ledger::open(&ledger)
            .map_err(GatewayError::Ledger)?
            .with_command("gateway")
            .with_lease(lease)
            // An ERP's answer need not wait for its void's verdict to be written: a verdict
            // lost in a crash leaves its entry in flight, which the sweep reconciles.
            .with_verdicts_unawaited()
            .with_commit_observer(Arc::new(move |took, durable| {
                observer.ledger_commit(took, durable);
            }));
        // Beside a shared ledger the operations are shared too: an ERP's retry or its
        // `GET /v1/operations/{id}` may land on any replica.
        let operations = match ledger_url {
            Some(url) => Operations::open_shared(&url, &ledger.path().to_string_lossy()).await,
            None => Operations::open_file(&operations),
        }
        .map_err(GatewayError::Operations)?;
        let money = Arc::new(Money::new(
            ledger,
            upstream.client.clone(),
            retry_after,
            metrics.clone(),
        ));
        let limiter = rate_limit.map(|per_second| {
            let burst = per_second.saturating_mul(std::num::NonZeroU32::MIN.saturating_add(1));
            RateLimiter::hashmap(Quota::per_second(per_second).allow_burst(burst))
        });
        let ops = operators
            .map(|operators| Ops::new(operators, money.clone(), reconcile_window, max_body_bytes))
            .transpose()
            .map_err(|_| GatewayError::Random)?;
        let service = Arc::new(Service {
            clients: Arc::new(clients),
            money: money.clone(),
            api: Api {
                money: money.clone(),
                operations: Arc::new(operations),
                sso: upstream.sso.clone(),
            },
            metrics,
            limiter,
            upstream,
            ops,
            max_body_bytes,
            scheme: if matches!(tls, Tls::PlainHttp) {
                "http"
            } else {
                "https"
            },
            origin: std::sync::OnceLock::new(),
        });
        let serving = service.clone();
        let ops = service.ops.is_some();
        let listening = match tls {
            Tls::Certificate { server, host } => {
                Listening::start_with_certificate(listen, server, host, service, limits).await
            }
            Tls::Generated { ca_out } => {
                Listening::start_with(listen, true, ca_out.as_deref(), &[], service, limits).await
            }
            Tls::PlainHttp => {
                Listening::start_with(listen, false, None, &[], service, limits).await
            }
        }
        .map_err(GatewayError::Listen)?;
        let _ = serving.origin.set(listening.origin());
        money.sweep(lease);
        Ok(Running {
            listening,
            money,
            ops,
        })
    }
}

impl Running {
    /// InstaMed's contract: the URL an ERP puts where InstaMed's was.
    pub fn soap_url(&self) -> String {
        format!("{}{SOAP_PATH}", self.listening.origin())
    }

    /// InstaMed's NVP contract (`NVP.aspx`), for an ERP that speaks NVP.
    pub fn nvp_url(&self) -> String {
        format!("{}{NVP_PATH}", self.listening.origin())
    }

    /// The JSON API's root.
    pub fn api_url(&self) -> String {
        format!("{}{API_PATH}", self.listening.origin())
    }

    /// Whether the operator pages are served (operators are configured).
    pub fn serves_ops(&self) -> bool {
        self.ops
    }

    /// The operator pages (served when operators are configured: [`serves_ops`](Self::serves_ops)).
    pub fn ops_url(&self) -> String {
        format!("{}{OPS_PATH}", self.listening.origin())
    }

    /// Prometheus text.
    pub fn metrics_url(&self) -> String {
        format!("{}{METRICS_PATH}", self.listening.origin())
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.listening.local_addr()
    }

    /// The CA certificate to trust when the gateway made its own ([`Tls::Generated`]).
    pub fn ca_path(&self) -> Option<&Path> {
        self.listening.ca_path()
    }

    /// Stops accepting, lets the requests in flight finish (their verdicts recorded), and
    /// stops the background reconciliations, which leave what they had not settled open in the
    /// ledger for the next start.
    pub async fn stop(mut self) {
        self.listening.stop().await;
        self.money.stop().await;
    }
}

impl Handler for Service {
    async fn handle(&self, request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Abort> {
        let pending = Pending::new(route(request.uri().path()), self.metrics.clone());
        let span = pending.span().clone();
        match self.route(&pending, request).instrument(span).await {
            Ok((response, client, outcome)) => {
                pending.answered(client.as_deref(), response.status().as_u16(), outcome);
                Ok(response)
            }
            Err(abort) => {
                pending.aborted(abort.0);
                Err(abort)
            }
        }
    }
}

/// The route a path belongs to, as logs and metrics name it (never the path itself, which
/// may hold what a client put there).
fn route(path: &str) -> &'static str {
    match path {
        "/health" => "health",
        "/ready" => "ready",
        p if p.eq_ignore_ascii_case(SOAP_PATH) => "soap",
        p if p.eq_ignore_ascii_case(NVP_PATH) => "nvp",
        METRICS_PATH => "metrics",
        p if p == API_PATH || p.starts_with("/v1/") => "api",
        "/openapi.json" => "openapi",
        p if p == OPS_PATH || p.starts_with("/ops/") => "ops",
        _ => "other",
    }
}

type Answered = (Response<Full<Bytes>>, Option<String>, &'static str);

impl Service {
    async fn route(
        &self,
        pending: &Pending,
        request: Request<Incoming>,
    ) -> Result<Answered, Abort> {
        match (pending.route(), request.method()) {
            ("health", &Method::GET | &Method::HEAD) => {
                Ok((text(StatusCode::OK, "ok"), None, "ok"))
            }
            ("ready", &Method::GET | &Method::HEAD) => {
                if self.money.ledger_writable().await {
                    Ok((text(StatusCode::OK, "ready"), None, "ready"))
                } else {
                    Ok((
                        text(
                            StatusCode::SERVICE_UNAVAILABLE,
                            "the ledger cannot be written",
                        ),
                        None,
                        "not_ready",
                    ))
                }
            }
            ("metrics", &Method::GET) => {
                let body = self.metrics.text(self.money.open_outcomes());
                let mut response = Response::new(Full::new(Bytes::from(body)));
                response.headers_mut().insert(
                    header::CONTENT_TYPE,
                    http::HeaderValue::from_static(
                        "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    ),
                );
                Ok((response, None, "ok"))
            }
            ("ops", _) => match &self.ops {
                Some(ops) => ops.answer(request).await,
                None => Ok((text(StatusCode::NOT_FOUND, "not found"), None, "not_found")),
            },
            ("openapi", &Method::GET) => {
                let mut response =
                    Response::new(Full::new(Bytes::from(crate::api::openapi_json())));
                response.headers_mut().insert(
                    header::CONTENT_TYPE,
                    http::HeaderValue::from_static("application/json"),
                );
                Ok((response, None, "ok"))
            }
            ("api", _) => {
                let (parts, body) = request.into_parts();
                let (client, body) =
                    match self.admit_with_body(pending, &parts.headers, body).await? {
                        Ok(admitted) => admitted,
                        Err(turned_away) => return Ok(turned_away),
                    };
                let (response, outcome) = self
                    .api
                    .answer(
                        &client,
                        &parts.method,
                        parts.uri.path(),
                        &parts.headers,
                        body,
                    )
                    .await;
                Ok((response, Some(client), outcome))
            }
            ("soap", &Method::POST) => {
                let (parts, body) = request.into_parts();
                let (client, body) =
                    match self.admit_with_body(pending, &parts.headers, body).await? {
                        Ok(admitted) => admitted,
                        Err(turned_away) => return Ok(turned_away),
                    };
                let (response, outcome) =
                    crate::soap::answer(&self.money, &self.upstream, &client, &parts.headers, body)
                        .await;
                Ok((response, Some(client), outcome))
            }
            ("nvp", &Method::POST | &Method::GET) => {
                let (parts, body) = request.into_parts();
                let client = match self.admit(pending, &parts.headers).await {
                    Ok(client) => client,
                    Err(turned_away) => return Ok(turned_away),
                };
                // An older ERP sends the pairs as a GET query, as NVP.aspx takes them.
                let form = if parts.method == Method::GET {
                    Bytes::copy_from_slice(parts.uri.query().unwrap_or("").as_bytes())
                } else {
                    match read_body(&parts.headers, body, self.max_body_bytes).await? {
                        Ok(body) => body,
                        Err(refusal) => return refused(refusal, client),
                    }
                };
                let (response, outcome) = crate::nvp::answer(
                    &self.money,
                    &self.upstream,
                    &client,
                    &parts.method,
                    &parts.headers,
                    form,
                )
                .await;
                Ok((response, Some(client), outcome))
            }
            ("soap", _) => {
                // A WSDL served is one fetched from InstaMed with the gateway's account: only a
                // client within its rate gets one.
                let client = match self.admit(pending, request.headers()).await {
                    Ok(client) => client,
                    Err(turned_away) => return Ok(turned_away),
                };
                let asks_wsdl = request
                    .uri()
                    .query()
                    .is_some_and(|query| query.eq_ignore_ascii_case("wsdl"));
                if request.method() == Method::GET && asks_wsdl {
                    let address = self.own_address(request.headers());
                    let response = crate::soap::wsdl(&self.upstream, &address).await;
                    return Ok((response, Some(client), "wsdl"));
                }
                Ok((
                    not_allowed("GET, POST", "POST a SOAP envelope"),
                    Some(client),
                    "method_not_allowed",
                ))
            }
            (route, _) => match allowed_methods(route) {
                Some(allowed) => Ok((
                    not_allowed(allowed, "method not allowed"),
                    None,
                    "method_not_allowed",
                )),
                None => Ok((text(StatusCode::NOT_FOUND, "not found"), None, "not_found")),
            },
        }
    }
}

impl Service {
    /// The client a request signs in as, when it is within its rate; else the answer that
    /// turns it away (401 or 429).
    async fn admit(
        &self,
        pending: &Pending,
        headers: &http::HeaderMap,
    ) -> Result<String, Answered> {
        let Some(client) = self.clients.authenticate(headers).await else {
            return Err((unauthorized(), None, "unauthorized"));
        };
        pending.signed_in(&client);
        match self.over_limit(&client) {
            Some(limited) => Err((limited, Some(client), "rate_limited")),
            None => Ok(client),
        }
    }

    /// As [`admit`](Self::admit), with the request's body read (up to the cap).
    async fn admit_with_body(
        &self,
        pending: &Pending,
        headers: &http::HeaderMap,
        body: Incoming,
    ) -> Result<Result<(String, Bytes), Answered>, Abort> {
        let client = match self.admit(pending, headers).await {
            Ok(client) => client,
            Err(turned_away) => return Ok(Err(turned_away)),
        };
        match read_body(headers, body, self.max_body_bytes).await? {
            Ok(body) => Ok(Ok((client, body))),
            Err(refusal) => refused(refusal, client).map(Err),
        }
    }

    /// 429 with `Retry-After` when `client` is over its rate.
    fn over_limit(&self, client: &str) -> Option<Response<Full<Bytes>>> {
        let limiter = self.limiter.as_ref()?;
        let not_until = limiter.check_key(&client.to_owned()).err()?;
        self.metrics.rate_limited(client);
        let wait = not_until.wait_time_from(governor::clock::Clock::now(limiter.clock()));
        let mut response = text(
            StatusCode::TOO_MANY_REQUESTS,
            "over this client's rate of requests: wait Retry-After seconds",
        );
        response.headers_mut().insert(
            header::RETRY_AFTER,
            http::HeaderValue::from(wait.as_secs().max(1)),
        );
        Some(response)
    }

    /// The gateway's `service.asmx` as the client reached it (its `Host`), as ASP.NET writes
    /// the URL a WSDL was fetched from; the listener's own origin without one.
    fn own_address(&self, headers: &http::HeaderMap) -> String {
        let host = headers
            .get(header::HOST)
            .and_then(|value| value.to_str().ok())
            .filter(|host| {
                // A host header is the client's text: only a plain authority is taken.
                host.parse::<http::uri::Authority>().is_ok()
            });
        match host {
            Some(host) => format!("{}://{host}{SOAP_PATH}", self.scheme),
            None => format!(
                "{}{SOAP_PATH}",
                self.origin.get().map_or("", String::as_str)
            ),
        }
    }
}

/// The methods a route of fixed methods takes, for the `Allow` of a 405; `None` for a path
/// the gateway does not serve (the API, the operator pages and `service.asmx` answer every
/// method themselves).
fn allowed_methods(route: &str) -> Option<&'static str> {
    match route {
        "health" | "ready" => Some("GET, HEAD"),
        "metrics" | "openapi" => Some("GET"),
        "nvp" => Some("GET, POST"),
        _ => None,
    }
}

/// The answer to `client`'s body that the listener refused.
fn refused(refusal: BodyRefused, client: String) -> Result<Answered, Abort> {
    let (status, words, outcome) = match refusal {
        BodyRefused::TooLarge => (
            StatusCode::PAYLOAD_TOO_LARGE,
            "request body too large",
            "too_large",
        ),
        BodyRefused::TimedOut => (
            StatusCode::REQUEST_TIMEOUT,
            "request body too slow",
            "timed_out",
        ),
        // A refusal the listener learns later has no answer here yet: the connection goes.
        _ => return Err(Abort("body_unreadable")),
    };
    Ok((text(status, words), Some(client), outcome))
}

fn text(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// 405 with the methods the route takes, in `Allow`.
fn not_allowed(allowed: &'static str, words: &'static str) -> Response<Full<Bytes>> {
    let mut response = text(StatusCode::METHOD_NOT_ALLOWED, words);
    response
        .headers_mut()
        .insert(header::ALLOW, http::HeaderValue::from_static(allowed));
    response
}

/// 401 with a Basic challenge, as IIS answers a request without the right credentials.
fn unauthorized() -> Response<Full<Bytes>> {
    let mut response = text(
        StatusCode::UNAUTHORIZED,
        "sign in with the client's name and secret",
    );
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        http::HeaderValue::from_static("Basic realm=\"instamed-soap gateway\""),
    );
    response
}
