//! What a build script does with the generator: read a WSDL named by an environment variable
//! (or a default path), generate its bindings and write them into `OUT_DIR`.
//!
//! The client's and the simulator's build scripts generate bindings for more than one service
//! (the payment service, the Single Sign-On service); each service is one [`Service`], and
//! they all go through [`generate`], so that every WSDL is read, checked and written the same
//! way.

use std::path::{Path, PathBuf};

use crate::{Options, generate_file};

/// One service's bindings, as a build script generates them.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Service {
    /// The environment variable that names another copy of the WSDL (`INSTAMED_WSDL`, say).
    pub env_var: &'static str,
    /// The WSDL read when the variable is not set, relative to the package's folder.
    pub default_wsdl: &'static str,
    /// The file written in `OUT_DIR` for `include!` (`bindings.rs`, say).
    pub out_file: &'static str,
    /// What to generate, and which operations the crate cannot do without.
    pub options: Options,
}

impl Service {
    /// A service whose WSDL is `default_wsdl` unless `env_var` names another, generated into
    /// `out_file` with `options`.
    pub fn new(
        env_var: &'static str,
        default_wsdl: &'static str,
        out_file: &'static str,
        options: Options,
    ) -> Self {
        Self {
            env_var,
            default_wsdl,
            out_file,
            options,
        }
    }

    /// The WSDL this build reads: the one the environment variable names, or the default.
    pub fn wsdl_path(&self) -> PathBuf {
        std::env::var_os(self.env_var)
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(self.default_wsdl))
    }
}

/// Generates `service`'s bindings into `out_dir`, telling cargo to run the build again when
/// the WSDL or the environment variable changes. Returns the WSDL's path and text, for a
/// build that also serves the WSDL (the simulator's); the error is one sentence for
/// `cargo::error`.
pub fn generate(service: &Service, out_dir: &Path) -> Result<(PathBuf, String), String> {
    println!("cargo::rerun-if-env-changed={}", service.env_var);
    let wsdl = service.wsdl_path();
    println!("cargo::rerun-if-changed={}", wsdl.display());
    let source = generate_file(&wsdl, &service.options)
        .map_err(|error| format!("cannot generate bindings: {error}"))?;
    let text = std::fs::read_to_string(&wsdl)
        .map_err(|error| format!("cannot read {}: {error}", wsdl.display()))?;
    write_if_changed(&out_dir.join(service.out_file), &source)?;
    Ok((wsdl, text))
}

/// Writes `content` to `target` unless it already holds exactly that: rewriting identical
/// output would only make cargo rebuild the crate for nothing.
pub fn write_if_changed(target: &Path, content: &str) -> Result<(), String> {
    if std::fs::read_to_string(target).ok().as_deref() == Some(content) {
        return Ok(());
    }
    std::fs::write(target, content)
        .map_err(|error| format!("cannot write {}: {error}", target.display()))
}
