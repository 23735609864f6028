//! The InstaMed account that signs every request.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use http::HeaderValue;

/// The header carrying the REST API key.
pub const API_KEY_HEADER: &str = "Api-Key";
/// The header carrying the REST API secret; mark it sensitive and never log it.
pub const API_SECRET_HEADER: &str = "Api-Secret";

/// Which form of the account ID goes in the HTTP Basic user name.
///
/// InstaMed documents the account ID; one production client sent only the part before `@`.
/// Which one a given account needs is not documented, so it is a setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum UserName {
    /// The whole account ID (`merchant@example.org`).
    #[default]
    AccountId,
    /// The part of the account ID before `@`.
    LocalPart,
}

/// An InstaMed account ID and its password. The password never appears in `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    account_id: String,
    password: String,
}

impl Credentials {
    /// Credentials for HTTP Basic authentication.
    pub fn new(account_id: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            account_id: account_id.into(),
            password: password.into(),
        }
    }

    /// The account ID.
    pub fn account_id(&self) -> &str {
        &self.account_id
    }

    /// The password, for the redactor that keeps it out of what answers make the client say.
    pub(crate) fn password(&self) -> &str {
        &self.password
    }

    /// The Basic token (base64 of `user:password`) for the user-name `form`.
    pub(crate) fn basic_token(&self, form: UserName) -> String {
        let user = match form {
            UserName::AccountId => self.account_id.as_str(),
            UserName::LocalPart => self.account_id.split('@').next().unwrap_or_default(),
        };
        BASE64.encode(format!("{user}:{}", self.password))
    }

    /// Whether `headers` sign in as this account: one `Authorization`, HTTP Basic (the scheme
    /// in any case) with the account ID, or its part before `@`, as the user name, and the
    /// password. For the servers that stand in for InstaMed (the simulator, a replaying server
    /// that checks credentials), which accept either user-name form as the client may send
    /// either. An `Authorization` given twice admits nothing, as for [`ApiKey::admits`]: which
    /// one the service would read is not known. The password is compared in time that depends
    /// only on what was given.
    pub fn admits(&self, headers: &http::HeaderMap) -> bool {
        let mut values = headers.get_all(http::header::AUTHORIZATION).iter();
        let (Some(authorization), None) = (values.next(), values.next()) else {
            return false;
        };
        let Some(token) = basic_token(authorization.as_bytes()) else {
            return false;
        };
        // Decoded whatever its length (a server bounds its headers): refusing a token longer
        // than this account's could make would take less time for it, and so tell how long
        // the password is.
        let Ok(decoded) = BASE64.decode(token) else {
            return false;
        };
        let Some(colon) = decoded.iter().position(|&b| b == b':') else {
            return false;
        };
        let (user, password) = (&decoded[..colon], &decoded[colon + 1..]);
        let id = self.account_id.as_bytes();
        let local = self
            .account_id
            .split('@')
            .next()
            .unwrap_or_default()
            .as_bytes();
        (id == user || local == user) & same_secret(self.password.as_bytes(), password)
    }

    /// The `Authorization` header value, marked sensitive so that HTTP layers never log it:
    /// for a tool that sends requests it built itself through
    /// [`Client::execute`](crate::Client::execute), as the gateway forwards an ERP's request
    /// with InstaMed's credentials in place of the ERP's own.
    pub fn authorization(&self, form: UserName) -> Result<HeaderValue, http::Error> {
        let token = self.basic_token(form);
        let mut value = HeaderValue::try_from(format!("Basic {token}"))?;
        value.set_sensitive(true);
        Ok(value)
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("account_id", &self.account_id)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// An API key pair for InstaMed's REST interface: the key names the integration, the secret
/// proves it. A second type rather than more fields on [`Credentials`]: REST is signed with
/// these headers and never with HTTP Basic, so a client holds the one its protocol needs.
///
/// The secret never appears in `Debug` output, and both headers are marked sensitive.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey {
    key: String,
    secret: String,
}

