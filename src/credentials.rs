//! The InstaMed account that signs every request.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use http::HeaderValue;

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

    /// The password, for the scrubber that keeps it out of what answers make the client say.
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

    /// The `Authorization` header value, marked sensitive so that HTTP layers never log it.
    pub(crate) fn authorization(&self, form: UserName) -> Result<HeaderValue, http::Error> {
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
}
