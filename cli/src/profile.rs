//! The configuration file and its named profiles: connection settings and outlet defaults a
//! user would otherwise type on every command. Flags and environment variables win over it
//! (see `connection`), and it never holds a secret: a file of settings gets copied, shared and
//! committed, so secrets stay in the environment or in a file of their own, mode 0600.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The keys a profile may hold, in the order the documentation lists them.
const KEYS: [&str; 12] = [
    "endpoint",
    "protocol",
    "trust",
    "ca_cert",
    "proxy",
    "timeout",
    "merchant_id",
    "store_id",
    "terminal_id",
    "account_id",
    "password_file",
    "api_secret_file",
];

/// Words that mark a key as holding a secret, whatever its exact spelling.
const SECRET_WORDS: [&str; 8] = [
    "password",
    "passwd",
    "secret",
    "token",
    "api_key",
    "apikey",
    "private",
    "credential",
];

/// The profile used when none is named.
pub const DEFAULT: &str = "default";

/// One profile's settings, every one optional; paths already resolved against the file's
/// folder, so a profile means the same whatever folder the command runs in.
#[derive(Debug, Default, Clone)]
pub struct Profile {
    /// The service address.
    pub endpoint: Option<String>,
    /// soap11, soap12, nvp or rest.
    pub protocol: Option<String>,
    /// mozilla, os or none.
    pub trust: Option<String>,
    /// CA certificates to trust.
    pub ca_cert: Vec<PathBuf>,
    /// The HTTP proxy.
    pub proxy: Option<String>,
    /// The deadline of each call.
    pub timeout: Option<Duration>,
    /// The outlet's merchant ID.
    pub merchant_id: Option<String>,
    /// The outlet's store ID.
    pub store_id: Option<String>,
    /// The outlet's terminal ID.
    pub terminal_id: Option<String>,
    /// The account ID (an identifier, not a secret).
    pub account_id: Option<String>,
    /// A file holding the password, mode 0600.
    pub password_file: Option<PathBuf>,
    /// A file holding the REST API secret, mode 0600.
    pub api_secret_file: Option<PathBuf>,
}

/// The profile as written, before its paths and timeout are interpreted.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Written {
    endpoint: Option<String>,
    protocol: Option<String>,
    trust: Option<String>,
    ca_cert: Option<OneOrMany>,
    proxy: Option<String>,
    timeout: Option<String>,
    merchant_id: Option<String>,
    store_id: Option<String>,
    terminal_id: Option<String>,
    account_id: Option<String>,
    password_file: Option<PathBuf>,
    api_secret_file: Option<PathBuf>,
}

/// `ca_cert = "a.pem"` or `ca_cert = ["a.pem", "b.pem"]`, as the flag may be repeated.
#[derive(Debug, serde::Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(PathBuf),
    Many(Vec<PathBuf>),
}

/// Where the file is looked for when neither `--config` nor INSTAMED_CONFIG names one:
/// `$XDG_CONFIG_HOME/instamed-soap/config.toml`, else `~/.config/instamed-soap/config.toml`.
pub fn default_path() -> Option<PathBuf> {
    let base = match std::env::var_os("XDG_CONFIG_HOME") {
        // The XDG spec: a relative value is invalid and is ignored.
        Some(dir) if Path::new(&dir).is_absolute() => PathBuf::from(dir),
        _ => PathBuf::from(std::env::var_os("HOME")?).join(".config"),
    };
    Some(base.join("instamed-soap").join("config.toml"))
}

/// The profile `name` (or `default`) of the file at `path` (or the default place).
///
/// No file at the default place, or no `default` profile when none is named, is no profile: an
/// empty one. A file named outright that is missing, or a profile named that is not in the
/// file, is an error, since the user asked for it.
pub fn load(path: Option<&Path>, name: Option<&str>) -> Result<Profile, String> {
    let (path, named_file) = match path {
        Some(path) => (path.to_path_buf(), true),
        None => match default_path() {
            Some(path) => (path, false),
            None if name.is_some() => {
                return Err(
                    "no configuration file: neither XDG_CONFIG_HOME nor HOME is set, \
                            and --config does not name one"
                        .into(),
                );
            }
            None => return Ok(Profile::default()),
        },
    };
    let text = match instamed_soap::files::read_to_string(&path, CONFIG_LIMIT) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound && !named_file => {
            return match name {
                Some(name) => Err(format!(
                    "profile {name:?} is named, but there is no configuration file at {}",
                    path.display()
                )),
                None => Ok(Profile::default()),
            };
        }
        Err(error) => return Err(format!("cannot read {}: {error}", path.display())),
    };
    let folder = path.parent().unwrap_or(Path::new("."));
    parse(&text, name, folder).map_err(|reason| format!("{}: {reason}", path.display()))
}

