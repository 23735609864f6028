//! InstaMed's NVP wire format: requests are form posts to `NVP.aspx`, answers form-encoded
//! pairs with `errorCode`/`errorMessage` when a request failed. This codec knows pairs, not
//! voids: what a void's pairs are and what an answer's pairs prove live in the void module,
//! beside the same rules for SOAP.
//!
//! Key casing varies between InstaMed's documents and production clients (`MerchantID`,
//! `merchantId`), so answers are read case-blind. Requests use the casing of InstaMed's sample.

use std::borrow::Cow;

/// A form body of `pairs`, in order (`application/x-www-form-urlencoded`).
pub fn encode<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut form = form_urlencoded::Serializer::new(String::with_capacity(256));
    for (key, value) in pairs {
        form.append_pair(key, value);
    }
    form.finish()
}

/// The pairs of an NVP answer, borrowed from its body where no unescaping was needed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NvpAnswer<'a> {
    pairs: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

/// `errorCode` / `errorMessage`: how NVP.aspx says a request failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NvpError<'a> {
    /// `errorCode`, if given.
    pub code: Option<&'a str>,
    /// `errorMessage`, if given.
    pub message: Option<&'a str>,
}

impl<'a> NvpAnswer<'a> {
    /// The value of `key` (matched case-blind), trimmed; `None` when absent or blank.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(key))
            .map(|(_, value)| value.trim())
            .filter(|value| !value.is_empty())
    }

    /// The error the answer reports, if it reports one.
    pub fn error(&self) -> Option<NvpError<'_>> {
        let error = NvpError {
            code: self.get("errorCode"),
            message: self.get("errorMessage"),
        };
        (error.code.is_some() || error.message.is_some()).then_some(error)
    }

    /// Every pair, in the order given.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(key, value)| (&**key, &**value))
    }
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
    #[error("an error that also reports a completed transaction")]
    Contradiction,
}

/// Reads an NVP answer. Keys are matched case-blind; an answer that repeats a key, is not
/// UTF-8 once percent-decoded, or reports an error beside a completed transaction says two
/// things, and neither may be believed.
pub fn decode(body: &[u8]) -> Result<NvpAnswer<'_>, NvpProblem> {
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
    if pairs.is_empty() {
        return Err(NvpProblem::NoPairs);
    }
    if let Some(key) = repeated_key(&pairs) {
        return Err(NvpProblem::Repeated(key));
    }
    let answer = NvpAnswer { pairs };
    let completed = answer
        .get("transactionStatus")
        .is_some_and(|s| s.eq_ignore_ascii_case("C"));
    if completed && answer.error().is_some() {
        return Err(NvpProblem::Contradiction);
    }
    Ok(answer)
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
pub(crate) fn form_decoded(bytes: &[u8]) -> Option<Cow<'_, str>> {
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

    #[test]
    fn pairs_are_escaped_in_order() {
        let body = encode([
            ("MerchantID", "a&b=c"),
            ("StoreID", "1 2"),
            ("TerminalID", "ü"),
            ("id", "x+y"),
        ]);
        assert_eq!(
            body,
            "MerchantID=a%26b%3Dc&StoreID=1+2&TerminalID=%C3%BC&id=x%2By"
        );
    }

    #[test]
    fn answers_are_read_whatever_the_key_casing() {
        let body = b"responseCode=000&responseMessage=APPROVED&TRANSACTIONSTATUS=C\
                     &primarytransactionid=EE52&PrimaryTransactionStatus=V\n";
        let answer = decode(body).unwrap();
        assert_eq!(answer.get("transactionStatus"), Some("C"));
        assert_eq!(answer.get("primaryTransactionStatus"), Some("V"));
        assert_eq!(answer.get("primaryTransactionID"), Some("EE52"));
        assert_eq!(answer.error(), None);
    }

    #[test]
    fn errors_and_garbage_are_told_apart() {
        let answer = decode(b"errorCode=400&errorMessage=An+unexpected+error+occurred").unwrap();
        assert_eq!(
            answer.error(),
            Some(NvpError {
                code: Some("400"),
                message: Some("An unexpected error occurred"),
            })
        );
        assert_eq!(decode(b""), Err(NvpProblem::NoPairs));
        assert_eq!(decode(b" & "), Err(NvpProblem::NoPairs));
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
        assert_eq!(replacement.get("primaryTransactionID"), Some("A\u{FFFD}B"));
        assert_eq!(
            decode(b"errorCode=1&transactionStatus=C"),
            Err(NvpProblem::Contradiction)
        );
    }
}
