//! Single Sign-On voids: a person voids the payment on InstaMed's own page, and the client
//! learns what they did.
//!
//! 1. [`SsoClient::launch`] asks InstaMed's SSO login for a token (a server-to-server form post
//!    with `requestToken=true` and `responseActionType=header`) and reads the `RelayState`
//!    header it answers: the URL to open in the person's browser, with the token. A refused
//!    login (`respCode=401`, or InstaMed's `SSOError` page) is
//!    [`Error::AuthenticationRefused`].
//! 2. [`SsoClient::wait`] polls `SSOService.asmx`'s `GetSSOTokenStatus` on the client's timer
//!    (every 10 seconds by default) until the token is `complete` or `EXPIRED`, or the 15
//!    minutes a token lives are over.
//! 3. `GetTransactionDetails` then says what became of the payment, judged by the same rules as
//!    every other void (statuses about this payment, never words alone): voided, a refusal
//!    ([`Error::AlreadyVoided`], [`Error::Declined`], …), nothing done ([`NothingDone`]: the
//!    token expired, or the person cancelled), or an error whose outcome is unknown.
//!
//! SSOService takes its credentials in the body: the account ID, the SSO alias and the security
//! key. The key is a secret everywhere: it never shows in `Debug`, it is never sent as HTTP
//! Basic, and it is taken out of every error and receipt, as the client's password is.
//!
//! ```no_run
//! use instamed_soap::sso::{SsoAccount, SsoClient, SsoOutcome, SsoVoid};
//! use instamed_soap::{Client, TransactionId};
//!
//! # async fn run() -> Result<(), instamed_soap::Error> {
//! let sso = SsoClient::new(
//!     Client::builder("https://online.instamed.com/providers/Forms/WebServices/SSOService.asmx"),
//!     "https://online.instamed.com/providers/Form/SSO/SSOLogin",
//!     SsoAccount::new("account@clinic", "clinic-sso", "security-key"),
//! )?;
//! let payment = TransactionId::new("EE52401813A74328AAA7D93319FF4383")?;
//! let launch = sso.launch(&SsoVoid::new(payment).return_url("https://erp.example/done")).await?;
//! println!("open {}", launch.url());
//! match sso.wait(&launch, |_status, _waited| {}).await? {
//!     SsoOutcome::Voided(receipt) => println!("voided {}", receipt.payment),
//!     SsoOutcome::NothingDone(why) => println!("nothing done: {why:?}"),
//!     _ => {}
//! }
//! # Ok(()) }
//! ```

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HOST, LOCATION, USER_AGENT};
use http::{HeaderValue, Method, Request, Uri};

use crate::bindings::sso::{operations, types};
use crate::client::{Client, ClientBuilder};
use crate::credentials::Credentials;
use crate::domain::TransactionId;
use crate::error::{AnswerProblem, Error, config};
use crate::protocol::Protocol;
use crate::verdict::{Evidence, PageVerdict, sso_details};
use crate::void::VoidReceipt;

/// InstaMed's void page, the `RelayState` of a void: the target URL seen in production.
pub const VOID_PAGE: &str =
    "https://online.instamed.com/providers/Form/PatientPayments/VoidPaymentSSO?";

/// How often [`SsoClient::wait`] asks for the token's status by default. InstaMed publishes no
/// rate; ten seconds keeps a person's wait short at six calls a minute.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(10);

/// How long a token lives: "only good for 15 minutes", InstaMed says. [`SsoClient::wait`]
/// gives up after this long by default.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(15 * 60);

/// An SSO account: its account ID, its SSO alias (which maps to a group of users) and its
/// security key. The key never appears in `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct SsoAccount {
    account_id: String,
    alias: String,
    security_key: String,
}

impl SsoAccount {
    /// The account `account_id` with SSO alias `alias`, signed with `security_key`.
    pub fn new(
        account_id: impl Into<String>,
        alias: impl Into<String>,
        security_key: impl Into<String>,
    ) -> Self {
        Self {
            account_id: account_id.into(),
            alias: alias.into(),
            security_key: security_key.into(),
        }
    }

