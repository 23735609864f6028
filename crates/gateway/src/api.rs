//! The JSON API for new integrations (`/v1/…`), with `Idempotency-Key` as the IETF httpapi
//! draft defines it, and its OpenAPI 3.1 document (`/openapi.json`) generated from the types
//! and handlers below by utoipa.
//!
//! Outcome names are the ledger's verdicts and the SOAP side's (`docs/gateway.md`): one
//! vocabulary for both faces of the gateway.

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, Method, Response, StatusCode, header};
use http_body_util::Full;
use instamed_soap::rest::Amount;
use instamed_soap::sso::{SsoClient, SsoVoid};
use instamed_soap::{CardPresentStatus, Outlet, RefundRequest, TransactionId, VoidRequest};
use instamed_soap_ledger::Entry;
use serde::{Deserialize, Serialize};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use instamed_soap::outcome::Outcome;

use crate::money::{Money, OrRefundAnswer, RefundAnswer, SsoAnswer, Statuses, VoidAnswer};
use crate::operations::{Begun, Operations};
use crate::request_log;

/// The longest `Idempotency-Key` taken.
const MAX_KEY: usize = 255;

/// A void (`POST /v1/voids`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct VoidBody {
    /// The outlet's merchant ID.
    merchant_id: String,
    /// The outlet's store ID.
    store_id: String,
    /// The outlet's terminal ID.
    terminal_id: String,
    /// The payment's transaction ID.
    payment: String,
    /// How the card was present for the payment (default `PresentManualKey`).
    #[serde(default)]
    card_present_status: Option<String>,
}

/// A simple refund (`POST /v1/refunds`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RefundBody {
    /// The outlet's merchant ID.
    merchant_id: String,
    /// The outlet's store ID.
    store_id: String,
    /// The outlet's terminal ID.
    terminal_id: String,
    /// The payment's transaction ID.
    payment: String,
    /// How much to give back, as decimal text (`12.50`).
    amount: String,
}

/// A void, or a refund of `amount` if InstaMed refuses the void as too late
/// (`POST /v1/voids/{payment}/or-refund`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct OrRefundBody {
    /// The outlet's merchant ID.
    merchant_id: String,
    /// The outlet's store ID.
    store_id: String,
    /// The outlet's terminal ID.
    terminal_id: String,
    /// How much to refund if the void is too late, as decimal text.
    amount: String,
    /// How the card was present for the payment (default `PresentManualKey`).
    #[serde(default)]
    card_present_status: Option<String>,
}

/// A void a person makes on InstaMed's own page (`POST /v1/sso/voids`, Single Sign-On).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SsoVoidBody {
    /// The payment's transaction ID.
    payment: String,
    /// Where the person's browser goes after Void or Cancel.
    #[serde(default)]
    return_url: Option<String>,
    /// The person, as the ERP names them, for InstaMed's records.
    #[serde(default)]
    user_name: Option<String>,
}

/// What became of a void or a refund.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Answer {
    /// The operation's ID (`GET /v1/operations/{id}`).
    operation: String,
    /// What happened, in the house's one vocabulary (`docs/outcomes.md`): `voided`,
    /// `already_voided`, `not_voidable`, `unknown_payment`, `declined`, `refunded`,
    /// `over_refundable`, `refund_window_passed`, `refund_unknown` (a person settles it),
    /// `already_refunded` (all final, 200); `outcome_unknown` (202: ask again after
    /// `retry_after_seconds`); `failed` (503: nothing was carried out, ask again; 400: the
    /// request was rejected as such).
    outcome: String,
    /// For `failed`: `not_sent`, `ledger_unavailable`, `authentication_refused` (InstaMed
    /// refused the gateway's account), `rejected`; for `outcome_unknown`: `void_unsettled` when
    /// a refund waits for a void being reconciled.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    /// The payment.
    payment: String,
    /// `TransactionStatus` InstaMed answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    transaction_status: Option<String>,
    /// `PrimaryTransactionStatus`: the payment's status.
    #[serde(skip_serializing_if = "Option::is_none")]
    primary_transaction_status: Option<String>,
    /// `ResponseCode`.
    #[serde(skip_serializing_if = "Option::is_none")]
    response_code: Option<String>,
    /// `ResponseMessage`, on the answer that carried the operation out only.
    #[serde(skip_serializing_if = "Option::is_none")]
    response_message: Option<String>,
    /// The transaction's ID: the payment's for a void, the refund's own for a refund.
    #[serde(skip_serializing_if = "Option::is_none")]
    transaction_id: Option<String>,
    /// `AuthorizationNumber`, on the answer that carried the operation out only.
    #[serde(skip_serializing_if = "Option::is_none")]
    authorization_number: Option<String>,
    /// When to ask again (202 and 503 answers).
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_after_seconds: Option<u64>,
    /// The ledger entry a person settles (`refund_unknown`), or the refund made (`already_refunded`).
    #[serde(skip_serializing_if = "Option::is_none")]
    ledger_entry: Option<i64>,
    /// Why, in words, for what is not a result.
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
    /// `POST /v1/sso/voids`: the URL to open in the person's browser (it carries the token);
    /// the outcome is then `sent` until the person is done (`GET /v1/operations/{id}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    launch_url: Option<String>,
}

