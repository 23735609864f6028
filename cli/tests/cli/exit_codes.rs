//! One exit-code table: each code means one thing, and `--help`, the man pages and the README
//! say the same as the table they come from.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::isolated::{self, code, described, lossy, text};

/// The commands as typed after `instamed-soap`, every one that has a `--help` of its own.
const COMMANDS: [&[&str]; 22] = [
    &["void"],
    &["batch"],
    &["refund"],
    &["reconcile"],
    &["ledger"],
    &["ledger", "path"],
    &["ledger", "list"],
    &["ledger", "show"],
    &["ledger", "settle"],
    &["serve"],
    &["gateway"],
    &["gateway", "hash-secret"],
    &["demo"],
    &["record"],
    &["replay"],
    &["bench"],
    &["soak"],
    &["contract", "verify"],
    &["contract", "import-har"],
    &["wsdl"],
    &["completions"],
    &["man"],
];

fn help(command: &[&str]) -> String {
    let output = isolated::instamed_soap()
        .args(command)
        .arg("--help")
        .output()
        .expect("run --help");
    assert_eq!(code(&output), 0, "{}", described(&output));
    lossy(&output.stdout)
}

/// The entries of the "Exit codes:" section of a `--help`, each unwrapped to one line: the
/// text after the code, by code, in the order given.
fn exit_section(help: &str) -> Vec<(u8, String)> {
    let mut entries: Vec<(u8, String)> = Vec::new();
    let mut lines = help.lines().skip_while(|line| *line != "Exit codes:");
    assert!(lines.next().is_some(), "no Exit codes section:\n{help}");
    for line in lines {
        if line.trim().is_empty() {
            break;
        }
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        match trimmed.split_once("  ") {
            Some((number, rest)) if indent <= 2 => {
                let number = number.parse().unwrap_or_else(|_| panic!("{line:?}"));
                entries.push((number, rest.to_owned()));
            }
            _ => {
                let (_, last) = entries.last_mut().unwrap_or_else(|| panic!("{line:?}"));
                last.push(' ');
                last.push_str(trimmed);
            }
        }
    }
    entries
}

/// The top `--help`'s table: every code, with the commands that give it.
fn table() -> BTreeMap<u8, String> {
    let entries = exit_section(&help(&[]));
    let table: BTreeMap<u8, String> = entries.iter().cloned().collect();
    assert_eq!(
        table.len(),
        entries.len(),
        "a code listed twice: {entries:?}"
    );
    table
}

/// The finding: exit 7 meant "port in use" for `serve` and "journal refused" for `batch`. Now
/// the top `--help` lists each code once, every command's rows are rows of that table, and a
/// port in use is 11.
#[test]
fn exit_7_means_port_in_use_for_serve_and_journal_refused_for_batch() {
    let table = table();
    let meaning = |code: u8| table.get(&code).cloned().unwrap_or_default();
    assert!(meaning(7).contains("journal"), "{}", meaning(7));
    assert!(!meaning(7).contains("in use:"), "{}", meaning(7));
    assert!(
        meaning(11).starts_with("address in use: "),
        "{}",
        meaning(11)
    );
    assert!(
        meaning(11).ends_with("(serve, record, replay, gateway)"),
        "{}",
        meaning(11)
    );

    // Every command's own list is rows of the one table, the same words: no code means one
    // thing for one command and another for the next.
    for command in COMMANDS {
        for (number, said) in exit_section(&help(command)) {
            let row = meaning(number);
            assert!(
                row.starts_with(&format!("{said} (")),
                "{command:?} --help says {number} is {said:?}; the table: {row:?}"
            );
        }
    }

    let holder = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = holder.local_addr().expect("address").port();
    let output = isolated::instamed_soap()
        .args(["serve", "--port", &port.to_string()])
        .output()
        .expect("run serve");
    assert_eq!(code(&output), 11, "{}", described(&output));
    assert!(
        text(&output).contains("already in use"),
        "{}",
        described(&output)
    );
    drop(holder);
}

/// The README's "### Exit codes" table, each row as `--help` shows it: `name: meaning (given
/// by)`, by code.
fn readme_table() -> Vec<(u8, String)> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("the README");
    let mut lines = readme.lines().skip_while(|line| *line != "### Exit codes");
    assert!(
        lines.next().is_some(),
        "the README has no \"### Exit codes\""
    );
    lines
        .skip_while(|line| !line.starts_with('|'))
        .take_while(|line| line.starts_with('|'))
        .skip(2) // the header and its rule
        .map(|row| {
            let cells: Vec<&str> = row.trim_matches('|').split(" | ").map(str::trim).collect();
            let [number, name, meaning, given_by] = cells[..] else {
                panic!("not a row of four cells: {row}");
            };
            let number = number.parse().unwrap_or_else(|_| panic!("{row}"));
            (number, format!("{name}: {meaning} ({given_by})"))
        })
        .collect()
}

/// The README's table as it should read, for the failure message.
fn as_markdown(table: &BTreeMap<u8, String>) -> String {
    let mut out = String::from("| code | name | meaning | given by |\n|---|---|---|---|\n");
    for (number, entry) in table {
        let (name, rest) = entry.split_once(": ").unwrap_or((entry, ""));
        let (meaning, given_by) = rest.rsplit_once(" (").unwrap_or((rest, ")"));
        let given_by = given_by.strip_suffix(')').unwrap_or(given_by);
        out.push_str(&format!("| {number} | {name} | {meaning} | {given_by} |\n"));
    }
    out
}

