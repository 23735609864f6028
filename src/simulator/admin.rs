//! Endpoints for tests and the command line, not part of InstaMed's interface. They need the
//! same sign-in as the service and answer in form pairs.
//!
//! - `POST /simulator/payments` with `merchantID`, `storeID`, `terminalID`, `amount` creates a
//!   captured payment: `201`, `transactionID=…`.
//! - `POST /simulator/payments/{id}/transfer` starts its funds transfer: `204`, or `404`.
//! - `GET /simulator/payments/{id}`: `transactionID=…&status=C|V&transferStarted=true|false`
//!   (and the outlet and amount), or `404`.

use http::{Method, StatusCode};

use crate::{Outlet, TransactionId};

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
                let body = form_urlencoded::Serializer::new(String::new())
                    .append_pair("transactionID", payment.id.as_str())
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
                    .finish();
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
    let mut fields: [Option<String>; 4] = Default::default();
    const KEYS: [&str; 4] = ["merchantID", "storeID", "terminalID", "amount"];
    for (key, value) in form_urlencoded::parse(body) {
        if let Some(i) = KEYS.iter().position(|k| k.eq_ignore_ascii_case(&key)) {
            fields[i].get_or_insert_with(|| value.into_owned());
        }
    }
    let [merchant, store, terminal, amount] = fields.map(Option::unwrap_or_default);
    let outlet = match Outlet::new(merchant, store, terminal) {
        Ok(outlet) => outlet,
        Err(invalid) => return failure(StatusCode::BAD_REQUEST, &invalid.to_string()),
    };
    match ledger.create_payment(&outlet, &amount) {
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