/// A request the API refused before doing anything.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Problem {
    /// `invalid_request`, `idempotency_key_reused`, `idempotency_key_in_flight`,
    /// `not_found`, `operations_unavailable`.
    error: String,
    /// What is wrong.
    detail: String,
}

/// One operation.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct OperationView {
    /// Its ID.
    id: String,
    /// `void`, `refund` or `void_or_refund`.
    kind: String,
    /// The payment.
    payment: String,
    /// `in_flight`, `done`, or `interrupted` (the gateway stopped while it was carried out:
    /// ask again, the ledger answers).
    state: String,
    /// The HTTP status answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    /// The answer given.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    answer: Option<serde_json::Value>,
}

/// Everything the ledger holds about a payment.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PaymentView {
    /// The payment.
    payment: String,
    /// Its entries, oldest first.
    entries: Vec<EntryView>,
}

/// One ledger entry: an intent and, once recorded, its verdict.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EntryView {
    /// The entry's number.
    id: i64,
    /// `void` or `refund`.
    action: String,
    /// The verdict; absent while in flight or when its process died before recording it.
    #[serde(skip_serializing_if = "Option::is_none")]
    verdict: Option<String>,
    /// A refund's amount.
    #[serde(skip_serializing_if = "Option::is_none")]
    amount: Option<String>,
    /// A refund's own transaction ID.
    #[serde(skip_serializing_if = "Option::is_none")]
    refund_id: Option<String>,
    /// The command that wrote it (`gateway`, `instamed-soap void`, …).
    command: String,
    /// When the intent was written (HTTP date).
    started: String,
    /// When the verdict was written.
    #[serde(skip_serializing_if = "Option::is_none")]
    finished: Option<String>,
    /// `TransactionStatus` read.
    #[serde(skip_serializing_if = "Option::is_none")]
    transaction_status: Option<String>,
    /// `PrimaryTransactionStatus` read.
    #[serde(skip_serializing_if = "Option::is_none")]
    primary_transaction_status: Option<String>,
    /// Whether its outcome is open (in flight, lost, unknown).
    open: bool,
    /// Who settled it by hand.
    #[serde(skip_serializing_if = "Option::is_none")]
    settled_by: Option<String>,
}

impl From<&Entry> for EntryView {
    fn from(entry: &Entry) -> Self {
        Self {
            id: entry.id,
            action: entry.action.as_str().to_owned(),
            verdict: entry.verdict.map(|v| v.as_str().to_owned()),
            amount: entry.amount.clone(),
            refund_id: entry.refund_id.clone(),
            // Another client may ask about the payment: who asked stays on the operator pages.
            command: entry.command_alone().to_owned(),
            started: httpdate::fmt_http_date(entry.started),
            finished: entry.finished.map(httpdate::fmt_http_date),
            transaction_status: entry.transaction_status.clone(),
            primary_transaction_status: entry.primary_transaction_status.clone(),
            open: entry.is_open(),
            settled_by: entry.settled_by.clone(),
        }
    }
}

