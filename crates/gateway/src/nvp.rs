//! `/payment/NVP.aspx` on the ERP's side: InstaMed's NVP contract (form pairs in a `POST` body
//! or, as older ERPs send them, a `GET` query). Voids and simple refunds go through the ledger
//! exactly as on the SOAP side ([`crate::soap`] reads their fields, [`Money`] carries them
//! out); every other transaction is forwarded to InstaMed's `NVP.aspx` once.
//!
//! Answers are pairs with HTTP 200, as `NVP.aspx` writes them: a settled void or refund as
//! InstaMed's result pairs (`transactionStatus`, `primaryTransactionStatus`, …), anything else
//! as `errorCode`/`errorMessage`. The error codes are chosen for what the house's client (and
//! any ERP that follows InstaMed's rule of judging by statuses) makes of them: a `4xx` code is
//! a request refused with nothing done; any other code is an unknown outcome. Beside them the
//! gateway says more in pairs of its own: `gatewayError` (the SOAP side's detail names:
//! `OutcomeUnknown`, `NotSent`, …) and `retryAfterSeconds`, also sent as `Retry-After`.

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, Method, Response, header};
use http_body_util::Full;
use instamed_soap::nvp::{self, NvpAnswer};
use instamed_soap::{RefundRequest, VoidRequest};

use crate::Upstream;
use crate::money::{Money, RefundAnswer, Statuses, VoidAnswer};
use crate::request_log;
use crate::soap::{self, Forwarded};

/// What NVP.aspx answers with, whatever the outcome.
const FORM: &str = "application/x-www-form-urlencoded";

/// The NVP keys the gateway reads, and the SOAP field names the SOAP side reads them by: one
/// reading of a void's and a refund's fields for both contracts.
const FIELDS: [(&str, &str); 6] = [
    ("merchantID", "MerchantID"),
    ("storeID", "StoreID"),
    ("terminalID", "TerminalID"),
    ("primaryTransactionID", "PrimaryTransactionID"),
    ("primaryCardPresentStatus", "PrimaryCardPresentStatus"),
    ("amount", "Amount"),
];

/// The answer to an ERP's NVP request: `form` is the body of a `POST`, or the query of a
/// `GET`.
pub(crate) async fn answer(
    money: &Arc<Money>,
    upstream: &Upstream,
    client: &str,
    method: &Method,
    headers: &HeaderMap,
    form: Bytes,
) -> (Response<Full<Bytes>>, &'static str) {
    // Read as InstaMed's answers are read: keys case-blind, and a key given twice refused
    // (which of two payments was meant cannot be told).
    let pairs = match nvp::decode(&form) {
        Ok(pairs) => pairs,
        Err(problem) => {
            return (rejected(&format!("Invalid request: {problem}")), "rejected");
        }
    };
    let is = |key: &str, expected: &str| {
        pairs
            .get(key)
            .is_some_and(|value| value.eq_ignore_ascii_case(expected))
    };
    let void = is("transactionAction", "Void");
    let refund = is("transactionAction", "SimpleRefund");
    if !void && !refund {
        return (forward(upstream, method, headers, form).await, "forwarded");
    }
    // A void or a refund is never forwarded unread: one the gateway cannot read is refused.
    if !is("transactionType", "CreditCard") {
        return (
            rejected("Invalid request: transactionType must be CreditCard"),
            "rejected",
        );
    }
    let fields = soap_fields(&pairs);
    if void {
        match soap::void_request(&fields) {
            Ok(request) => {
                request_log::names_payment(request.payment());
                let answer = money
                    .void(request.clone(), money.asker("nvp", client))
                    .await;
                let (label, _) = answer.named();
                money.metrics().verdict(label);
                (void_reply(&request, &answer, money), label)
            }
            Err(reason) => (rejected(&reason), "rejected"),
        }
    } else {
        match soap::refund_request(&fields) {
            Ok(request) => {
                request_log::names_payment(request.payment());
                let answer = money
                    .refund(request.clone(), money.asker("nvp", client))
                    .await;
                let (label, _) = answer.named();
                money.metrics().verdict(label);
                (refund_reply(&request, &answer, money), label)
            }
            Err(reason) => (rejected(&reason), "rejected"),
        }
    }
}

/// The pairs the gateway reads, under the names the SOAP side reads them by.
fn soap_fields(pairs: &NvpAnswer<'_>) -> Vec<(String, String)> {
    FIELDS
        .iter()
        .filter_map(|(key, name)| Some(((*name).to_owned(), pairs.get(key)?.to_owned())))
        .collect()
}

