//! REST: `POST /rest/payment/void`, `/rest/payment/refund-simple` and `/rest/payment/sale`,
//! JSON in and out ([`instamed_soap::rest`] is the model, with what is known and what is guessed),
//! signed in with an API key pair, on the same ledger and rules as SOAP and NVP.
//!
//! | request | answer |
//! |---|---|
//! | done (voided, refunded, sold) | 200, a [`PaymentAnswer`] with `TransactionStatus` `C` |
//! | refused, [`RefusalStyle::Decline`] | 200, a [`PaymentAnswer`] with `TransactionStatus` `D` and the payment's status |
//! | refused, [`RefusalStyle::Fault`] | 422, an [`ErrorAnswer`] with `Message` and the same statuses |
//! | a field missing or malformed, a card number failing its check | 400, an [`ErrorAnswer`] with the statuses (`ResponseCode` `400` or `014`), whatever the style |
//! | a body that is not JSON, or not the operation's model | 400, an [`ErrorAnswer`] with a `Message` only |
//! | `Api-Key`/`Api-Secret` missing or wrong | 401, an [`ErrorAnswer`] |
//! | a media type other than `application/json` | 415, an [`ErrorAnswer`] |
//! | another method than `POST` | 405 with `Allow: POST` |
//! | another path under `/rest/` | 404, an [`ErrorAnswer`] |
//! | the ledger could not record the change | 500, an [`ErrorAnswer`] (outcome unknown to the client) |
//!
//! Injected faults apply as to SOAP and NVP; the receiver fault is a 500 with
//! `{"Message":"An error has occurred."}`, and garbage comes typed `application/json`.

use bytes::Bytes;
use http::header::{ALLOW, CONTENT_TYPE, HeaderValue};
use http::{HeaderMap, Method, StatusCode};
use hyper::body::Incoming;
use serde::de::DeserializeOwned;

use instamed_soap::rest::{
    ErrorAnswer, PaymentAnswer, REFUND_PATH, RefundBody, SALE_PATH, SaleBody, TransactionStatus,
    VOID_PATH, VoidBody,
};

use super::answer::{Decision, Label, OperationName, Rejection, ResultFields};
use super::config::RefusalStyle;
use super::engine::{Engine, Fields};
use super::reply::{HttpResponse, reply};
use super::shared::{Shared, read_body, with_faults};
use instamed_soap_listener::Abort;

/// The media type of every REST answer.
const JSON: &str = "application/json; charset=utf-8";
/// Where the REST endpoints live; matched without regard to case, as IIS matches paths.
const PREFIX: &str = "/rest/";

/// A REST operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operation {
    Void,
    Refund,
    Sale,
}

impl Operation {
    fn of(path: &str) -> Option<Self> {
        [
            (VOID_PATH, Self::Void),
            (REFUND_PATH, Self::Refund),
            (SALE_PATH, Self::Sale),
        ]
        .into_iter()
        .find_map(|(known, operation)| path.eq_ignore_ascii_case(known).then_some(operation))
    }

    /// The name the paths give it, as the contract tools name REST operations.
    fn name(self) -> OperationName {
        OperationName(match self {
            Self::Void => "void",
            Self::Refund => "refund-simple",
            Self::Sale => "sale",
        })
    }
}

/// Whether `path` is under `/rest/`, where sign-in is by API key.
pub(crate) fn is_rest_path(path: &str) -> bool {
    path.get(..PREFIX.len())
        .is_some_and(|start| start.eq_ignore_ascii_case(PREFIX))
}

/// Answers a request under `/rest/`.
pub(crate) async fn route(
    shared: &Shared,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    body: Incoming,
) -> Result<HttpResponse, Abort> {
    if !shared.api_keys.admits(headers) {
        return Ok(error(
            StatusCode::UNAUTHORIZED,
            ErrorAnswer::message("Authorization has been denied for this request."),
        ));
    }
    let Some(operation) = Operation::of(path) else {
        return Ok(error(
            StatusCode::NOT_FOUND,
            ErrorAnswer::message("No REST resource matches the request's path."),
        ));
    };
    if method != Method::POST {
        let mut response = error(
            StatusCode::METHOD_NOT_ALLOWED,
            ErrorAnswer::message("The requested resource supports only POST."),
        );
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("POST"));
        return Ok(response);
    }
    if !is_json(headers) {
        return Ok(error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorAnswer::message(
                "The request's media type is not supported; send application/json.",
            ),
        ));
    }
    let body = match read_body(headers, body).await? {
        Ok(body) => body,
        Err(refused) => return Ok(refused),
    };
    let process = || answer(&shared.engine, shared.refusal_style, operation, &body);
    with_faults(shared, process, simulated_fault, JSON).await
}