    /// The account ID.
    pub fn account_id(&self) -> &str {
        &self.account_id
    }

    /// The SSO alias.
    pub fn alias(&self) -> &str {
        &self.alias
    }
}

impl fmt::Debug for SsoAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SsoAccount")
            .field("account_id", &self.account_id)
            .field("alias", &self.alias)
            .field("security_key", &"<redacted>")
            .finish()
    }
}

/// A void page to open for one payment.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SsoVoid {
    /// The payment to void.
    pub payment: TransactionId,
    /// Where the browser goes after the void (`confirmURL`).
    pub confirm_url: Option<String>,
    /// Where the browser goes after Cancel (`cancelURL`).
    pub cancel_url: Option<String>,
    /// The person, as the application names them (`userName`), for InstaMed's records.
    pub user_name: Option<String>,
    /// The page (`RelayState`): [`VOID_PAGE`] unless set.
    pub page: String,
}

impl SsoVoid {
    /// The void page for `payment`, with no return URL.
    pub fn new(payment: TransactionId) -> Self {
        Self {
            payment,
            confirm_url: None,
            cancel_url: None,
            user_name: None,
            page: VOID_PAGE.to_owned(),
        }
    }

    /// Sends the browser to `url` after the void and after Cancel alike.
    #[must_use]
    pub fn return_url(mut self, url: impl Into<String>) -> Self {
        let url = url.into();
        self.confirm_url = Some(url.clone());
        self.cancel_url = Some(url);
        self
    }

    /// Names the person for InstaMed's records.
    #[must_use]
    pub fn user_name(mut self, name: impl Into<String>) -> Self {
        self.user_name = Some(name.into());
        self
    }
}

/// A launched void page: the URL for the person's browser and its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoLaunch {
    url: String,
    token: String,
    payment: TransactionId,
}

impl SsoLaunch {
    /// The URL to open in the person's browser (it carries the token).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The token, for [`SsoClient::token_status`] and [`SsoClient::outcome`].
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The payment the page is about.
    pub fn payment(&self) -> &TransactionId {
        &self.payment
    }
}

/// What `GetSSOTokenStatus` says.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenStatus {
    /// `NEW`: the person has not finished.
    New,
    /// `complete`: the person finished (voided, or cancelled).
    Complete,
    /// `EXPIRED`: the token's 15 minutes are over and the page did nothing.
    Expired,
    /// Anything else, as said.
    Other(String),
}

impl TokenStatus {
    fn read(text: &str) -> Self {
        let text = text.trim();
        if text.eq_ignore_ascii_case("NEW") {
            Self::New
        } else if text.eq_ignore_ascii_case("complete") {
            Self::Complete
        } else if text.eq_ignore_ascii_case("EXPIRED") {
            Self::Expired
        } else {
            Self::Other(text.to_owned())
        }
    }
}

impl fmt::Display for TokenStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::New => f.write_str("NEW"),
            Self::Complete => f.write_str("complete"),
            Self::Expired => f.write_str("EXPIRED"),
            Self::Other(text) => write!(f, "{text:?}"),
        }
    }
}

/// Why nothing was done: a known "the person did not void".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NothingDone {
    /// The token expired before the person voided.
    Expired,
    /// The person finished without voiding (Cancel, or the page closed): the payment is
    /// captured, not voided.
    Cancelled,
    /// The payment's record, looked up by its transaction ID
    /// ([`SsoClient::outcome_by_transaction_id`]), shows it captured, not voided.
    NotVoided,
}

/// What a finished SSO void came to, when it is neither a refusal nor unknown (those are
/// errors, as for every void).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SsoOutcome {
    /// The person voided the payment.
    Voided(VoidReceipt),
    /// The person did not void it.
    NothingDone(NothingDone),
}

