//! Where cassettes are written: numbered files in a directory, never one written over another.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::cassette::Cassette;
use super::verify::cassette_files;

/// Writes `cassette` in `dir` as `NNN-protocol-operation-outcome.cassette`, trying `*next`
/// first, never replacing a file: a number is skipped when any file already carries it, and
/// the file appears whole, in one step that fails if the name was taken in the meantime (by
/// another recorder, say). `record` and `contract import-har` name their cassettes alike.
pub(crate) fn save_numbered(
    dir: &Path,
    next: &mut usize,
    cassette: &Cassette,
) -> std::io::Result<PathBuf> {
    let text = cassette.to_text();
    let suffix = format!(
        "{}-{}-{}.cassette",
        cassette.protocol,
        slug(&cassette.operation),
        cassette
            .expect
            .as_deref()
            .map_or_else(|| "exchange".to_owned(), slug)
    );
    loop {
        let number = *next;
        *next += 1;
        if number_taken(dir, number)? {
            continue;
        }
        let path = dir.join(format!("{number:03}-{suffix}"));
        let mut file = tempfile::Builder::new()
            .prefix(".recording-")
            .suffix(".partial")
            .tempfile_in(dir)?;
        file.write_all(text.as_bytes())?;
        file.as_file().sync_all()?;
        match file.persist_noclobber(&path) {
            Ok(_) => return Ok(path),
            Err(error) if error.error.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(error) => return Err(error.error),
        }
    }
}

/// The number a cassette file name starts with (`007-…` → 7).
fn number_of(name: &str) -> Option<usize> {
    let digits = name.split('-').next()?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The highest number among the cassette files of `dir` (0 when none is numbered).
pub(crate) fn highest_number(dir: &Path) -> std::io::Result<usize> {
    Ok(cassette_files(dir)?
        .iter()
        .filter_map(|file| file.file_name()?.to_str().and_then(number_of))
        .max()
        .unwrap_or(0))
}

/// Whether a file of `dir` already starts with `number`.
fn number_taken(dir: &Path, number: usize) -> std::io::Result<bool> {
    for entry in std::fs::read_dir(dir)? {
        let name = entry?.file_name();
        if name.to_str().and_then(number_of) == Some(number) {
            return Ok(true);
        }
    }
    Ok(false)
}

fn slug(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}
