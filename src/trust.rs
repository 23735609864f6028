//! Which certificate authorities the client trusts for the service's certificate.
//!
//! Three built-in sets to start from ([`TrustRoots`]), and any number of CA certificates added
//! to it: the simulator's, or the CA of a TLS-inspecting gateway the network requires.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use rustls::RootCertStore;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use crate::error::{Error, config, config_with};

/// The set of root certificates a client starts from, before the ones added with
/// [`add_root_certificate_pem`](crate::ClientBuilder::add_root_certificate_pem) and
/// [`add_root_certificate_file`](crate::ClientBuilder::add_root_certificate_file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TrustRoots {
    /// Mozilla's roots, compiled in (`webpki-roots`): the same on every machine. The default.
    #[default]
    Mozilla,
    /// The operating system's trust store, read when the client is built (through
    /// `rustls-native-certs`: on Linux the distribution's bundle, or the files named by
    /// `SSL_CERT_FILE` and `SSL_CERT_DIR`). Where a TLS-inspecting gateway's CA is installed.
    Os,
    /// None: only the certificates added to the builder are trusted.
    None,
}

impl TrustRoots {
    /// The name used on command lines: `mozilla`, `os` or `none`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mozilla => "mozilla",
            Self::Os => "os",
            Self::None => "none",
        }
    }
}

impl fmt::Display for TrustRoots {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TrustRoots {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, String> {
        match name.to_ascii_lowercase().as_str() {
            "mozilla" | "webpki" => Ok(Self::Mozilla),
            "os" | "system" | "native" => Ok(Self::Os),
            "none" => Ok(Self::None),
            _ => Err(format!(
                "unknown trust store {name:?}: use mozilla, os or none"
            )),
        }
    }
}

/// The largest CA certificate file read: a whole distribution bundle (Mozilla's roots, some 150
/// certificates) is about 220 KiB, so anything near this is not a bundle of certificates.
pub(crate) const MAX_CA_FILE_BYTES: u64 = 8 << 20;

/// A CA certificate source added to the builder.
#[derive(Clone)]
enum Added {
    Pem(Vec<u8>),
    File(PathBuf),
}

/// The builder's trust settings.
#[derive(Clone, Default)]
pub(crate) struct Trust {
    pub(crate) base: TrustRoots,
    added: Vec<Added>,
}

impl fmt::Debug for Trust {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let added: Vec<String> = self
            .added
            .iter()
            .map(|added| match added {
                Added::Pem(bytes) => format!("<{} bytes of PEM>", bytes.len()),
                Added::File(path) => path.display().to_string(),
            })
            .collect();
        f.debug_struct("Trust")
            .field("base", &self.base)
            .field("added", &added)
            .finish()
    }
}

impl Trust {
    pub(crate) fn add_pem(&mut self, pem: Vec<u8>) {
        self.added.push(Added::Pem(pem));
    }

    pub(crate) fn add_file(&mut self, path: PathBuf) {
        self.added.push(Added::File(path));
    }

    /// The roots to verify the service's certificate against.
    pub(crate) fn root_store(&self) -> Result<RootCertStore, Error> {
        let mut roots = RootCertStore::empty();
        match self.base {
            TrustRoots::Mozilla => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
            TrustRoots::Os => add_os_roots(&mut roots)?,
            TrustRoots::None => {}
        }
        for added in &self.added {
            match added {
                Added::Pem(pem) => add_pem(&mut roots, pem, "the PEM given")?,
                Added::File(path) => {
                    let pem = crate::files::read(path, MAX_CA_FILE_BYTES).map_err(|e| {
                        config_with(
                            format!("cannot read CA certificates from {}", path.display()),
                            e,
                        )
                    })?;
                    add_pem(&mut roots, &pem, &path.display().to_string())?;
                }
            }
        }
        if roots.is_empty() {
            return Err(config(
                "no root certificate to trust: add a CA certificate or choose the Mozilla or OS roots",
            ));
        }
        Ok(roots)
    }
}

