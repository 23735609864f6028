//! The credentials a replaying server can be told to expect, as a test asks WireMock to match
//! an `Authorization` header: a request signed otherwise is answered as InstaMed answers a
//! refused sign-in, and journaled as such.

use instamed_soap::{ApiKey, Credentials, Protocol};

use crate::record::SeenRequest;

/// What a replaying server accepts; a family left `None` is not checked.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ExpectedCredentials {
    /// The account SOAP and NVP requests must sign in as (HTTP Basic, the account ID or its
    /// part before `@` as the user name, as the service accepts).
    pub account: Option<Credentials>,
    /// The key pair REST requests must carry (`Api-Key`, `Api-Secret`, each given once).
    pub api_key: Option<ApiKey>,
}

impl ExpectedCredentials {
    /// Expects SOAP and NVP requests to sign in as `account`.
    pub fn with_account(mut self, account: Credentials) -> Self {
        self.account = Some(account);
        self
    }

    /// Expects REST requests to carry `api_key`.
    pub fn with_api_key(mut self, api_key: ApiKey) -> Self {
        self.api_key = Some(api_key);
        self
    }

    /// Whether `request` is signed as expected (always, for a family not checked). The same
    /// checks as the simulator's, by the client's own [`Credentials::admits`] and
    /// [`ApiKey::admits`].
    pub fn admits(&self, request: &SeenRequest<'_>) -> bool {
        if request.protocol() == Some(Protocol::Rest) {
            return self
                .api_key
                .as_ref()
                .is_none_or(|pair| pair.admits(request.headers));
        }
        let Some(account) = &self.account else {
            return true;
        };
        // An Authorization given twice admits nothing, as an API key pair given twice.
        let mut values = request.headers.get_all(http::header::AUTHORIZATION).iter();
        match (values.next(), values.next()) {
            (Some(value), None) => account.admits(value.as_bytes()),
            _ => false,
        }
    }
}
