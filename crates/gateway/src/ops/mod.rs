//! The operator pages at `/ops`: what waits for a person, one payment's history, and a form to
//! record what a person found in InstaMed's portal (`docs/operators.md`).
//!
//! Server-rendered with askama: templates are checked when the crate compiles, and every value
//! is HTML-escaped unless a template says otherwise (none does), so a note or an ID a hostile
//! hand wrote is shown as text. No script at all, so the pages work without JavaScript and the
//! content-security policy can forbid every script and every other origin. Operators have their
//! own credentials (the operators file, Argon2id as the clients file), never an ERP client's.

mod session;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use askama::Template;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming;
use instamed_soap::TransactionId;
use instamed_soap::sensitive::redact_cards;
use instamed_soap_ledger::{Action, Attention, Entry, LedgerError, Settlement, Waiting};
use instamed_soap_listener::{Abort, BodyRefused, read_body};

use crate::Clients;
use crate::money::Money;
use session::{
    LOGIN_COOKIE, LOGIN_LIFETIME, SESSION_COOKIE, SESSION_LIFETIME, Sessions, cookie_value,
    set_cookie,
};

pub(crate) use session::NoRandom;

/// Where the pages live.
pub(crate) const OPS_PATH: &str = "/ops";

/// The CSRF purpose of the forms of a session, and of the sign-in form.
const FORM: &str = "form";
const LOGIN: &str = "login";

/// The longest note kept: a few sentences.
const MAX_NOTE: usize = 1000;

/// The policy every page is served with: nothing but this origin's style sheet and forms, no
/// script, no frame around it.
const POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
                      frame-ancestors 'none'; base-uri 'none'";

const STYLE: &str = include_str!("style.css");

