//! REST: JSON posted to `/rest/payment/…` under the service's base URL, signed with an API key
//! pair. What is guessed about this interface is listed once, in [`crate::rest`]; this type only
//! carries it.
//!
//! An answer is judged as a SOAP result is, by the same mapping
//! ([`crate::void`]'s `verdict`): a 2xx body's statuses; a 4xx body's statuses when they read
//! strictly as a refusal's (the simulator's 422 refusal style); a 4xx that mentions no status,
//! or a redirect whatever its body, a request not carried out, known to have changed nothing;
//! a 5xx whatever its body, a 2xx body that does not read, or a 4xx that mentions a status it
//! does not give strictly, an unknown outcome.

use bytes::Bytes;
use http::header::{ACCEPT, CONTENT_TYPE, HOST, USER_AGENT};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, Uri};

use super::{Call, USER_AGENT_VALUE, check_answer, excerpt};
use crate::Protocol;
use crate::credentials::ApiKey;
use crate::error::{AnswerProblem, Error, config, config_with};
use crate::refund::{self, RefundReceipt, RefundRequest};
use crate::rest::{
    self, ErrorAnswer, Keys, PaymentAnswer, RefundBody, TransactionStatus, VoidBody,
};
use crate::void::{self, Evidence, VoidReceipt, VoidRequest};

const API_KEY: HeaderName = HeaderName::from_static("api-key");
const API_SECRET: HeaderName = HeaderName::from_static("api-secret");

/// REST requests to one service base URL (`https://connect.instamed.com`).
#[derive(Clone)]
pub struct Rest {
    /// The base URL's path without its trailing `/`, to which `/rest/payment/…` is appended.
    prefix: String,
    host: HeaderValue,
    key: HeaderValue,
    secret: HeaderValue,
}

impl std::fmt::Debug for Rest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rest")
            .field("prefix", &self.prefix)
            .field("host", &self.host)
            .finish_non_exhaustive()
    }
}

/// The last segment of `path` when it names a page of the SOAP or NVP interfaces
/// (`service.asmx`, `NVP.aspx`): a base URL ending in one is a SOAP address given for REST,
/// whose requests would reach a page that answers them with a 401 or a 404, never a verdict.
fn page_of(path: &str) -> Option<&str> {
    let last = path.trim_end_matches('/').rsplit('/').next()?;
    let lower = last.to_ascii_lowercase();
    (lower.ends_with(".asmx") || lower.ends_with(".aspx")).then_some(last)
}

impl Rest {
    /// REST requests under `base` (an absolute URL; a path in it is kept and the
    /// `/rest/payment/…` paths are appended), signed with `api_key`.
    pub fn new(base: &Uri, api_key: &ApiKey) -> Result<Self, Error> {
        let host = base.host().ok_or_else(|| {
            config(format!(
                "base URL {} has no host",
                crate::sensitive::redacted_url(&base.to_string())
            ))
        })?;
        let authority = base.authority().map_or(host, |a| a.as_str());
        let host = HeaderValue::from_str(authority)
            .map_err(|e| config_with(format!("bad host {authority:?}"), e))?;
        if base.query().is_some() {
            return Err(config(format!(
                "the REST base URL {base} must not have a query"
            )));
        }
        if let Some(page) = page_of(base.path()) {
            let origin = crate::sensitive::redacted_url(&format!(
                "{}://{authority}",
                base.scheme_str().unwrap_or("https")
            ));
            return Err(config(format!(
                "the REST interface lives at the base URL {origin}, not at …/{page}: give \
                 {origin} as the endpoint"
            )));
        }
        let (key, secret) = api_key
            .headers()
            .map_err(|e| config_with("the API key or secret cannot go in an HTTP header", e))?;
        Ok(Self {
            prefix: base.path().trim_end_matches('/').to_owned(),
            host,
            key,
            secret,
        })
    }