/// Applies `operation` to the ledger and writes what happened.
fn answer(engine: &Engine, style: RefusalStyle, operation: Operation, body: &[u8]) -> HttpResponse {
    operation
        .name()
        .mark(answer_to(engine, style, operation, body))
}

fn answer_to(
    engine: &Engine,
    style: RefusalStyle,
    operation: Operation,
    body: &[u8],
) -> HttpResponse {
    match operation {
        Operation::Void => {
            let request: VoidBody = match read(body) {
                Ok(request) => request,
                Err(message) => return unreadable(message),
            };
            let fields = Fields {
                primary_transaction_id: Some(&request.transaction_id),
                ..outlet_fields(&request.outlet)
            };
            write(engine.void(&fields), style)
        }
        Operation::Refund => {
            let request: RefundBody = match read(body) {
                Ok(request) => request,
                Err(message) => return unreadable(message),
            };
            let amount = request.amount.to_string();
            let fields = Fields {
                primary_transaction_id: Some(&request.transaction_id),
                amount: Some(&amount),
                ..outlet_fields(&request.outlet)
            };
            write(engine.refund(&fields), style)
        }
        Operation::Sale => {
            let request: SaleBody = match read(body) {
                Ok(request) => request,
                Err(message) => return unreadable(message),
            };
            let amount = request.amount.to_string();
            let fields = Fields {
                amount: Some(&amount),
                card_number: Some(&request.card.card_number),
                ..outlet_fields(&request.outlet)
            };
            write(engine.sale(&fields), style)
        }
    }
}

fn outlet_fields(outlet: &instamed_soap::rest::OutletIds) -> Fields<'_> {
    Fields {
        merchant_id: Some(&outlet.merchant_id),
        store_id: Some(&outlet.store_id),
        terminal_id: Some(&outlet.terminal_id),
        ..Fields::default()
    }
}

/// The 400 answer to a body that is not the operation's model.
fn unreadable(message: String) -> HttpResponse {
    error(StatusCode::BAD_REQUEST, ErrorAnswer::message(message))
}

/// The request's model, or why it is not one.
fn read<T: DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    serde_json::from_slice(body).map_err(|problem| {
        // serde's words may quote the value it could not read, a card number for one: only
        // the missing field's name and the position are repeated.
        let what = match problem.classify() {
            serde_json::error::Category::Data
                if problem.to_string().starts_with("missing field") =>
            {
                let text = problem.to_string();
                let field = text.split('`').nth(1).unwrap_or("a field").to_owned();
                format!("{field} is required")
            }
            serde_json::error::Category::Data => {
                "a field is missing or of the wrong type".to_owned()
            }
            _ => "the body is not JSON".to_owned(),
        };
        format!(
            "The request is invalid: {what} (line {}, column {}).",
            problem.line(),
            problem.column()
        )
    })
}

/// The HTTP answer to what the engine decided.
fn write(outcome: Result<Decision<'_>, Rejection>, style: RefusalStyle) -> HttpResponse {
    let verdict = match &outcome {
        Ok(answer) if answer.fields.transaction_status.is_some() => answer.label,
        Ok(_) | Err(Rejection::Internal(_)) => Label::FAULT,
        Err(_) => Label::REJECTED,
    };
    verdict.mark(written(outcome, style))
}