/// The result pairs of a settled void or refund, in the order `NVP.aspx` writes them.
fn result(merchant: [&str; 3], payment: &str, statuses: &Statuses) -> Response<Full<Bytes>> {
    let pairs = [
        ("merchantID", Some(merchant[0])),
        ("storeID", Some(merchant[1])),
        ("terminalID", Some(merchant[2])),
        ("transactionID", statuses.transaction_id.as_deref()),
        ("transactionStatus", statuses.transaction_status.as_deref()),
        ("responseCode", statuses.response_code.as_deref()),
        ("responseMessage", statuses.response_message.as_deref()),
        ("primaryTransactionID", Some(payment)),
        (
            "authorizationText",
            statuses.authorization_number.as_deref(),
        ),
        (
            "primaryTransactionStatus",
            statuses.primary_transaction_status.as_deref(),
        ),
    ];
    form(
        nvp::encode(
            pairs
                .into_iter()
                .filter_map(|(key, value)| Some((key, value?))),
        ),
        None,
    )
}

fn void_reply(request: &VoidRequest, answer: &VoidAnswer, money: &Money) -> Response<Full<Bytes>> {
    let outlet = request.outlet();
    let merchant = [
        outlet.merchant_id(),
        outlet.store_id(),
        outlet.terminal_id(),
    ];
    let payment = request.payment().as_str();
    match answer {
        VoidAnswer::Voided(statuses) | VoidAnswer::Refused(_, statuses) => {
            result(merchant, payment, statuses)
        }
        VoidAnswer::Unknown => outcome_unknown(payment, money),
        VoidAnswer::NotSent(reason) => unavailable(
            "NotSent",
            &format!("InstaMed could not be reached; nothing was sent: {reason}"),
            payment,
            money,
        ),
        VoidAnswer::Rejected(reason) => rejected(reason),
        VoidAnswer::CredentialsRefused => credentials_refused(payment, money),
        VoidAnswer::Ledger(reason) => ledger_unavailable(reason, payment, money),
    }
}

fn refund_reply(
    request: &RefundRequest,
    answer: &RefundAnswer,
    money: &Money,
) -> Response<Full<Bytes>> {
    let outlet = request.outlet();
    let merchant = [
        outlet.merchant_id(),
        outlet.store_id(),
        outlet.terminal_id(),
    ];
    let payment = request.payment().as_str();
    match answer {
        RefundAnswer::Refunded(statuses) | RefundAnswer::Refused(_, statuses) => {
            result(merchant, payment, statuses)
        }
        // Not a 4xx: nobody knows whether money went back, and the ERP must not think
        // nothing happened. No retry hint: it is never sent again by software.
        RefundAnswer::OnHold { entry } => {
            let entry = entry.map(|entry| entry.to_string());
            let mut pairs = vec![
                ("errorCode", "500"),
                (
                    "errorMessage",
                    "A refund of this payment may have been made and nobody knows yet. It is \
                     never sent again by software: a person checks the payment's refunds at \
                     InstaMed and settles it in the gateway's ledger.",
                ),
                ("gatewayError", "RefundOnHold"),
                ("primaryTransactionID", payment),
            ];
            if let Some(entry) = &entry {
                pairs.push(("ledgerEntry", entry));
            }
            form(nvp::encode(pairs), None)
        }
        RefundAnswer::AlreadyRefunded { entry, refund_id } => {
            let entry = entry.to_string();
            let mut pairs = vec![
                ("errorCode", "400"),
                (
                    "errorMessage",
                    "A refund of another amount was made of this payment: nothing was sent. A \
                     further refund is an operator's decision.",
                ),
                ("gatewayError", "AlreadyRefunded"),
                ("primaryTransactionID", payment),
                ("ledgerEntry", &entry),
            ];
            if let Some(id) = refund_id {
                pairs.push(("refundTransactionID", id));
            }
            form(nvp::encode(pairs), None)
        }
        RefundAnswer::VoidUnsettled => outcome_unknown(payment, money),
        RefundAnswer::NotSent(reason) => unavailable(
            "NotSent",
            &format!("InstaMed could not be reached; nothing was sent: {reason}"),
            payment,
            money,
        ),
        RefundAnswer::Rejected(reason) => rejected(reason),
        RefundAnswer::CredentialsRefused => credentials_refused(payment, money),
        RefundAnswer::Ledger(reason) => ledger_unavailable(reason, payment, money),
    }
}

