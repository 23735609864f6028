//! Operators' sessions and the tokens that tie every form to one.
//!
//! A session is a random token in an `HttpOnly; Secure; SameSite=Strict` cookie, kept in
//! memory (a restart signs everyone out, which is what a restart should do). The gateway keeps
//! only each token's HMAC under a key of this process, so its map never holds a usable token.
//! A form's CSRF token is the HMAC of the session's token under the same key: nothing to keep,
//! and no other session's form passes. The sign-in form, before any session, is tied the same
//! way to a random value in a short-lived cookie of its own (a forged sign-in would otherwise
//! sign a person into someone else's session).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as TOKEN;
use ring::hmac;
use ring::rand::{SecureRandom as _, SystemRandom};

/// The session cookie. `__Host-`: the browser takes it only with `Secure`, `Path=/` and no
/// `Domain`, so no other host or path can plant one.
pub(crate) const SESSION_COOKIE: &str = "__Host-ops-session";
/// The sign-in form's cookie.
pub(crate) const LOGIN_COOKIE: &str = "__Host-ops-login";
/// How long a session lasts from sign-in: a working day.
pub(crate) const SESSION_LIFETIME: Duration = Duration::from_secs(8 * 3600);
/// How long a sign-in form may be left open.
pub(crate) const LOGIN_LIFETIME: Duration = Duration::from_secs(15 * 60);

/// Why a session or a token could not be made.
#[derive(Debug, thiserror::Error)]
#[error("the system's random source failed")]
pub(crate) struct NoRandom;

/// The operators signed in now.
pub(crate) struct Sessions {
    key: hmac::Key,
    random: SystemRandom,
    /// By the HMAC of their token: who, and until when.
    live: Mutex<HashMap<Vec<u8>, (String, Instant)>>,
}

impl Sessions {
    pub(crate) fn new() -> Result<Self, NoRandom> {
        let random = SystemRandom::new();
        let mut seed = [0_u8; 32];
        random.fill(&mut seed).map_err(|_| NoRandom)?;
        Ok(Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, &seed),
            random,
            live: Mutex::new(HashMap::new()),
        })
    }

    /// A fresh random token, as cookie text.
    pub(crate) fn token(&self) -> Result<String, NoRandom> {
        let mut bytes = [0_u8; 32];
        self.random.fill(&mut bytes).map_err(|_| NoRandom)?;
        Ok(TOKEN.encode(bytes))
    }

    /// Starts a session for `operator`: its token, for the cookie.
    pub(crate) fn start(&self, operator: &str) -> Result<String, NoRandom> {
        let token = self.token()?;
        let mut live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        // Expired sessions go here, so the map holds only the living.
        live.retain(|_, (_, until)| *until > now);
        live.insert(
            self.mac("session", &token),
            (operator.to_owned(), now + SESSION_LIFETIME),
        );
        Ok(token)
    }

    /// The operator whose live session `token` is.
    pub(crate) fn operator(&self, token: &str) -> Option<String> {
        let live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        let (operator, until) = live.get(&self.mac("session", token))?;
        (*until > Instant::now()).then(|| operator.clone())
    }

    /// Ends the session of `token`.
    pub(crate) fn end(&self, token: &str) {
        self.live
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.mac("session", token));
    }

    /// The CSRF token of forms shown to the holder of `cookie` (a session's token, or the
    /// sign-in form's value) for `purpose`.
    pub(crate) fn csrf(&self, purpose: &str, cookie: &str) -> String {
        TOKEN.encode(self.mac(purpose, cookie))
    }

    /// Whether `token` is the CSRF token of `cookie` for `purpose`, compared in constant time.
    pub(crate) fn csrf_ok(&self, purpose: &str, cookie: &str, token: &str) -> bool {
        let Ok(tag) = TOKEN.decode(token.trim()) else {
            return false;
        };
        hmac::verify(&self.key, &message(purpose, cookie), &tag).is_ok()
    }

    fn mac(&self, purpose: &str, value: &str) -> Vec<u8> {
        hmac::sign(&self.key, &message(purpose, value))
            .as_ref()
            .to_vec()
    }
}

/// What is signed: the purpose, so a token of one kind never passes for another.
fn message(purpose: &str, value: &str) -> Vec<u8> {
    [purpose.as_bytes(), b"\0", value.as_bytes()].concat()
}

/// A `Set-Cookie` value: `HttpOnly; Secure; SameSite=Strict; Path=/`, for `lifetime` (zero
/// removes it).
pub(crate) fn set_cookie(name: &str, value: &str, lifetime: Duration) -> String {
    cookie::Cookie::build((name, value))
        .http_only(true)
        .secure(true)
        .same_site(cookie::SameSite::Strict)
        .path("/")
        .max_age(cookie::time::Duration::seconds(
            i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX),
        ))
        .build()
        .to_string()
}

/// The value of cookie `name` among a request's `Cookie` headers.
pub(crate) fn cookie_value(headers: &http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|cookie| cookie.name() == name)
        .map(|cookie| cookie.value().to_owned())
}