/// Launches void pages and learns what the person did. Holds a [`Client`] for
/// `SSOService.asmx`; the login must be on the same host (both are on
/// `online.instamed.com`).
#[derive(Clone)]
pub struct SsoClient {
    client: Client,
    account: SsoAccount,
    login: Uri,
    host: HeaderValue,
    poll_interval: Duration,
    max_wait: Duration,
    lookup_by_transaction_id: bool,
}

impl fmt::Debug for SsoClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SsoClient")
            .field("client", &self.client)
            .field("account", &self.account)
            .field("poll_interval", &self.poll_interval)
            .field("max_wait", &self.max_wait)
            .finish_non_exhaustive()
    }
}

impl SsoClient {
    /// An SSO client: `service` is a builder for `SSOService.asmx`'s URL (TLS, proxy, timeouts
    /// and timer set on it as for any client; SOAP 1.2 if it is set to it, SOAP 1.1 otherwise),
    /// `login_url` the account's SSO URL, on the same host.
    pub fn new(
        service: ClientBuilder,
        login_url: impl AsRef<str>,
        account: SsoAccount,
    ) -> Result<Self, Error> {
        if account.account_id.is_empty() || account.alias.is_empty() {
            return Err(config("the SSO account ID and alias must not be empty"));
        }
        let endpoint = crate::endpoint::parse(service.endpoint(), "SSOService endpoint")?;
        let login = crate::endpoint::parse(login_url.as_ref(), "SSO login URL")?;
        if login.scheme() != endpoint.scheme() || login.authority() != endpoint.authority() {
            return Err(config(
                "the SSO login URL must be on the same host as SSOService.asmx".to_owned(),
            ));
        }
        let host = login
            .authority()
            .and_then(|authority| HeaderValue::from_str(authority.as_str()).ok())
            .ok_or_else(|| config("the SSO login URL has no host".to_owned()))?;
        let protocol = match service.protocol_setting() {
            Protocol::Soap12 => Protocol::Soap12,
            _ => Protocol::Soap11,
        };
        // The key signs nothing as HTTP Basic (calls here go unsigned); held as the client's
        // password, it is taken out of whatever an answer makes the client say.
        let client = service
            .credentials(Credentials::new(
                account.account_id.clone(),
                account.security_key.clone(),
            ))
            .protocol(protocol)
            .build()?;
        let login = login
            .path_and_query()
            .cloned()
            .map_or_else(|| Uri::from_static("/"), Uri::from);
        Ok(Self {
            client,
            account,
            login,
            host,
            poll_interval: DEFAULT_POLL_INTERVAL,
            max_wait: TOKEN_LIFETIME,
            lookup_by_transaction_id: false,
        })
    }

    /// How often [`wait`](Self::wait) asks for the token's status (default
    /// [`DEFAULT_POLL_INTERVAL`]).
    #[must_use]
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// How long [`wait`](Self::wait) waits for the person (default [`TOKEN_LIFETIME`]).
    #[must_use]
    pub fn max_wait(mut self, wait: Duration) -> Self {
        self.max_wait = wait;
        self
    }

    /// Allows [`details_by_transaction_id`](Self::details_by_transaction_id) (default off):
    /// whether InstaMed answers `GetTransactionDetailsByTransactionID` without a live token is
    /// not known, so nothing leans on it unless a user who has seen it work turns it on.
    #[must_use]
    pub fn lookup_by_transaction_id(mut self, allow: bool) -> Self {
        self.lookup_by_transaction_id = allow;
        self
    }

    /// Whether [`lookup_by_transaction_id`](Self::lookup_by_transaction_id) allowed the look-up
    /// by transaction ID.
    pub fn lookup_by_transaction_id_allowed(&self) -> bool {
        self.lookup_by_transaction_id
    }