/// The finding: the table should exist once, with `--help`, the man pages and the README
/// generated from or checked against it. `--help` is generated; this checks the README.
#[test]
fn the_readme_lists_exactly_the_codes_and_meanings_of_the_table() {
    let table = table();
    let readme = readme_table();
    assert_eq!(
        readme,
        table.clone().into_iter().collect::<Vec<_>>(),
        "the README's \"### Exit codes\" should read:\n{}",
        as_markdown(&table)
    );
}

/// Where a test writes its pages.
fn scratch(name: &str) -> PathBuf {
    let dir =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

/// The pages a page lists (`instamed-soap-void(1)`), as file names.
fn listed(page: &str) -> Vec<String> {
    page.replace("\\-", "-")
        .lines()
        .filter_map(|line| line.strip_suffix("(1)"))
        .filter(|name| name.starts_with("instamed-soap-") && !name.contains(' '))
        .map(|name| format!("{name}.1"))
        .collect()
}

/// The finding: `man` gave only the top page, which listed `instamed-soap-void(1)` pages that
/// could not be generated, and no exit codes. Now every listed page is written by `--dir` (or
/// printed by `man COMMAND`), each with EXIT STATUS.
#[test]
fn man_gives_only_the_top_page_which_lists_pages_that_cannot_be_generated_and_no_exit_codes() {
    let dir = scratch("man-pages");
    let output = isolated::instamed_soap()
        .args(["man", "--dir"])
        .arg(&dir)
        .output()
        .expect("run man --dir");
    assert_eq!(code(&output), 0, "{}", described(&output));

    let top = isolated::instamed_soap()
        .arg("man")
        .output()
        .expect("run man");
    assert_eq!(code(&top), 0, "{}", described(&top));
    let top = lossy(&top.stdout);
    assert!(top.contains(".SH \"EXIT STATUS\""), "{top}");
    assert!(top.contains("\\fB11\\fR address in use"), "{top}");

    // Every page listed, and every page those list, was written and has its exit codes.
    let mut to_see = listed(&top);
    assert!(
        to_see.contains(&"instamed-soap-void.1".to_owned()),
        "{to_see:?}"
    );
    let mut seen = 0;
    while let Some(name) = to_see.pop() {
        let page = std::fs::read_to_string(dir.join(&name))
            .unwrap_or_else(|error| panic!("{name} listed but not generated: {error}"));
        assert!(
            page.contains("EXIT STATUS"),
            "{name} has no EXIT STATUS:\n{page}"
        );
        to_see.extend(listed(&page));
        seen += 1;
    }
    assert!(seen >= 15, "only {seen} pages");

    // One page printed is the page written.
    let void = isolated::instamed_soap()
        .args(["man", "void"])
        .output()
        .expect("run man void");
    assert_eq!(code(&void), 0, "{}", described(&void));
    let written = std::fs::read_to_string(dir.join("instamed-soap-void.1")).expect("the page");
    assert_eq!(lossy(&void.stdout), written);
    assert!(written.contains("\\fB5\\fR outcome unknown"), "{written}");
    assert!(!written.contains("\\fB11\\fR"), "{written}");
    let verify = isolated::instamed_soap()
        .args(["man", "contract", "verify"])
        .output()
        .expect("run man contract verify");
    assert_eq!(code(&verify), 0, "{}", described(&verify));
    assert!(lossy(&verify.stdout).contains("EXIT STATUS"));

    let unknown = isolated::instamed_soap()
        .args(["man", "nope"])
        .output()
        .expect("run man nope");
    assert_eq!(code(&unknown), 2, "{}", described(&unknown));
    assert!(text(&unknown).contains("void"), "{}", described(&unknown));
}

/// The headings of a `--help` (lines such as `Options:`), each with the flags under it.
fn headings(help: &str) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for line in help.lines() {
        if !line.starts_with(' ') && line.ends_with(':') {
            out.push((line.to_owned(), Vec::new()));
        } else if let Some((_, flags)) = out.last_mut()
            // A flag's line, not one of the possible values listed under it, further in.
            && (2..=6).contains(&(line.len() - line.trim_start().len()))
            && let Some(flag) = line.trim_start().strip_prefix('-')
        {
            flags.push(format!("-{flag}"));
        }
    }
    out
}

/// The finding: `--help` mixed the global `-v`/`-q`/`--log-format` among a command's own
/// options. Now they stand under "Global options:", after the command's own.
#[test]
fn help_mixes_the_global_options_among_a_commands_own() {
    for command in [
        &["void"][..],
        &["batch"],
        &["serve"],
        &["contract", "verify"],
    ] {
        let help = help(command);
        let headings = headings(&help);
        let names: Vec<&str> = headings.iter().map(|(name, _)| name.as_str()).collect();
        let global = names
            .iter()
            .position(|name| *name == "Global options:")
            .unwrap_or_else(|| panic!("{command:?}: no Global options heading:\n{help}"));
        let own = names
            .iter()
            .position(|name| *name == "Options:")
            .unwrap_or_else(|| panic!("{command:?}: no Options heading:\n{help}"));
        assert!(own < global, "{command:?}: {names:?}");
        for (name, flags) in &headings {
            let is_global = |flag: &String| {
                flag.starts_with("-v, --verbose")
                    || flag.starts_with("-q, --quiet")
                    || flag.starts_with("--log-format")
            };
            if name == "Global options:" {
                assert_eq!(flags.iter().filter(|f| is_global(f)).count(), 3, "{help}");
                assert!(flags.iter().all(is_global), "{command:?}: {flags:?}");
            } else {
                assert!(
                    !flags.iter().any(is_global),
                    "{command:?}: {name} {flags:?}"
                );
            }
        }
    }
}