/// Adds every certificate of `pem` (from `origin`, for messages); at least one is required.
fn add_pem(roots: &mut RootCertStore, pem: &[u8], origin: &str) -> Result<(), Error> {
    let unreadable = |e| config_with(format!("cannot read CA certificates from {origin}"), e);
    let mut found = 0;
    for certificate in CertificateDer::pem_slice_iter(pem) {
        roots
            .add(certificate.map_err(unreadable)?)
            .map_err(|e| config_with(format!("bad CA certificate in {origin}"), e))?;
        found += 1;
    }
    if found == 0 {
        return Err(config(format!("no CA certificate in {origin}")));
    }
    Ok(())
}

/// Adds the operating system's roots; a store that gives none is an error, since the client
/// could then trust nothing the user meant it to.
fn add_os_roots(roots: &mut RootCertStore) -> Result<(), Error> {
    check_cert_variables()?;
    let loaded = rustls_native_certs::load_native_certs();
    let (added, ignored) = roots.add_parsable_certificates(loaded.certs);
    for error in &loaded.errors {
        tracing::debug!(%error, "part of the OS trust store could not be read");
    }
    if ignored > 0 {
        tracing::debug!(
            ignored,
            "certificates of the OS trust store were not usable"
        );
    }
    if added == 0 {
        let reason = "the operating system's trust store gave no usable certificate";
        return Err(match loaded.errors.into_iter().next() {
            Some(error) => config_with(reason, error),
            None => config(reason),
        });
    }
    Ok(())
}

/// `SSL_CERT_FILE` and the files of `SSL_CERT_DIR` are read whole by `rustls-native-certs`,
/// the file whatever its type: a FIFO named there would block the client's build for ever and
/// a device would never end. They are checked first, as a `--ca-cert` file is read.
fn check_cert_variables() -> Result<(), Error> {
    let unusable = |path: &std::path::Path, variable: &str, e: std::io::Error| {
        config_with(
            format!(
                "cannot read CA certificates from {} ({variable})",
                path.display()
            ),
            e,
        )
    };
    if let Some(file) = std::env::var_os("SSL_CERT_FILE").filter(|v| !v.is_empty()) {
        let path = std::path::Path::new(&file);
        // A name that does not exist is left to the loader, which reports it.
        if path.exists() {
            crate::files::open(path, MAX_CA_FILE_BYTES)
                .map_err(|e| unusable(path, "SSL_CERT_FILE", e))?;
        }
    }
    if let Some(dirs) = std::env::var_os("SSL_CERT_DIR") {
        for dir in std::env::split_paths(&dirs).filter(|d| !d.as_os_str().is_empty()) {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                // The loader reads only what resolves to a regular file; those are the ones
                // whose size matters.
                let is_file = std::fs::metadata(&path).is_ok_and(|m| m.is_file());
                if is_file {
                    crate::files::open(&path, MAX_CA_FILE_BYTES)
                        .map_err(|e| unusable(&path, "SSL_CERT_DIR", e))?;
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_ones_are_refused() {
        for roots in [TrustRoots::Mozilla, TrustRoots::Os, TrustRoots::None] {
            assert_eq!(roots.as_str().parse::<TrustRoots>(), Ok(roots));
        }
        assert!("everything".parse::<TrustRoots>().is_err());
    }

    #[test]
    fn nothing_to_trust_and_pem_without_a_certificate_are_configuration_errors() {
        let none = Trust {
            base: TrustRoots::None,
            ..Trust::default()
        };
        let error = none.root_store().unwrap_err().to_string();
        assert!(error.contains("no root certificate"), "{error}");
        let mut junk = none.clone();
        junk.add_pem(b"not a certificate".to_vec());
        let error = junk.root_store().unwrap_err().to_string();
        assert!(
            error.contains("no CA certificate in the PEM given"),
            "{error}"
        );
        assert!(Trust::default().root_store().unwrap().len() > 100);
    }
}
