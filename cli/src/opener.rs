//! `sso void --open`: the URL handed to the system's opener (`xdg-open`, `open` on macOS), the
//! program a desktop uses to open a link in the person's browser. A look-up on `PATH` and one
//! spawn are all it takes, so no crate is pulled in for it.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The opener this system uses when `INSTAMED_OPENER` names none.
const SYSTEM_OPENER: &str = if cfg!(target_os = "macos") {
    "open"
} else {
    "xdg-open"
};

/// A program found that opens URLs.
#[derive(Debug)]
pub struct Opener {
    program: PathBuf,
}

/// The opener: `INSTAMED_OPENER` (a path, or a name looked up on `PATH`), else the system's;
/// why not, in words a person can act on, when there is none.
pub fn find() -> Result<Opener, String> {
    let (name, chosen) = match std::env::var_os("INSTAMED_OPENER").filter(|v| !v.is_empty()) {
        Some(name) => (name, "INSTAMED_OPENER"),
        None => (OsString::from(SYSTEM_OPENER), "the system's opener"),
    };
    let path = PathBuf::from(&name);
    let found = if path.components().count() > 1 {
        path.is_file().then_some(path)
    } else {
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join(&name))
                .find(|candidate| candidate.is_file())
        })
    };
    found.map(|program| Opener { program }).ok_or_else(|| {
        format!(
            "--open: {chosen} ({}) is not installed or not on PATH; run without --open and \
             open the printed URL in the person's browser, or name an opener in INSTAMED_OPENER",
            name.to_string_lossy()
        )
    })
}

impl Opener {
    /// Hands `url` to the opener, without waiting for the browser: its failure to start is
    /// said, its own output left out of this command's.
    pub fn open(&self, url: &str) -> Result<(), String> {
        let mut child = Command::new(&self.program)
            .arg(url)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .map_err(|error| format!("{} could not be started: {error}", self.program.display()))?;
        let program = self.program.display().to_string();
        std::thread::spawn(move || match child.wait() {
            Ok(status) if !status.success() => {
                eprintln!("warning: {program} ended with {status}; open the URL by hand");
            }
            _ => {}
        });
        Ok(())
    }
}
