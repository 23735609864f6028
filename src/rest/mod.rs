//! The JSON model of InstaMed's REST interface (`/rest/payment/…`), shared by the client and
//! the simulator.
//!
//! InstaMed recommends REST for new integrations, but publishes little of it. Everything this
//! module assumes is listed here, known or guessed, so that a correction is made in one place.
//!
//! # Known
//!
//! From one production client (FACTS §3):
//!
//! - `POST {base}/rest/payment/void`, where `{base}` is the service's origin
//!   (`https://connect.instamed.com`), with the headers `Api-Key` and `Api-Secret`;
//! - its body: `{"Outlet":{"MerchantID","StoreID","TerminalID"},"TransactionID",
//!   "Patient":{"AccountNumber"}}` ([`VoidBody`]);
//! - its answer carries the void's `TransactionID`; failures come back as non-2xx statuses;
//! - the siblings `/rest/payment/refund-simple` (with an `Amount`) and `/rest/payment/sale`.
//!
//! # Guessed
//!
//! - **The answer's fields** ([`PaymentAnswer`]): the SOAP result's names, PascalCase:
//!   `TransactionID`, `TransactionStatus`, `PrimaryTransactionID`, `PrimaryTransactionStatus`,
//!   `ResponseCode`, `ResponseMessage`, `AuthorizationNumber`, `AuthorizationText`, judged by
//!   the statuses as a SOAP result is.
//! - **A refusal with 200**: a void the service will not make comes back as a 2xx answer with
//!   `TransactionStatus` `D`, like SOAP's decline result.
//! - **The error body** ([`ErrorAnswer`]): ASP.NET Web API's `{"Message": …}`, with the same
//!   status fields beside it when the error is about a payment (a refusal sent as 422).
//! - **The refund's body** ([`RefundBody`]): the void's body plus `Amount`.
//! - **The sale's body** ([`SaleBody`]): `Outlet`, `Amount` and a `Card` of `CardNumber`,
//!   `CardExpiration` and an optional `CardVerificationNumber`.
//! - **Amounts** ([`Amount`]): a string with two decimals (`"4.00"`), never a JSON number.
//! - **Statuses**: what the HTTP statuses mean: 400 a request the service could not read or
//!   accept, 401 a wrong key pair, 415 a body that is not JSON, 422 a refusal, 5xx a failure
//!   whose outcome is unknown.
//!
//! Every struct ignores fields it does not know, so a richer real answer still reads; the
//! types are strict where a verdict depends on them (statuses, amounts).
//!
//! ```
//! use instamed_soap::rest::{PaymentAnswer, TransactionStatus, VoidBody};
//! use instamed_soap::{Outlet, TransactionId};
//!
//! let outlet = Outlet::new("123123123", "123", "123")?;
//! let payment = TransactionId::new("EE52401813A74328AAA7D93319FF4383")?;
//! let body = serde_json::to_string(&VoidBody::new(&outlet, &payment))?;
//! assert!(body.starts_with(r#"{"Outlet":{"MerchantID":"123123123""#));
//!
//! let answer: PaymentAnswer = serde_json::from_str(
//!     r#"{"TransactionID":"EE52401813A74328AAA7D93319FF4383","TransactionStatus":"C",
//!         "PrimaryTransactionStatus":"V","Extra":1}"#,
//! )?;
//! assert_eq!(answer.primary_transaction_status, Some(TransactionStatus::Voided));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod answer;
mod keys;
mod request;
mod status;

// Money is a domain value: the REST model carries it, the other protocols too.
pub use crate::domain::{Amount, InvalidAmount};
pub use answer::{ErrorAnswer, PaymentAnswer};
pub(crate) use keys::Keys;
pub use request::{Card, OutletIds, Patient, RefundBody, SaleBody, VoidBody};
pub use status::TransactionStatus;