fn written(outcome: Result<Decision<'_>, Rejection>, style: RefusalStyle) -> HttpResponse {
    let answer = match outcome {
        Ok(answer) => answer,
        Err(rejection @ Rejection::Internal(_)) => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorAnswer::message(rejection.reason()),
            );
        }
        Err(rejection) => {
            return error(
                StatusCode::BAD_REQUEST,
                ErrorAnswer::message(rejection.reason()),
            );
        }
    };
    let Some(status) = answer.fields.transaction_status else {
        // The engine states a status in every answer; one without would prove nothing.
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorAnswer::message("An error has occurred."),
        );
    };
    match &answer.refusal {
        Some(refusal) if refusal.invalid => error(
            StatusCode::BAD_REQUEST,
            refusal_error(&answer.fields, &refusal.fault_reason),
        ),
        Some(refusal) if style == RefusalStyle::Fault => error(
            StatusCode::UNPROCESSABLE_ENTITY,
            refusal_error(&answer.fields, &refusal.fault_reason),
        ),
        _ => {
            let fields = &answer.fields;
            let mut body = PaymentAnswer::new(TransactionStatus::from_code(status));
            body.transaction_id = fields
                .transaction_id
                .as_ref()
                .map(|id| id.as_str().to_owned());
            body.primary_transaction_id = fields.primary_transaction_id.map(str::to_owned);
            body.primary_transaction_status = fields
                .primary_transaction_status
                .map(TransactionStatus::from_code);
            body.response_code = fields.response_code.map(str::to_owned);
            body.response_message = fields.response_message.as_deref().map(str::to_owned);
            body.authorization_text = fields.authorization_text.map(str::to_owned);
            json(StatusCode::OK, &body)
        }
    }
}

/// A refusal as an error body that still carries the statuses a client judges it by.
fn refusal_error(fields: &ResultFields<'_>, message: &str) -> ErrorAnswer {
    let mut body = ErrorAnswer::message(message);
    body.transaction_id = fields
        .transaction_id
        .as_ref()
        .map(|id| id.as_str().to_owned());
    body.transaction_status = fields.transaction_status.map(TransactionStatus::from_code);
    body.primary_transaction_id = fields.primary_transaction_id.map(str::to_owned);
    body.primary_transaction_status = fields
        .primary_transaction_status
        .map(TransactionStatus::from_code);
    body.response_code = fields.response_code.map(str::to_owned);
    body.response_message = fields.response_message.as_deref().map(str::to_owned);
    body
}

/// The injected receiver fault: what ASP.NET Web API answers for an unhandled exception.
fn simulated_fault() -> HttpResponse {
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        ErrorAnswer::message("An error has occurred."),
    )
}

fn error(status: StatusCode, body: ErrorAnswer) -> HttpResponse {
    json(status, &body)
}

fn json(status: StatusCode, body: &impl serde::Serialize) -> HttpResponse {
    match serde_json::to_vec(body) {
        Ok(bytes) => reply(status, JSON, Bytes::from(bytes)),
        // Plain structs of strings always serialize; this arm only keeps the server from
        // panicking should that change.
        Err(_) => reply(
            StatusCode::INTERNAL_SERVER_ERROR,
            JSON,
            Bytes::from_static(b"{\"Message\":\"An error has occurred.\"}"),
        ),
    }
}

/// Whether the body is declared JSON (`application/json`, any parameters).
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            value
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case("application/json")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_match_in_any_case_and_only_whole() {
        assert_eq!(Operation::of("/rest/payment/void"), Some(Operation::Void));
        assert_eq!(
            Operation::of("/REST/Payment/Refund-Simple"),
            Some(Operation::Refund)
        );
        assert_eq!(Operation::of("/rest/payment/sale"), Some(Operation::Sale));
        assert_eq!(Operation::of("/rest/payment/void/"), None);
        assert_eq!(Operation::of("/rest/payment/refund"), None);
        assert!(is_rest_path("/Rest/anything") && !is_rest_path("/rest") && !is_rest_path("/é"));
    }

    #[test]
    fn a_bad_body_is_refused_without_repeating_its_values() {
        let refused = read::<SaleBody>(br#"{"Outlet":{"MerchantID":"1","StoreID":"2","TerminalID":"3"},"Amount":"1.00","Card":{"CardNumber":4111111111111111,"CardExpiration":"1229"}}"#)
            .unwrap_err();
        assert!(!refused.contains("4111"), "{refused}");
        let missing =
            read::<VoidBody>(br#"{"Outlet":{"MerchantID":"1","StoreID":"2","TerminalID":"3"}}"#)
                .unwrap_err();
        assert!(missing.contains("TransactionID is required"), "{missing}");
    }
}
