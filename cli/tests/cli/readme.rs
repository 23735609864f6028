//! The README, followed as a newcomer follows it: every `sh` block that talks to the simulator
//! runs in a real shell, as written, in README order, in one directory, with the built
//! `instamed-soap` first on `PATH`; the `text` block after it is what it must print (standard
//! output and standard error together, `…` standing for anything within a line).
//!
//! A block is not run only for a reason it shows: it names InstaMed's own host, holds a
//! placeholder (`…`) or runs cargo. A server the README starts (`serve`, `record`, `replay`) is
//! started in the background, as in a second terminal, and stopped with Ctrl-C at the end. The
//! README's ports are swapped for free ones, the only change made to a command. A command
//! expected to fail says so in a comment at its end (`# exit 5`), as a reader sees it.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

const README: &str = include_str!("../../../README.md");

/// One fenced block of the README.
#[derive(Debug)]
struct Block {
    /// The line its fence opens on, for messages.
    line: usize,
    lang: String,
    body: String,
}

fn blocks(readme: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut lines = readme.lines().enumerate();
    while let Some((at, line)) = lines.next() {
        if let Some(lang) = line.strip_prefix("```") {
            let body: Vec<&str> = lines
                .by_ref()
                .map(|(_, line)| line)
                .take_while(|line| *line != "```")
                .collect();
            blocks.push(Block {
                line: at + 1,
                lang: lang.trim().to_owned(),
                body: body.join("\n"),
            });
        }
    }
    blocks
}

/// Why a shell block is not run against the simulator, if it is not.
fn not_run(body: &str) -> Option<&'static str> {
    if body.contains("connect.instamed") || body.contains("instamedtest") {
        Some("it names InstaMed's own host")
    } else if body.contains('…') {
        Some("it holds a placeholder")
    } else if body.split_whitespace().any(|word| word == "cargo") {
        Some("it runs cargo")
    } else {
        None
    }
}

/// The block's commands as the shell reads them: continuation lines joined, heredocs kept
/// whole, comments and empty lines left out of the count.
fn commands(body: &str) -> Vec<String> {
    let mut commands = Vec::new();
    let mut lines = body.lines();
    while let Some(line) = lines.next() {
        let mut command = line.to_owned();
        while command.ends_with('\\') {
            command.pop();
            command.push_str(lines.next().expect("a continued line goes on"));
        }
        if let Some(at) = command.find("<<'") {
            let end = command[at + 3..]
                .split('\'')
                .next()
                .unwrap_or("")
                .to_owned();
            for line in lines.by_ref() {
                command.push('\n');
                command.push_str(line);
                if line == end {
                    break;
                }
            }
        }
        if !command.trim().is_empty() && !command.trim_start().starts_with('#') {
            commands.push(command);
        }
    }
    commands
}

/// The exit a command's end comment expects (`# exit 5`), else 0.
fn expected_exit(command: &str) -> i32 {
    command
        .rsplit_once("# exit ")
        .map(|(_, code)| code.trim().parse().expect("`# exit N` names a number"))
        .unwrap_or(0)
}

/// A command that starts a server, which runs until it is stopped.
fn is_server(command: &str) -> bool {
    ["serve", "record", "replay", "gateway"]
        .iter()
        .any(|name| command.starts_with(&format!("instamed-soap {name} ")))
}

/// The README's ports (after `localhost:`, `127.0.0.1:` or `--port `), each given a free one.
fn ports(runnable: &[&Block]) -> BTreeMap<String, String> {
    let mut ports = BTreeMap::new();
    for block in runnable {
        for marker in ["localhost:", "127.0.0.1:", "--port "] {
            for (at, _) in block.body.match_indices(marker) {
                let digits: String = block.body[at + marker.len()..]
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect();
                if !digits.is_empty() && digits != "0" {
                    ports.entry(digits).or_insert_with(|| {
                        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
                        listener
                            .local_addr()
                            .expect("its address")
                            .port()
                            .to_string()
                    });
                }
            }
        }
    }
    ports
}

fn with_ports(text: &str, ports: &BTreeMap<String, String>) -> String {
    ports.iter().fold(text.to_owned(), |text, (from, to)| {
        text.replace(&format!(":{from}"), &format!(":{to}"))
            .replace(&format!("--port {from}"), &format!("--port {to}"))
    })
}

/// Where the walkthrough happens, and the shell it runs in.
struct Terminal {
    dir: PathBuf,
    state: PathBuf,
}

impl Terminal {
    fn new(dir: &Path) -> Self {
        for sub in ["home", "config", "state"] {
            std::fs::create_dir_all(dir.join(sub)).expect("a folder");
        }
        Self {
            dir: dir.join("work"),
            state: dir.join("exported"),
        }
    }