/// The profile `name` (or `default`) of a file's text; relative paths are taken from `folder`.
fn parse(text: &str, name: Option<&str>, folder: &Path) -> Result<Profile, String> {
    let table: toml::Table = text
        .parse()
        .map_err(|error: toml::de::Error| format!("not valid TOML: {}", error.message()))?;
    refuse_secrets(&table, "")?;
    let mut profiles: BTreeMap<String, toml::Table> = BTreeMap::new();
    for (key, value) in table {
        match (key.as_str(), value) {
            ("profiles", toml::Value::Table(all)) => {
                for (profile, value) in all {
                    match value {
                        toml::Value::Table(settings) => {
                            profiles.insert(profile, settings);
                        }
                        _ => {
                            return Err(format!(
                                "profiles.{profile} is not a table: write it as [profiles.{profile}]"
                            ));
                        }
                    }
                }
            }
            ("profiles", _) => {
                return Err("profiles is not a table: write each as [profiles.NAME]".into());
            }
            (other, _) => {
                return Err(format!(
                    "unknown key {other:?} at the top level; the file holds only \
                     [profiles.NAME] tables"
                ));
            }
        }
    }
    // Every profile, not only the one in use: a secret under a name no list foresaw (`pwd`)
    // is an unknown key, refused wherever it stands.
    for (profile, settings) in &profiles {
        for key in settings.keys() {
            if !KEYS.contains(&key.as_str()) {
                let spelled = key.replace('-', "_");
                let nearest = if KEYS.contains(&spelled.as_str()) {
                    format!(" (did you mean {spelled:?}?)")
                } else {
                    String::new()
                };
                return Err(format!(
                    "unknown key {key:?} in [profiles.{profile}]{nearest}; the keys are: {}",
                    KEYS.join(", ")
                ));
            }
        }
    }
    let wanted = name.unwrap_or(DEFAULT);
    let Some(settings) = profiles.remove(wanted) else {
        if name.is_none() {
            return Ok(Profile::default());
        }
        let valid: Vec<&str> = profiles.keys().map(String::as_str).collect();
        return Err(format!(
            "no profile {wanted:?}; the profiles are: {}",
            if valid.is_empty() {
                "(none)".to_owned()
            } else {
                valid.join(", ")
            }
        ));
    };
    let written: Written = toml::Value::Table(settings)
        .try_into()
        .map_err(|error: toml::de::Error| format!("[profiles.{wanted}]: {}", error.message()))?;
    interpret(written, wanted, folder)
}

/// A written profile with its timeout parsed and its paths taken from `folder`.
fn interpret(written: Written, name: &str, folder: &Path) -> Result<Profile, String> {
    let at = |path: PathBuf| folder.join(path);
    let timeout = match written.timeout {
        Some(text) => Some(
            crate::duration::TIMEOUT
                .parse(&text)
                .map_err(|reason| format!("timeout in [profiles.{name}]: {reason}"))?,
        ),
        None => None,
    };
    Ok(Profile {
        endpoint: written.endpoint,
        protocol: written.protocol,
        trust: written.trust,
        ca_cert: match written.ca_cert {
            Some(OneOrMany::One(path)) => vec![at(path)],
            Some(OneOrMany::Many(paths)) => paths.into_iter().map(at).collect(),
            None => Vec::new(),
        },
        proxy: written.proxy,
        timeout,
        merchant_id: written.merchant_id,
        store_id: written.store_id,
        terminal_id: written.terminal_id,
        account_id: written.account_id,
        password_file: written.password_file.map(at),
        api_secret_file: written.api_secret_file.map(at),
    })
}

