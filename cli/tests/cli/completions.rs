//! Shell completions and the man page, as a user installs them.

use std::process::Command;

fn run(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_instamed-soap"))
        .args(args)
        .output()
        .expect("run instamed-soap");
    assert!(output.status.success(), "{args:?}: {output:?}");
    String::from_utf8(output.stdout).expect("UTF-8")
}

#[test]
fn completions_cover_every_command_in_every_shell() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let script = run(&["completions", shell]);
        for command in [
            "void",
            "refund",
            "reconcile",
            "batch",
            "serve",
            "replay",
            "verify",
        ] {
            assert!(script.contains(command), "{shell}: no {command}");
        }
        // Flags of a command are completed too.
        assert!(script.contains("transaction-id"), "{shell}");
    }
    let refused = Command::new(env!("CARGO_BIN_EXE_instamed-soap"))
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(
        refused.status.code(),
        Some(2),
        "an unknown shell is a usage error"
    );
}

#[test]
fn the_man_page_is_roff_with_every_command() {
    let page = run(&["man"]);
    assert!(page.contains(".TH instamed-soap 1"), "{page}");
    assert!(
        page.contains(".SH NAME") && page.contains(".SH SYNOPSIS"),
        "{page}"
    );
    for command in [
        "void",
        "refund",
        "reconcile",
        "batch",
        "serve",
        "completions",
    ] {
        assert!(page.contains(command), "no {command}");
    }
}

/// `instamed-soap man | head` and the like: a reader that stops early ends the command as it
/// ends `cat`, with no panic on standard error.
#[test]
fn a_closed_pipe_ends_a_printing_command_quietly() {
    use std::io::Read as _;
    use std::process::Stdio;
    for args in [&["man"][..], &["completions", "bash"], &["demo"]] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_instamed-soap"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run instamed-soap");
        // The reader goes away before the command has written: its first write meets a
        // closed pipe.
        drop(child.stdout.take());
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .expect("stderr")
            .read_to_string(&mut stderr)
            .expect("read stderr");
        let status = child.wait().expect("wait");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_ne!(status.code(), Some(101), "{args:?}: {stderr}");
    }
}
