//! Reading the files a user names (CA certificates, seed files, cassettes, a batch's input):
//! regular files only, at most a stated size.
//!
//! A name given by mistake can be a FIFO, which blocks the first read until a writer comes
//! (for ever, from a script), or a device such as `/dev/zero` or `/dev/urandom`, which never
//! ends and fills memory. So the file's type is checked before it is opened, and again on the
//! descriptor opened (the name may have changed in between; a FIFO is opened without blocking
//! for that second look), and reading stops with an error past the limit, should the file grow
//! after its size was checked.
//!
//! Errors are [`std::io::Error`]s, so that they travel in the error types that already carry
//! a file's I/O errors: [`ErrorKind::InvalidInput`] for a file that is not a regular one,
//! [`ErrorKind::FileTooLarge`] for one over the limit, each saying which and why.

use std::fs::{File, FileType, OpenOptions};
use std::io::{self, ErrorKind, Read};
use std::path::Path;

/// Opens `path` for reading if it names a regular file of at most `limit` bytes; the reader
/// fails past `limit` bytes.
pub fn open(path: &Path, limit: u64) -> io::Result<Capped<File>> {
    // Before opening: opening a FIFO for reading blocks until a writer opens it.
    check_type(std::fs::metadata(path)?.file_type())?;
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        // Should the name now be a FIFO, opening it does not wait for a writer; a regular
        // file reads the same with or without the flag.
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path)?;
    let metadata = file.metadata()?;
    check_type(metadata.file_type())?;
    if metadata.len() > limit {
        return Err(too_large(limit));
    }
    Ok(Capped {
        inner: file,
        left: limit,
        limit,
    })
}

/// The bytes of the regular file at `path`, at most `limit` of them.
pub fn read(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    let mut reader = open(path, limit)?;
    let mut bytes = Vec::new();
    reader.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// The text of the regular file at `path`, at most `limit` bytes of UTF-8.
pub fn read_to_string(path: &Path, limit: u64) -> io::Result<String> {
    let mut reader = open(path, limit)?;
    let mut text = String::new();
    reader.read_to_string(&mut text)?;
    Ok(text)
}

/// A reader that fails once it has given `limit` bytes and more are there.
#[derive(Debug)]
pub struct Capped<R> {
    inner: R,
    left: u64,
    limit: u64,
}

impl<R> Capped<R> {
    /// The reader itself: for a file, its metadata is that of the very file being read, not of
    /// whatever the name points at now.
    pub fn get_ref(&self) -> &R {
        &self.inner
    }
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            // One byte more tells a file that ends at the limit from one that goes on.
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(too_large(self.limit)),
            };
        }
        let most = usize::try_from(self.left).map_or(buf.len(), |left| left.min(buf.len()));
        let read = self.inner.read(&mut buf[..most])?;
        self.left -= read as u64;
        Ok(read)
    }
}

fn check_type(kind: FileType) -> io::Result<()> {
    if kind.is_file() {
        return Ok(());
    }
    Err(io::Error::new(
        ErrorKind::InvalidInput,
        format!(
            "{} is not a regular file; only a regular file is read",
            describe(kind)
        ),
    ))
}

fn describe(kind: FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt as _;
        if kind.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if kind.is_char_device() || kind.is_block_device() {
            return "a device";
        }
        if kind.is_socket() {
            return "a socket";
        }
    }
    if kind.is_dir() {
        "a directory"
    } else {
        "this kind of file"
    }
}

fn too_large(limit: u64) -> io::Error {
    io::Error::new(
        ErrorKind::FileTooLarge,
        format!("larger than the {} limit", size(limit)),
    )
}

/// `limit` as a person reads it: `8 MiB`, `512 KiB`, `100 bytes`.
fn size(limit: u64) -> String {
    const MIB: u64 = 1 << 20;
    const KIB: u64 = 1 << 10;
    if limit >= MIB && limit % MIB == 0 {
        format!("{} MiB", limit / MIB)
    } else if limit >= KIB && limit % KIB == 0 {
        format!("{} KiB", limit / KIB)
    } else {
        format!("{limit}-byte")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_regular_file_within_the_limit_is_read_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, b"0123456789").unwrap();
        assert_eq!(read(&path, 10).unwrap(), b"0123456789");
        assert_eq!(read_to_string(&path, 100).unwrap(), "0123456789");
    }

    #[test]
    fn a_file_over_the_limit_is_refused_before_it_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big");
        std::fs::write(&path, vec![b'x'; 11]).unwrap();
        let error = read(&path, 10).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::FileTooLarge);
        assert!(error.to_string().contains("10-byte limit"), "{error}");
        let error = read(&path, 8 << 20).map(|_| ());
        assert!(error.is_ok());
    }

    #[test]
    fn a_reader_stops_at_the_limit_should_the_file_grow() {
        let mut capped = Capped {
            inner: std::io::repeat(b'x'),
            left: 1000,
            limit: 1000,
        };
        let mut bytes = Vec::new();
        let error = capped.read_to_end(&mut bytes).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::FileTooLarge);
        assert_eq!(bytes.len(), 1000);
    }

    #[test]
    fn a_directory_is_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let error = read(dir.path(), 10).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidInput);
        assert!(error.to_string().contains("a directory"), "{error}");
    }

    #[cfg(unix)]
    #[test]
    fn devices_and_fifos_are_refused_without_blocking() {
        for device in ["/dev/zero", "/dev/urandom", "/dev/null"] {
            let error = read(Path::new(device), 1 << 20).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::InvalidInput, "{device}");
            assert!(error.to_string().contains("a device"), "{device}: {error}");
        }
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        // Would block for ever if the FIFO were opened for reading.
        let error = read(&fifo, 1 << 20).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidInput);
        assert!(error.to_string().contains("FIFO"), "{error}");
    }
}