type Answered = (Response<Full<Bytes>>, Option<String>, &'static str);

/// The operator pages of one gateway.
pub(crate) struct Ops {
    operators: Arc<Clients>,
    sessions: Sessions,
    money: Arc<Money>,
    window: Duration,
    max_body_bytes: usize,
}

/// What every page shows around its content.
struct Chrome {
    operator: Option<String>,
    csrf: String,
}

#[derive(Template)]
#[template(path = "ops/login.html")]
struct LoginPage {
    chrome: Chrome,
    problem: Option<String>,
    name: String,
    csrf: String,
}

struct WaitingRow {
    age: String,
    why: &'static str,
    payment: String,
    amount: String,
    client: String,
    entry: i64,
}

#[derive(Template)]
#[template(path = "ops/list.html")]
struct ListPage {
    chrome: Chrome,
    window: String,
    everything: bool,
    kinds: Vec<(&'static str, &'static str, bool)>,
    rows: Vec<WaitingRow>,
}

struct HistoryRow {
    entry: i64,
    sent: String,
    what: String,
    asked_by: String,
    process: String,
    verdict: String,
    evidence: String,
    settleable: bool,
}

#[derive(Template)]
#[template(path = "ops/payment.html")]
struct PaymentPage {
    chrome: Chrome,
    payment: String,
    notice: Option<String>,
    rows: Vec<HistoryRow>,
}

#[derive(Template)]
#[template(path = "ops/settle.html")]
struct SettlePage {
    chrome: Chrome,
    entry: i64,
    payment: String,
    what: String,
    verdict: String,
    evidence: String,
    is_void: bool,
    problem: Option<String>,
    refund_id: String,
    note: String,
}

#[derive(Template)]
#[template(path = "ops/problem.html")]
struct ProblemPage {
    chrome: Chrome,
    heading: &'static str,
    message: String,
    back: &'static str,
}

impl Ops {
    pub(crate) fn new(
        operators: Clients,
        money: Arc<Money>,
        window: Duration,
        max_body_bytes: usize,
    ) -> Result<Self, NoRandom> {
        Ok(Self {
            operators: Arc::new(operators),
            sessions: Sessions::new()?,
            money,
            window,
            max_body_bytes,
        })
    }

    /// The answer to a request under `/ops`, with the operator signed in (for the log line).
    pub(crate) async fn answer(&self, request: http::Request<Incoming>) -> Result<Answered, Abort> {
        let (parts, body) = request.into_parts();
        let headers = &parts.headers;
        let method = &parts.method;
        let (mut response, operator, outcome) = match (method, parts.uri.path()) {
            (&Method::GET, "/ops/style.css") => {
                let mut response = Response::new(Full::new(Bytes::from_static(STYLE.as_bytes())));
                response.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/css; charset=utf-8"),
                );
                (response, None, "ok")
            }
            (&Method::GET, "/ops/login") => (self.login_form(None, "")?, None, "ok"),
            (&Method::POST, "/ops/login") => {
                let form = match self.form(headers, body).await? {
                    Ok(form) => form,
                    Err(refused) => return Ok(secured(refused)),
                };
                self.login(headers, &form).await?
            }
            _ => {
                let token = cookie_value(headers, SESSION_COOKIE);
                let signed_in = token.as_deref().and_then(|token| {
                    self.sessions
                        .operator(token)
                        .map(|operator| (token.to_owned(), operator))
                });
                let Some((token, operator)) = signed_in else {
                    return Ok(secured(if method == Method::GET {
                        (see_other("/ops/login"), None, "sign_in")
                    } else {
                        (
                            self.problem(
                                None,
                                StatusCode::FORBIDDEN,
                                "Sign in first",
                                "This form needs a signed-in operator.".to_owned(),
                                "/ops/login",
                            ),
                            None,
                            "unauthorized",
                        )
                    }));
                };
                let chrome = Chrome {
                    operator: Some(operator.clone()),
                    csrf: self.sessions.csrf(FORM, &token),
                };
                let answered = self.signed_in(&parts, body, &token, chrome).await?;
                (answered.0, Some(operator), answered.1)
            }
        };
        secure(response.headers_mut());
        Ok((response, operator, outcome))
    }

    async fn signed_in(
        &self,
        parts: &http::request::Parts,
        body: Incoming,
        token: &str,
        chrome: Chrome,
    ) -> Result<(Response<Full<Bytes>>, &'static str), Abort> {
        let (method, query) = (&parts.method, parts.uri.query().unwrap_or(""));
        let segments: Vec<&str> = parts
            .uri
            .path()
            .trim_end_matches('/')
            .split('/')
            .skip(2)
            .collect();
        if method == Method::POST {
            let form = match self.form(&parts.headers, body).await? {
                Ok(form) => form,
                Err((response, _, outcome)) => return Ok((response, outcome)),
            };
            // Every form of a session carries its token: a page of another site cannot post
            // one (it cannot read ours, and SameSite=Strict keeps the cookie from its posts).
            let csrf = form.get("csrf").map_or("", String::as_str);
            if !self.sessions.csrf_ok(FORM, token, csrf) {
                let problem = self.problem(
                    Some(chrome),
                    StatusCode::FORBIDDEN,
                    "The form was refused",
                    "It did not come from a page of this session (or the session changed). \
                     Nothing was recorded: open the page again and resubmit."
                        .to_owned(),
                    OPS_PATH,
                );
                return Ok((problem, "csrf_refused"));
            }
            return match segments.as_slice() {
                ["logout"] => {
                    self.sessions.end(token);
                    let mut response = see_other("/ops/login");
                    add_cookie(
                        &mut response,
                        &set_cookie(SESSION_COOKIE, "", Duration::ZERO),
                    );
                    Ok((response, "signed_out"))
                }
                ["entries", id, "settle"] => Ok(self.settle(chrome, id, &form).await),
                _ => Ok((not_found(chrome, self), "not_found")),
            };
        }
        if method != Method::GET && method != Method::HEAD {
            return Ok((not_found(chrome, self), "not_found"));
        }
        match segments.as_slice() {
            [] => Ok(self.list(chrome, query).await),
            ["payments", payment] => Ok(self.history(chrome, payment, query).await),
            ["entries", id, "settle"] => Ok(self.settle_form(chrome, id).await),
            _ => Ok((not_found(chrome, self), "not_found")),
        }
    }

    /// The sign-in form, tied to a fresh value in its own cookie.
    fn login_form(
        &self,
        problem: Option<&str>,
        name: &str,
    ) -> Result<Response<Full<Bytes>>, Abort> {
        let nonce = self.sessions.token().map_err(|_| Abort("no_random"))?;
        let page = LoginPage {
            chrome: Chrome {
                operator: None,
                csrf: String::new(),
            },
            problem: problem.map(str::to_owned),
            name: name.to_owned(),
            csrf: self.sessions.csrf(LOGIN, &nonce),
        };
        let status = if problem.is_some() {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::OK
        };
        let mut response = html(status, page.render());
        add_cookie(
            &mut response,
            &set_cookie(LOGIN_COOKIE, &nonce, LOGIN_LIFETIME),
        );
        Ok(response)
    }

    async fn login(
        &self,
        headers: &HeaderMap,
        form: &HashMap<String, String>,
    ) -> Result<Answered, Abort> {
        let field = |name: &str| form.get(name).map_or("", String::as_str);
        let nonce = cookie_value(headers, LOGIN_COOKIE).unwrap_or_default();
        if nonce.is_empty() || !self.sessions.csrf_ok(LOGIN, &nonce, field("csrf")) {
            let response = self.login_form(
                Some("The sign-in form expired or did not come from this page: sign in again."),
                "",
            )?;
            return Ok((
                with_status(response, StatusCode::FORBIDDEN),
                None,
                "csrf_refused",
            ));
        }
        let name = field("name").to_owned();
        let verified = self
            .operators
            .verify(name.clone(), field("secret").to_owned())
            .await;
        let Some(operator) = verified else {
            let response = self.login_form(Some("That name and secret do not match."), &name)?;
            return Ok((response, None, "unauthorized"));
        };
        let token = self
            .sessions
            .start(&operator)
            .map_err(|_| Abort("no_random"))?;
        let mut response = see_other(OPS_PATH);
        add_cookie(
            &mut response,
            &set_cookie(SESSION_COOKIE, &token, SESSION_LIFETIME),
        );
        add_cookie(&mut response, &set_cookie(LOGIN_COOKIE, "", Duration::ZERO));
        tracing::info!(operator = %operator, "an operator signed in");
        Ok((response, Some(operator), "signed_in"))
    }

    async fn list(&self, chrome: Chrome, query: &str) -> (Response<Full<Bytes>>, &'static str) {
        let asked = pairs(query.as_bytes())
            .get("kind")
            .cloned()
            .unwrap_or_default();
        let kind = Attention::from_name(&asked);
        let (ledger, window) = (self.money.ledger().clone(), self.window);
        let waiting = blocking(move || ledger.waiting(kind, window)).await;
        let waiting = match waiting {
            Ok(waiting) => waiting,
            Err(reason) => return (self.unavailable(chrome, reason), "ledger_unavailable"),
        };
        let page = ListPage {
            chrome,
            window: spoken(self.window),
            everything: kind.is_none(),
            kinds: Attention::ALL
                .into_iter()
                .map(|choice| (choice.name(), choice.describe(), Some(choice) == kind))
                .collect(),
            rows: waiting.iter().map(waiting_row).collect(),
        };
        (html(StatusCode::OK, page.render()), "ok")
    }

    async fn history(
        &self,
        chrome: Chrome,
        payment: &str,
        query: &str,
    ) -> (Response<Full<Bytes>>, &'static str) {
        let Some(payment) = transaction_id(payment) else {
            return (not_found(chrome, self), "not_found");
        };
        let standing = match self.money.standing(payment.clone()).await {
            Ok(standing) => standing,
            Err(reason) => {
                return (self.unavailable(chrome, Some(reason)), "ledger_unavailable");
            }
        };
        let notice = pairs(query.as_bytes())
            .get("settled")
            .and_then(|id| id.parse::<i64>().ok())
            .map(|id| format!("Entry {id} is settled by hand: the next request gets that answer."));
        let page = PaymentPage {
            chrome,
            payment: payment.as_str().to_owned(),
            notice,
            rows: standing.entries.iter().map(history_row).collect(),
        };
        (html(StatusCode::OK, page.render()), "ok")
    }

    async fn settle_form(&self, chrome: Chrome, id: &str) -> (Response<Full<Bytes>>, &'static str) {
        match self.settleable(id).await {
            Ok(entry) => {
                let page = settle_page(chrome, &entry, None, "", "");
                (html(StatusCode::OK, page.render()), "ok")
            }
            Err(refused) => (refused(chrome, self), "not_settleable"),
        }
    }

    async fn settle(
        &self,
        chrome: Chrome,
        id: &str,
        form: &HashMap<String, String>,
    ) -> (Response<Full<Bytes>>, &'static str) {
        let entry = match self.settleable(id).await {
            Ok(entry) => entry,
            Err(refused) => return (refused(chrome, self), "not_settleable"),
        };
        let field = |name: &str| form.get(name).map_or("", |value| value.trim());
        let (note, refund_id) = (field("note"), field("refund_id"));
        let found = match (field("found"), entry.action) {
            ("voided", Action::Void) => Ok(Settlement::Voided),
            ("refunded", Action::Refund) if refund_id.is_empty() => {
                Err("Give the refund's transaction ID as the portal shows it.")
            }
            ("refunded", Action::Refund) if !plain_id(refund_id) => {
                Err("A transaction ID is letters and digits only.")
            }
            // Kept in the ledger and repeated to the ERP: a card number typed here by mistake
            // must go nowhere.
            ("refunded", Action::Refund) if redact_cards(refund_id) != refund_id => {
                Err("That looks like a card number, not a transaction ID.")
            }
            ("refunded", Action::Refund) => Ok(Settlement::Refunded(refund_id.to_owned())),
            ("nothing", _) => Ok(Settlement::NothingHappened),
            _ => Err("Choose what the portal shows."),
        };
        let found = match (found, note.is_empty(), note.chars().count() > MAX_NOTE) {
            (Err(problem), _, _) => Err(problem),
            (Ok(_), true, _) => Err("Say why: what you saw in the portal, and where."),
            (Ok(_), _, true) => Err("The note is too long: a few sentences at most."),
            (Ok(found), false, false) => Ok(found),
        };
        let found = match found {
            Ok(found) => found,
            Err(problem) => {
                // Shown again for a second try, but never a card number typed by mistake.
                let (refund_id, note) = (redact_cards(refund_id), redact_cards(note));
                let page = settle_page(chrome, &entry, Some(problem), &refund_id, &note);
                return (html(StatusCode::BAD_REQUEST, page.render()), "invalid");
            }
        };
        let operator = chrome.operator.clone().unwrap_or_default();
        let (ledger, note_kept) = (self.money.ledger().clone(), note.to_owned());
        let by = operator.clone();
        let settled = blocking(move || ledger.settle(entry.id, &found, &by, &note_kept)).await;
        match settled {
            Ok(Some(settled)) => {
                tracing::info!(
                    operator = %operator,
                    entry = settled.id,
                    verdict = settled.verdict.map_or("", |verdict| verdict.as_str()),
                    "a ledger entry settled by hand"
                );
                let to = format!("/ops/payments/{}?settled={}", settled.payment, settled.id);
                (see_other(&to), "settled")
            }
            Ok(None) => {
                let problem = self.problem(
                    Some(chrome),
                    StatusCode::CONFLICT,
                    "Not settled",
                    "The entry changed meanwhile (its answer came, or someone settled it): \
                     nothing was recorded. Look at the payment again."
                        .to_owned(),
                    OPS_PATH,
                );
                (problem, "not_settleable")
            }
            Err(reason) => (self.unavailable(chrome, reason), "ledger_unavailable"),
        }
    }

    /// Entry `id`, if a person may settle it; else the page that says why not.
    async fn settleable(&self, id: &str) -> Result<Entry, Refused> {
        let Ok(id) = id.parse::<i64>() else {
            return Err(Box::new(not_found));
        };
        let ledger = self.money.ledger().clone();
        match blocking(move || ledger.entry(id)).await {
            Ok(Some(entry)) if entry.settleable() => Ok(entry),
            Ok(Some(entry)) => Err(Box::new(move |chrome, ops: &Ops| {
                ops.problem(
                    Some(chrome),
                    StatusCode::CONFLICT,
                    "Nothing to settle",
                    format!(
                        "Entry {} is not waiting for a person: {}.",
                        entry.id,
                        entry
                            .verdict
                            .map_or("in flight", |verdict| verdict.as_str())
                    ),
                    OPS_PATH,
                )
            })),
            Ok(None) => Err(Box::new(not_found)),
            Err(reason) => Err(Box::new(move |chrome, ops: &Ops| {
                ops.unavailable(chrome, reason)
            })),
        }
    }

    /// A form's fields, or the answer to a body that could not be read.
    async fn form(
        &self,
        headers: &HeaderMap,
        body: Incoming,
    ) -> Result<Result<HashMap<String, String>, Answered>, Abort> {
        match read_body(headers, body, self.max_body_bytes).await? {
            Ok(body) => Ok(Ok(pairs(&body))),
            Err(BodyRefused::TooLarge) => Ok(Err((
                plain(StatusCode::PAYLOAD_TOO_LARGE, "request body too large"),
                None,
                "too_large",
            ))),
            Err(_) => Ok(Err((
                plain(StatusCode::REQUEST_TIMEOUT, "request body too slow"),
                None,
                "timed_out",
            ))),
        }
    }

    fn problem(
        &self,
        chrome: Option<Chrome>,
        status: StatusCode,
        heading: &'static str,
        message: String,
        back: &'static str,
    ) -> Response<Full<Bytes>> {
        let page = ProblemPage {
            chrome: chrome.unwrap_or(Chrome {
                operator: None,
                csrf: String::new(),
            }),
            heading,
            message,
            back,
        };
        html(status, page.render())
    }

    fn unavailable(&self, chrome: Chrome, reason: Option<String>) -> Response<Full<Bytes>> {
        if let Some(reason) = &reason {
            tracing::warn!(reason = %reason, "the operator page could not use the ledger");
        }
        self.problem(
            Some(chrome),
            StatusCode::SERVICE_UNAVAILABLE,
            "The ledger cannot be used now",
            "Nothing was recorded. Try again in a moment; the gateway's log says why.".to_owned(),
            OPS_PATH,
        )
    }
}