/// Opens InstaMed's void page for a person (Single Sign-On): answers the URL for their
/// browser at once, and an operation that ends when they are done.
#[utoipa::path(
    post,
    path = "/v1/sso/voids",
    request_body = SsoVoidBody,
    params(("Idempotency-Key" = Option<String>, Header,
        description = "The same key and request return the stored answer once the person is done; 409 while they are on the page")),
    responses(
        (status = 200, description = "Answered from the ledger (the payment known voided), or the page's verdict when the person was done before this answer", body = Answer),
        (status = 202, description = "outcome sent: open launch_url in the person's browser, then poll GET /v1/operations/{id}; outcome_unknown: an earlier void is being settled, ask again", body = Answer),
        (status = 400, description = "The request cannot be carried out as it is", body = Problem),
        (status = 404, description = "Single Sign-On is not set up on this gateway", body = Problem),
        (status = 409, description = "The same Idempotency-Key is still in flight", body = Problem),
        (status = 503, description = "No page was launched (InstaMed unreachable or refusing the SSO account, ledger unavailable): ask again", body = Answer),
    ),
    security(("basic" = []))
)]
async fn post_sso_voids(api: &Api, client: &str, headers: &HeaderMap, body: Bytes) -> Reply {
    let Some(sso) = api.sso.clone() else {
        return problem(
            StatusCode::NOT_FOUND,
            "not_found",
            "Single Sign-On is not set up on this gateway",
        );
    };
    let void = match read_sso_void(&body) {
        Ok(void) => void,
        Err(reason) => return problem(StatusCode::BAD_REQUEST, "invalid_request", reason),
    };
    request_log::names_payment(&void.payment);
    let key = match idempotency_key(headers) {
        Ok(key) => key,
        Err(reason) => return problem(StatusCode::BAD_REQUEST, "invalid_request", reason),
    };
    let payment = void.payment.as_str().to_owned();
    let fingerprint = [b"/v1/sso/voids".as_slice(), b"\0", &body].concat();
    // To the end, from the key's operation begun, as every money-moving request: an ERP that
    // hangs up while the token request is out would otherwise drop the launch with its intent
    // written, leaving the entry `sent` in this living process (no page for the payment again,
    // none a person may settle) and the key in flight, answered 409 for as long as the gateway
    // runs.
    let (money, operations) = (api.money.clone(), api.operations.clone());
    let (client, asker) = (client.to_owned(), api.money.asker("api", client));
    crate::money::to_the_end(async move {
        let begun = begin(&operations, &client, key, fingerprint, "sso_void", &payment);
        match begun.await {
            Ok(id) => sso_launch(money, operations, sso, void, id, payment, asker).await,
            Err(reply) => reply,
        }
    })
    .await
    .unwrap_or_else(died)
}

/// Launches operation `id`'s page ([`post_sso_voids`]) and has its wait's answer stored.
async fn sso_launch(
    money: Arc<Money>,
    operations: Arc<Operations>,
    sso: SsoClient,
    void: SsoVoid,
    id: String,
    payment: String,
    asker: String,
) -> Reply {
    let launched = match money.sso_launch(sso.clone(), void, asker).await {
        Ok(launched) => launched,
        Err(answer) => {
            let (status, answer) = void_answer(&money, answer, &id, &payment);
            return finish(&money, &operations, id, status, &answer).await;
        }
    };
    let mut answer = base(&id, (Outcome::Sent.name(), None), &payment).detail(format!(
        "open launch_url in the person's browser; GET /v1/operations/{id} says what they did"
    ));
    answer.launch_url = Some(launched.launch.url().to_owned());
    answer.retry_after_seconds = Some(money.retry_after().as_secs());
    // The operation stays in flight while the person is on the page: its answer is stored
    // when the wait ends, even if this gateway's client has long gone.
    let waiting = id.clone();
    tokio::spawn(async move {
        let verdict = money.sso_wait(sso, launched).await;
        let (status, answer) = sso_answer(&money, verdict, &waiting, &payment);
        finish(&money, &operations, waiting, status, &answer).await;
    });
    let text = serde_json::to_string(&answer).unwrap_or_default();
    (json(StatusCode::ACCEPTED, text), Outcome::Sent.name())
}

/// A Single Sign-On void's body, read.
fn read_sso_void(body: &[u8]) -> Result<SsoVoid, String> {
    let body: SsoVoidBody = serde_json::from_slice(body).map_err(|error| {
        format!(
            "the body is not the JSON expected: {}",
            instamed_soap::sensitive::redact_cards(&error.to_string())
        )
    })?;
    let mut void = SsoVoid::new(TransactionId::new(&body.payment).map_err(invalid)?);
    if let Some(url) = body.return_url {
        void = void.return_url(url);
    }
    if let Some(name) = body.user_name {
        void = void.user_name(name);
    }
    Ok(void)
}

