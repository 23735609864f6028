//! The pages a person sees: the void page, what it did, and the SSO error page.

use std::time::SystemTime;

use http::header::{CACHE_CONTROL, HeaderValue, LOCATION};
use http::{StatusCode, Uri};

use instamed_soap::soap::escaped;

use super::super::answer::Label;
use super::super::engine::Fields;
use super::super::ledger::{Payment, PaymentStatus};
use super::super::reply::{HTML, HttpResponse, reply};
use super::super::shared::Shared;
use super::super::tokens::{PageResult, Status, Token};
use super::{VOID_PAGE, field};

/// Answers a method the page does not take.
pub(super) fn method_not_allowed() -> HttpResponse {
    let mut response = html(
        StatusCode::METHOD_NOT_ALLOWED,
        "Method Not Allowed",
        "<p>This page takes GET and POST only.</p>",
        &[],
    );
    response
        .headers_mut()
        .insert(http::header::ALLOW, HeaderValue::from_static("GET, POST"));
    response
}

/// `SSOError`: the code and message the login sent the browser with.
pub(super) fn error_page(code: &str, message: &str) -> HttpResponse {
    let body = format!(
        "<p id=\"respCode\">Error {}</p><p id=\"respMessage\">{}</p>",
        escaped(code),
        escaped(message)
    );
    html(StatusCode::OK, "Single Sign-On Error", &body, &[])
}

/// `GET` the void page: the payment's summary and the buttons, while the token is good.
pub(super) fn void_page(shared: &Shared, token_id: &str) -> HttpResponse {
    let Some((token, status)) = shared.sso.get(token_id) else {
        return refused_token(None);
    };
    if status != Status::New {
        return refused_token(Some(status));
    }
    let payment = shared.engine.ledger.payment(&token.payment);
    let summary = summary(&token, payment.as_ref());
    let body = format!(
        "{summary}<form method=\"post\" action=\"{VOID_PAGE}\">\
         <input type=\"hidden\" name=\"token\" value=\"{}\">\
         <button type=\"submit\" name=\"action\" value=\"void\" id=\"void\">Void</button> \
         <button type=\"submit\" name=\"action\" value=\"cancel\" id=\"cancel\">Cancel</button>\
         </form>",
        escaped(token_id)
    );
    html(StatusCode::OK, "Void Payment", &body, &form_targets(&token))
}

/// `POST` the void page: Void voids the payment by the service's rules, on its one ledger;
/// Cancel does nothing. Either way the token is complete, once, and the browser goes to the
/// confirm or cancel URL when the login gave one, or sees what happened.
pub(super) fn void_action(shared: &Shared, form: &[u8]) -> HttpResponse {
    let token_id = field(form, "token");
    let wants_void = field(form, "action").eq_ignore_ascii_case("void");
    let acted = shared.sso.act_on(&token_id, |token| {
        if wants_void {
            let result = void(shared, token);
            (result, ())
        } else {
            let result = PageResult {
                response_code: None,
                response_message: None,
                label: "cancelled",
            };
            (result, ())
        }
    });
    let token = match acted {
        Ok((token, ())) => token,
        Err(status) => return refused_token(status),
    };
    let super::super::tokens::State::Complete(result) = &token.state else {
        return refused_token(None);
    };
    let label = Label(result.label);
    let next = if wants_void {
        token.confirm_url.as_deref()
    } else {
        token.cancel_url.as_deref()
    };
    if let Some(value) = next.and_then(|url| HeaderValue::from_str(url).ok()) {
        let mut response = reply(StatusCode::SEE_OTHER, HTML, "");
        response.headers_mut().insert(LOCATION, value);
        response
            .headers_mut()
            .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        return label.mark(response);
    }
    let words = match (result.label, result.response_message.as_deref()) {
        ("cancelled", _) => "Cancelled: the payment was left as it was.".to_owned(),
        (_, Some(message)) => message.to_owned(),
        (_, None) => "An unexpected error occurred.".to_owned(),
    };
    let body = format!("<p id=\"result\">{}</p>", escaped(&words));
    label.mark(html(StatusCode::OK, "Void Payment", &body, &[]))
}

