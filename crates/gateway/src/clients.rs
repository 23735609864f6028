//! The ERP clients the gateway lets in: names and salted secret hashes (Argon2id, PHC strings),
//! never the secrets themselves, and HTTP Basic checked against them in constant time.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use http::HeaderMap;
use http::header::AUTHORIZATION;
use ring::hmac;
use ring::rand::{SecureRandom as _, SystemRandom};

/// The longest clients file read: a few thousand clients, far more than any gateway has.
const MAX_FILE_BYTES: u64 = 1 << 20;

/// How many Argon2 verifications run at once: one per core. Each holds 19 MiB of memory and a
/// core for as long as it runs, and anyone who knows a client's name can ask for one with a
/// wrong secret (sign-in comes before the rate limit, which is per client): more at once would
/// only queue on the cores while holding their memory.
static VERIFICATIONS_AT_ONCE: std::sync::OnceLock<usize> = std::sync::OnceLock::new();

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

/// Why a client list could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientsError {
    /// The clients file cannot be read.
    #[error("cannot read the clients file {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The clients file is not what `docs/gateway.md` describes.
    #[error("the clients file {} is not valid: {reason}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong, without any value of the file (a secret pasted by mistake stays out).
        reason: String,
    },
    /// A client given as `NAME:SECRET` is not one.
    #[error("a client is given as NAME:SECRET, neither empty and the name without ':'")]
    NotNameAndSecret,
    /// A name given twice: which secret counts would be a guess.
    #[error("client {0} is given twice")]
    Twice(String),
    /// A stored hash is not an Argon2 PHC string.
    #[error(
        "the secret hash of client {0} is not an Argon2 PHC string (`gateway hash-secret` prints one)"
    )]
    NotAHash(String),
    /// Hashing a secret failed.
    #[error("cannot hash the secret")]
    Hash(#[source] argon2::password_hash::Error),
    /// The system's random source failed.
    #[error("the system's random source failed")]
    Random,
}

/// A file of names and their secrets' hashes, in one table: `[clients]` for `--clients`,
/// `[operators]` for `--operators`.
///
/// ```toml
/// [clients]
/// erp-prod = "$argon2id$v=19$m=19456,t=2,p=1$…"
/// ```
type File = BTreeMap<String, BTreeMap<String, String>>;

/// The clients the gateway lets in, and the secrets already proved in this process.
pub struct Clients {
    hashes: BTreeMap<String, String>,
    /// A key of this process alone: a secret once verified against its Argon2 hash is
    /// remembered as its HMAC under this key, so a client's later requests cost one HMAC.
    key: hmac::Key,
    proved: Mutex<BTreeMap<String, hmac::Tag>>,
    /// Places for Argon2 verifications ([`VERIFICATIONS_AT_ONCE`]); a secret proved before
    /// needs none.
    verifying: Arc<tokio::sync::Semaphore>,
    /// The most Argon2 verifications seen running at once (the tests' window on them).
    #[cfg(test)]
    most_at_once: Arc<Running>,
}

/// Argon2 verifications running now, and the most seen at once.
#[cfg(test)]
#[derive(Default)]
struct Running {
    now: std::sync::atomic::AtomicUsize,
    most: std::sync::atomic::AtomicUsize,
}

