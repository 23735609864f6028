//! The call layer: for each protocol, the HTTP request a domain request becomes and what an
//! HTTP answer to it means. Nothing here opens a socket or reads a clock, so contract
//! verification, fuzzing and benchmarks use it as the [`Client`](crate::Client) does, and a test
//! can pin every byte of a request and every verdict of an answer.
//!
//! A protocol is one type ([`Soap`], [`Nvp`], [`Rest`]) implementing [`Call`] for each kind of
//! exchange it carries ([`Exchange`]: a void and a simple refund). [`Wire`] picks the client's protocol in one place.

mod nvp;
mod rest;
mod soap;

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_ENCODING, CONTENT_LENGTH, HOST, USER_AGENT};
use http::{HeaderMap, HeaderValue, Method, Request, Response, Uri};

use crate::credentials::{Credentials, UserName};
use crate::error::{AnswerProblem, Error, config, config_with};
use crate::protocol::Protocol;
use crate::refund::{RefundReceipt, RefundRequest};
use crate::void::{VoidReceipt, VoidRequest};

pub use self::nvp::Nvp;
pub use self::rest::Rest;
pub use self::soap::Soap;

pub(crate) const USER_AGENT_VALUE: &str = concat!("instamed-soap/", env!("CARGO_PKG_VERSION"));

/// A kind of exchange with the service: a domain request and what its success gives back.
pub trait Exchange {
    /// What a successful exchange proves (for a void, a [`VoidReceipt`]).
    type Receipt;
}

impl Exchange for VoidRequest {
    type Receipt = VoidReceipt;
}

impl Exchange for RefundRequest {
    type Receipt = RefundReceipt;
}

/// One protocol's way of carrying exchange `R`: two pure functions and a name for logs.
pub trait Call<R: Exchange> {
    /// The operation's name in logs and cassettes (`DoCreditCardSecondaryVoid`, `Void`).
    fn operation(&self) -> &'static str;

    /// The HTTP request for `request`, exactly as it goes on the wire (origin-form target,
    /// `Host`, `Authorization` marked sensitive).
    fn request(&self, request: &R) -> Result<Request<Bytes>, Error>;

    /// What the whole `answer` to `request` proves: the receipt, or the error that says why
    /// there is none and whether the outcome is known.
    fn judge(&self, request: &R, answer: &Response<Bytes>) -> Result<R::Receipt, Error>;
}

/// Where requests go and who signs them: what every request takes from the configuration.
#[derive(Clone)]
pub struct Route {
    /// The request-target HTTP/1.1 sends to an origin server: the path and query alone
    /// (RFC 9112, section 3.2.1). The endpoint's scheme and authority pick the connection.
    target: Uri,
    host: HeaderValue,
    authorization: HeaderValue,
}

impl std::fmt::Debug for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Route")
            .field("target", &self.target)
            .field("host", &self.host)
            .finish_non_exhaustive()
    }
}

impl Route {
    /// Requests to `endpoint` (an absolute URL), signed with HTTP Basic for `credentials`.
    pub fn new(
        endpoint: &Uri,
        credentials: &Credentials,
        user_name: UserName,
    ) -> Result<Self, Error> {
        let host = endpoint
            .host()
            .ok_or_else(|| config(format!("endpoint {endpoint} has no host")))?;
        let authority = endpoint.authority().map_or(host, |a| a.as_str());
        let host = HeaderValue::from_str(authority)
            .map_err(|e| config_with(format!("bad host {authority:?}"), e))?;
        let authorization = credentials.authorization(user_name).map_err(|e| {
            config_with(
                "the account ID or password cannot go in an HTTP header".to_owned(),
                e,
            )
        })?;
        let target = endpoint
            .path_and_query()
            .cloned()
            .map_or_else(|| Uri::from_static("/"), Uri::from);
        Ok(Self {
            target,
            host,
            authorization,
        })
    }