/// The page that says why an entry cannot be settled, made once the page's chrome is known.
type Refused = Box<dyn FnOnce(Chrome, &Ops) -> Response<Full<Bytes>> + Send>;

fn not_found(chrome: Chrome, ops: &Ops) -> Response<Full<Bytes>> {
    ops.problem(
        Some(chrome),
        StatusCode::NOT_FOUND,
        "Not found",
        "There is no such page, payment or entry.".to_owned(),
        OPS_PATH,
    )
}

fn waiting_row(waiting: &Waiting) -> WaitingRow {
    let entry = &waiting.entry;
    WaitingRow {
        age: spoken(waiting.age),
        why: waiting.attention.describe(),
        payment: entry.payment.clone(),
        amount: entry.amount.clone().unwrap_or_else(|| "—".to_owned()),
        client: entry.client().unwrap_or(&entry.command).to_owned(),
        entry: entry.id,
    }
}

fn history_row(entry: &Entry) -> HistoryRow {
    HistoryRow {
        entry: entry.id,
        sent: httpdate::fmt_http_date(entry.started),
        what: what(entry),
        asked_by: match (entry.client(), entry.via()) {
            (Some(client), Some(via)) => format!("{client} ({via})"),
            _ => entry.command.clone(),
        },
        process: format!("process {}", entry.pid),
        verdict: entry.verdict.map_or_else(
            || "no answer recorded (in flight, or its process died)".to_owned(),
            |verdict| verdict.as_str().to_owned(),
        ),
        evidence: entry.evidence(),
        settleable: entry.settleable(),
    }
}

