//! Endpoints for tests and the command line, not part of InstaMed's interface. They need the
//! same sign-in as the service and answer in form pairs; keys are matched without regard to
//! case, and a refusal is `errorCode=STATUS&errorMessage=…` with that HTTP status. The README's
//! "The admin endpoints" lists every field with its type and default, for users.
//!
//! - `POST /simulator/payments` with `merchantID`, `storeID`, `terminalID` (each 1 to 50
//!   characters, no control characters) and `amount` (dollars with up to two decimals, more than
//!   zero), all required, creates a captured payment: `201`, `transactionID=…` (32 upper-case
//!   hex digits), or `400`. With `ageSeconds=N` (digits only, default 0) the payment is made as
//!   if taken N seconds ago, to try the void cutoff and the refund window (one year by default:
//!   `ageSeconds=31622400`, 366 days, makes a payment too old to refund).
//! - `POST /simulator/payments/{id}/transfer` starts its funds transfer: `204`, or `404`.
//! - `GET /simulator/payments/{id}`: `transactionID=…&status=C|V&transferStarted=true|false`,
//!   then `merchantID`, `storeID`, `terminalID`, `amount`, `refunded` so far, `createdAtMs`
//!   (milliseconds since 1970) and, for a refund only, `refundOf`; or `404`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::{Method, StatusCode};

use instamed_soap::{Outlet, TransactionId};

use super::error::LedgerError;
use super::ledger::Ledger;
use super::reply::{FORM, HttpResponse, empty, reply};

/// The path prefix of the admin endpoints.
pub(crate) const PREFIX: &str = "/simulator/payments";

/// Answers a request under [`PREFIX`]; `rest` is the path after it.
pub(crate) fn answer(ledger: &Ledger, method: &Method, rest: &str, body: &[u8]) -> HttpResponse {
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    match (method, segments.as_slice()) {
        (&Method::POST, []) => create(ledger, body),
        (&Method::POST, [id, "transfer"]) => match TransactionId::new(id) {
            Ok(id) => match ledger.start_transfer(&id) {
                Ok(()) => empty(StatusCode::NO_CONTENT),
                Err(LedgerError::Unknown(_)) => not_found(id.as_str()),
                Err(error) => failure(StatusCode::INTERNAL_SERVER_ERROR, &error.to_string()),
            },
            Err(_) => not_found(id),
        },
        (&Method::GET, [id]) => match TransactionId::new(id)
            .ok()
            .and_then(|id| ledger.payment(&id))
        {
            Some(payment) => {
                let mut body = form_urlencoded::Serializer::new(String::new());
                body.append_pair("transactionID", payment.id.as_str())
                    .append_pair("status", payment.status.code())
                    .append_pair(
                        "transferStarted",
                        if payment.transfer_started {
                            "true"
                        } else {
                            "false"
                        },
                    )
                    .append_pair("merchantID", payment.outlet.merchant_id())
                    .append_pair("storeID", payment.outlet.store_id())
                    .append_pair("terminalID", payment.outlet.terminal_id())
                    .append_pair("amount", &payment.amount.to_string())
                    .append_pair("refunded", &payment.refunded.to_string())
                    .append_pair("createdAtMs", &unix_ms(payment.created_at).to_string());
                if let Some(original) = &payment.refund_of {
                    body.append_pair("refundOf", original.as_str());
                }
                let body = body.finish();
                reply(StatusCode::OK, FORM, body)
            }
            None => not_found(id),
        },
        (_, [] | [_] | [_, "transfer"]) => {
            failure(StatusCode::METHOD_NOT_ALLOWED, "method not allowed")
        }
        _ => failure(StatusCode::NOT_FOUND, "no such admin endpoint"),
    }
}

fn create(ledger: &Ledger, body: &[u8]) -> HttpResponse {
    let mut fields: [Option<String>; 5] = Default::default();
    const KEYS: [&str; 5] = [
        "merchantID",
        "storeID",
        "terminalID",
        "amount",
        "ageSeconds",
    ];
    for (key, value) in form_urlencoded::parse(body) {
        if let Some(i) = KEYS.iter().position(|k| k.eq_ignore_ascii_case(&key)) {
            fields[i].get_or_insert_with(|| value.into_owned());
        }
    }
    let [merchant, store, terminal, amount, age] = fields;
    let [merchant, store, terminal, amount] =
        [merchant, store, terminal, amount].map(Option::unwrap_or_default);
    let outlet = match Outlet::new(merchant, store, terminal) {
        Ok(outlet) => outlet,
        Err(invalid) => return failure(StatusCode::BAD_REQUEST, &invalid.to_string()),
    };
    let created_at = match age.as_deref().map(seconds) {
        None => SystemTime::now(),
        Some(Some(age)) => match SystemTime::now().checked_sub(age) {
            Some(at) if at >= UNIX_EPOCH => at,
            _ => return failure(StatusCode::BAD_REQUEST, "ageSeconds reaches before 1970"),
        },
        Some(None) => {
            return failure(
                StatusCode::BAD_REQUEST,
                "ageSeconds must be a whole number of seconds",
            );
        }
    };
    match ledger.create_payment_at(&outlet, &amount, created_at) {
        Ok(id) => {
            let body = form_urlencoded::Serializer::new(String::new())
                .append_pair("transactionID", id.as_str())
                .finish();
            reply(StatusCode::CREATED, FORM, body)
        }
        Err(error @ LedgerError::InvalidAmount(_)) => {
            failure(StatusCode::BAD_REQUEST, &error.to_string())
        }
        Err(error) => failure(StatusCode::INTERNAL_SERVER_ERROR, &error.to_string()),
    }
}

/// A whole number of seconds, digits only: Rust's parser alone would take a leading `+`.
fn seconds(text: &str) -> Option<Duration> {
    if text.is_empty() || text.len() > 12 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok().map(Duration::from_secs)
}

fn unix_ms(at: SystemTime) -> u128 {
    at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis())
}

fn not_found(id: &str) -> HttpResponse {
    failure(StatusCode::NOT_FOUND, &format!("no payment {id}"))
}

fn failure(status: StatusCode, message: &str) -> HttpResponse {
    let body = form_urlencoded::Serializer::new(String::new())
        .append_pair("errorCode", status.as_str())
        .append_pair("errorMessage", message)
        .finish();
    reply(status, FORM, body)
}