    /// A POST of `body` along this route, with the content headers given.
    fn post(
        &self,
        content_type: HeaderValue,
        extra: Option<(http::HeaderName, HeaderValue)>,
        body: Bytes,
    ) -> Request<Bytes> {
        self.post_with(self.headers(content_type, extra).0, body)
    }

    /// Every header of a POST along this route with the content headers given, to be made
    /// once and cloned per request: a clone copies the table, where building it hashes and
    /// inserts each name again.
    fn headers(
        &self,
        content_type: HeaderValue,
        extra: Option<(http::HeaderName, HeaderValue)>,
    ) -> PostHeaders {
        // Room to spare in the table, which a clone keeps: hyper looks up `Transfer-Encoding`
        // through `entry`, which grows a full table first.
        let mut headers = HeaderMap::with_capacity(8);
        headers.insert(HOST, self.host.clone());
        headers.insert(http::header::CONTENT_TYPE, content_type);
        headers.insert(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE));
        headers.insert(AUTHORIZATION, self.authorization.clone());
        if let Some((name, value)) = extra {
            headers.insert(name, value);
        }
        // A place for the length, last, where hyper would have added it: each request's
        // length replaces it (see `post_with`).
        headers.insert(CONTENT_LENGTH, HeaderValue::from_static("0"));
        PostHeaders(headers)
    }

    /// A POST of `body` along this route, with `headers` from [`Route::headers`].
    fn post_with(&self, mut headers: HeaderMap, body: Bytes) -> Request<Bytes> {
        // The length as hyper would write it, set here: a cloned map is at its full capacity,
        // and hyper adding the header would grow it (a reallocation per request), where
        // replacing the value of the one already there does not (`insert` would: it makes room
        // first). hyper sends a length it is given, and this one is the body's own.
        let length = HeaderValue::from(body.len() as u64);
        match headers.get_mut(CONTENT_LENGTH) {
            Some(place) => *place = length,
            None => {
                headers.insert(CONTENT_LENGTH, length);
            }
        }
        let mut request = Request::new(body);
        *request.method_mut() = Method::POST;
        *request.uri_mut() = self.target.clone();
        *request.headers_mut() = headers;
        request
    }
}

/// A POST's whole header set, `Authorization` included: its `Debug` names the headers and
/// shows no value, so that the credentials cannot reach a log through it.
#[derive(Clone)]
struct PostHeaders(HeaderMap);

impl std::fmt::Debug for PostHeaders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

/// The client's protocol: one match, so adding a protocol is one new type and one arm here.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Wire {
    /// SOAP 1.1 or 1.2 to `service.asmx`.
    Soap(Soap),
    /// Form-encoded pairs to `NVP.aspx`.
    Nvp(Nvp),
    /// JSON to `/rest/payment/…`.
    Rest(Rest),
}

impl Wire {
    /// The call layer for `protocol`: `soap` routes SOAP requests, `nvp` NVP ones.
    /// A REST call layer is built with [`Wire::Rest`]: it needs an API key pair, not a route.
    pub fn new(protocol: Protocol, soap: Route, nvp: Option<Route>) -> Result<Self, Error> {
        if protocol == Protocol::Rest {
            return Err(config("REST takes an API key pair: build Wire::Rest"));
        }
        match protocol.soap_version() {
            Some(version) => Ok(Self::Soap(Soap::new(version, soap))),
            None => nvp
                .map(|route| Self::Nvp(self::Nvp::new(route)))
                .ok_or_else(|| config("no NVP endpoint is configured")),
        }
    }
}