fn settle_page(
    chrome: Chrome,
    entry: &Entry,
    problem: Option<&str>,
    refund_id: &str,
    note: &str,
) -> SettlePage {
    SettlePage {
        chrome,
        entry: entry.id,
        payment: entry.payment.clone(),
        what: what(entry),
        verdict: entry
            .verdict
            .map_or("no answer recorded", |verdict| verdict.as_str())
            .to_owned(),
        evidence: entry.evidence(),
        is_void: entry.action == Action::Void,
        problem: problem.map(str::to_owned),
        refund_id: refund_id.to_owned(),
        note: note.to_owned(),
    }
}

/// What an entry set out to do, in words.
fn what(entry: &Entry) -> String {
    match (entry.action, &entry.amount) {
        (Action::Refund, Some(amount)) => format!("refund of {amount}"),
        (Action::Refund, None) => "refund".to_owned(),
        _ => "void".to_owned(),
    }
}

/// A payment's ID from a path segment, if it is one.
fn transaction_id(segment: &str) -> Option<TransactionId> {
    let decoded = percent_decoded(segment)?;
    plain_id(&decoded)
        .then(|| TransactionId::new(decoded).ok())
        .flatten()
}

/// Whether `id` looks like InstaMed's transaction IDs: letters, digits and dashes, not long.
fn plain_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