    /// bash, with the built tool first on `PATH` and a home, configuration and ledger of the
    /// walkthrough's own; nothing of the caller's environment (credentials, proxies) leaks in.
    fn bash(&self) -> Command {
        let bin = Path::new(env!("CARGO_BIN_EXE_instamed-soap"))
            .parent()
            .expect("the binary's folder");
        let root = self.dir.parent().expect("the walkthrough's folder");
        std::fs::create_dir_all(&self.dir).expect("the working folder");
        let mut bash = Command::new("bash");
        bash.env_clear()
            .env(
                "PATH",
                format!("{}:/usr/local/bin:/usr/bin:/bin", bin.display()),
            )
            .env("HOME", root.join("home"))
            .env("XDG_CONFIG_HOME", root.join("config"))
            .env("XDG_STATE_HOME", root.join("state"))
            .env("LANG", "C.UTF-8")
            .env("TERM", "dumb")
            .current_dir(&self.dir);
        bash
    }

    /// Runs commands as one shell session would, the variables they export kept for the next.
    fn run(&self, script: &str) -> (i32, String) {
        let state = self.state.display();
        let wrapped = format!(
            "exec 2>&1\n[ -f '{state}' ] && . '{state}'\ntrap \"export -p > '{state}'\" EXIT\nset -e\n{script}\n"
        );
        let output = self
            .bash()
            .arg("-c")
            .arg(wrapped)
            .stdin(Stdio::null())
            .output()
            .expect("bash runs");
        (
            output.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&output.stdout).into_owned(),
        )
    }

    /// Starts a server as a second terminal would, and returns it with what it printed up to
    /// its "stops it." line.
    fn start(&self, command: &str) -> (Child, String) {
        let state = self.state.display();
        let log = self.dir.join(format!("server-{}.log", std::process::id()));
        let mut child = self
            .bash()
            .arg("-c")
            .arg(format!("[ -f '{state}' ] && . '{state}'\nexec {command}"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).expect("a log file"))
            .spawn()
            .expect("bash runs");
        let mut lines = BufReader::new(child.stdout.take().expect("its output")).lines();
        let mut printed = String::new();
        while let Some(Ok(line)) = lines.next() {
            printed.push_str(&line);
            printed.push('\n');
            if line.contains("stops it.") {
                // Whatever it prints later is read, so that it never writes to a closed pipe.
                std::thread::spawn(move || lines.for_each(drop));
                return (child, printed);
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        let logged = std::fs::read_to_string(&log).unwrap_or_default();
        panic!("`{command}` did not start: it printed\n{printed}\nand logged\n{logged}");
    }
}

/// `printed` is what the README shows, line for line, `…` matching anything within a line.
fn assert_shown(command: &str, printed: &str, shown: &str) {
    let printed_lines: Vec<&str> = printed.trim_end().lines().collect();
    let shown_lines: Vec<&str> = shown.trim_end().lines().collect();
    let same = printed_lines.len() == shown_lines.len()
        && printed_lines
            .iter()
            .zip(&shown_lines)
            .all(|(printed, shown)| glob(shown, printed));
    assert!(
        same,
        "after\n{command}\nthe README shows\n{shown}\nbut it printed\n{printed}"
    );
}

fn glob(pattern: &str, text: &str) -> bool {
    let mut pieces = pattern.split('…');
    let first = pieces.next().unwrap_or("");
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let pieces: Vec<&str> = pieces.collect();
    let Some((last, middle)) = pieces.split_last() else {
        return rest.is_empty();
    };
    for piece in middle {
        match rest.find(piece) {
            Some(at) => rest = &rest[at + piece.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// curl plays the admin endpoint's client in the README; without it the walkthrough cannot
/// run, which is said loudly, and is a failure under CI.
fn curl_is_here() -> bool {
    let found = Command::new("curl")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !found {
        eprintln!("SKIPPED: the README walkthrough needs curl, which is not installed");
        assert!(
            std::env::var_os("CI").is_none(),
            "curl is missing under CI: .ci/run installs it"
        );
    }
    found
}

#[test]
fn every_readme_shell_block_that_talks_to_the_simulator_runs_as_written() {
    if !curl_is_here() {
        return;
    }
    let blocks = blocks(README);
    let shell: Vec<&Block> = blocks.iter().filter(|block| block.lang == "sh").collect();
    let runnable: Vec<&Block> = shell
        .iter()
        .copied()
        .filter(|block| not_run(&block.body).is_none())
        .collect();
    assert!(
        runnable.len() >= 15,
        "only {} of the README's {} shell blocks run against the simulator",
        runnable.len(),
        shell.len()
    );
    let ports = ports(&runnable);
    let scratch = tempfile::tempdir().expect("a scratch folder");
    let terminal = Terminal::new(scratch.path());
    let mut servers: Vec<(String, Child)> = Vec::new();

    for (index, block) in blocks.iter().enumerate() {
        if block.lang != "sh" || not_run(&block.body).is_some() {
            continue;
        }
        let shown = blocks
            .get(index + 1)
            .filter(|next| next.lang == "text")
            .map(|next| with_ports(&next.body, &ports));
        let body = with_ports(&block.body, &ports);
        let commands = commands(&body);
        let (last, before) = commands.split_last().expect("a block has a command");
        for command in before {
            assert!(
                !command.contains("# exit ") && !is_server(command),
                "README line {}: only a block's last command may start a server or expect a \
                 failure: {command}",
                block.line
            );
        }
        if is_server(last) {
            if !before.is_empty() {
                let (code, printed) = terminal.run(&before.join("\n"));
                assert_eq!(code, 0, "README line {}:\n{printed}", block.line);
            }
            let (child, printed) = terminal.start(last);
            if let Some(shown) = &shown {
                assert_shown(last, &printed, shown);
            }
            servers.push((last.clone(), child));
        } else {
            let (code, printed) = terminal.run(&commands.join("\n"));
            assert_eq!(
                code,
                expected_exit(last),
                "README line {}: {last}\nprinted:\n{printed}",
                block.line
            );
            if let Some(shown) = &shown {
                assert_shown(last, &printed, shown);
            }
        }
    }

    // "Ctrl-C in the first terminal stops it (exit 0)", and every other server alike.
    for (command, mut child) in servers {
        let pid = child.id().to_string();
        let sent = Command::new("kill").args(["-INT", &pid]).status();
        assert!(sent.is_ok_and(|status| status.success()), "kill -INT {pid}");
        let status = child.wait().expect("the server ends");
        assert_eq!(status.code(), Some(0), "{command} after Ctrl-C");
    }
}

#[test]
fn readme_blocks_are_read_as_the_shell_reads_them() {
    let body =
        "cat > a.csv <<'EOF'\nx,y\n# not a comment\nEOF\necho a \\\n  b   # exit 3\n# a comment";
    let commands = commands(body);
    assert_eq!(
        commands,
        vec![
            "cat > a.csv <<'EOF'\nx,y\n# not a comment\nEOF".to_owned(),
            "echo a   b   # exit 3".to_owned(),
        ]
    );
    assert_eq!(expected_exit(&commands[1]), 3);
    assert_eq!(expected_exit(&commands[0]), 0);
    assert!(is_server("instamed-soap serve --port 8443"));
    assert!(!is_server("instamed-soap void --endpoint x"));
    assert!(glob("a … b", "a xyz b"));
    assert!(!glob("a … b", "a xyz c"));
    assert_eq!(
        not_run("instamed-soap void --endpoint https://connect.instamed.com/x"),
        Some("it names InstaMed's own host")
    );
    assert_eq!(not_run("export X=…"), Some("it holds a placeholder"));
    assert_eq!(
        not_run("instamed-soap void --endpoint https://localhost:8443/x"),
        None
    );
}

/// Issue 22's blocker: the README's batch example had no endpoint and exited 2 ("required
/// arguments were not provided: --endpoint"). It names one now and is run as written above.
#[test]
fn the_readme_batch_example_names_its_endpoint_and_is_run() {
    let batch: Vec<Block> = blocks(README)
        .into_iter()
        .filter(|block| block.lang == "sh" && block.body.contains("instamed-soap batch"))
        .collect();
    assert!(!batch.is_empty(), "the README has a batch example");
    for block in &batch {
        assert!(
            block.body.contains("--endpoint"),
            "README line {}: a batch example without --endpoint",
            block.line
        );
        assert_eq!(
            not_run(&block.body),
            None,
            "README line {} is not run",
            block.line
        );
    }
}

/// Issue 22: there was no install section and no dependency line for the library.
#[test]
fn the_readme_says_how_to_install_the_tool_and_depend_on_the_library() {
    let install = README
        .split("\n## Install\n")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("an Install section");
    assert!(install.contains("cargo install"), "{install}");
    assert!(
        blocks(install)
            .iter()
            .any(|block| block.lang == "toml" && block.body.contains("instamed-soap = {")),
        "no dependency line for the library: {install}"
    );
}

/// Issue 22: the README put the library before the CLI and internals among the first things
/// read. Its sections come in the order a newcomer needs them.
#[test]
fn the_readme_puts_its_sections_in_a_newcomers_order() {
    let order = [
        "## Install",
        "## Try it: the demo",
        "## Your first void, end to end",
        "## Recipes for an ERP",
        "## Connection settings",
        "## The simulator",
        "## Contract testing",
        "## The library",
        "## Reference",
        "## Contributing",
    ];
    let at: Vec<usize> = order
        .iter()
        .map(|heading| {
            README
                .find(&format!("\n{heading}\n"))
                .unwrap_or_else(|| panic!("no {heading}"))
        })
        .collect();
    assert!(
        at.windows(2).all(|pair| pair[0] < pair[1]),
        "{order:?} at {at:?}"
    );
}