impl std::fmt::Debug for Clients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Clients")
            .field("names", &self.hashes.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Clients {
    /// No client: every request is refused until some are added.
    pub fn new() -> Result<Self, ClientsError> {
        let mut seed = [0_u8; 32];
        SystemRandom::new()
            .fill(&mut seed)
            .map_err(|_| ClientsError::Random)?;
        Ok(Self {
            hashes: BTreeMap::new(),
            key: hmac::Key::new(hmac::HMAC_SHA256, &seed),
            proved: Mutex::new(BTreeMap::new()),
            verifying: Arc::new(tokio::sync::Semaphore::new(
                *VERIFICATIONS_AT_ONCE.get_or_init(cores),
            )),
            #[cfg(test)]
            most_at_once: Arc::default(),
        })
    }

    /// Reads the clients file at `path` (see `docs/gateway.md`) into this list.
    pub fn load(self, path: &Path) -> Result<Self, ClientsError> {
        self.load_table(path, "clients")
    }

    /// Reads a file of one `[table]` of `NAME = "HASH"` lines at `path` into this list: the
    /// clients file's `[clients]`, the operators file's `[operators]` (`docs/operators.md`).
    pub fn load_table(mut self, path: &Path, table: &str) -> Result<Self, ClientsError> {
        // Regular files only, bounded: a FIFO or a device named by mistake is refused.
        let text =
            instamed_soap::files::read_to_string(path, MAX_FILE_BYTES).map_err(|source| {
                ClientsError::Read {
                    path: path.to_owned(),
                    source,
                }
            })?;
        let invalid = |reason: String| ClientsError::Invalid {
            path: path.to_owned(),
            reason,
        };
        // toml's message may quote the line it failed on, which could hold a secret pasted
        // in place of its hash: only where it failed is said.
        let expected = format!("not a [{table}] table of NAME = \"HASH\" lines");
        let mut file: File = toml::from_str(&text).map_err(|error| {
            invalid(match error.span() {
                Some(span) => format!("{expected} (at byte {})", span.start),
                None => expected.clone(),
            })
        })?;
        let entries = file
            .remove(table)
            .ok_or_else(|| invalid(expected.clone()))?;
        if !file.is_empty() {
            return Err(invalid(format!("{expected}: it holds another table")));
        }
        for (name, hash) in entries {
            self.add_hash(name, hash)?;
        }
        Ok(self)
    }

    /// Adds a client with the PHC string of its secret's hash.
    pub fn add_hash(&mut self, name: String, hash: String) -> Result<(), ClientsError> {
        if name.is_empty() || name.contains(':') {
            return Err(ClientsError::NotNameAndSecret);
        }
        if PasswordHash::new(&hash).is_err() {
            return Err(ClientsError::NotAHash(name));
        }
        if self.hashes.contains_key(&name) {
            return Err(ClientsError::Twice(name));
        }
        self.hashes.insert(name, hash);
        Ok(())
    }

    /// Adds a client given as `NAME:SECRET` (a quick start): the secret is hashed at once and
    /// only its hash kept.
    pub fn add_pair(&mut self, pair: &str) -> Result<(), ClientsError> {
        let (name, secret) = pair
            .split_once(':')
            .filter(|(name, secret)| !name.is_empty() && !secret.is_empty())
            .ok_or(ClientsError::NotNameAndSecret)?;
        let hash = hash_secret(secret)?;
        self.add_hash(name.to_owned(), hash)
    }

    /// How many clients there are.
    pub fn len(&self) -> usize {
        self.hashes.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    /// The client a request's HTTP Basic credentials prove, if they prove one. Argon2's cost
    /// is paid on a blocking thread, once per client and process; a wrong secret pays it every
    /// time, which is what makes guessing slow.
    pub(crate) async fn authenticate(self: &Arc<Self>, headers: &HeaderMap) -> Option<String> {
        let (name, secret) = basic(headers)?;
        self.verify(name, secret).await
    }

    /// `name` if `secret` is its secret (as [`authenticate`](Self::authenticate) checks a
    /// Basic header's pair; the operators' sign-in form gives its pair this way).
    pub(crate) async fn verify(self: &Arc<Self>, name: String, secret: String) -> Option<String> {
        // An unknown name pays the Argon2 verification a wrong secret pays, against another
        // name's hash (the same cost, whatever its parameters), and is refused after it: how
        // fast a refusal comes must not tell which names exist.
        let (hash, known) = match self.hashes.get(&name) {
            Some(hash) => (hash, true),
            None => (self.hashes.values().next()?, false),
        };
        let tag = hmac::sign(&self.key, secret.as_bytes());
        let remembered = self
            .proved
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&name)
            .cloned();
        // `verify` compares in constant time. A mismatch still pays Argon2 below: a wrong
        // guess must cost the same whether or not the client signed in before.
        if remembered
            .is_some_and(|known| hmac::verify(&self.key, secret.as_bytes(), known.as_ref()).is_ok())
        {
            return Some(name);
        }
        let hash = hash.clone();
        // Never closed, so never an error; held until the verification's thread is done.
        let place = self.verifying.clone().acquire_owned().await.ok()?;
        #[cfg(test)]
        let running = self.most_at_once.clone();
        let verified = tokio::task::spawn_blocking(move || {
            let _place = place;
            #[cfg(test)]
            {
                use std::sync::atomic::Ordering::SeqCst;
                let now = running.now.fetch_add(1, SeqCst) + 1;
                running.most.fetch_max(now, SeqCst);
            }
            let verified = PasswordHash::new(&hash).is_ok_and(|parsed| {
                Argon2::default()
                    .verify_password(secret.as_bytes(), &parsed)
                    .is_ok()
            });
            #[cfg(test)]
            running
                .now
                .fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
            verified
        })
        .await
        .unwrap_or(false);
        if !verified || !known {
            return None;
        }
        self.proved
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.clone(), tag);
        Some(name)
    }
}