impl ApiKey {
    /// The pair `key` and `secret`.
    pub fn new(key: impl Into<String>, secret: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            secret: secret.into(),
        }
    }

    /// The key (not a secret, but kept out of recordings all the same).
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The secret, for the redactor that keeps it out of what answers make the client say.
    pub(crate) fn secret(&self) -> &str {
        &self.secret
    }

    /// Whether `headers` carry this pair, `Api-Key` and `Api-Secret` each given once: what a
    /// server standing in for InstaMed's REST interface (the simulator, a replaying server
    /// that checks credentials) checks. A header given twice admits nothing: which one the
    /// service would read is not known. Both values are compared in time that depends only
    /// on the lengths given.
    pub fn admits(&self, headers: &http::HeaderMap) -> bool {
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
        same_secret(self.key.as_bytes(), key) & same_secret(self.secret.as_bytes(), secret)
    }

    /// The `Api-Key` and `Api-Secret` header values, both marked sensitive.
    pub(crate) fn headers(&self) -> Result<(HeaderValue, HeaderValue), http::Error> {
        let mut key = HeaderValue::try_from(self.key.as_str())?;
        key.set_sensitive(true);
        let mut secret = HeaderValue::try_from(self.secret.as_str())?;
        secret.set_sensitive(true);
        Ok((key, secret))
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKey")
            .field("key", &self.key)
            .field("secret", &"<redacted>")
            .finish()
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

/// Compares two secrets in time that depends only on the length of the one given, so that a
/// server checking a secret tells nothing of it by how long the check takes: every
/// plain-secret comparison of the house (Basic, API keys, the simulator's Single Sign-On keys)
/// uses this one.
pub fn same_secret(expected: &[u8], given: &[u8]) -> bool {
    let mut difference = expected.len() ^ given.len();
    for (i, &byte) in given.iter().enumerate() {
        difference |= usize::from(byte ^ expected.get(i).copied().unwrap_or(0));
    }
    // Hidden from the optimiser, which may otherwise stop the loop at the first difference.
    std::hint::black_box(difference) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_password_and_the_header_is_sensitive() {
        let credentials = Credentials::new("acct@clinic", "s3cret-pw");
        assert!(!format!("{credentials:?}").contains("s3cret-pw"));
        let header = credentials.authorization(UserName::AccountId).unwrap();
        assert!(header.is_sensitive());
        assert_eq!(header, "Basic YWNjdEBjbGluaWM6czNjcmV0LXB3");
        let local = credentials.authorization(UserName::LocalPart).unwrap();
        assert_eq!(local, format!("Basic {}", BASE64.encode("acct:s3cret-pw")));
    }

    #[test]
    fn an_api_key_hides_its_secret_and_marks_both_headers() {
        let pair = ApiKey::new("key-1", "api-s3cret");
        assert!(!format!("{pair:?}").contains("api-s3cret"));
        let (key, secret) = pair.headers().unwrap();
        assert!(key.is_sensitive() && secret.is_sensitive());
        assert_eq!(secret, "api-s3cret");
        assert!(ApiKey::new("k", "bad\nsecret").headers().is_err());
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

    #[test]
    fn admits_the_account_id_or_its_local_part_with_the_right_password() {
        let account = Credentials::new("acct@clinic", "pa:ss");
        let signed = |value: &str| {
            let mut headers = http::HeaderMap::new();
            headers.insert(
                http::header::AUTHORIZATION,
                HeaderValue::from_str(value).unwrap(),
            );
            headers
        };
        let basic =
            |user_password: &str| signed(&format!("Basic {}", BASE64.encode(user_password)));
        assert!(account.admits(&basic("acct@clinic:pa:ss")));
        assert!(account.admits(&basic("acct:pa:ss")));
        for refused in [
            "acct@clinic:pa:s",
            "acct@clinic:pa:sss",
            "acct@clinic:",
            "clinic:pa:ss",
        ] {
            assert!(!account.admits(&basic(refused)), "{refused}");
        }
        assert!(!account.admits(&signed("Bearer x")));
        assert!(!account.admits(&signed("Basic !!!")));
        assert!(!account.admits(&http::HeaderMap::new()));
        let lower = format!("basic {}", BASE64.encode("acct:pa:ss"));
        assert!(account.admits(&signed(&lower)));
    }
}
