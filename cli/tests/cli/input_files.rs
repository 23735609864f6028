//! Files a user names, named wrongly: a FIFO (which blocks a reader until a writer comes), a
//! device that never ends (`/dev/zero`, `/dev/urandom`), a directory, a file far too large. Each
//! is refused at once, saying which file and why, by every command that reads one; none hangs
//! and none reads without end.

#![cfg(unix)]

use crate::isolated;

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use instamed_soap_simulator::{DEMO_ACCOUNT_ID, DEMO_PASSWORD};

/// Longer than any refusal takes; a read that blocks or never ends is stopped here.
const PATIENCE: Duration = Duration::from_secs(20);

struct Files {
    dir: tempfile::TempDir,
}

impl Files {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn fifo(&self, name: &str) -> PathBuf {
        let path = self.path(name);
        let made = std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .expect("mkfifo");
        assert!(made.success());
        path
    }

    /// A file one byte over `limit`, of PEM-looking junk.
    fn larger_than(&self, name: &str, limit: u64) -> PathBuf {
        let path = self.path(name);
        let file = std::fs::File::create(&path).unwrap();
        file.set_len(limit + 1).unwrap();
        path
    }
}

/// Runs `args` with the demo credentials; `None` if it had not ended after [`PATIENCE`] (it
/// is killed then).
fn run(args: &[&str], env: &[(&str, &Path)]) -> Option<Output> {
    let mut command = isolated::instamed_soap();
    command
        .args(args)
        .env("INSTAMED_ACCOUNT_ID", DEMO_ACCOUNT_ID)
        .env("INSTAMED_PASSWORD", DEMO_PASSWORD)
        .env_remove("INSTAMED_ENDPOINT")
        .env_remove("SSL_CERT_FILE")
        .env_remove("SSL_CERT_DIR")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command.spawn().expect("run instamed-soap");
    let started = Instant::now();
    while started.elapsed() < PATIENCE {
        if child.try_wait().unwrap().is_some() {
            return Some(child.wait_with_output().unwrap());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().ok();
    child.wait().ok();
    None
}

const VOID: [&str; 11] = [
    "void",
    "--endpoint",
    "https://127.0.0.1:9/payment/service.asmx",
    "--merchant-id",
    "123123123",
    "--store-id",
    "123",
    "--terminal-id",
    "123",
    "--transaction-id",
    "ABC123",
];

/// A command line, its environment, and the exit code and words its refusal must have.
struct Case<'a> {
    args: Vec<String>,
    env: Vec<(&'a str, &'a Path)>,
    code: i32,
    says: &'a str,
}

#[test]
fn files_that_are_not_regular_or_too_large_are_refused_at_once_by_every_command() {
    let files = Files::new();
    let fifo = files.fifo("named-pipe");
    let fifo = fifo.to_str().unwrap();
    let huge_pem = files.larger_than("huge.pem", 8 << 20);
    let huge_pem = huge_pem.to_str().unwrap();
    let dir = files.dir.path().to_str().unwrap();
    let cassettes = files.path("cassettes");
    std::fs::create_dir(&cassettes).unwrap();
    files.fifo("cassettes/0001-void.cassette");
    let cassettes = cassettes.to_str().unwrap();
    let ledger = files.path("ledger.db");
    let ledger = ledger.to_str().unwrap();

    let mut cases: Vec<Case> = Vec::new();
    let owned = |args: &[&str]| args.iter().map(|a| (*a).to_owned()).collect::<Vec<_>>();
    for (file, why) in [
        (fifo, "a FIFO"),
        ("/dev/zero", "a device"),
        ("/dev/urandom", "a device"),
        (dir, "a directory"),
        (huge_pem, "limit"),
    ] {
        let mut void = owned(&VOID);
        void.extend(owned(&["--ca-cert", file]));
        cases.push(Case {
            args: void,
            env: vec![],
            code: 2,
            says: why,
        });
        let journal = files.path(&format!("journal-{}.db", cases.len()));
        cases.push(Case {
            args: owned(&[
                "batch",
                "--endpoint",
                "https://127.0.0.1:9/payment/service.asmx",
                "--input",
                "/nonexistent-but-unread.csv",
                "--journal",
                journal.to_str().unwrap(),
                "--ledger",
                ledger,
                "--ca-cert",
                file,
            ]),
            env: vec![],
            code: 2,
            says: why,
        });
    }
    for (file, why) in [
        (fifo, "a FIFO"),
        ("/dev/zero", "a device"),
        ("/dev/urandom", "a device"),
    ] {
        let journal = files.path(&format!("journal-{}.db", cases.len()));
        cases.push(Case {
            args: owned(&[
                "batch",
                "--endpoint",
                "https://127.0.0.1:9/payment/service.asmx",
                "--input",
                file,
                "--journal",
                journal.to_str().unwrap(),
                "--ledger",
                ledger,
            ]),
            env: vec![],
            code: 2,
            says: why,
        });
        cases.push(Case {
            args: owned(&["serve", "--seed-file", file, "--port", "0"]),
            env: vec![],
            code: 1,
            says: why,
        });
        let mut void = owned(&VOID);
        void.extend(owned(&["--trust", "os"]));
        cases.push(Case {
            args: void,
            env: vec![("SSL_CERT_FILE", Path::new(file))],
            code: 2,
            says: why,
        });
    }
    cases.push(Case {
        args: owned(&["contract", "verify", cassettes]),
        env: vec![],
        code: 1,
        says: "a FIFO",
    });

    for Case {
        args,
        env,
        code: expected,
        says: why,
    } in &cases
    {
        let Some(output) = run(&args.iter().map(String::as_str).collect::<Vec<_>>(), env) else {
            panic!("{args:?} {env:?} still running after {PATIENCE:?}");
        };
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(
            output.status.code(),
            Some(*expected),
            "{args:?} {env:?}: {said}"
        );
        assert!(said.contains(why), "{args:?} {env:?}: {said}");
        assert!(!said.contains("panicked"), "{args:?} {env:?}: {said}");
    }
}