    /// A POST of `body` as JSON to `path` under the base URL.
    pub fn post_json(
        &self,
        path: &str,
        body: &impl serde::Serialize,
    ) -> Result<Request<Bytes>, Error> {
        let body = serde_json::to_vec(body)
            .map_err(|e| config_with("the request cannot be written as JSON", e))?;
        let target: Uri = format!("{}{path}", self.prefix)
            .parse()
            .map_err(|e| config_with(format!("bad REST path {path:?}"), e))?;
        let mut headers = HeaderMap::with_capacity(7);
        headers.insert(HOST, self.host.clone());
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(rest::JSON));
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        headers.insert(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE));
        headers.insert(API_KEY, self.key.clone());
        headers.insert(API_SECRET, self.secret.clone());
        let mut request = Request::new(Bytes::from(body));
        *request.method_mut() = Method::POST;
        *request.uri_mut() = target;
        *request.headers_mut() = headers;
        Ok(request)
    }

    /// The statuses of a whole HTTP answer, or the error that says why it has none to judge.
    ///
    /// Only two kinds of answer are judged by their JSON: a 2xx, and a 4xx that carries a
    /// refusal's statuses and reads strictly (rows R1 and R2 of `docs/outcomes.md`).
    pub fn read(&self, answer: &Response<Bytes>) -> Result<Evidence, Error> {
        let status = answer.status();
        let code = status.as_u16();
        let body = answer.body();
        let http_error = || Error::HttpStatus {
            status: code,
            body_excerpt: excerpt(body),
        };
        // A redirect never gets past this: see `check_answer`.
        check_answer(answer)?;
        // A 5xx may come after the change was made, whatever it says: nothing in it is judged.
        // A code above 599 is outside HTTP's classes, and nothing says it came before a change.
        if code >= 500 {
            return Err(http_error());
        }
        let is_json = answer
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(';').next())
            .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"));
        if status.is_success() {
            if !is_json {
                let problem = if body.trim_ascii_start().starts_with(b"<") {
                    AnswerProblem::Html
                } else {
                    AnswerProblem::ContentType(content_type(answer))
                };
                return Err(Error::malformed(code, problem));
            }
            let unreadable = |why: String| Error::malformed(code, AnswerProblem::Inconsistent(why));
            if let Some(why) = Keys::scan(body).problem(PaymentAnswer::FIELDS) {
                return Err(unreadable(why));
            }
            let payment: PaymentAnswer = serde_json::from_slice(body).map_err(|e| {
                unreadable(format!(
                    "the JSON answer is not a payment answer ({})",
                    e.classify_name()
                ))
            })?;
            return Ok(from_payment(payment));
        }
        // A rejected request. One that says nothing about a transaction's status changed
        // nothing; one that does is judged only when it reads strictly as a refusal. Any
        // other status it mentions (C, a code nobody documents, a number, a status given
        // twice) may be the service saying the change was made: unknown, never a refusal.
        let keys = Keys::scan(body);
        if !keys.mentions_status() {
            return Err(http_error());
        }
        let unreadable = |why: String| {
            Error::malformed(
                code,
                AnswerProblem::Inconsistent(format!(
                    "HTTP {code} mentions a transaction status but {why}"
                )),
            )
        };
        if !is_json {
            return Err(unreadable(format!(
                "is typed {:?}, not application/json",
                content_type(answer)
            )));
        }
        if let Some(why) = keys.problem(ErrorAnswer::FIELDS) {
            return Err(unreadable(why));
        }
        let refused: ErrorAnswer = serde_json::from_slice(body)
            .map_err(|e| unreadable(format!("is not an error answer ({})", e.classify_name())))?;
        match &refused.transaction_status {
            Some(TransactionStatus::Declined | TransactionStatus::Cancelled) => {}
            Some(TransactionStatus::Completed) => {
                return Err(Error::malformed(
                    code,
                    AnswerProblem::Inconsistent(format!("HTTP {code} with TransactionStatus C")),
                ));
            }
            Some(other) => {
                return Err(unreadable(format!(
                    "its TransactionStatus {} is not a refusal's",
                    shown_code(other)
                )));
            }
            None => return Err(unreadable("gives no TransactionStatus".to_owned())),
        }
        if let Some(primary) = refused
            .primary_transaction_status
            .as_ref()
            .filter(|primary| !primary.is_documented())
        {
            return Err(unreadable(format!(
                "its PrimaryTransactionStatus {} is not a documented status",
                shown_code(primary)
            )));
        }
        Ok(from_error(refused))
    }
}

