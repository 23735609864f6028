//! The NVP endpoint, `NVP.aspx`: the same operations as form pairs, in a `POST` body or (as an
//! older production client sent them) a `GET` query.
//!
//! Keys are matched case-insensitively (`MerchantID`, `merchantId` and `merchantID` all work).
//! Answers are `application/x-www-form-urlencoded` pairs with HTTP 200, keys in lower camel case:
//! `transactionStatus=C&responseCode=000&responseMessage=APPROVED&…`. A refusal is a
//! `transactionStatus=D` answer, or with [`RefusalStyle::Fault`] an
//! `errorCode=…&errorMessage=…` pair with the code and text a SOAP fault would carry. A request
//! that names no known action is `errorCode=400`; a failure of the simulator itself is
//! `errorCode=500`.

use std::borrow::Cow;

use http::StatusCode;

use super::answer::{Decision, Label, OperationName, Refusal, Rejection};
use super::config::RefusalStyle;
use super::engine::{Engine, Fields};
use super::reply::{FORM, HttpResponse, reply};

/// NVP keys of the result fields, in the order of
/// [`ResultFields::in_wire_order`](super::answer::ResultFields::in_wire_order).
const KEYS: [&str; 10] = [
    "merchantID",
    "storeID",
    "terminalID",
    "transactionID",
    "transactionStatus",
    "responseCode",
    "responseMessage",
    "primaryTransactionID",
    "authorizationText",
    "primaryTransactionStatus",
];

/// The pairs of one request, by the keys the rules look at.
#[derive(Default)]
struct Pairs<'a> {
    transaction_type: Option<Cow<'a, str>>,
    transaction_action: Option<Cow<'a, str>>,
    merchant_id: Option<Cow<'a, str>>,
    store_id: Option<Cow<'a, str>>,
    terminal_id: Option<Cow<'a, str>>,
    primary_transaction_id: Option<Cow<'a, str>>,
    amount: Option<Cow<'a, str>>,
    card_number: Option<Cow<'a, str>>,
}

impl<'a> Pairs<'a> {
    fn parse(form: &'a [u8]) -> Self {
        let mut pairs = Self::default();
        for (key, value) in form_urlencoded::parse(form) {
            let slot = match key.as_ref() {
                k if k.eq_ignore_ascii_case("transactionType") => &mut pairs.transaction_type,
                k if k.eq_ignore_ascii_case("transactionAction") => &mut pairs.transaction_action,
                k if k.eq_ignore_ascii_case("merchantID") => &mut pairs.merchant_id,
                k if k.eq_ignore_ascii_case("storeID") => &mut pairs.store_id,
                k if k.eq_ignore_ascii_case("terminalID") => &mut pairs.terminal_id,
                k if k.eq_ignore_ascii_case("primaryTransactionID") => {
                    &mut pairs.primary_transaction_id
                }
                k if k.eq_ignore_ascii_case("amount") => &mut pairs.amount,
                k if k.eq_ignore_ascii_case("cardNumber") => &mut pairs.card_number,
                _ => continue,
            };
            // The first occurrence wins, as ASP.NET's `Request[key]` would join duplicates
            // with commas into something invalid anyway.
            slot.get_or_insert(value);
        }
        pairs
    }

    fn fields(&self) -> Fields<'_> {
        Fields {
            merchant_id: self.merchant_id.as_deref(),
            store_id: self.store_id.as_deref(),
            terminal_id: self.terminal_id.as_deref(),
            primary_transaction_id: self.primary_transaction_id.as_deref(),
            amount: self.amount.as_deref(),
            card_number: self.card_number.as_deref(),
        }
    }
}

/// Answers an NVP request whose pairs are `form` (a body or a query string).
pub(crate) fn answer(engine: &Engine, style: RefusalStyle, form: &[u8]) -> HttpResponse {
    let pairs = Pairs::parse(form);
    let is = |value: &Option<Cow<'_, str>>, expected: &str| {
        value
            .as_deref()
            .is_some_and(|v| v.eq_ignore_ascii_case(expected))
    };
    if !is(&pairs.transaction_type, "CreditCard") {
        return Label::REJECTED.mark(error(
            "400",
            "Invalid request: transactionType must be CreditCard",
        ));
    }
    let fields = pairs.fields();
    let (operation, outcome) = if is(&pairs.transaction_action, "Void") {
        ("Void", engine.void(&fields))
    } else if is(&pairs.transaction_action, "Sale") {
        ("Sale", engine.sale(&fields))
    } else if is(&pairs.transaction_action, "SimpleRefund") {
        ("SimpleRefund", engine.refund(&fields))
    } else {
        return Label::REJECTED.mark(error(
            "400",
            "Invalid request: transactionAction must be Void, Sale or SimpleRefund",
        ));
    };
    OperationName(operation).mark(match outcome {
        Ok(answer) => answer.label.mark(write(&answer, style)),
        Err(rejection @ Rejection::Internal(_)) => {
            Label::FAULT.mark(error("500", &rejection.reason()))
        }
        Err(rejection) => Label::REJECTED.mark(error("400", &rejection.reason())),
    })
}

fn write(answer: &Decision<'_>, style: RefusalStyle) -> HttpResponse {
    if let (Some(refusal), RefusalStyle::Fault) = (&answer.refusal, style) {
        return refusal_error(answer, refusal);
    }
    let mut form = form_urlencoded::Serializer::new(String::with_capacity(256));
    for (key, (_, value)) in KEYS.iter().zip(answer.fields.in_wire_order()) {
        if let Some(value) = value {
            form.append_pair(key, value);
        }
    }
    reply(StatusCode::OK, FORM, form.finish())
}

/// A refusal as an `errorCode`/`errorMessage` answer, with the statuses a client judges it by
/// (`transactionStatus` `D`, `responseCode`, `primaryTransactionStatus` when the payment is
/// known, and the payment's ID) beside them.
fn refusal_error(answer: &Decision<'_>, refusal: &Refusal) -> HttpResponse {
    let mut form = form_urlencoded::Serializer::new(String::with_capacity(256));
    form.append_pair("errorCode", refusal.code)
        .append_pair("errorMessage", &refusal.fault_reason)
        .append_pair("transactionStatus", "D")
        .append_pair("responseCode", refusal.code);
    if let Some(id) = answer.fields.primary_transaction_id {
        form.append_pair("primaryTransactionID", id);
    }
    if let Some(status) = refusal.primary_status {
        form.append_pair("primaryTransactionStatus", status);
    }
    reply(StatusCode::OK, FORM, form.finish())
}

/// An `errorCode`/`errorMessage` answer.
pub(crate) fn error(code: &str, message: &str) -> HttpResponse {
    let body = form_urlencoded::Serializer::new(String::with_capacity(128))
        .append_pair("errorCode", code)
        .append_pair("errorMessage", message)
        .finish();
    reply(StatusCode::OK, FORM, body)
}

/// The injected fault.
pub(crate) fn simulated_fault() -> HttpResponse {
    error("500", "Simulated fault.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_match_whatever_their_case_and_the_first_wins() {
        let pairs = Pairs::parse(b"MERCHANTID=1&storeId=2&TerminalID=3&merchantID=9&x=y");
        let fields = pairs.fields();
        assert_eq!(fields.merchant_id, Some("1"));
        assert_eq!(fields.store_id, Some("2"));
        assert_eq!(fields.terminal_id, Some("3"));
        assert_eq!(fields.amount, None);
    }
}