/// Refuses a key anywhere in the file that looks like it holds a secret, other than the two
/// that name a secrets file: checked before anything else, so a secret is refused even in a
/// profile not in use, and even beside another mistake.
fn refuse_secrets(table: &toml::Table, prefix: &str) -> Result<(), String> {
    for (key, value) in table {
        let path = format!("{prefix}{key}");
        let lower = key.to_ascii_lowercase().replace('-', "_");
        let names_a_file = lower == "password_file" || lower == "api_secret_file";
        if !names_a_file && SECRET_WORDS.iter().any(|word| lower.contains(word)) {
            return Err(format!(
                "{path} looks like a secret, and secrets are never read from the configuration \
                 file; put it in the environment (INSTAMED_PASSWORD, INSTAMED_API_KEY, \
                 INSTAMED_API_SECRET), or in a file of mode 0600 named by password_file or \
                 api_secret_file"
            ));
        }
        match value {
            toml::Value::Table(inner) => refuse_secrets(inner, &format!("{path}."))?,
            // `[[profiles.x.y]]` holds tables in an array: a secret may hide there too.
            toml::Value::Array(items) => {
                for (index, item) in items.iter().enumerate() {
                    if let toml::Value::Table(inner) = item {
                        refuse_secrets(inner, &format!("{path}[{index}]."))?;
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// The largest configuration file read: a few profiles, never a device.
const CONFIG_LIMIT: u64 = 1024 * 1024;

/// The largest secrets file read: a password or an API secret is one line.
const SECRET_FILE_LIMIT: u64 = 64 * 1024;

/// The secret in `path`, which must be a regular file owned by this user and readable by no
/// one else (mode 0600 or 0400): anyone else who can read it can move money.
pub fn read_secret(path: &Path) -> Result<String, String> {
    use std::io::Read as _;
    // The file's name is never shown: a secret typed where its file's name belongs would be.
    // One open, bounded and never waiting on a FIFO; the checks below are of the file opened,
    // so a name swapped after them cannot lend its mode to another file.
    let mut file = instamed_soap::files::open(path, SECRET_FILE_LIMIT)
        .map_err(|error| format!("cannot read the secrets file: {}", error.kind()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let metadata = file
            .get_ref()
            .metadata()
            .map_err(|error| format!("cannot read the secrets file: {}", error.kind()))?;
        let mode = metadata.mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(format!(
                "the secrets file has mode {mode:04o}, so other users may read the secret in \
                 it; make it 0600 (chmod 600 FILE)"
            ));
        }
        if metadata.uid() != current_uid() {
            return Err(format!(
                "the secrets file is owned by user {} and not by this user; a secrets file \
                 must be your own",
                metadata.uid()
            ));
        }
    }
    let mut text = String::new();
    file.read_to_string(&mut text)
        .map_err(|error| format!("cannot read the secrets file: {}", error.kind()))?;
    // Editors and `echo` end a file with a newline that is no part of the secret.
    let secret = text.strip_suffix('\n').unwrap_or(&text);
    let secret = secret.strip_suffix('\r').unwrap_or(secret);
    if secret.is_empty() {
        return Err("the secrets file is empty".to_owned());
    }
    Ok(secret.to_owned())
}

/// This process's user.
#[cfg(unix)]
#[allow(unsafe_code)] // the standard library has no call for it
fn current_uid() -> u32 {
    // SAFETY: getuid takes nothing, touches no memory of ours and cannot fail.
    unsafe { libc::getuid() }
}

#[cfg(test)]
mod tests {
    use super::{Path, parse};

    #[test]
    fn a_secret_is_refused_by_its_key_even_in_a_profile_not_in_use() {
        let text = "[profiles.default]\nendpoint = \"x\"\n[profiles.other]\napi-secret = \"s\"\n";
        let error = parse(text, None, Path::new("/")).unwrap_err();
        assert!(error.contains("profiles.other.api-secret"), "{error}");
    }

    #[test]
    fn no_default_profile_is_no_settings_but_a_named_one_must_exist() {
        let text = "[profiles.staging]\nendpoint = \"x\"\n";
        let profile = parse(text, None, Path::new("/")).expect("no default is fine");
        assert!(profile.endpoint.is_none());
        let error = parse(text, Some("prod"), Path::new("/")).unwrap_err();
        assert!(error.contains("staging"), "{error}");
    }

    #[test]
    fn paths_are_taken_from_the_files_folder() {
        let text = "[profiles.default]\nca_cert = \"ca.pem\"\npassword_file = \"/abs\"\n";
        let profile = parse(text, None, Path::new("/etc/x")).expect("valid");
        assert_eq!(profile.ca_cert, [Path::new("/etc/x/ca.pem")]);
        assert_eq!(profile.password_file.as_deref(), Some(Path::new("/abs")));
    }
}
