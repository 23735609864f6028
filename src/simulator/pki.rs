//! The simulator's own certificate authority and server certificate, made at every start.
//!
//! Keys are ECDSA P-256: ring, the one crypto provider in the build, cannot generate RSA keys,
//! and P-256 is stronger than the 2048-bit RSA floor InstaMed states. The server certificate
//! names `localhost`, `127.0.0.1` and `::1`, plus the listening address when it is a specific
//! one; clients trust the CA through the PEM file written here.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

use super::error::SimulatorError;

/// The server side of TLS, and where the CA certificate was written.
pub(crate) struct Pki {
    pub server: Arc<rustls::ServerConfig>,
    pub ca_path: PathBuf,
    /// Whether `ca_path` is a temporary file of ours, to remove at shutdown.
    pub ca_is_temporary: bool,
}

/// Makes a CA and a server certificate for `listen_ip`, and writes the CA to `ca_out` (or a
/// new temporary file).
pub(crate) fn make(listen_ip: IpAddr, ca_out: Option<&Path>) -> Result<Pki, SimulatorError> {
    let failed = |e: rcgen::Error| SimulatorError::Certificates(Box::new(e));

    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(failed)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "instamed-soap simulator CA");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().map_err(failed)?)
        .map_err(failed)?;

    let mut names = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    if !listen_ip.is_unspecified() && !listen_ip.is_loopback() {
        names.push(listen_ip.to_string());
    }
    let server_key = KeyPair::generate().map_err(failed)?;
    let mut server_params = CertificateParams::new(names).map_err(failed)?;
    server_params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    let server_cert = server_params.signed_by(&server_key, &ca).map_err(failed)?;

    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut server = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| SimulatorError::Certificates(Box::new(e)))?
        .with_no_client_auth()
        .with_single_cert(vec![server_cert.der().clone(), ca.der().clone()], key)
        .map_err(|e| SimulatorError::Certificates(Box::new(e)))?;
    server.alpn_protocols = vec![b"http/1.1".to_vec()];

    let (ca_path, ca_is_temporary) = match ca_out {
        Some(path) => (path.to_owned(), false),
        None => (temporary_ca_path()?, true),
    };
    std::fs::write(&ca_path, ca.pem()).map_err(|source| SimulatorError::CaFile {
        path: ca_path.clone(),
        source,
    })?;
    Ok(Pki {
        server: Arc::new(server),
        ca_path,
        ca_is_temporary,
    })
}

/// A fresh directory under the temporary directory, and the CA's path in it. A directory per
/// simulator keeps two simulators in one process (or two processes) apart.
fn temporary_ca_path() -> Result<PathBuf, SimulatorError> {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "instamed-simulator-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).map_err(|source| SimulatorError::CaFile {
        path: dir.clone(),
        source,
    })?;
    Ok(dir.join("ca.pem"))
}

/// Removes a temporary CA file and its directory; failures only mean litter in the temp dir.
pub(crate) fn remove_temporary(ca_path: &Path) {
    let _ = std::fs::remove_file(ca_path);
    if let Some(dir) = ca_path.parent() {
        let _ = std::fs::remove_dir(dir);
    }
}