/// A void of the payment may have gone through: `errorCode=500` (an unknown outcome to any
/// client judging by InstaMed's rules) with the payment and when to ask again.
fn outcome_unknown(payment: &str, money: &Money) -> Response<Full<Bytes>> {
    retry_later(
        "500",
        "OutcomeUnknown",
        "The outcome of the void is not known yet; the gateway is settling it with InstaMed. \
         Send the same request again after retryAfterSeconds: it is answered with the settled \
         result, and the payment is never voided twice.",
        payment,
        money,
    )
}

fn ledger_unavailable(reason: &str, payment: &str, money: &Money) -> Response<Full<Bytes>> {
    unavailable(
        "LedgerUnavailable",
        &format!("The gateway's ledger cannot be written; nothing was sent: {reason}"),
        payment,
        money,
    )
}

fn credentials_refused(payment: &str, money: &Money) -> Response<Full<Bytes>> {
    unavailable(
        "GatewayMisconfigured",
        "InstaMed refused the gateway's own credentials; nothing was carried out. An operator \
         must fix the gateway's InstaMed account.",
        payment,
        money,
    )
}

/// Nothing was carried out, and asking again later is safe: `errorCode=503`. A client that
/// knows only InstaMed's rules reads it as unknown, which errs on the safe side: its retry
/// goes through the ledger.
fn unavailable(kind: &str, message: &str, payment: &str, money: &Money) -> Response<Full<Bytes>> {
    retry_later("503", kind, message, payment, money)
}

fn retry_later(
    code: &str,
    kind: &str,
    message: &str,
    payment: &str,
    money: &Money,
) -> Response<Full<Bytes>> {
    let after = money.retry_after();
    let seconds = after.as_secs().to_string();
    form(
        nvp::encode([
            ("errorCode", code),
            ("errorMessage", message),
            ("gatewayError", kind),
            ("primaryTransactionID", payment),
            ("retryAfterSeconds", &seconds),
        ]),
        Some(after),
    )
}

/// The request cannot be carried out as it is: `errorCode=400`, as InstaMed refuses a request
/// it does not carry out.
fn rejected(reason: &str) -> Response<Full<Bytes>> {
    form(
        nvp::encode([
            ("errorCode", "400"),
            ("errorMessage", reason),
            ("gatewayError", "Rejected"),
        ]),
        None,
    )
}

fn form(body: String, retry_after: Option<std::time::Duration>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, http::HeaderValue::from_static(FORM));
    if let Some(after) = retry_after {
        response.headers_mut().insert(
            header::RETRY_AFTER,
            http::HeaderValue::from(after.as_secs()),
        );
    }
    response
}

/// Any other transaction: to InstaMed's `NVP.aspx` (beside its `service.asmx`) once, as the
/// ERP wrote it, answered exactly as InstaMed answered.
async fn forward(
    upstream: &Upstream,
    method: &Method,
    headers: &HeaderMap,
    form_pairs: Bytes,
) -> Response<Full<Bytes>> {
    let Some(page) = instamed_soap::call::nvp_address(&upstream.endpoint) else {
        return unsent("This gateway's upstream has no NVP page beside it; nothing was sent.");
    };
    let (uri, body) = if method == Method::GET {
        let query = String::from_utf8_lossy(&form_pairs);
        match format!("{page}?{query}").parse::<http::Uri>() {
            Ok(uri) => (uri, Bytes::new()),
            Err(_) => return rejected("Invalid request: the query cannot be forwarded"),
        }
    } else {
        (page, form_pairs)
    };
    let sent = soap::forward_once(
        upstream,
        method.clone(),
        uri,
        headers,
        &[header::CONTENT_TYPE],
        body,
    )
    .await;
    match sent {
        Forwarded::Answered(response) => response,
        Forwarded::NotSent(reason) => unsent(&reason),
        Forwarded::Unknown(reason) => form(
            nvp::encode([
                ("errorCode", "500"),
                ("errorMessage", reason.as_str()),
                ("gatewayError", "OutcomeUnknown"),
            ]),
            None,
        ),
    }
}

fn unsent(reason: &str) -> Response<Full<Bytes>> {
    form(
        nvp::encode([
            ("errorCode", "503"),
            ("errorMessage", reason),
            ("gatewayError", "NotSent"),
        ]),
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nvp_keys_are_read_whatever_their_case_under_the_soap_names() {
        let body = b"MERCHANTID=1&storeId=2&TerminalID=3&PrimaryTransactionId=AB&Amount=1.00";
        let pairs = nvp::decode(body).unwrap();
        let fields = soap_fields(&pairs);
        assert_eq!(
            fields,
            [
                ("MerchantID", "1"),
                ("StoreID", "2"),
                ("TerminalID", "3"),
                ("PrimaryTransactionID", "AB"),
                ("Amount", "1.00"),
            ]
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
        );
    }
}