/// Stores operation `id`'s answer (its key kept only for a final one) and says it.
async fn finish(
    money: &Money,
    operations: &Arc<Operations>,
    id: String,
    status: StatusCode,
    answer: &Answer,
) -> Reply {
    let label = Outcome::from_name(&answer.outcome).map_or("failed", Outcome::name);
    money.metrics().verdict(label);
    let text = serde_json::to_string(answer).unwrap_or_default();
    // Only a final answer is replayed for the key: an open one must ask the ledger again.
    let keep = matches!(status, StatusCode::OK | StatusCode::BAD_REQUEST);
    let recorded = operations.finish(&id, status.as_u16(), &text, keep).await;
    if recorded.is_err() {
        tracing::warn!("an operation's answer could not be stored; a repeat asks the ledger again");
    }
    let mut response = json(status, text);
    if let Some(after) = answer.retry_after_seconds {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, http::HeaderValue::from(after));
    }
    (response, label)
}

/// Voids a payment once, however often asked.
#[utoipa::path(
    post,
    path = "/v1/voids",
    request_body = VoidBody,
    params(("Idempotency-Key" = Option<String>, Header,
        description = "The same key and request (path and body) return the stored answer; another body or path 422; while in flight 409")),
    responses(
        (status = 200, description = "Settled: voided, already voided, or refused on InstaMed's statuses", body = Answer),
        (status = 202, description = "The outcome is open and being reconciled: ask again after retry_after_seconds", body = Answer),
        (status = 400, description = "The request cannot be carried out as it is", body = Problem),
        (status = 409, description = "The same Idempotency-Key is still in flight", body = Problem),
        (status = 422, description = "The Idempotency-Key was used with another body", body = Problem),
        (status = 503, description = "Nothing was sent (InstaMed unreachable, ledger unavailable): ask again", body = Answer),
    ),
    security(("basic" = []))
)]
async fn post_voids(api: &Api, client: &str, headers: &HeaderMap, body: Bytes) -> Reply {
    api.post(client, "/v1/voids", headers, body).await
}

/// Refunds an amount of a payment once; never a second refund of the payment.
#[utoipa::path(
    post,
    path = "/v1/refunds",
    request_body = RefundBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "As for /v1/voids")),
    responses(
        (status = 200, description = "Settled: refunded, refused, on hold for a person, or already refunded another amount", body = Answer),
        (status = 202, description = "A void of the payment is being reconciled first", body = Answer),
        (status = 400, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem),
        (status = 503, description = "Nothing was sent", body = Answer),
    ),
    security(("basic" = []))
)]
async fn post_refunds(api: &Api, client: &str, headers: &HeaderMap, body: Bytes) -> Reply {
    api.post(client, "/v1/refunds", headers, body).await
}

/// Voids the payment, or refunds `amount` of it when InstaMed refuses the void as too late.
#[utoipa::path(
    post,
    path = "/v1/voids/{payment}/or-refund",
    request_body = OrRefundBody,
    params(("payment" = String, Path, description = "The payment's transaction ID"),
        ("Idempotency-Key" = Option<String>, Header, description = "As for /v1/voids")),
    responses(
        (status = 200, description = "Settled: voided, refunded instead, or refused", body = Answer),
        (status = 202, body = Answer), (status = 400, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem), (status = 503, body = Answer),
    ),
    security(("basic" = []))
)]
async fn post_void_or_refund(
    api: &Api,
    client: &str,
    path: &str,
    headers: &HeaderMap,
    body: Bytes,
) -> Reply {
    api.post(client, path, headers, body).await
}

/// An operation of the signed-in client, with the answer it got.
#[utoipa::path(
    get,
    path = "/v1/operations/{id}",
    params(("id" = String, Path, description = "The operation's ID")),
    responses((status = 200, body = OperationView), (status = 404, body = Problem)),
    security(("basic" = []))
)]
async fn get_operation(api: &Api, client: &str, path: &str) -> Reply {
    api.get(client, path).await
}

/// Everything the ledger holds about a payment.
#[utoipa::path(
    get,
    path = "/v1/payments/{payment}",
    params(("payment" = String, Path, description = "The payment's transaction ID")),
    responses((status = 200, body = PaymentView), (status = 400, body = Problem)),
    security(("basic" = []))
)]
async fn get_payment(api: &Api, client: &str, path: &str) -> Reply {
    api.get(client, path).await
}