/// The path of a void, appended to the service's base URL.
pub const VOID_PATH: &str = "/rest/payment/void";
/// The path of a simple refund.
pub const REFUND_PATH: &str = "/rest/payment/refund-simple";
/// The path of a sale.
pub const SALE_PATH: &str = "/rest/payment/sale";
pub use crate::credentials::{API_KEY_HEADER, API_SECRET_HEADER};
/// The media type of requests and answers.
pub const JSON: &str = "application/json; charset=utf-8";

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::{Outlet, TransactionId};

    fn outlet() -> Outlet {
        Outlet::new("123123123", "123", "456").unwrap()
    }

    fn payment() -> TransactionId {
        TransactionId::new("EE52401813A74328AAA7D93319FF4383").unwrap()
    }

    #[test]
    fn a_void_body_is_written_as_the_production_client_sent_it() {
        let mut body = VoidBody::new(&outlet(), &payment());
        body.patient = Some(Patient::new("ACC-1"));
        let value = serde_json::to_value(&body).unwrap();
        assert_eq!(
            value,
            json!({
                "Outlet": {"MerchantID": "123123123", "StoreID": "123", "TerminalID": "456"},
                "TransactionID": "EE52401813A74328AAA7D93319FF4383",
                "Patient": {"AccountNumber": "ACC-1"}
            })
        );
        assert_eq!(serde_json::from_value::<VoidBody>(value).unwrap(), body);
        // Without a patient, the key is left out rather than sent as null.
        let bare = serde_json::to_string(&VoidBody::new(&outlet(), &payment())).unwrap();
        assert!(!bare.contains("Patient"), "{bare}");
    }

    #[test]
    fn refund_and_sale_bodies_round_trip_with_exact_amounts() {
        let refund = RefundBody::new(&outlet(), &payment(), Amount::from_cents(400));
        let text = serde_json::to_string(&refund).unwrap();
        assert!(text.contains(r#""Amount":"4.00""#), "{text}");
        assert_eq!(serde_json::from_str::<RefundBody>(&text).unwrap(), refund);

        let mut card = Card::new("4111111111111111", "1229");
        card.card_verification_number = Some("987".to_owned());
        let sale = SaleBody::new(&outlet(), "0.1".parse().unwrap(), card);
        let value = serde_json::to_value(&sale).unwrap();
        assert_eq!(value["Amount"], "0.10");
        assert_eq!(value["Card"]["CardExpiration"], "1229");
        assert_eq!(serde_json::from_value::<SaleBody>(value).unwrap(), sale);
        let debug = format!("{sale:?}");
        assert!(!debug.contains("4111") && !debug.contains("987"), "{debug}");
    }

    #[test]
    fn amounts_are_strings_with_at_most_two_decimals() {
        let amount = |json: &str| serde_json::from_str::<Amount>(json).map(Amount::cents);
        assert_eq!(amount(r#""12.34""#).unwrap(), 1234);
        assert_eq!(amount(r#""12""#).unwrap(), 1200);
        assert_eq!(amount(r#""0.07""#).unwrap(), 7);
        // 0.1 + 0.2 is not 0.3 in floating point; here it is exact.
        let tenth = serde_json::from_str::<Amount>(r#""0.1""#).unwrap();
        let fifth = serde_json::from_str::<Amount>(r#""0.2""#).unwrap();
        assert_eq!(
            tenth.checked_add(fifth).unwrap().cents(),
            amount(r#""0.3""#).unwrap()
        );
        assert_eq!(
            serde_json::to_string(&Amount::from_cents(9_007_199_254_740_993)).unwrap(),
            r#""90071992547409.93""#
        );
        for refused in [
            "12.34",
            "12",
            r#""12.345""#,
            r#""-1.00""#,
            r#""1e2""#,
            r#"" 1.00""#,
            r#""""#,
            "null",
            r#""1,00""#,
        ] {
            assert!(amount(refused).is_err(), "{refused} was read as an amount");
        }
    }

    #[test]
    fn answers_tolerate_unknown_fields_and_keep_unknown_statuses() {
        let answer: PaymentAnswer = serde_json::from_value(json!({
            "TransactionID": "EE52401813A74328AAA7D93319FF4383",
            "TransactionStatus": "C",
            "PrimaryTransactionStatus": "V",
            "ResponseCode": "000",
            "ResponseMessage": "APPROVED",
            "AuthorizationText": "APPROVED",
            "SomethingNew": {"nested": [1, 2]},
            "Outlet": {"MerchantID": "1"}
        }))
        .unwrap();
        assert_eq!(answer.transaction_status, TransactionStatus::Completed);
        assert_eq!(
            answer.primary_transaction_status,
            Some(TransactionStatus::Voided)
        );
        assert_eq!(answer.response_code.as_deref(), Some("000"));
        let text = serde_json::to_string(&answer).unwrap();
        assert_eq!(
            serde_json::from_str::<PaymentAnswer>(&text).unwrap(),
            answer
        );

        let odd: PaymentAnswer =
            serde_json::from_str(r#"{"TransactionStatus":"SE","PrimaryTransactionStatus":"v"}"#)
                .unwrap();
        assert_eq!(
            odd.transaction_status,
            TransactionStatus::Other("SE".into())
        );
        assert_eq!(
            odd.primary_transaction_status,
            Some(TransactionStatus::Other("v".into()))
        );
    }

    #[test]
    fn what_a_verdict_needs_is_required_and_typed() {
        // No TransactionStatus: nothing to judge, so the answer does not read.
        let missing = serde_json::from_str::<PaymentAnswer>(
            r#"{"TransactionID":"X","PrimaryTransactionStatus":"V"}"#,
        );
        assert!(
            missing
                .unwrap_err()
                .to_string()
                .contains("TransactionStatus")
        );
        // A status must be a string.
        assert!(serde_json::from_str::<PaymentAnswer>(r#"{"TransactionStatus":1}"#).is_err());
        assert!(serde_json::from_str::<PaymentAnswer>(r#"{"TransactionStatus":null}"#).is_err());
        // Requests: the outlet, the payment and (for a refund) the amount are required.
        let void = json!({"Outlet": {"MerchantID": "1", "StoreID": "2", "TerminalID": "3"}});
        let error = serde_json::from_value::<VoidBody>(void).unwrap_err();
        assert!(error.to_string().contains("TransactionID"), "{error}");
        let no_store =
            json!({"Outlet": {"MerchantID": "1", "TerminalID": "3"}, "TransactionID": "X"});
        assert!(serde_json::from_value::<VoidBody>(no_store).is_err());
        let refund = json!({
            "Outlet": {"MerchantID": "1", "StoreID": "2", "TerminalID": "3"},
            "TransactionID": "X"
        });
        let error = serde_json::from_value::<RefundBody>(refund).unwrap_err();
        assert!(error.to_string().contains("Amount"), "{error}");
        let float = json!({
            "Outlet": {"MerchantID": "1", "StoreID": "2", "TerminalID": "3"},
            "TransactionID": "X", "Amount": 4.0
        });
        assert!(serde_json::from_value::<RefundBody>(float).is_err());
    }

    #[test]
    fn error_answers_read_whatever_they_hold() {
        let empty: ErrorAnswer = serde_json::from_str("{}").unwrap();
        assert_eq!(empty, ErrorAnswer::default());
        let refusal: ErrorAnswer = serde_json::from_value(json!({
            "Message": "Void not allowed",
            "TransactionStatus": "D",
            "PrimaryTransactionStatus": "C",
            "ResponseCode": "012",
            "StackTrace": "…"
        }))
        .unwrap();
        assert_eq!(
            refusal.transaction_status,
            Some(TransactionStatus::Declined)
        );
        assert_eq!(
            refusal.primary_transaction_status,
            Some(TransactionStatus::Completed)
        );
        let text = serde_json::to_string(&ErrorAnswer::message("Bad key")).unwrap();
        assert_eq!(text, r#"{"Message":"Bad key"}"#);
    }
}
