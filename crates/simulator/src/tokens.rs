//! Single Sign-On accounts and the tokens the login hands out (the `sso` module serves them): who may sign in, which payment a token
//! opened, whether the person finished, and what the page did.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use instamed_soap::TransactionId;

use instamed_soap::same_secret;

/// Longest token list kept: an old finished token is dropped to make room rather than letting
/// a client that logs in forever fill the memory.
const MAX_TOKENS: usize = 10_000;

/// One SSO account: its ID, its alias and its security key.
struct Account {
    id: String,
    alias: String,
    key: Box<[u8]>,
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("id", &self.id)
            .field("alias", &self.alias)
            .field("key", &"<redacted>")
            .finish()
    }
}

/// What the page did with its token's payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PageResult {
    /// The page's void was made (`000`) or refused (`012`, …); `None` when the person
    /// cancelled.
    pub response_code: Option<&'static str>,
    /// The void's message, as the void's answer words it.
    pub response_message: Option<String>,
    /// What happened, in the log's words (`voided`, `already_voided`, `cancelled`, …).
    pub label: &'static str,
}

/// Where a token stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum State {
    /// The page is open; the person has not finished.
    New,
    /// The person voided, tried to, or cancelled.
    Complete(PageResult),
}

/// A token and what it opened.
#[derive(Debug, Clone)]
pub(crate) struct Token {
    /// The account that asked for it; `SSOService` answers about it to that account only.
    pub account_id: String,
    /// The payment the void page is about.
    pub payment: TransactionId,
    /// Where the browser goes after a void (`confirmURL`), and after Cancel (`cancelURL`).
    pub confirm_url: Option<String>,
    pub cancel_url: Option<String>,
    issued: Instant,
    pub state: State,
}

/// How `GetSSOTokenStatus` words a token's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    New,
    Complete,
    Expired,
}

impl Status {
    /// The words InstaMed was seen answering: `NEW`, `complete` (lower case), `EXPIRED`.
    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            Self::New => "NEW",
            Self::Complete => "complete",
            Self::Expired => "EXPIRED",
        }
    }
}

/// The SSO side of the simulator: accounts, and the tokens handed out.
#[derive(Debug)]
pub(crate) struct Sso {
    accounts: Vec<Account>,
    lifetime: Duration,
    tokens: Mutex<HashMap<String, Token>>,
}

impl Sso {
    pub(crate) fn new(accounts: &[(String, String, String)], lifetime: Duration) -> Self {
        Self {
            accounts: accounts
                .iter()
                .map(|(id, alias, key)| Account {
                    id: id.clone(),
                    alias: alias.clone(),
                    key: key.as_bytes().into(),
                })
                .collect(),
            lifetime,
            tokens: Mutex::new(HashMap::new()),
        }
    }

    /// Whether the account, alias and key sign in one of the accounts. The account ID and
    /// alias are matched without regard to case, the key exactly; every account is checked,
    /// with no early exit.
    pub(crate) fn admits(&self, account_id: &str, alias: &str, key: &str) -> bool {
        self.accounts.iter().fold(false, |admitted, account| {
            let names = account.id.eq_ignore_ascii_case(account_id)
                && account.alias.eq_ignore_ascii_case(alias);
            admitted | (names & same_secret(&account.key, key.as_bytes()))
        })
    }

    /// Hands out a new token for `payment`.
    pub(crate) fn issue(
        &self,
        account_id: &str,
        payment: TransactionId,
        confirm_url: Option<String>,
        cancel_url: Option<String>,
    ) -> String {
        let id = format!("{:032X}", fastrand::u128(..));
        let token = Token {
            account_id: account_id.to_owned(),
            payment,
            confirm_url,
            cancel_url,
            issued: Instant::now(),
            state: State::New,
        };
        let mut tokens = self.lock();
        if tokens.len() >= MAX_TOKENS {
            let lifetime = self.lifetime;
            tokens
                .retain(|_, token| token.state == State::New && token.issued.elapsed() <= lifetime);
        }
        tokens.insert(id.clone(), token);
        id
    }

    /// The token `id` and its status, if it was handed out.
    pub(crate) fn get(&self, id: &str) -> Option<(Token, Status)> {
        let tokens = self.lock();
        let token = tokens.get(id)?;
        Some((token.clone(), self.status_of(token)))
    }

    /// Runs `act` while holding the token list, if token `id` is open and good: the page's
    /// void and the token's completion happen as one step, so two clicks cannot both void.
    pub(crate) fn act_on<R>(
        &self,
        id: &str,
        act: impl FnOnce(&Token) -> (PageResult, R),
    ) -> Result<(Token, R), Option<Status>> {
        let mut tokens = self.lock();
        let Some(token) = tokens.get_mut(id) else {
            return Err(None);
        };
        match self.status_of(token) {
            Status::New => {
                let (result, value) = act(token);
                token.state = State::Complete(result);
                Ok((token.clone(), value))
            }
            other => Err(Some(other)),
        }
    }

    fn status_of(&self, token: &Token) -> Status {
        match token.state {
            State::Complete(_) => Status::Complete,
            State::New if token.issued.elapsed() >= self.lifetime => Status::Expired,
            State::New => Status::New,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Token>> {
        // A panic while holding the lock leaves the map whole: every change is one insert.
        self.tokens
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