struct BasicAuth;

impl Modify for BasicAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "basic",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Basic).build()),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "instamed-soap gateway",
        description = "Voids and refunds of InstaMed payments, each through the gateway's ledger so that money moves once. Sign in with HTTP Basic as a client of the gateway. Idempotency-Key answers are kept 24 hours after their operation ended; only final answers (200, 400) are replayed."
    ),
    paths(post_voids, post_refunds, post_void_or_refund, post_sso_voids, get_operation, get_payment),
    components(schemas(VoidBody, RefundBody, OrRefundBody, SsoVoidBody, Answer, Problem, OperationView, PaymentView, EntryView)),
    modifiers(&BasicAuth)
)]
struct ApiDoc;

/// The OpenAPI 3.1 document.
pub(crate) fn openapi_json() -> String {
    ApiDoc::openapi()
        .to_pretty_json()
        .unwrap_or_else(|_| "{}".to_owned())
}

/// What the API needs.
pub(crate) struct Api {
    pub money: Arc<Money>,
    pub operations: Arc<Operations>,
    /// InstaMed's Single Sign-On, when the operator set it up.
    pub sso: Option<SsoClient>,
}

type Reply = (Response<Full<Bytes>>, &'static str);

fn json(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}

fn problem(status: StatusCode, error: &str, detail: impl Into<String>) -> Reply {
    let body = serde_json::to_string(&Problem {
        error: error.to_owned(),
        detail: detail.into(),
    })
    .unwrap_or_default();
    (json(status, body), "refused")
}

/// The money-moving request a POST asks for, read and checked.
enum Asked {
    Void(VoidRequest),
    Refund(RefundRequest),
    OrRefund(VoidRequest, Amount),
}

impl Asked {
    fn kind(&self) -> &'static str {
        match self {
            Self::Void(_) => "void",
            Self::Refund(_) => "refund",
            Self::OrRefund(..) => "void_or_refund",
        }
    }

    fn payment(&self) -> &TransactionId {
        match self {
            Self::Void(request) | Self::OrRefund(request, _) => request.payment(),
            Self::Refund(request) => request.payment(),
        }
    }
}

fn invalid(error: impl std::fmt::Display) -> String {
    error.to_string()
}

fn void_request(
    merchant: &str,
    store: &str,
    terminal: &str,
    payment: &str,
    status: Option<&str>,
) -> Result<VoidRequest, String> {
    let outlet = Outlet::new(merchant, store, terminal).map_err(invalid)?;
    let mut request = VoidRequest::new(outlet, TransactionId::new(payment).map_err(invalid)?);
    if let Some(status) = status {
        let status: CardPresentStatus = status.parse().map_err(invalid)?;
        request = request.with_card_present_status(status);
    }
    Ok(request)
}

fn read_asked(path: &str, body: &[u8]) -> Result<Option<Asked>, String> {
    // serde's message may quote a value the client sent: a card number in it is taken out.
    let from_json = |error: serde_json::Error| {
        let said = error.to_string();
        format!(
            "the body is not the JSON expected: {}",
            instamed_soap::sensitive::redact_cards(&said)
        )
    };
    if path == "/v1/voids" {
        let body: VoidBody = serde_json::from_slice(body).map_err(from_json)?;
        return void_request(
            &body.merchant_id,
            &body.store_id,
            &body.terminal_id,
            &body.payment,
            body.card_present_status.as_deref(),
        )
        .map(|request| Some(Asked::Void(request)));
    }
    if path == "/v1/refunds" {
        let body: RefundBody = serde_json::from_slice(body).map_err(from_json)?;
        let outlet =
            Outlet::new(&body.merchant_id, &body.store_id, &body.terminal_id).map_err(invalid)?;
        let amount: Amount = body.amount.parse().map_err(invalid)?;
        let payment = TransactionId::new(&body.payment).map_err(invalid)?;
        return RefundRequest::new(outlet, payment, amount)
            .map(|request| Some(Asked::Refund(request)))
            .map_err(invalid);
    }
    let Some(payment) = path
        .strip_prefix("/v1/voids/")
        .and_then(|rest| rest.strip_suffix("/or-refund"))
    else {
        return Ok(None);
    };
    let body: OrRefundBody = serde_json::from_slice(body).map_err(from_json)?;
    let payment = percent_decoded(payment)?;
    let request = void_request(
        &body.merchant_id,
        &body.store_id,
        &body.terminal_id,
        &payment,
        body.card_present_status.as_deref(),
    )?;
    let amount: Amount = body.amount.parse().map_err(invalid)?;
    RefundRequest::for_void(&request, amount).map_err(invalid)?;
    Ok(Some(Asked::OrRefund(request, amount)))
}