impl<R: Exchange> Call<R> for Wire
where
    Soap: Call<R>,
    Nvp: Call<R>,
    Rest: Call<R>,
{
    fn operation(&self) -> &'static str {
        match self {
            Self::Soap(soap) => Call::<R>::operation(soap),
            Self::Nvp(nvp) => Call::<R>::operation(nvp),
            Self::Rest(rest) => Call::<R>::operation(rest),
        }
    }

    fn request(&self, request: &R) -> Result<Request<Bytes>, Error> {
        match self {
            Self::Soap(soap) => soap.request(request),
            Self::Nvp(nvp) => nvp.request(request),
            Self::Rest(rest) => rest.request(request),
        }
    }

    fn judge(&self, request: &R, answer: &Response<Bytes>) -> Result<R::Receipt, Error> {
        match self {
            Self::Soap(soap) => soap.judge(request, answer),
            Self::Nvp(nvp) => nvp.judge(request, answer),
            Self::Rest(rest) => rest.judge(request, answer),
        }
    }
}

/// InstaMed's NVP address for a SOAP `endpoint`: `NVP.aspx` beside `service.asmx`. `None` when
/// the endpoint does not end in `service.asmx`.
pub fn nvp_address(endpoint: &Uri) -> Option<Uri> {
    let path = endpoint.path();
    let dir = path
        .len()
        .checked_sub("service.asmx".len())
        .filter(|&at| path.is_char_boundary(at))
        .filter(|&at| path[at..].eq_ignore_ascii_case("service.asmx"))
        .map(|at| &path[..at])?;
    let authority = endpoint.authority().map_or("", |a| a.as_str());
    let scheme = endpoint.scheme_str().unwrap_or("https");
    format!("{scheme}://{authority}{dir}NVP.aspx").parse().ok()
}

/// Checks what every answer must pass whatever the protocol: credentials accepted, not a
/// redirect, no content coding that was not asked for, a body.
fn check_answer(answer: &Response<Bytes>) -> Result<(), Error> {
    let status = answer.status().as_u16();
    if matches!(status, 401 | 403) {
        return Err(Error::AuthenticationRefused { status });
    }
    // A redirect says the request was not carried out here. It is never followed, and its body
    // is never judged: whatever it holds (a proxy may copy any answer into it, statuses
    // included) is not the service's verdict on this request, so a refusal read from it could
    // start a refund.
    if answer.status().is_redirection() || answer.status().is_informational() {
        return Err(Error::HttpStatus {
            status,
            body_excerpt: excerpt(answer.body()),
        });
    }
    if let Some(coding) = answer.headers().get(CONTENT_ENCODING) {
        let coding = String::from_utf8_lossy(coding.as_bytes()).into_owned();
        if !coding.eq_ignore_ascii_case("identity") {
            let problem = AnswerProblem::ContentEncoding(coding);
            return Err(Error::malformed(status, problem));
        }
    }
    if answer.body().is_empty() {
        return Err(if answer.status().is_success() {
            Error::malformed(status, AnswerProblem::Empty)
        } else {
            Error::HttpStatus {
                status,
                body_excerpt: String::new(),
            }
        });
    }
    Ok(())
}

/// How much of a body [`excerpt`] reads.
const EXCERPT_BYTES: usize = 4096;

/// The start of a body as text, for an error message: 4 KiB, which the redactor cleans of
/// secrets and then cuts to its excerpt length, so that a secret is never cut in half and shown
/// in part. Nothing for a body that is not UTF-8 (see `sensitive::utf8_text`).
fn excerpt(body: &[u8]) -> String {
    let cut = body.len() > EXCERPT_BYTES;
    crate::sensitive::utf8_text(&body[..body.len().min(EXCERPT_BYTES)], cut)
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control() || *c == ' ')
        .collect()
}
/// Refuses an answer larger than `limit` bytes, by its body or its declared `Content-Length`,
/// as the transport refuses a live one before anything else reads it: so that an answer read
/// from elsewhere (a recording) is judged exactly as it would have been on the wire.
pub fn within_limit(answer: &Response<Bytes>, limit: usize) -> Result<(), Error> {
    let declared = answer
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if answer.body().len() > limit || declared.is_some_and(|length| length > limit as u64) {
        return Err(Error::malformed(
            answer.status().as_u16(),
            crate::AnswerProblem::TooLarge { limit },
        ));
    }
    Ok(())
}
