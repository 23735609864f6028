//! InstaMed's Single Sign-On side (FACTS §8): the login that hands a token out, the void page a
//! person's browser is sent to, the error page, and `SSOService.asmx`, which tells the
//! application what the person did.
//!
//! | path | what |
//! |---|---|
//! | `POST /providers/Form/SSO/SSOLogin` | the login: form fields `accountID`, `ssoAlias`, `securityKey`, `RelayState` (the page), `transactionID` (the payment; the name is a guess), `confirmURL`, `cancelURL`, `requestToken`, `responseActionType`; any case |
//! | `GET /providers/Form/PatientPayments/VoidPaymentSSO?token=…` | the void page: the payment's summary, Void and Cancel |
//! | `POST /providers/Form/PatientPayments/VoidPaymentSSO` | the page's buttons (`token`, `action=void` or `cancel`) |
//! | `GET /providers/Form/SSO/SSOError?respCode=…&respMessage=…` | where a refused login lands |
//! | `POST /providers/Forms/WebServices/SSOService.asmx` | `GetSSOTokenStatus`, `GetTransactionDetails`, `GetTransactionDetailsByTransactionID`, SOAP 1.1 and 1.2; `GET ?WSDL` its WSDL |
//!
//! With `requestToken=true` and `responseActionType=header` (the server-to-server request) the
//! login answers 200 with a `RelayState` header holding the page's URL with `token` and
//! `respCode=000`; otherwise (a browser's form) it redirects there (302). Bad credentials
//! send the same way to `SSOError?respCode=401&respMessage=Invalid AccountID or
//! Password.&lightWeight=true`, as seen from InstaMed. A token is good for
//! [`SimulatorConfig::sso_token_lifetime`](super::SimulatorConfig::sso_token_lifetime) (15
//! minutes) until the person voids or cancels, once.
//!
//! The pages are plain HTML written here, every value escaped, with no script, style or
//! asset of any origin: `Content-Security-Policy: default-src 'none'`, forms sent only to the
//! page itself and the confirm and cancel URLs' origins (a browser applies `form-action` to
//! the redirect that follows too). The token rides in URLs, so answers say `no-store` and
//! `no-referrer`. The page's void goes through the same rules and the same ledger as every
//! other void.

mod pages;
pub(crate) mod service;

use std::borrow::Cow;

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue, LOCATION};
use http::{HeaderMap, Method, StatusCode, Uri};
use hyper::body::Incoming;

use instamed_soap::TransactionId;
use instamed_soap_listener::Abort;

use super::answer::{Label, OperationName};
use super::reply::{HttpResponse, empty};
use super::shared::{Shared, read_body};
use super::soap::request_url;

/// The login (the "SSO URL" an application keeps per account).
pub(crate) const LOGIN_PATH: &str = "/providers/Form/SSO/SSOLogin";
/// Where a refused login lands.
pub(crate) const ERROR_PATH: &str = "/providers/Form/SSO/SSOError";
/// The void page.
pub(crate) const VOID_PAGE: &str = "/providers/Form/PatientPayments/VoidPaymentSSO";
/// The web service.
pub(crate) const SERVICE_PATH: &str = "/providers/Forms/WebServices/SSOService.asmx";

/// The refused login's words, as InstaMed's error page was seen saying them.
const BAD_CREDENTIALS: &str = "Invalid AccountID or Password.";

/// Whether `path` is one of the SSO side's (IIS matches paths in any case).
pub(crate) fn is_sso_path(path: &str) -> bool {
    [LOGIN_PATH, ERROR_PATH, VOID_PAGE, SERVICE_PATH]
        .iter()
        .any(|known| path.eq_ignore_ascii_case(known))
}