/// A path segment: transaction IDs are hex, so anything escaped is refused rather than
/// decoded by hand.
fn percent_decoded(segment: &str) -> Result<String, String> {
    if segment.contains(['%', '/']) || segment.is_empty() {
        return Err("the payment in the path is not a transaction ID".to_owned());
    }
    Ok(segment.to_owned())
}

/// The `Idempotency-Key`: a Structured Field string (`"…"`) as the draft writes it, or the
/// bare text most clients send.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, String> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let text = value
        .to_str()
        .map_err(|_| "the Idempotency-Key is not visible ASCII".to_owned())?
        .trim();
    let key = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(text);
    if key.is_empty() || key.len() > MAX_KEY {
        return Err(format!(
            "the Idempotency-Key must hold 1 to {MAX_KEY} characters"
        ));
    }
    Ok(Some(key.to_owned()))
}

impl Api {
    /// The answer to a request on `/v1/…` by the signed-in `client`.
    pub(crate) async fn answer(
        &self,
        client: &str,
        method: &Method,
        path: &str,
        headers: &HeaderMap,
        body: Bytes,
    ) -> Reply {
        let or_refund = path.starts_with("/v1/voids/") && path.ends_with("/or-refund");
        match *method {
            Method::POST if path == "/v1/voids" => post_voids(self, client, headers, body).await,
            Method::POST if path == "/v1/refunds" => {
                post_refunds(self, client, headers, body).await
            }
            Method::POST if path == "/v1/sso/voids" => {
                post_sso_voids(self, client, headers, body).await
            }
            Method::POST if or_refund => {
                post_void_or_refund(self, client, path, headers, body).await
            }
            Method::GET if path.starts_with("/v1/operations/") => {
                get_operation(self, client, path).await
            }
            Method::GET if path.starts_with("/v1/payments/") => {
                get_payment(self, client, path).await
            }
            Method::GET | Method::POST => {
                problem(StatusCode::NOT_FOUND, "not_found", "no such resource")
            }
            _ => {
                let (mut response, label) = problem(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "method_not_allowed",
                    "POST to /v1/voids, /v1/refunds, /v1/voids/{payment}/or-refund, /v1/sso/voids; GET operations and payments",
                );
                response
                    .headers_mut()
                    .insert(header::ALLOW, http::HeaderValue::from_static("GET, POST"));
                (response, label)
            }
        }
    }

    async fn get(&self, client: &str, path: &str) -> Reply {
        if let Some(id) = path.strip_prefix("/v1/operations/") {
            let found = self.operations.get(client, id).await;
            return match found {
                Ok(Some(stored)) => {
                    if let Ok(payment) = TransactionId::new(&stored.payment) {
                        request_log::names_payment(&payment);
                    }
                    let view = OperationView {
                        id: path.trim_start_matches("/v1/operations/").to_owned(),
                        kind: stored.kind,
                        payment: stored.payment,
                        state: stored.state,
                        status: stored.status,
                        answer: stored
                            .answer
                            .and_then(|answer| serde_json::from_str(&answer).ok()),
                    };
                    let body = serde_json::to_string(&view).unwrap_or_default();
                    (json(StatusCode::OK, body), "ok")
                }
                Ok(None) => problem(
                    StatusCode::NOT_FOUND,
                    "not_found",
                    "no such operation of this client",
                ),
                _ => problem(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "operations_unavailable",
                    "the operations store cannot be read",
                ),
            };
        }
        if let Some(payment) = path.strip_prefix("/v1/payments/") {
            let payment = match percent_decoded(payment)
                .and_then(|p| TransactionId::new(&p).map_err(invalid))
            {
                Ok(payment) => payment,
                Err(reason) => return problem(StatusCode::BAD_REQUEST, "invalid_request", reason),
            };
            request_log::names_payment(&payment);
            return match self.money.standing(payment.clone()).await {
                Ok(standing) => {
                    let view = PaymentView {
                        payment: payment.as_str().to_owned(),
                        entries: standing.entries.iter().map(EntryView::from).collect(),
                    };
                    let body = serde_json::to_string(&view).unwrap_or_default();
                    (json(StatusCode::OK, body), "ok")
                }
                Err(reason) => problem(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "ledger_unavailable",
                    reason,
                ),
            };
        }
        problem(StatusCode::NOT_FOUND, "not_found", "no such resource")
    }

