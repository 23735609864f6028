//! Which names hold secrets: XML element and attribute local names, form keys, JSON keys and
//! header names, all judged by the same rule.
//!
//! A name is compared case-blind after dropping everything but letters and digits
//! (`user_Password`, `user-password` and `UserPassword` are one name). It is secret when
//! - it is one of [`EXACT`] (short names that would match too much as a pattern),
//! - it contains one of [`PATTERNS`] (`merchantPassword`, `X-Api-Key`, `Track2Data`, …), or
//! - one of its words is one of [`WORDS`] (`PIN`, `userPin`, `pin_code`, `card_cid`,
//!   `CardCV2`; not `Shipping`).
//!
//! The card security code goes by many names in the payment industry, and each is here: CVV,
//! CVV2 (Visa), CVC, CVC2 (Mastercard), CID and 4DBC (American Express, Discover), CVD
//! (Discover), CSC, CVN, CVN2 (UnionPay), CAV2 (JCB), CVE (Elo), CV2, `SecCode`,
//! `SecurityCode`, `VerificationValue`, `card_code`, and the 3-D Secure CAVV.
//!
//! The lists lean towards redacting too much: a name that merely looks secret loses its value
//! in the cassette, which costs a reviewer a placeholder, never a leak.

/// Names that are secret when they are the whole name.
pub const EXACT: &[&str] = &[
    "pwd",
    "pin",
    "pan",
    "cid",
    "ksn",
    "auth",
    "authorization",
    "proxyauthorization",
    "cookie",
    "setcookie",
    "sessionid",
    "4dbc",
];

/// Names that are secret when they contain one of these.
pub const PATTERNS: &[&str] = &[
    "password",
    "passwd",
    "passphrase",
    "passcode",
    "secret",
    "cvv",
    "cvn",
    "cvc",
    "cardverification",
    "cardsecurity",
    "securitycode",
    "cardcode",
    "cardnumber",
    "track",
    "magstripe",
    "swipe",
    "apikey",
    "accesskey",
    // InstaMed's SSO login takes its secret as `securityKey`.
    "securitykey",
    "privatekey",
    "token",
    "credential",
    "pinblock",
    "seccode",
    "verificationvalue",
    "verificationcode",
    "securitynumber",
    "cavv",
];

/// Names that are secret when one of their words is one of these: short codes that would
/// match inside innocent names as a pattern (`pin` in `Shipping`, `cid` in `Lucid`).
pub const WORDS: &[&str] = &["pin", "csc", "cid", "cvd", "cv2", "cve", "cav2", "4dbc"];

/// Whether the value of a field, attribute, key or header called `name` is a secret.
pub fn is_secret(name: &str) -> bool {
    let folded: String = name
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if folded.is_empty() {
        return false;
    }
    if EXACT.contains(&folded.as_str()) {
        return true;
    }
    let pattern = PATTERNS.iter().any(|pattern| {
        folded.match_indices(pattern).any(|(at, _)| {
            // A tracking number is not track data; a token's status (SSOService's
            // `GetSSOTokenStatus`, its response and result) is not the token, nor is the SSO
            // login's flag asking for one (`requestToken=true`).
            (*pattern != "track" || !folded[at..].starts_with("tracking"))
                && (*pattern != "token"
                    || !(folded[at..].starts_with("tokenstatus") || folded == "requesttoken"))
        })
    });
    pattern || words(name).any(|word| WORDS.iter().any(|short| word.eq_ignore_ascii_case(short)))
}

/// The words of a name: split at anything that is not a letter or digit, and at case changes
/// (`userPIN` → `user`, `PIN`; `PINBlock` → `PIN`, `Block`).
fn words(name: &str) -> impl Iterator<Item = &str> {
    name.split(|c: char| !c.is_ascii_alphanumeric())
        .flat_map(|part| {
            let bytes = part.as_bytes();
            let mut cuts = vec![0];
            for i in 1..bytes.len() {
                let (before, here) = (bytes[i - 1], bytes[i]);
                let next_lower = bytes.get(i + 1).is_some_and(u8::is_ascii_lowercase);
                let lower_to_upper = !before.is_ascii_uppercase() && here.is_ascii_uppercase();
                let acronym_end =
                    before.is_ascii_uppercase() && here.is_ascii_uppercase() && next_lower;
                if lower_to_upper || acronym_end {
                    cuts.push(i);
                }
            }
            cuts.push(bytes.len());
            cuts.windows(2)
                .map(|w| &part[w[0]..w[1]])
                .collect::<Vec<_>>()
        })
        .filter(|word| !word.is_empty())
}

/// Whether a value is a credential whatever its name: an HTTP authorization value
/// (`Basic …`, `Bearer …`) written into a form, a query or a document.
pub fn is_secret_value(value: &str) -> bool {
    let value = value.trim_start();
    ["basic ", "bearer ", "digest ", "negotiate ", "ntlm "]
        .iter()
        .any(|scheme| {
            value.len() > scheme.len()
                && value.is_char_boundary(scheme.len())
                && value[..scheme.len()].eq_ignore_ascii_case(scheme)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names_are_found_by_list_and_by_pattern_case_blind() {
        for name in [
            "Password",
            "userPassword",
            "merchant_password",
            "PWD",
            "CVV2",
            "CardVerificationNumber",
            "cvn",
            "Track1Data",
            "track2",
            "X-Api-Key",
            "Api-Secret",
            "api_key",
            "access_token",
            "Authorization",
            "Cookie",
            "Set-Cookie",
            "PIN",
            "userPin",
            "PINBlock",
            "pin_code",
            "CSC",
            "card_csc",
            "CardNumber",
        ] {
            assert!(is_secret(name), "{name}");
        }
        // The card security code under each name the payment industry gives it.
        for name in [
            "CV2",
            "CVD",
            "SecCode",
            "sec_code",
            "VerificationValue",
            "verification_value",
            "CID",
            "card_cid",
            "CardCID",
            "CVV2",
            "CVC2",
            "CVN2",
            "CAV2",
            "CVE",
            "4DBC",
            "SecurityCode",
            "card_code",
            "cardCode",
            "CardSecurityCode",
            "CardCV2",
            "cvv2Code",
            "CAVV",
        ] {
            assert!(is_secret(name), "{name}");
        }
        for name in [
            "MerchantID",
            "StoreID",
            "TerminalID",
            "PrimaryTransactionID",
            "PrimaryCardPresentStatus",
            "TransactionStatus",
            "AuthorizationNumber",
            "AuthorizationText",
            "ResponseMessage",
            "transactionAction",
            "ShippingAddress",
            "Spinner",
            "Lucid",
            "Decide",
            "TrackingNumber",
            "Content-Type",
            "SOAPAction",
            "",
        ] {
            assert!(!is_secret(name), "{name}");
        }
    }

    #[test]
    fn authorization_values_are_secret_whatever_their_name() {
        assert!(is_secret_value("Basic ZGVtbzpkZW1v"));
        assert!(is_secret_value("  bearer abc"));
        assert!(!is_secret_value("Basic"));
        assert!(!is_secret_value("basically fine"));
    }
}