    /// `GetTransactionDetailsByTransactionID`: a read-only look at `payment`'s record, for a
    /// reconciliation that wants one; [`Error::InvalidConfig`] unless
    /// [`lookup_by_transaction_id`](Self::lookup_by_transaction_id) allowed it. Nothing is
    /// judged: a caller reads its `TransactionStatus` as the payment's status.
    pub async fn details_by_transaction_id(
        &self,
        payment: &TransactionId,
    ) -> Result<types::BasePaymentDetailedResponse, Error> {
        if !self.lookup_by_transaction_id {
            return Err(config(
                "GetTransactionDetailsByTransactionID is off: allow it with \
                 lookup_by_transaction_id(true) once InstaMed is known to answer it"
                    .to_owned(),
            ));
        }
        let request = types::GetTransactionDetailsByTransactionId {
            transaction_id: Some(payment.as_str().to_owned()),
            account_id: Some(self.account.account_id.clone()),
            alias: Some(self.account.alias.clone()),
            password: Some(self.account.security_key.clone()),
            ..types::GetTransactionDetailsByTransactionId::default()
        };
        let answer = self
            .client
            .call_unsigned::<operations::GetTransactionDetailsByTransactionId>(&request)
            .await?;
        Ok(answer
            .get_transaction_details_by_transaction_id_result
            .unwrap_or_default())
    }

    /// Asks for a token for `void`'s page, and returns the URL for the person's browser.
    pub async fn launch(&self, void: &SsoVoid) -> Result<SsoLaunch, Error> {
        let answer = self.client.execute(self.token_request(void)).await?;
        self.launched(void, &answer)
    }

    /// The token request for `void`'s page, as [`launch`](Self::launch) sends it: no I/O, so
    /// that the contract tools rebuild a recorded one with the code that sends it.
    pub fn token_request(&self, void: &SsoVoid) -> Request<Bytes> {
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("accountID", &self.account.account_id)
            .append_pair("securityKey", &self.account.security_key)
            .append_pair("ssoAlias", &self.account.alias)
            .append_pair("lightWeight", "true")
            .append_pair("incontext", "true")
            .append_pair("requestToken", "true")
            .append_pair("responseActionType", "header")
            .append_pair("RelayState", &void.page)
            // The payment's field on the void page is not published [guess].
            .append_pair("transactionID", void.payment.as_str());
        if let Some(name) = &void.user_name {
            form.append_pair("userName", name);
        }
        if let Some(url) = &void.confirm_url {
            form.append_pair("confirmURL", url);
        }
        if let Some(url) = &void.cancel_url {
            form.append_pair("cancelURL", url);
        }
        let mut request = Request::new(Bytes::from(form.finish()));
        *request.method_mut() = Method::POST;
        *request.uri_mut() = self.login.clone();
        let headers = request.headers_mut();
        headers.insert(HOST, self.host.clone());
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        headers.insert(
            USER_AGENT,
            HeaderValue::from_static(crate::call::USER_AGENT_VALUE),
        );
        request
    }

    /// What the login's `answer` to [`token_request`](Self::token_request) for `void` says:
    /// the launched page, or why not. No I/O, as for the request.
    pub fn launched(
        &self,
        void: &SsoVoid,
        answer: &http::Response<Bytes>,
    ) -> Result<SsoLaunch, Error> {
        let status = answer.status().as_u16();
        if status == 401 || status == 403 {
            return Err(Error::AuthenticationRefused { status });
        }
        // `RelayState` in any case (header names are case-blind); a redirect says the same.
        let target = answer
            .headers()
            .get("relaystate")
            .or_else(|| {
                answer
                    .status()
                    .is_redirection()
                    .then(|| answer.headers().get(LOCATION))
                    .flatten()
            })
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let Some(url) = target else {
            return Err(self.clean(Error::malformed(
                status,
                AnswerProblem::Inconsistent("the SSO login answered no RelayState".to_owned()),
            )));
        };
        // The URL is shown to a person: one that carries the key (a login echoing its fields)
        // is refused rather than printed.
        if self.client.holds_secret(&url) {
            return Err(self.clean(Error::malformed(
                status,
                AnswerProblem::Inconsistent(
                    "the SSO login answered a URL that holds the security key".to_owned(),
                ),
            )));
        }
        let query = url.split_once('?').map_or("", |(_, query)| query);
        let get = |name: &str| {
            form_urlencoded::parse(query.as_bytes())
                .find(|(key, _)| key.eq_ignore_ascii_case(name))
                .map(|(_, value)| value.into_owned())
        };
        let code = get("respCode");
        let path = url.split('?').next().unwrap_or_default();
        if code.as_deref() == Some("401")
            || path
                .trim_end_matches('/')
                .to_ascii_lowercase()
                .ends_with("/ssoerror")
        {
            return Err(Error::AuthenticationRefused {
                status: code
                    .as_deref()
                    .and_then(|code| code.parse().ok())
                    .unwrap_or(status),
            });
        }
        match (code.as_deref(), get("token")) {
            (Some("000"), Some(token)) if !token.is_empty() => Ok(SsoLaunch {
                url,
                token,
                payment: void.payment.clone(),
            }),
            _ => Err(self.clean(Error::malformed(
                status,
                AnswerProblem::Inconsistent(format!(
                    "the SSO login gave no token (respCode {}, respMessage {})",
                    code.as_deref().unwrap_or("missing"),
                    get("respMessage").as_deref().unwrap_or("missing"),
                )),
            ))),
        }
    }