    async fn post(&self, client: &str, path: &str, headers: &HeaderMap, body: Bytes) -> Reply {
        let asked = match read_asked(path, &body) {
            Ok(Some(asked)) => asked,
            Ok(None) => return problem(StatusCode::NOT_FOUND, "not_found", "no such resource"),
            Err(reason) => return problem(StatusCode::BAD_REQUEST, "invalid_request", reason),
        };
        request_log::names_payment(asked.payment());
        let key = match idempotency_key(headers) {
            Ok(key) => key,
            Err(reason) => return problem(StatusCode::BAD_REQUEST, "invalid_request", reason),
        };
        // The request's fingerprint is its path and its body: an or-refund names its payment in
        // the path only, so one body serves every payment, and a key reused on another payment
        // must be refused, not answered with the first payment's outcome.
        let fingerprint = [path.as_bytes(), b"\0", &body].concat();
        // To the end, from the key's operation begun to its answer stored, even if the client
        // hangs up meanwhile: a key left in flight would answer 409 to every repeat for as
        // long as the gateway runs.
        let (money, operations) = (self.money.clone(), self.operations.clone());
        let (client, asker) = (client.to_owned(), self.money.asker("api", client));
        let carried = crate::money::to_the_end(async move {
            let payment = asked.payment().as_str().to_owned();
            let begun = begin(
                &operations,
                &client,
                key,
                fingerprint,
                asked.kind(),
                &payment,
            );
            match begun.await {
                Ok(id) => carry_out(money, operations, asked, id, asker).await,
                Err(reply) => reply,
            }
        })
        .await;
        carried.unwrap_or_else(died)
    }
}

/// Starts an operation of `client` (under `key`, for a request whose path and body are
/// `fingerprint`), or the answer that ends the request: the stored answer for the same
/// key and request, 422 for another request under the key, 409 while it is in flight.
async fn begin(
    operations: &Operations,
    client: &str,
    key: Option<String>,
    fingerprint: Vec<u8>,
    kind: &'static str,
    payment: &str,
) -> Result<String, Reply> {
    let begun = operations
        .begin(client, key.as_deref(), &fingerprint, kind, payment)
        .await;
    match begun {
        Ok(Begun::New(id)) => Ok(id),
        Ok(Begun::Stored { status, answer }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            Err((json(status, answer), "replayed"))
        }
        Ok(Begun::OtherBody) => Err(problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_key_reused",
            "this Idempotency-Key was used with another request body",
        )),
        Ok(Begun::InFlight) => Err(problem(
            StatusCode::CONFLICT,
            "idempotency_key_in_flight",
            "the request with this Idempotency-Key is still being carried out",
        )),
        _ => Err(problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "operations_unavailable",
            "the operations store cannot be written; nothing was sent",
        )),
    }
}

/// The answer to a request whose task panicked inside the gateway.
fn died() -> Reply {
    problem(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal_error",
        "the request failed inside the gateway; ask again: the ledger answers",
    )
}

/// Carries out operation `id` and stores its answer for its key.
async fn carry_out(
    money: Arc<Money>,
    operations: Arc<Operations>,
    asked: Asked,
    id: String,
    asker: String,
) -> Reply {
    let payment = asked.payment().as_str().to_owned();
    let (status, answer) = match asked {
        Asked::Void(request) => {
            void_answer(&money, money.void(request, asker).await, &id, &payment)
        }
        Asked::Refund(request) => {
            refund_answer(&money, money.refund(request, asker).await, &id, &payment)
        }
        Asked::OrRefund(request, amount) => {
            match money.void_or_refund(request, amount, asker).await {
                OrRefundAnswer::Void(answer) => void_answer(&money, answer, &id, &payment),
                OrRefundAnswer::Refund(answer) => refund_answer(&money, answer, &id, &payment),
            }
        }
    };
    finish(&money, &operations, id, status, &answer).await
}

