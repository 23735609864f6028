//! Sign-in: HTTP Basic, as InstaMed asks for on its SOAP and NVP endpoints, and an API key
//! pair (`Api-Key` and `Api-Secret` headers) on its REST endpoints.
//!
//! Which user name the service wants is not known: the documented account ID, or (as one
//! production client sent) only its part before `@`. The simulator accepts both.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use http::{HeaderMap, HeaderValue};

use instamed_soap::rest::{API_KEY_HEADER, API_SECRET_HEADER};

/// Longest decoded `user:password` accepted; anything longer cannot be one of our accounts.
const MAX_CREDENTIALS: usize = 512;

/// The accounts that may sign in.
#[derive(Debug)]
pub(crate) struct Accounts {
    accounts: Vec<Account>,
}

struct Account {
    id: Box<[u8]>,
    /// The part of the ID before `@` (the whole ID when it has none).
    local_part: Box<[u8]>,
    password: Box<[u8]>,
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("id", &String::from_utf8_lossy(&self.id))
            .field("password", &"<redacted>")
            .finish()
    }
}

impl Accounts {
    pub(crate) fn new(accounts: &[(String, String)]) -> Self {
        let accounts = accounts
            .iter()
            .map(|(id, password)| Account {
                id: id.as_bytes().into(),
                local_part: id.split('@').next().unwrap_or(id).as_bytes().into(),
                password: password.as_bytes().into(),
            })
            .collect();
        Self { accounts }
    }

    /// Whether an `Authorization` header signs in one of the accounts.
    pub(crate) fn admits(&self, header: Option<&HeaderValue>) -> bool {
        let Some(token) = header.and_then(|value| basic_token(value.as_bytes())) else {
            return false;
        };
        let mut decoded = [0u8; MAX_CREDENTIALS];
        if token.len() > MAX_CREDENTIALS / 3 * 4 {
            return false;
        }
        let Ok(len) = BASE64.decode_slice(token, &mut decoded) else {
            return false;
        };
        let decoded = &decoded[..len];
        let Some(colon) = decoded.iter().position(|&b| b == b':') else {
            return false;
        };
        let (user, password) = (&decoded[..colon], &decoded[colon + 1..]);
        // Every account is checked, with no early exit, so timing says little about which
        // part of a guess was right.
        self.accounts.iter().fold(false, |admitted, account| {
            let user_matches = *account.id == *user || *account.local_part == *user;
            admitted | (user_matches & same_secret(&account.password, password))
        })
    }
}

/// The API key pairs that may call the REST endpoints.
#[derive(Debug)]
pub(crate) struct ApiKeys {
    keys: Vec<ApiKey>,
}

struct ApiKey {
    key: Box<[u8]>,
    secret: Box<[u8]>,
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKey")
            .field("key", &String::from_utf8_lossy(&self.key))
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl ApiKeys {
    pub(crate) fn new(pairs: &[(String, String)]) -> Self {
        let keys = pairs
            .iter()
            .map(|(key, secret)| ApiKey {
                key: key.as_bytes().into(),
                secret: secret.as_bytes().into(),
            })
            .collect();
        Self { keys }
    }

    /// Whether the `Api-Key` and `Api-Secret` headers name one of the pairs. A header given
    /// twice admits nothing: which one a real server would read is not known.
    pub(crate) fn admits(&self, headers: &HeaderMap) -> bool {
        let single = |name: &str| {
            let mut values = headers.get_all(name).iter();
            match (values.next(), values.next()) {
                (Some(value), None) => Some(value.as_bytes()),
                _ => None,
            }
        };
        let (Some(key), Some(secret)) = (single(API_KEY_HEADER), single(API_SECRET_HEADER)) else {
            return false;
        };
        self.keys.iter().fold(false, |admitted, pair| {
            admitted | (same_secret(&pair.key, key) & same_secret(&pair.secret, secret))
        })
    }
}

/// The token of a `Basic` authorization (scheme case-insensitive).
fn basic_token(value: &[u8]) -> Option<&[u8]> {
    let (scheme, rest) = value.split_at_checked(5)?;
    if !scheme.eq_ignore_ascii_case(b"basic") || rest.first() != Some(&b' ') {
        return None;
    }
    Some(rest.trim_ascii())
}

/// Compares two secrets in time that depends only on the length of the one given.
pub(crate) fn same_secret(expected: &[u8], given: &[u8]) -> bool {
    let mut difference = expected.len() ^ given.len();
    for (i, &byte) in given.iter().enumerate() {
        difference |= usize::from(byte ^ expected.get(i).copied().unwrap_or(0));
    }
    difference == 0
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn secrets_compare_by_every_byte() {
        assert!(same_secret(b"abc", b"abc"));
        assert!(!same_secret(b"abc", b"abd"));
        assert!(!same_secret(b"abc", b"ab"));
        assert!(!same_secret(b"abc", b""));
        assert!(same_secret(b"", b""));
        assert!(!same_secret(b"", b"a"));
    }
}
