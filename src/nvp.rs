//! InstaMed's NVP interface: the same void as a form post to `NVP.aspx`, answered with
//! form-encoded pairs. [`Client`](crate::Client) uses it when set to
//! [`Protocol::Nvp`](crate::Protocol::Nvp); it is public for tests and tools that handle NVP
//! bodies themselves.
//!
//! Key casing varies between InstaMed's documents and production clients (`MerchantID`,
//! `merchantId`), so answers are read case-blind. Requests use the casing of InstaMed's sample.

use std::borrow::Cow;

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
    /// `errorCode` / `errorMessage`, with any transaction fields given beside them.
    Error {
        /// `errorCode`, if given.
        code: Option<String>,
        /// `errorMessage` (or a note that there was none).
        message: String,
        /// The transaction fields beside the error (`transactionStatus`,
        /// `primaryTransactionStatus`, `responseCode`…): structured evidence, when present,
        /// of what the service did.
        answer: VoidAnswer,
    },
}

/// Why a body is not an NVP answer that can be believed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NvpProblem {
    /// None of the pairs an answer has.
    #[error("no NVP pairs in the answer")]
    NoPairs,
    /// A key or value whose percent-decoded bytes are not UTF-8.
    #[error("{0} is not UTF-8")]
    NotUtf8(String),
    /// A key given twice (keys compared case-blind): the answer says two things.
    #[error("{0} appears more than once")]
    Repeated(String),
    /// `errorCode`/`errorMessage` beside `transactionStatus=C`.
    #[error("an error that also reports a completed void")]
    Contradiction,
}

/// Reads an NVP answer. Keys are matched case-blind; an answer that repeats a key, is not
/// UTF-8 once percent-decoded, or reports an error beside a completed void says two things,
/// and neither may be believed.
pub fn decode(body: &[u8]) -> Result<NvpReply, NvpProblem> {
    // Pairs borrow the body unless they had to be unescaped: an answer is a dozen plain pairs.
    let mut pairs: Vec<(Cow<'_, str>, Cow<'_, str>)> = Vec::with_capacity(16);
    for pair in body
        .trim_ascii()
        .split(|&b| b == b'&')
        .filter(|pair| !pair.is_empty())
    {
        let (key, value) = match pair.iter().position(|&b| b == b'=') {
            Some(at) => (&pair[..at], &pair[at + 1..]),
            None => (pair, &b""[..]),
        };
        let key = form_decoded(key).ok_or_else(|| NvpProblem::NotUtf8(lossy(key)))?;
        let value = form_decoded(value).ok_or_else(|| NvpProblem::NotUtf8(key.to_string()))?;
        pairs.push((key, value));
    }
    if let Some(key) = repeated_key(&pairs) {
        return Err(NvpProblem::Repeated(key));
    }
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.trim())
            .filter(|value| !value.is_empty())
            .map(str::to_owned)
    };
    let (code, message) = (get("errorCode"), get("errorMessage"));
    let answer = VoidAnswer {
        transaction_status: get("transactionStatus"),
        primary_transaction_status: get("primaryTransactionStatus"),
        response_code: get("responseCode"),
        response_message: get("responseMessage"),
        primary_transaction_id: get("primaryTransactionID"),
        transaction_id: get("transactionID"),
        authorization_number: get("authorizationNumber"),
    };
    if code.is_some() || message.is_some() {
        if answer
            .transaction_status
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case("C"))
        {
            return Err(NvpProblem::Contradiction);
        }
        let message = message.unwrap_or_else(|| "no errorMessage".to_owned());
        return Ok(NvpReply::Error {
            code,
            message,
            answer,
        });
    }
    if answer == VoidAnswer::default() {
        return Err(NvpProblem::NoPairs);
    }
    Ok(NvpReply::Answer(answer))
}

/// The first key (lower-cased) given more than once, keys compared case-blind. A real answer
/// has a dozen pairs, compared pairwise; a body of many thousands is sorted instead, so that it
/// costs n log n, not n².
fn repeated_key(pairs: &[(Cow<'_, str>, Cow<'_, str>)]) -> Option<String> {
    if pairs.len() <= 32 {
        return pairs.iter().enumerate().find_map(|(i, (key, _))| {
            pairs[..i]
                .iter()
                .any(|(earlier, _)| earlier.eq_ignore_ascii_case(key))
                .then(|| key.to_ascii_lowercase())
        });
    }
    let mut keys: Vec<String> = pairs
        .iter()
        .map(|(key, _)| key.to_ascii_lowercase())
        .collect();
    keys.sort_unstable();
    keys.windows(2)
        .find(|two| two[0] == two[1])
        .map(|two| two[0].clone())
}

/// `application/x-www-form-urlencoded` decoding (`+` is a space), strict about UTF-8.
fn form_decoded(bytes: &[u8]) -> Option<Cow<'_, str>> {
    if !bytes.iter().any(|&b| b == b'+' || b == b'%') {
        return std::str::from_utf8(bytes).ok().map(Cow::Borrowed);
    }
    let spaced: Vec<u8> = bytes
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    let decoded: Vec<u8> = percent_encoding::percent_decode(&spaced).collect();
    String::from_utf8(decoded).ok().map(Cow::Owned)
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
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
        let Ok(NvpReply::Answer(answer)) = decode(body) else {
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
            Ok(NvpReply::Error {
                code: Some("400".to_owned()),
                message: "An unexpected error occurred".to_owned(),
                answer: VoidAnswer::default(),
            })
        );
        assert_eq!(decode(b"<html>oops</html>"), Err(NvpProblem::NoPairs));
        assert_eq!(decode(b""), Err(NvpProblem::NoPairs));
        assert_eq!(decode(b"a=1&A=2"), Err(NvpProblem::Repeated("a".into())));
        // Past a few dozen pairs repeats are found by sorting: the same answers, in n log n.
        let many: Vec<String> = (0..40).map(|n| format!("k{n}=v")).collect();
        let mut body = format!("transactionStatus=C&{}", many.join("&"));
        assert!(decode(body.as_bytes()).is_ok());
        body.push_str("&K7=again");
        assert_eq!(
            decode(body.as_bytes()),
            Err(NvpProblem::Repeated("k7".into()))
        );
        assert_eq!(
            decode(b"transactionStatus=%FF"),
            Err(NvpProblem::NotUtf8("transactionStatus".into()))
        );
        // U+FFFD itself, correctly encoded, is a character like any other.
        let replacement = decode(b"transactionStatus=D&primaryTransactionID=A%EF%BF%BDB").unwrap();
        let NvpReply::Answer(answer) = replacement else {
            panic!("not an answer")
        };
        assert_eq!(answer.primary_transaction_id.as_deref(), Some("A\u{FFFD}B"));
        assert_eq!(
            decode(b"errorCode=1&transactionStatus=C"),
            Err(NvpProblem::Contradiction)
        );
    }
}