fn base(id: &str, named: (&'static str, Option<&'static str>), payment: &str) -> Answer {
    Answer {
        operation: id.to_owned(),
        outcome: named.0.to_owned(),
        reason: named.1.map(str::to_owned),
        payment: payment.to_owned(),
        transaction_status: None,
        primary_transaction_status: None,
        response_code: None,
        response_message: None,
        transaction_id: None,
        authorization_number: None,
        retry_after_seconds: None,
        ledger_entry: None,
        detail: None,
        launch_url: None,
    }
}

impl Answer {
    fn with_statuses(mut self, statuses: &Statuses) -> Self {
        let statuses = statuses.clone();
        self.transaction_status = statuses.transaction_status;
        self.primary_transaction_status = statuses.primary_transaction_status;
        self.response_code = statuses.response_code;
        self.response_message = statuses.response_message;
        self.transaction_id = statuses.transaction_id;
        self.authorization_number = statuses.authorization_number;
        self
    }

    fn retry_after(mut self, money: &Money) -> Self {
        self.retry_after_seconds = Some(money.retry_after().as_secs());
        self
    }

    fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }
}

/// A void's answer and its HTTP status: 200 final, 202 open, 503 nothing carried out, 400 a
/// request InstaMed rejected as such.
fn void_answer(money: &Money, answer: VoidAnswer, id: &str, payment: &str) -> (StatusCode, Answer) {
    let named = answer.named();
    let answer_of = || base(id, named, payment);
    match answer {
        VoidAnswer::Voided(statuses) | VoidAnswer::Refused(_, statuses) => {
            (StatusCode::OK, answer_of().with_statuses(&statuses))
        }
        VoidAnswer::Unknown => (StatusCode::ACCEPTED, answer_of().retry_after(money)),
        VoidAnswer::NotSent(reason) | VoidAnswer::Ledger(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            answer_of().retry_after(money).detail(reason),
        ),
        VoidAnswer::CredentialsRefused => (
            StatusCode::SERVICE_UNAVAILABLE,
            answer_of()
                .retry_after(money)
                .detail("InstaMed refused the gateway's own credentials"),
        ),
        VoidAnswer::Rejected(reason) => (StatusCode::BAD_REQUEST, answer_of().detail(reason)),
    }
}

/// A Single Sign-On page's answer: a void's, or nothing done (final, 200).
fn sso_answer(money: &Money, answer: SsoAnswer, id: &str, payment: &str) -> (StatusCode, Answer) {
    match answer {
        SsoAnswer::Void(answer) => void_answer(money, answer, id, payment),
        SsoAnswer::NothingDone(why) => (
            StatusCode::OK,
            base(id, (Outcome::NothingDone.name(), None), payment).detail(why),
        ),
    }
}

/// A refund's answer and its HTTP status, as [`void_answer`].
fn refund_answer(
    money: &Money,
    answer: RefundAnswer,
    id: &str,
    payment: &str,
) -> (StatusCode, Answer) {
    let named = answer.named();
    let answer_of = || base(id, named, payment);
    match answer {
        RefundAnswer::Refunded(statuses) | RefundAnswer::Refused(_, statuses) => {
            (StatusCode::OK, answer_of().with_statuses(&statuses))
        }
        RefundAnswer::OnHold { entry } => {
            let mut answer = answer_of().detail(
                "a refund of this payment may have been made and nobody knows: a person settles it",
            );
            answer.ledger_entry = entry;
            (StatusCode::OK, answer)
        }
        RefundAnswer::AlreadyRefunded { entry, refund_id } => {
            let mut answer = answer_of();
            answer.ledger_entry = Some(entry);
            answer.transaction_id = refund_id;
            (StatusCode::OK, answer)
        }
        RefundAnswer::VoidUnsettled => (StatusCode::ACCEPTED, answer_of().retry_after(money)),
        RefundAnswer::NotSent(reason) | RefundAnswer::Ledger(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            answer_of().retry_after(money).detail(reason),
        ),
        RefundAnswer::CredentialsRefused => (
            StatusCode::SERVICE_UNAVAILABLE,
            answer_of()
                .retry_after(money)
                .detail("InstaMed refused the gateway's own credentials"),
        ),
        RefundAnswer::Rejected(reason) => (StatusCode::BAD_REQUEST, answer_of().detail(reason)),
    }
}