    /// `GetSSOTokenStatus`, once.
    pub async fn token_status(&self, token: &str) -> Result<TokenStatus, Error> {
        let request = types::GetSsoTokenStatus {
            token_id: Some(token.to_owned()),
            account_id: Some(self.account.account_id.clone()),
            alias: Some(self.account.alias.clone()),
            password: Some(self.account.security_key.clone()),
            // A live WSDL may add children: they stay unset.
            ..types::GetSsoTokenStatus::default()
        };
        let answer = self
            .client
            .call_unsigned::<operations::GetSsoTokenStatus>(&request)
            .await?;
        Ok(TokenStatus::read(
            answer.get_sso_token_status_result.as_deref().unwrap_or(""),
        ))
    }

    /// `GetTransactionDetails` for `token`, as the service answered it.
    pub async fn details(&self, token: &str) -> Result<types::BasePaymentDetailedResponse, Error> {
        let request = types::GetTransactionDetails {
            token_id: Some(token.to_owned()),
            account_id: Some(self.account.account_id.clone()),
            alias: Some(self.account.alias.clone()),
            password: Some(self.account.security_key.clone()),
            ..types::GetTransactionDetails::default()
        };
        let answer = self
            .client
            .call_unsigned::<operations::GetTransactionDetails>(&request)
            .await?;
        Ok(answer.get_transaction_details_result.unwrap_or_default())
    }

    /// What token `token` came to for `payment`, asked once: `None` while the person has not
    /// finished (`NEW`).
    pub async fn outcome(
        &self,
        token: &str,
        payment: &TransactionId,
    ) -> Result<Option<SsoOutcome>, Error> {
        let status = self.token_status(token).await?;
        self.judge(token, payment, &status).await
    }

    /// Polls the token's status every [`poll_interval`](Self::poll_interval) on the client's
    /// timer, telling `progress` each status and how long it has waited, until the person
    /// finishes, the token expires or [`max_wait`](Self::max_wait) is over; then judges what
    /// the page did. A status that cannot be read is asked again at the next turn, so a
    /// passing network failure costs one turn; a refused sign-in or token ends the wait.
    /// Still `NEW` at the end, the outcome is unknown ([`Error::Timeout`]): the person may yet
    /// be on the page.
    pub async fn wait(
        &self,
        launch: &SsoLaunch,
        mut progress: impl FnMut(&TokenStatus, Duration),
    ) -> Result<SsoOutcome, Error> {
        let mut waited = Duration::ZERO;
        loop {
            match self.token_status(launch.token()).await {
                Ok(status) => {
                    progress(&status, waited);
                    if let Some(outcome) = self
                        .judge(launch.token(), launch.payment(), &status)
                        .await?
                    {
                        return Ok(outcome);
                    }
                }
                Err(error) if ends_the_wait(&error) || waited >= self.max_wait => {
                    return Err(error);
                }
                Err(error) => {
                    tracing::debug!(%error, "the token's status could not be read; asking again");
                }
            }
            if waited >= self.max_wait {
                return Err(Error::Timeout {
                    after: self.max_wait,
                    sent: true,
                });
            }
            self.client.timer().sleep(self.poll_interval).await;
            waited += self.poll_interval;
        }
    }

