//! Sign-in: HTTP Basic, as InstaMed asks for on its SOAP and NVP endpoints, and an API key
//! pair (`Api-Key` and `Api-Secret` headers) on its REST endpoints.
//!
//! Which user name the service wants is not known: the documented account ID, or (as one
//! production client sent) only its part before `@`. The simulator accepts both.

use http::{HeaderMap, HeaderValue};

use instamed_soap::{ApiKey, Credentials};

/// The accounts that may sign in.
#[derive(Debug)]
pub(crate) struct Accounts {
    accounts: Vec<Credentials>,
}

impl Accounts {
    pub(crate) fn new(accounts: &[(String, String)]) -> Self {
        let accounts = accounts
            .iter()
            .map(|(id, password)| Credentials::new(id, password))
            .collect();
        Self { accounts }
    }

    /// Whether an `Authorization` header signs in one of the accounts.
    pub(crate) fn admits(&self, header: Option<&HeaderValue>) -> bool {
        let Some(header) = header else {
            return false;
        };
        // Every account is checked, with no early exit, so timing says little about which
        // part of a guess was right.
        self.accounts.iter().fold(false, |admitted, account| {
            admitted | account.admits(header.as_bytes())
        })
    }
}

/// The API key pairs that may call the REST endpoints.
#[derive(Debug)]
pub(crate) struct ApiKeys {
    keys: Vec<ApiKey>,
}

impl ApiKeys {
    pub(crate) fn new(pairs: &[(String, String)]) -> Self {
        let keys = pairs
            .iter()
            .map(|(key, secret)| ApiKey::new(key, secret))
            .collect();
        Self { keys }
    }

    /// Whether the `Api-Key` and `Api-Secret` headers name one of the pairs (see
    /// [`ApiKey::admits`]).
    pub(crate) fn admits(&self, headers: &HeaderMap) -> bool {
        self.keys
            .iter()
            .fold(false, |admitted, pair| admitted | pair.admits(headers))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD as BASE64;

    fn header(user_password: &str) -> HeaderValue {
        HeaderValue::from_str(&format!("Basic {}", BASE64.encode(user_password))).unwrap()
    }

    #[test]
    fn admits_the_account_id_or_its_local_part_with_the_right_password() {
        let accounts = Accounts::new(&[("acct@clinic".to_owned(), "pa:ss".to_owned())]);
        assert!(accounts.admits(Some(&header("acct@clinic:pa:ss"))));
        assert!(accounts.admits(Some(&header("acct:pa:ss"))));
        assert!(!accounts.admits(Some(&header("acct@clinic:pa:s"))));
        assert!(!accounts.admits(Some(&header("acct@clinic:pa:sss"))));
        assert!(!accounts.admits(Some(&header("acct@clinic:"))));
        assert!(!accounts.admits(Some(&header("clinic:pa:ss"))));
        assert!(!accounts.admits(None));
        assert!(!accounts.admits(Some(&HeaderValue::from_static("Bearer x"))));
        assert!(!accounts.admits(Some(&HeaderValue::from_static("Basic !!!"))));
        let lower = format!("basic {}", BASE64.encode("acct:pa:ss"));
        assert!(accounts.admits(Some(&HeaderValue::from_str(&lower).unwrap())));
    }

    #[test]
    fn api_keys_need_both_headers_once_and_matching() {
        let keys = ApiKeys::new(&[("key-1".to_owned(), "secret-1".to_owned())]);
        let headers = |pairs: &[(&'static str, &'static str)]| {
            let mut map = HeaderMap::new();
            for (name, value) in pairs {
                map.append(*name, HeaderValue::from_static(value));
            }
            map
        };
        assert!(keys.admits(&headers(&[
            ("api-key", "key-1"),
            ("api-secret", "secret-1")
        ])));
        assert!(!keys.admits(&headers(&[("api-key", "key-1"), ("api-secret", "secret-")])));
        assert!(!keys.admits(&headers(&[
            ("api-key", "key-2"),
            ("api-secret", "secret-1")
        ])));
        assert!(!keys.admits(&headers(&[("api-key", "key-1")])));
        assert!(!keys.admits(&headers(&[("api-secret", "secret-1")])));
        assert!(!keys.admits(&headers(&[
            ("api-key", "key-1"),
            ("api-secret", "secret-1"),
            ("api-secret", "other"),
        ])));
        assert!(!ApiKeys::new(&[]).admits(&headers(&[("api-key", ""), ("api-secret", "")])));
    }
}
