//! REST: JSON posted to `/rest/payment/…` under the service's base URL, signed with an API key
//! pair. What is guessed about this interface is listed once, in [`crate::rest`]; this type only
//! carries it.
//!
//! An answer is judged as a SOAP result is, by the same mapping
//! ([`crate::void`]'s `verdict`): a 2xx body's statuses; a 4xx body's statuses when it carries
//! them (the simulator's 422 refusal style), and otherwise a rejected request, known to have
//! changed nothing; a 5xx, whatever its body, or a 2xx body that does not read, an unknown
//! outcome.

use bytes::Bytes;
use http::header::{ACCEPT, CONTENT_TYPE, HOST, USER_AGENT};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, Uri};

use super::{Call, USER_AGENT_VALUE, check_answer, config, config_with, excerpt};
use crate::Protocol;
use crate::credentials::ApiKey;
use crate::error::{AnswerProblem, Error};
use crate::refund::{self, RefundReceipt, RefundRequest};
use crate::rest::{self, ErrorAnswer, PaymentAnswer, RefundBody, VoidBody};
use crate::void::{self, VoidAnswer, VoidReceipt, VoidRequest};

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

impl Rest {
    /// REST requests under `base` (an absolute URL; a path in it is kept and the
    /// `/rest/payment/…` paths are appended), signed with `api_key`.
    pub fn new(base: &Uri, api_key: &ApiKey) -> Result<Self, Error> {
        let host = base
            .host()
            .ok_or_else(|| config(format!("base URL {base} has no host")))?;
        let authority = base.authority().map_or(host, |a| a.as_str());
        let host = HeaderValue::from_str(authority)
            .map_err(|e| config_with(format!("bad host {authority:?}"), e))?;
        if base.query().is_some() {
            return Err(config(format!(
                "the REST base URL {base} must not have a query"
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
    pub fn read(&self, answer: &Response<Bytes>) -> Result<VoidAnswer, Error> {
        check_answer(answer)?;
        let status = answer.status().as_u16();
        let body = answer.body();
        let http_error = || Error::HttpStatus {
            status,
            body_excerpt: excerpt(body),
        };
        // A 5xx may come after the change was made, whatever it says: nothing in it is judged.
        if answer.status().is_server_error() {
            return Err(http_error());
        }
        let is_json = answer
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(';').next())
            .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"));
        if answer.status().is_success() {
            if !is_json {
                let problem = if body.trim_ascii_start().starts_with(b"<") {
                    AnswerProblem::Html
                } else {
                    AnswerProblem::ContentType(content_type(answer))
                };
                return Err(Error::malformed(status, problem));
            }
            let payment: PaymentAnswer = serde_json::from_slice(body).map_err(|e| {
                Error::malformed(
                    status,
                    AnswerProblem::Inconsistent(format!(
                        "the JSON answer is not a payment answer ({})",
                        e.classify_name()
                    )),
                )
            })?;
            return Ok(from_payment(payment));
        }
        // A rejected request: its statuses, when it gives any, say which refusal it is.
        let refused = is_json
            .then(|| serde_json::from_slice::<ErrorAnswer>(body).ok())
            .flatten()
            .filter(|error| error.transaction_status.is_some());
        let Some(refused) = refused else {
            return Err(http_error());
        };
        let answer = from_error(refused);
        let completed = answer
            .transaction_status
            .as_deref()
            .is_some_and(|s| s.trim().eq_ignore_ascii_case("C"));
        if completed {
            return Err(Error::malformed(
                status,
                AnswerProblem::Inconsistent(format!("HTTP {status} with TransactionStatus C")),
            ));
        }
        Ok(answer)
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
                "a field is missing or of the wrong type, TransactionStatus is required"
            }
            serde_json::error::Category::Eof => "cut short",
        }
    }
}

fn content_type(answer: &Response<Bytes>) -> String {
    answer
        .headers()
        .get(CONTENT_TYPE)
        .map(|value| String::from_utf8_lossy(value.as_bytes()).to_ascii_lowercase())
        .unwrap_or_default()
}

fn from_payment(answer: PaymentAnswer) -> VoidAnswer {
    VoidAnswer {
        transaction_status: Some(answer.transaction_status.code().to_owned()),
        primary_transaction_status: answer
            .primary_transaction_status
            .map(|s| s.code().to_owned()),
        response_code: answer.response_code,
        response_message: answer.response_message,
        primary_transaction_id: answer.primary_transaction_id,
        transaction_id: answer.transaction_id,
        authorization_number: answer.authorization_number,
        ..VoidAnswer::default()
    }
}

fn from_error(answer: ErrorAnswer) -> VoidAnswer {
    VoidAnswer {
        transaction_status: answer.transaction_status.map(|s| s.code().to_owned()),
        primary_transaction_status: answer
            .primary_transaction_status
            .map(|s| s.code().to_owned()),
        response_code: answer.response_code,
        // The wording that sorts a refusal: the answer's message, or the error's.
        response_message: answer.response_message.or(answer.message),
        primary_transaction_id: answer.primary_transaction_id,
        transaction_id: answer.transaction_id,
        ..VoidAnswer::default()
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