/// Answers a request to one of the SSO paths. They sign in with their own fields (the
/// account, alias and security key; a token), never HTTP Basic.
pub(crate) async fn route(
    shared: &Shared,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Incoming,
) -> Result<HttpResponse, Abort> {
    let path = uri.path();
    let query = uri.query().unwrap_or("");
    let form = match *method {
        Method::POST => match read_body(headers, body).await? {
            Ok(body) => body,
            Err(refused) => return Ok(refused),
        },
        Method::GET => Bytes::new(),
        _ => return Ok(pages::method_not_allowed()),
    };
    let answer = if path.eq_ignore_ascii_case(SERVICE_PATH) {
        if *method == Method::GET {
            service::wsdl(&request_url(&shared.engine, headers, SERVICE_PATH), query)
        } else {
            service::answer(shared, headers, &form)
        }
    } else if path.eq_ignore_ascii_case(LOGIN_PATH) && *method == Method::POST {
        OperationName("SSOLogin").mark(login(shared, headers, &form))
    } else if path.eq_ignore_ascii_case(VOID_PAGE) {
        match *method {
            Method::GET => pages::void_page(shared, &field(query.as_bytes(), "token")),
            _ => OperationName("VoidPaymentSSO").mark(pages::void_action(shared, &form)),
        }
    } else if path.eq_ignore_ascii_case(ERROR_PATH) && *method == Method::GET {
        pages::error_page(
            &field(query.as_bytes(), "respCode"),
            &field(query.as_bytes(), "respMessage"),
        )
    } else {
        pages::method_not_allowed()
    };
    Ok(answer)
}

/// The login: checks the account, hands out a token for the page `RelayState` names, and
/// says where the browser goes, in a header or by a redirect.
fn login(shared: &Shared, headers: &HeaderMap, form: &[u8]) -> HttpResponse {
    let get = |name| field(form, name);
    let origin_of = |path: &str| request_url(&shared.engine, headers, path);
    let by_header = get("requestToken").eq_ignore_ascii_case("true")
        && get("responseActionType").eq_ignore_ascii_case("header");
    let account = get("accountID");
    if !shared
        .sso
        .admits(&account, &get("ssoAlias"), &get("securityKey"))
    {
        let target = error_url(&origin_of(ERROR_PATH), "401", BAD_CREDENTIALS);
        return Label("authentication_refused").mark(send_to(&target, by_header));
    }
    let relay = get("RelayState");
    let page = relay
        .parse::<Uri>()
        .ok()
        .filter(|uri| uri.path().eq_ignore_ascii_case(VOID_PAGE));
    if page.is_none() {
        let target = error_url(
            &origin_of(ERROR_PATH),
            "400",
            "RelayState is not a page this account may open.",
        );
        return Label("rejected").mark(send_to(&target, by_header));
    }
    let Ok(payment) = TransactionId::new(get("transactionID").trim()) else {
        let target = error_url(&origin_of(ERROR_PATH), "400", "transactionID is required.");
        return Label("rejected").mark(send_to(&target, by_header));
    };
    let optional = |name| Some(get(name).into_owned()).filter(|url| !url.is_empty());
    let token = shared.sso.issue(
        &account,
        payment,
        optional("confirmURL"),
        optional("cancelURL"),
    );
    let target = format!("{}?token={token}&respCode=000", origin_of(VOID_PAGE));
    Label("token").mark(send_to(&target, by_header))
}

/// `SSOError`'s URL with its code and message.
fn error_url(error_page: &str, code: &str, message: &str) -> String {
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("respCode", code)
        .append_pair("respMessage", message)
        .append_pair("lightWeight", "true")
        .finish();
    format!("{error_page}?{query}")
}

/// Sends the browser to `target`: in a `RelayState` header (200) for a server that asked for
/// the token, by a 302 otherwise.
fn send_to(target: &str, by_header: bool) -> HttpResponse {
    let Ok(value) = HeaderValue::from_str(target) else {
        return pages::error_page("500", "The target URL cannot be sent.");
    };
    let mut response = empty(if by_header {
        StatusCode::OK
    } else {
        StatusCode::FOUND
    });
    let headers = response.headers_mut();
    // Header names travel in lower case; InstaMed's was seen as `RelayState` and `relaystate`.
    let name = if by_header {
        http::HeaderName::from_static("relaystate")
    } else {
        LOCATION
    };
    headers.insert(name, value);
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

/// The value of form or query field `name` (any case), or an empty one.
fn field<'a>(form: &'a [u8], name: &str) -> Cow<'a, str> {
    form_urlencoded::parse(form)
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value)
        .unwrap_or(Cow::Borrowed(""))
}