    /// Judges a token whose status is `status`: `None` while it is `NEW`.
    async fn judge(
        &self,
        token: &str,
        payment: &TransactionId,
        status: &TokenStatus,
    ) -> Result<Option<SsoOutcome>, Error> {
        match status {
            TokenStatus::New => Ok(None),
            TokenStatus::Expired => Ok(Some(SsoOutcome::NothingDone(NothingDone::Expired))),
            TokenStatus::Other(text) => Err(self.clean(Error::malformed(
                200,
                AnswerProblem::Inconsistent(format!("the token's status is {text:?}")),
            ))),
            TokenStatus::Complete => {
                let details = self.details(token).await?;
                self.judged(payment, details).map(Some)
            }
        }
    }

    /// What `payment`'s record says, looked up by its transaction ID
    /// (`GetTransactionDetailsByTransactionID`), judged by the rules of a finished page: voided,
    /// a refusal, nothing done ([`NothingDone::NotVoided`]: the payment captured), or an error
    /// whose outcome is unknown. For a reconciliation that has no live token; refused as
    /// [`details_by_transaction_id`](Self::details_by_transaction_id) is unless
    /// [`lookup_by_transaction_id`](Self::lookup_by_transaction_id) allowed it.
    pub async fn outcome_by_transaction_id(
        &self,
        payment: &TransactionId,
    ) -> Result<SsoOutcome, Error> {
        let details = self.details_by_transaction_id(payment).await?;
        // The record's `C` is the payment as it stands, not a page the person left.
        self.judged(payment, details).map(|outcome| match outcome {
            SsoOutcome::NothingDone(_) => SsoOutcome::NothingDone(NothingDone::NotVoided),
            voided => voided,
        })
    }

    /// Judges a record of `payment` (`TransactionStatus` the payment's status) by the rules of
    /// `src/verdict/sso.rs`.
    fn judged(
        &self,
        payment: &TransactionId,
        details: types::BasePaymentDetailedResponse,
    ) -> Result<SsoOutcome, Error> {
        let record = Evidence {
            transaction_status: details.transaction_status,
            primary_transaction_status: None,
            response_code: details.response_code,
            response_message: details.response_message,
            primary_transaction_id: details.primary_transaction_id,
            transaction_id: details.transaction_id,
            authorization_number: details.authorization_number,
        };
        match sso_details(payment, record).map_err(|error| self.clean(error))? {
            PageVerdict::NothingDone => Ok(SsoOutcome::NothingDone(NothingDone::Cancelled)),
            PageVerdict::Voided(evidence) => {
                let receipt = VoidReceipt {
                    payment: payment.clone(),
                    transaction_status: evidence.transaction_status.unwrap_or_default(),
                    primary_transaction_status: evidence
                        .primary_transaction_status
                        .unwrap_or_default(),
                    response_code: evidence.response_code,
                    response_message: evidence.response_message,
                    transaction_id: evidence.transaction_id,
                    authorization_number: evidence.authorization_number,
                    protocol: self.client.protocol(),
                };
                Ok(SsoOutcome::Voided(self.client.clean_receipt(receipt)))
            }
        }
    }

    fn clean(&self, error: Error) -> Error {
        self.client.clean_error(error)
    }
}

/// Whether a failed status poll ends the wait: a refused sign-in or token (a sender fault, a
/// 401) will be refused again.
fn ends_the_wait(error: &Error) -> bool {
    match error {
        Error::AuthenticationRefused { .. } | Error::InvalidConfig { .. } => true,
        Error::Fault(fault) => !error.outcome_unknown() && fault.http_status.is_some(),
        _ => false,
    }
}