/// serde_json's error categories by name: its messages may quote the answer's values.
trait ClassifyName {
    fn classify_name(&self) -> &'static str;
}

impl ClassifyName for serde_json::Error {
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "unreadable",
            serde_json::error::Category::Syntax => "not JSON",
            serde_json::error::Category::Data => {
                "a field is missing, repeated or of the wrong type, TransactionStatus is required"
            }
            serde_json::error::Category::Eof => "cut short",
        }
    }
}

/// A status as an error may show it: quoted and cut short, since the answer chose its length.
fn shown_code(status: &TransactionStatus) -> String {
    let cut: String = status.code().chars().take(16).collect();
    format!("{cut:?}")
}

fn content_type(answer: &Response<Bytes>) -> String {
    answer
        .headers()
        .get(CONTENT_TYPE)
        .map(|value| String::from_utf8_lossy(value.as_bytes()).to_ascii_lowercase())
        .unwrap_or_default()
}

fn from_payment(answer: PaymentAnswer) -> Evidence {
    Evidence {
        transaction_status: Some(answer.transaction_status.code().to_owned()),
        primary_transaction_status: answer
            .primary_transaction_status
            .map(|s| s.code().to_owned()),
        response_code: answer.response_code,
        response_message: answer.response_message,
        primary_transaction_id: answer.primary_transaction_id,
        transaction_id: answer.transaction_id,
        authorization_number: answer.authorization_number,
        ..Evidence::default()
    }
}

fn from_error(answer: ErrorAnswer) -> Evidence {
    Evidence {
        transaction_status: answer.transaction_status.map(|s| s.code().to_owned()),
        primary_transaction_status: answer
            .primary_transaction_status
            .map(|s| s.code().to_owned()),
        response_code: answer.response_code,
        // The wording that sorts a refusal: the answer's message, or the error's.
        response_message: answer.response_message.or(answer.message),
        primary_transaction_id: answer.primary_transaction_id,
        transaction_id: answer.transaction_id,
        ..Evidence::default()
    }
}

impl Call<VoidRequest> for Rest {
    fn operation(&self) -> &'static str {
        "rest/payment/void"
    }

    fn request(&self, request: &VoidRequest) -> Result<Request<Bytes>, Error> {
        self.post_json(
            rest::VOID_PATH,
            &VoidBody::new(request.outlet(), request.payment()),
        )
    }

    fn judge(&self, request: &VoidRequest, answer: &Response<Bytes>) -> Result<VoidReceipt, Error> {
        void::judge(request, self.read(answer)?, Protocol::Rest)
    }
}

impl Call<RefundRequest> for Rest {
    fn operation(&self) -> &'static str {
        "rest/payment/refund-simple"
    }

    fn request(&self, request: &RefundRequest) -> Result<Request<Bytes>, Error> {
        let body = RefundBody::new(request.outlet(), request.payment(), request.amount());
        self.post_json(rest::REFUND_PATH, &body)
    }

    fn judge(
        &self,
        request: &RefundRequest,
        answer: &Response<Bytes>,
    ) -> Result<RefundReceipt, Error> {
        refund::judge(request, self.read(answer)?, Protocol::Rest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_soap_or_nvp_page_is_not_a_rest_base() {
        let key = ApiKey::new("key", "secret");
        for page in [
            "/payment/service.asmx",
            "/payment/NVP.aspx",
            "/payment/Service.ASMX/",
        ] {
            let base: Uri = format!("https://h:8443{page}").parse().unwrap();
            let error = Rest::new(&base, &key).unwrap_err().to_string();
            assert!(
                error.contains("lives at the base URL https://h:8443, not at"),
                "{error}"
            );
        }
        for base in ["https://h:8443", "https://h:8443/", "https://h/gateway"] {
            let base: Uri = base.parse().unwrap();
            assert!(Rest::new(&base, &key).is_ok(), "{base}");
        }
    }
}