/// The page's void: the service's own rules, on the ledger every protocol shares.
fn void(shared: &Shared, token: &Token) -> PageResult {
    let Some(payment) = shared.engine.ledger.payment(&token.payment) else {
        return PageResult {
            response_code: Some("012"),
            response_message: Some("Transaction not found".to_owned()),
            label: "unknown_transaction",
        };
    };
    let fields = Fields {
        merchant_id: Some(payment.outlet.merchant_id()),
        store_id: Some(payment.outlet.store_id()),
        terminal_id: Some(payment.outlet.terminal_id()),
        primary_transaction_id: Some(payment.id.as_str()),
        ..Fields::default()
    };
    match shared.engine.void(&fields) {
        Ok(decision) => PageResult {
            response_code: decision.fields.response_code,
            response_message: decision.fields.response_message.map(|m| m.into_owned()),
            label: decision.label.0,
        },
        // The ledger could not record it: nothing changed, as the details will show.
        Err(_) => PageResult {
            response_code: None,
            response_message: None,
            label: "fault",
        },
    }
}

/// The payment's summary, as InstaMed's page shows it.
fn summary(token: &Token, payment: Option<&Payment>) -> String {
    let Some(payment) = payment else {
        return format!(
            "<p id=\"missing\">Transaction {} was not found.</p>",
            escaped(token.payment.as_str())
        );
    };
    let status = match (payment.status, payment.transfer_started) {
        (PaymentStatus::Voided, _) => "Voided",
        (_, true) => "Settled",
        _ => "Captured",
    };
    let age = SystemTime::now()
        .duration_since(payment.created_at)
        .map_or(0, |age| age.as_secs() / 60);
    let rows = [
        ("Transaction ID", payment.id.as_str().to_owned()),
        ("Amount", format!("${}", payment.amount)),
        ("Status", status.to_owned()),
        ("Merchant ID", payment.outlet.merchant_id().to_owned()),
        ("Store ID", payment.outlet.store_id().to_owned()),
        ("Terminal ID", payment.outlet.terminal_id().to_owned()),
        ("Taken", format!("{age} minutes ago")),
    ];
    let mut table = String::from("<table id=\"summary\">");
    for (name, value) in rows {
        table.push_str(&format!(
            "<tr><th>{}</th><td>{}</td></tr>",
            escaped(name),
            escaped(&value)
        ));
    }
    table.push_str("</table>");
    table
}

/// The page for a token that is unknown, expired or already used.
fn refused_token(status: Option<Status>) -> HttpResponse {
    let words = match status {
        Some(Status::Expired) => "This session has expired. Please start again.",
        Some(Status::Complete) => "This session is over.",
        _ => "This session is not valid.",
    };
    let body = format!("<p id=\"refused\">{words}</p>");
    Label("refused_token").mark(html(StatusCode::UNAUTHORIZED, "Void Payment", &body, &[]))
}

/// The origins, beside the page's own, a form on the page may be sent to: the confirm and
/// cancel URLs' (a browser checks `form-action` against the redirect a form's answer makes).
fn form_targets(token: &Token) -> Vec<String> {
    [token.confirm_url.as_deref(), token.cancel_url.as_deref()]
        .into_iter()
        .flatten()
        .filter_map(|url| {
            let uri = url.parse::<Uri>().ok()?;
            let scheme = uri.scheme_str()?;
            let authority = uri.authority()?;
            // Only characters a CSP source may hold; anything else is left out.
            let origin = format!("{scheme}://{authority}");
            origin
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b":/.-[]".contains(&b))
                .then_some(origin)
        })
        .collect()
}

/// A page: plain HTML, every value escaped by the caller, no script, style or asset, and the
/// headers that keep it so.
fn html(status: StatusCode, title: &str, body: &str, form_targets: &[String]) -> HttpResponse {
    let page = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title} - \
         InstaMed</title></head><body><h1>InstaMed</h1><h2>{title}</h2>{body}</body></html>",
        title = escaped(title)
    );
    let mut response = reply(status, HTML, page);
    let mut targets = String::from("'self'");
    for origin in form_targets {
        targets.push(' ');
        targets.push_str(origin);
    }
    let policy = format!("default-src 'none'; form-action {targets}; base-uri 'none'");
    let headers = response.headers_mut();
    // The origins were checked to hold only header-safe characters; the strictest policy
    // stands in all the same should one not.
    let policy = HeaderValue::from_str(&policy).unwrap_or(HeaderValue::from_static(
        "default-src 'none'; form-action 'self'; base-uri 'none'",
    ));
    headers.insert(http::header::CONTENT_SECURITY_POLICY, policy);
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        http::header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        http::header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}
