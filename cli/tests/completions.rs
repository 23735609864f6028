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
