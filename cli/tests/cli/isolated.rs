//! The tool under test, each run with a ledger of its own, and what every test reads of a run.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

/// `instamed-soap` with a fresh ledger in the build's scratch directory: the tests' fixed
/// transaction IDs never meet another run's entries, and the user's own ledger is never
/// touched. A test that shares a ledger between runs passes `--ledger`, which wins over the
/// variable. The file is made empty beforehand (SQLite reads an empty file as a new database),
/// so the note a command prints when it makes a new ledger does not stand in every test's
/// standard error.
pub fn instamed_soap() -> Command {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let ledger = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "ledger-{}-{}.db",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::File::create(&ledger).expect("an empty ledger file in the scratch directory");
    let mut command = Command::new(env!("CARGO_BIN_EXE_instamed-soap"));
    command.env("INSTAMED_LEDGER", ledger);
    // A developer's own profiles must not steer the tests: the configuration is looked for in
    // a folder that holds none (a test of profiles sets its own).
    command
        .env(
            "XDG_CONFIG_HOME",
            std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("no-config"),
        )
        .env_remove("INSTAMED_CONFIG")
        .env_remove("INSTAMED_PROFILE");
    command
}

/// The outlet every test voids at: `--merchant-id`, `--store-id`, `--terminal-id`.
pub const OUTLET: [&str; 6] = [
    "--merchant-id",
    "123123123",
    "--store-id",
    "123",
    "--terminal-id",
    "123",
];

/// The exit code of a run that ended by itself.
pub fn code(output: &Output) -> i32 {
    output.status.code().expect("an exit code")
}

/// Standard output, then standard error, as text.
pub fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The exit status and both streams, for an assertion's message.
pub fn described(output: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// One stream of a run, as text.
pub fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Starts a server of the tool (`serve`, `record`, `replay`, `gateway`) and returns it with the
/// lines it printed up to the one that says how to stop it. What it prints later is read and
/// dropped, so that it never writes into a closed pipe.
pub fn started(command: &mut Command) -> (Child, Vec<String>) {
    let mut child = command
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn the server");
    let mut lines = BufReader::new(child.stdout.take().expect("its output")).lines();
    let mut printed = Vec::new();
    while let Some(Ok(line)) = lines.next() {
        let done = line.contains("stops it.");
        printed.push(line);
        if done {
            std::thread::spawn(move || lines.for_each(drop));
            return (child, printed);
        }
    }
    let _ = child.kill();
    let mut said = String::new();
    if let Some(mut stderr) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut stderr, &mut said);
    }
    let _ = child.wait();
    let args: Vec<_> = command.get_args().collect();
    panic!("{args:?} did not start: {printed:?}\n{said}");
}

/// The value a server printed after `label` (`endpoint:`, `ca-cert:`…).
pub fn printed_value(printed: &[String], label: &str) -> Option<String> {
    printed.iter().find_map(|line| {
        line.strip_prefix(label)
            .map(|value| value.trim().to_owned())
    })
}

/// The tool started with `args` and `envs` (its errors unread), and the lines it printed
/// until it said how to stop it.
pub fn start(args: &[&str], envs: &[(&str, &str)]) -> (Child, Vec<String>) {
    let mut command = instamed_soap();
    command
        .args(args)
        .envs(envs.iter().copied())
        .stderr(Stdio::null());
    started(&mut command)
}

/// The value after `label` in `printed`, which must hold one.
pub fn value(printed: &[String], label: &str) -> String {
    printed_value(printed, label).unwrap_or_else(|| panic!("no {label} in {printed:?}"))
}