/// The Argon2id PHC string of `secret` with a fresh random salt, as the clients file holds it
/// (`instamed-soap gateway hash-secret` prints one).
pub fn hash_secret(secret: &str) -> Result<String, ClientsError> {
    let mut salt = [0_u8; 16];
    SystemRandom::new()
        .fill(&mut salt)
        .map_err(|_| ClientsError::Random)?;
    let salt = SaltString::encode_b64(&salt).map_err(ClientsError::Hash)?;
    Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(ClientsError::Hash)
}

/// The name and secret of an `Authorization: Basic` header.
fn basic(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = BASE64.decode(token.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (name, secret) = text.split_once(':')?;
    Some((name.to_owned(), secret.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic_of(name: &str, secret: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let token = BASE64.encode(format!("{name}:{secret}"));
        headers.insert(
            AUTHORIZATION,
            http::HeaderValue::from_str(&format!("Basic {token}")).expect("a header"),
        );
        headers
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn wrong_secrets_at_once_never_run_more_argon2_verifications_than_cores() {
        let mut clients = Clients::new().expect("clients");
        clients.add_pair("erp:right-secret").expect("a client");
        let clients = Arc::new(clients);
        let cores = VERIFICATIONS_AT_ONCE.get_or_init(cores);
        // Each verification holds 19 MiB for as long as it runs: an unbounded number of them,
        // asked for by anyone who knows a client's name, is unbounded memory.
        let guesses: Vec<_> = (0..4 * *cores)
            .map(|guess| {
                let clients = clients.clone();
                tokio::spawn(async move {
                    clients
                        .authenticate(&basic_of("erp", &format!("guess-{guess}")))
                        .await
                })
            })
            .collect();
        for guess in guesses {
            assert_eq!(guess.await.expect("a guess"), None);
        }
        let most = clients
            .most_at_once
            .most
            .load(std::sync::atomic::Ordering::SeqCst);
        assert!(
            (1..=*cores).contains(&most),
            "{most} verifications ran at once on {cores} cores"
        );
        assert_eq!(
            clients.authenticate(&basic_of("erp", "right-secret")).await,
            Some("erp".to_owned())
        );
    }

    /// The finding: a name that is not a client's (or an operator's, on the sign-in form) was
    /// refused before Argon2 ran, at once, where a known name's wrong secret costs a
    /// verification: how fast the refusal came told which names exist. Now every refusal of a
    /// secret not proved before pays one Argon2 verification.
    #[tokio::test]
    async fn an_unknown_name_costs_an_argon2_verification_as_a_known_one_does() {
        let mut clients = Clients::new().expect("clients");
        clients.add_pair("erp:right-secret").expect("a client");
        let clients = Arc::new(clients);
        let refused = clients
            .verify("nobody".to_owned(), "a-guess".to_owned())
            .await;
        assert_eq!(refused, None);
        let ran = clients
            .most_at_once
            .most
            .load(std::sync::atomic::Ordering::SeqCst);
        assert_eq!(ran, 1, "an unknown name was refused without Argon2");
    }
}