fn percent_decoded(segment: &str) -> Option<String> {
    let pairs = format!("v={segment}");
    form_urlencoded::parse(pairs.as_bytes())
        .next()
        .map(|(_, value)| value.into_owned())
}

/// A form's or a query's fields; the first of a name given twice.
fn pairs(body: &[u8]) -> HashMap<String, String> {
    let mut fields = HashMap::new();
    for (name, value) in form_urlencoded::parse(body) {
        fields
            .entry(name.into_owned())
            .or_insert_with(|| value.into_owned());
    }
    fields
}

/// A duration as a person says it: "42 s", "5 min", "3 h 10 min", "2 d 4 h".
fn spoken(duration: Duration) -> String {
    let seconds = duration.as_secs();
    match seconds {
        0..60 => format!("{seconds} s"),
        60..3600 => format!("{} min", seconds / 60),
        3600..86_400 => format!("{} h {} min", seconds / 3600, seconds % 3600 / 60),
        _ => format!("{} d {} h", seconds / 86_400, seconds % 86_400 / 3600),
    }
}

/// Runs ledger work on a blocking thread: `Err(Some(why))` when it failed, `Err(None)` when its
/// thread did.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, LedgerError> + Send + 'static,
) -> Result<T, Option<String>> {
    match tokio::task::spawn_blocking(work).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(Some(crate::money::chain(&error))),
        Err(_) => Err(None),
    }
}

fn html(status: StatusCode, rendered: askama::Result<String>) -> Response<Full<Bytes>> {
    let Ok(text) = rendered else {
        return plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the page could not be made",
        );
    };
    let mut response = Response::new(Full::new(Bytes::from(text)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

fn plain(status: StatusCode, text: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

fn with_status(mut response: Response<Full<Bytes>>, status: StatusCode) -> Response<Full<Bytes>> {
    *response.status_mut() = status;
    response
}

/// 303: after a form, the browser fetches the next page with a GET.
fn see_other(to: &str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::SEE_OTHER;
    if let Ok(location) = HeaderValue::from_str(to) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

fn add_cookie(response: &mut Response<Full<Bytes>>, cookie: &str) {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

fn secured(mut answered: Answered) -> Answered {
    secure(answered.0.headers_mut());
    answered
}

/// The headers every answer under `/ops` carries: the policy, no framing, no sniffing, no
/// referrer, and nothing kept in a cache (a page of payments stays on the server).
fn secure(headers: &mut HeaderMap) {
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(POLICY),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}
