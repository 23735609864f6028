//! InstaMed's NVP interface: the same void as a form post to `NVP.aspx`, answered with
//! form-encoded pairs. [`Client`](crate::Client) uses it when set to
//! [`Protocol::Nvp`](crate::Protocol::Nvp); it is public for tests and tools that handle NVP
//! bodies themselves.
//!
//! Key casing varies between InstaMed's documents and production clients (`MerchantID`,
//! `merchantId`), so answers are read case-blind. Requests use the casing of InstaMed's sample.

use crate::void::{VoidAnswer, VoidRequest};

/// The form body of a void (`transactionType=CreditCard&transactionAction=Void&…`).
pub fn encode_void(request: &VoidRequest) -> String {
    let outlet = request.outlet();
    form_urlencoded::Serializer::new(String::with_capacity(256))
        .append_pair("transactionType", "CreditCard")
        .append_pair("transactionAction", "Void")
        .append_pair("MerchantID", outlet.merchant_id())
        .append_pair("StoreID", outlet.store_id())
        .append_pair("TerminalID", outlet.terminal_id())
        .append_pair(
            "primaryCardPresentStatus",
            request.card_present_status().as_str(),
        )
        .append_pair("primaryTransactionID", request.payment().as_str())
        .finish()
}

/// What an NVP answer says.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NvpReply {
    /// The transaction's fields.
    Answer(VoidAnswer),
    /// `errorCode` / `errorMessage`.
    Error {
        /// `errorCode`, if given.
        code: Option<String>,
        /// `errorMessage` (or a note that there was none).
        message: String,
    },
}

/// Reads an NVP answer; `None` when the body holds none of the pairs an answer has.
pub fn decode(body: &[u8]) -> Option<NvpReply> {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(body.trim_ascii())
        .map(|(key, value)| (key.into_owned(), value.trim().to_owned()))
        .collect();
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.clone())
            .filter(|value| !value.is_empty())
    };
    let (code, message) = (get("errorCode"), get("errorMessage"));
    if code.is_some() || message.is_some() {
        let message = message.unwrap_or_else(|| "no errorMessage".to_owned());
        return Some(NvpReply::Error { code, message });
    }
    let answer = VoidAnswer {
        transaction_status: get("transactionStatus"),
        primary_transaction_status: get("primaryTransactionStatus"),
        response_code: get("responseCode"),
        response_message: get("responseMessage"),
        primary_transaction_id: get("primaryTransactionID"),
        transaction_id: get("transactionID"),
        authorization_number: get("authorizationNumber"),
    };
    (answer != VoidAnswer::default()).then_some(NvpReply::Answer(answer))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Outlet, TransactionId};

    #[test]
    fn the_request_is_instameds_sample_form() {
        let request = VoidRequest::new(
            Outlet::new("123123123", "123", "123").unwrap(),
            TransactionId::new("EE52401813A74328AAA7D93319FF4383").unwrap(),
        );
        assert_eq!(
            encode_void(&request),
            "transactionType=CreditCard&transactionAction=Void&MerchantID=123123123&StoreID=123\
             &TerminalID=123&primaryCardPresentStatus=PresentManualKey\
             &primaryTransactionID=EE52401813A74328AAA7D93319FF4383"
        );
    }

    #[test]
    fn fields_are_escaped() {
        let request = VoidRequest::new(
            Outlet::new("a&b=c", "1 2", "ü").unwrap(),
            TransactionId::new("x+y").unwrap(),
        );
        let body = encode_void(&request);
        assert!(
            body.contains("MerchantID=a%26b%3Dc&StoreID=1+2&TerminalID=%C3%BC"),
            "{body}"
        );
        assert!(body.ends_with("primaryTransactionID=x%2By"), "{body}");
    }

    #[test]
    fn answers_are_read_whatever_the_key_casing() {
        let body = b"responseCode=000&responseMessage=APPROVED&TRANSACTIONSTATUS=C\
                     &primarytransactionid=EE52&PrimaryTransactionStatus=V\n";
        let Some(NvpReply::Answer(answer)) = decode(body) else {
            panic!("not an answer")
        };
        assert_eq!(answer.transaction_status.as_deref(), Some("C"));
        assert_eq!(answer.primary_transaction_status.as_deref(), Some("V"));
        assert_eq!(answer.primary_transaction_id.as_deref(), Some("EE52"));
    }

    #[test]
    fn errors_and_garbage_are_told_apart() {
        let error = decode(b"errorCode=400&errorMessage=An+unexpected+error+occurred");
        assert_eq!(
            error,
            Some(NvpReply::Error {
                code: Some("400".to_owned()),
                message: "An unexpected error occurred".to_owned()
            })
        );
        assert_eq!(decode(b"<html>oops</html>"), None);
        assert_eq!(decode(b""), None);
    }
}
