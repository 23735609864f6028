//! A server's own certificate authority and server certificate, made at every start.
//!
//! Keys are ECDSA P-256: ring, the one crypto provider in the build, cannot generate RSA keys,
//! and P-256 is stronger than the 2048-bit RSA floor InstaMed states. The server certificate
//! names `localhost`, `127.0.0.1` and `::1`, the listening address when it is a specific one,
//! and the [`Hostname`]s asked for (IP literals as IP SANs, names as DNS SANs), so that a client
//! reaching the server from a container or another host by its own name can verify it;
//! clients trust the CA through the PEM file written here.
//!
//! Without a path of the caller's choosing, the CA goes into a directory made for it alone:
//! created atomically under an unpredictable name with mode 0700 (the `tempfile` crate), so a
//! directory or symlink planted in the temporary directory is never reused or followed, and
//! removed when the server that owns it is dropped.

use std::io::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::Hostname;
use crate::ListenError;

/// The server side of TLS, and where the CA certificate was written.
pub(crate) struct Pki {
    pub server: Arc<rustls::ServerConfig>,
    pub ca_path: PathBuf,
    /// The private directory holding `ca_path` when it is ours; dropping it removes both.
    pub ca_dir: Option<tempfile::TempDir>,
}

/// The server side of TLS from an operator's PEM files: `cert` holds the server certificate
/// first and its chain after it, `key` its private key (PKCS#8, PKCS#1 or SEC1). TLS 1.3 and
/// 1.2 with ring's suites, HTTP/1.1 offered by ALPN, as for a certificate made at start.
pub fn server_config_from_pem_files(
    cert: &Path,
    key: &Path,
) -> Result<Arc<rustls::ServerConfig>, ListenError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject as _;
    let unreadable = |path: &Path| {
        let path = path.to_owned();
        move |error: rustls::pki_types::pem::Error| ListenError::PemFile {
            path,
            source: Box::new(error),
        }
    };
    let chain = CertificateDer::pem_file_iter(cert)
        .map_err(unreadable(cert))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(unreadable(cert))?;
    if chain.is_empty() {
        return Err(ListenError::PemFile {
            path: cert.to_owned(),
            source: "no CERTIFICATE block in the file".into(),
        });
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(unreadable(key))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut server = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| ListenError::Certificates(Box::new(e)))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| ListenError::Certificates(Box::new(e)))?;
    server.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(server))
}

/// Makes a CA and a server certificate for `listen_ip` and `hostnames`, and writes the CA to
/// `ca_out` (or a new temporary file).
pub(crate) fn make(
    listen_ip: IpAddr,
    hostnames: &[Hostname],
    ca_out: Option<&Path>,
) -> Result<Pki, ListenError> {
    let failed = |e: rcgen::Error| ListenError::Certificates(Box::new(e));

    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(failed)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "instamed-soap simulator CA");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().map_err(failed)?)
        .map_err(failed)?;

    let server_key = KeyPair::generate().map_err(failed)?;
    // rcgen reads each text that parses as an IP address as an IP SAN, any other as a DNS SAN.
    let mut server_params =
        CertificateParams::new(subject_alt_names(listen_ip, hostnames)).map_err(failed)?;
    server_params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    let server_cert = server_params.signed_by(&server_key, &ca).map_err(failed)?;

    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut server = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| ListenError::Certificates(Box::new(e)))?
        .with_no_client_auth()
        .with_single_cert(vec![server_cert.der().clone(), ca.der().clone()], key)
        .map_err(|e| ListenError::Certificates(Box::new(e)))?;
    server.alpn_protocols = vec![b"http/1.1".to_vec()];

    let (ca_path, ca_dir) = match ca_out {
        Some(path) => {
            std::fs::write(path, ca.pem()).map_err(|source| ListenError::CaFile {
                path: path.to_owned(),
                source,
            })?;
            (path.to_owned(), None)
        }
        None => {
            let dir = private_dir()?;
            (write_new(dir.path(), &ca.pem())?, Some(dir))
        }
    };
    Ok(Pki {
        server: Arc::new(server),
        ca_path,
        ca_dir,
    })
}

/// The server certificate's names, each once: the loopback ones, a specific listening address,
/// then the host names asked for.
fn subject_alt_names(listen_ip: IpAddr, hostnames: &[Hostname]) -> Vec<String> {
    let mut names = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    if !listen_ip.is_unspecified() && !listen_ip.is_loopback() {
        names.push(listen_ip.to_string());
    }
    for name in hostnames {
        let name = name.to_string();
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

/// A new directory of our own under the temporary directory: a random name, created with
/// mode 0700 in one step, failing rather than reusing anything already there.
fn private_dir() -> Result<tempfile::TempDir, ListenError> {
    let mut builder = tempfile::Builder::new();
    builder.prefix("instamed-simulator-");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        // Only the owner may list or enter it, whatever the umask says.
        builder.permissions(std::fs::Permissions::from_mode(0o700));
    }
    builder.tempdir().map_err(|source| ListenError::CaFile {
        path: std::env::temp_dir(),
        source,
    })
}

/// Writes `ca.pem` into `dir`, refusing to open anything that already exists there.
fn write_new(dir: &Path, pem: &str) -> Result<PathBuf, ListenError> {
    let path = dir.join("ca.pem");
    let failed = |source| ListenError::CaFile {
        path: path.clone(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(failed)?;
    file.write_all(pem.as_bytes()).map_err(failed)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_is_listed_once_after_the_loopback_ones() {
        let names: Vec<Hostname> = ["sim.test", "127.0.0.1", "10.0.0.7", "fd00::1"]
            .iter()
            .map(|name| name.parse().expect("valid"))
            .collect();
        assert_eq!(
            subject_alt_names(IpAddr::from([10, 0, 0, 7]), &names),
            [
                "localhost",
                "127.0.0.1",
                "::1",
                "10.0.0.7",
                "sim.test",
                "fd00::1"
            ]
        );
    }
}
