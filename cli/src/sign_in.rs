//! How the tool signs in to InstaMed, the same flags for every command that sends: an account
//! and its password (SOAP, NVP), or an API key pair (REST). Secrets come from the environment
//! or a file the profile names, never from the configuration file itself.

use instamed_soap::{ApiKey, Credentials, Error};

use crate::connection::Connection;

/// An InstaMed account and its password.
#[derive(Debug, clap::Args)]
pub struct Account {
    /// InstaMed account ID (SOAP and NVP; or `account_id` in the profile).
    #[arg(
        long = "account-id",
        env = "INSTAMED_ACCOUNT_ID",
        hide_env_values = true
    )]
    account_id: Option<String>,
    /// InstaMed password (read it from the environment; a value given here is visible to
    /// other users of the machine).
    #[arg(
        long = "password",
        env = "INSTAMED_PASSWORD",
        hide_env_values = true,
        hide = true
    )]
    password: Option<String>,
}

impl Account {
    /// The account and password from the flags, the environment or the profile: `None` when
    /// either is missing or empty.
    pub fn given(&self, connection: &Connection) -> Result<Option<Credentials>, Error> {
        let (account, password) = (self.account(connection)?, self.password(connection)?);
        Ok(match (account.as_deref(), password.as_deref()) {
            (Some(account), Some(password)) if !account.is_empty() && !password.is_empty() => {
                Some(Credentials::new(account, password))
            }
            _ => None,
        })
    }

    /// The account and password, each refused by where it comes from when missing or empty:
    /// the account first, so that a missing one is said before a password file is read.
    pub fn credentials(&self, connection: &Connection) -> Result<Credentials, Error> {
        let account = self.account(connection)?;
        let account = required(
            &account,
            "the account ID",
            "INSTAMED_ACCOUNT_ID or --account-id",
        )?;
        let password = self.password(connection)?;
        let password = required(
            &password,
            "the password",
            "INSTAMED_PASSWORD, or password_file in the profile",
        )?;
        Ok(Credentials::new(account, password))
    }

    fn account(&self, connection: &Connection) -> Result<Option<String>, Error> {
        Ok(match &self.account_id {
            Some(account) => Some(account.clone()),
            None => connection.profile()?.account_id.clone(),
        })
    }

    fn password(&self, connection: &Connection) -> Result<Option<String>, Error> {
        connection.secret(self.password.as_deref(), |p| p.password_file.as_deref())
    }
}

/// A REST API key pair.
#[derive(Debug, clap::Args)]
pub struct KeyPair {
    /// REST API key; or KEY:SECRET, the pair as `serve` prints it, when no API secret is
    /// given apart (INSTAMED_API_SECRET).
    #[arg(long = "api-key", env = "INSTAMED_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
    /// REST API secret (read it from the environment; a value given here is visible to
    /// other users of the machine).
    #[arg(
        long = "api-secret",
        env = "INSTAMED_API_SECRET",
        hide_env_values = true,
        hide = true
    )]
    api_secret: Option<String>,
}

impl KeyPair {
    /// The key pair from the flags, the environment or the profile's secret file.
    pub fn api_key(&self, connection: &Connection) -> Result<ApiKey, Error> {
        let secret =
            connection.secret(self.api_secret.as_deref(), |p| p.api_secret_file.as_deref())?;
        crate::connection::api_key(
            self.api_key.as_deref(),
            secret.as_deref(),
            crate::connection::API_KEY_FROM,
        )
    }
}

/// A credential the protocol needs: missing or empty, it is named by where it comes from, and
/// nothing is sent (an empty password would only earn a 401 from the service).
pub fn required<'a>(value: &'a Option<String>, what: &str, from: &str) -> Result<&'a str, Error> {
    match value.as_deref() {
        Some(value) if !value.is_empty() => Ok(value),
        Some(_) => Err(Error::InvalidConfig {
            reason: format!("{what} is empty: set {from}"),
            source: None,
        }),
        None => Err(Error::InvalidConfig {
            reason: format!("{what} is missing: set {from}"),
            source: None,
        }),
    }
}
