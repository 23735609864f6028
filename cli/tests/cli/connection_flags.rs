//! Issue 22, item 2: one duration syntax on every flag that takes a time, and the shared
//! connection flags and profiles on every command that connects (`record` to its upstream
//! included); `replay`, which connects nowhere, says so. And item 8's rest: `replay` checks
//! credentials when asked.

#![cfg(unix)]

use std::path::Path;
use std::process::{Child, Command, Stdio};

use crate::isolated::{self, OUTLET, code, described, lossy, text};
use instamed_soap_simulator::{
    DEMO_ACCOUNT_ID, DEMO_API_KEY, DEMO_API_SECRET, DEMO_PASSWORD, Simulator, SimulatorConfig,
};
use instamed_soap_test_support::connect_proxy::{ConnectProxy, Policy};

fn help(command: &[&str]) -> String {
    let output = isolated::instamed_soap()
        .args(command)
        .arg("--help")
        .output()
        .expect("run --help");
    assert_eq!(code(&output), 0, "{}", described(&output));
    lossy(&output.stdout)
}

/// The finding: `--timeout 30s`, but `record --upstream-timeout 30`, `--backoff-ms 250` and
/// `serve --latency-ms`, `--void-cutoff SECONDS`. Every flag that takes a time now takes a
/// DURATION (`30s`, `250ms`, `2m`), and none is spelled in a unit of its own.
#[test]
fn every_flag_that_takes_a_time_takes_one_duration_syntax() {
    let timed = ["timeout", "backoff", "latency", "cutoff", "window", "lease"];
    for command in [
        &["void"][..],
        &["refund"],
        &["reconcile"],
        &["batch"],
        &["record"],
        &["serve"],
        &["bench"],
        &["soak"],
        &["gateway"],
    ] {
        let help = help(command);
        for line in help.lines().map(str::trim_start) {
            let Some(flag) = line.strip_prefix("--") else {
                continue;
            };
            let name = flag.split([' ', '=']).next().unwrap_or("");
            assert!(
                !name.ends_with("-ms") && !name.ends_with("-seconds") && !name.ends_with("-secs"),
                "{command:?}: --{name} is spelled in a unit of its own"
            );
            assert!(!line.contains("<SECONDS>"), "{command:?}: {line}");
            if timed.iter().any(|word| name.contains(word)) && !name.starts_with("no-") {
                assert!(line.contains("<DURATION>"), "{command:?}: {line}");
            }
        }
    }
    // The same values everywhere; a refusal names the flag and shows a valid value.
    let refused = isolated::instamed_soap()
        .args(["void", "--backoff", "250"])
        .output()
        .unwrap();
    assert_eq!(code(&refused), 2, "{}", described(&refused));
    let said = text(&refused);
    assert!(
        said.contains("--backoff") && said.contains("250ms"),
        "{said}"
    );
    let refused = isolated::instamed_soap()
        .args(["record", "--cassettes", "c", "--timeout", "forever"])
        .output()
        .unwrap();
    assert_eq!(code(&refused), 2, "{}", described(&refused));
    let said = text(&refused);
    assert!(said.contains("--timeout") && said.contains("30s"), "{said}");
    // A lease no live replica's call fits in is refused before anything starts.
    let refused = isolated::instamed_soap()
        .args(["gateway", "--lease", "500ms"])
        .output()
        .unwrap();
    assert_eq!(code(&refused), 2, "{}", described(&refused));
    let said = text(&refused);
    assert!(said.contains("--lease") && said.contains("1s"), "{said}");
}

/// The finding: `record` lacked `--trust` and `--proxy`. It takes every connection option
/// `void` takes, and its profile; `replay` says it connects nowhere instead of taking options
/// that would do nothing.
#[test]
fn record_takes_the_connection_options_of_void_and_replay_says_it_connects_nowhere() {
    let void = help(&["void"]);
    let record = help(&["record"]);
    for flag in [
        "--trust <ROOTS>",
        "--ca-cert <FILE>",
        "--proxy <URL>",
        "--no-proxy",
        "--allow-plain-http",
        "--timeout <DURATION>",
        "--config <FILE>",
        "--profile <NAME>",
    ] {
        assert!(void.contains(flag), "void lacks {flag}");
        assert!(record.contains(flag), "record lacks {flag}:\n{record}");
    }
    let replay = help(&["replay"]);
    assert!(replay.contains("never connects anywhere"), "{replay}");
    assert!(
        !replay
            .lines()
            .any(|line| line.trim_start().starts_with("--proxy")),
        "{replay}"
    );
}

/// `instamed-soap` with `args`, its announcement read up to the line that says how to stop it.
struct Running {
    child: Child,
    printed: Vec<String>,
}

impl Running {
    fn spawn(command: &mut Command) -> Self {
        command.env_remove("RUST_LOG").stderr(Stdio::piped());
        let (child, printed) = isolated::started(command);
        Self { child, printed }
    }

    fn value(&self, label: &str) -> Option<String> {
        self.printed
            .iter()
            .find_map(|line| line.strip_prefix(label).map(|v| v.trim().to_owned()))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // Only this test's own child.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `record --proxy` reaches its upstream through the proxy (its start check is a CONNECT to
/// the upstream's address), with the trust `--ca-cert` gives; a void through it is voided.
#[tokio::test(flavor = "multi_thread")]
async fn record_reaches_its_upstream_through_the_proxy_it_is_given() {
    let simulator = Simulator::start(SimulatorConfig::default()).await.unwrap();
    let payment = simulator
        .ledger()
        .create_payment(&instamed_soap_test_support::outlet_at("123"), "5.00")
        .unwrap();
    let proxy = ConnectProxy::start(Policy::Open).await;
    let cassettes = tempfile::tempdir().unwrap();
    let (endpoint, ca) = (
        simulator.endpoint(),
        simulator.ca_path().unwrap().to_path_buf(),
    );
    let (proxy_url, dir) = (proxy.url(None), cassettes.path().to_path_buf());
    let voided = tokio::task::spawn_blocking(move || {
        let recorder = Running::spawn(
            isolated::instamed_soap()
                .args(["record", "--upstream", &endpoint, "--proxy", &proxy_url])
                .arg("--ca-cert")
                .arg(&ca)
                .arg("--cassettes")
                .arg(&dir)
                .args(["--plain-http", "--timeout", "5s"]),
        );
        let through = recorder.value("endpoint:").expect("an endpoint");
        isolated::instamed_soap()
            .args(["void", "--endpoint", &through, "--allow-plain-http"])
            .args(OUTLET)
            .args(["--transaction-id", payment.as_str()])
            .env("INSTAMED_ACCOUNT_ID", DEMO_ACCOUNT_ID)
            .env("INSTAMED_PASSWORD", DEMO_PASSWORD)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(code(&voided), 0, "{}", described(&voided));
    // The start check opened the connection; the void may have reused it.
    let authority = simulator
        .endpoint()
        .split('/')
        .nth(2)
        .unwrap_or("")
        .to_owned();
    let port = authority.rsplit(':').next().unwrap_or("").to_owned();
    let seen = proxy.seen();
    assert!(
        !seen.is_empty()
            && seen
                .iter()
                .all(|connect| connect.target.rsplit(':').next() == Some(port.as_str())),
        "the upstream {authority} was reached through the proxy: {seen:?}"
    );
    simulator.shutdown().await;
}

/// `record` takes its upstream and the CA to trust from the profile, as `void` does.
#[tokio::test(flavor = "multi_thread")]
async fn record_takes_its_upstream_and_trust_from_the_profile() {
    let simulator = Simulator::start(SimulatorConfig::default()).await.unwrap();
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[profiles.default]\nendpoint = {:?}\nca_cert = {:?}\n",
            simulator.endpoint(),
            simulator.ca_path().unwrap().display().to_string()
        ),
    )
    .unwrap();
    let cassettes = tempfile::tempdir().unwrap();
    let dir = cassettes.path().to_path_buf();
    let started = tokio::task::spawn_blocking(move || {
        let recorder = Running::spawn(
            isolated::instamed_soap()
                .arg("record")
                .arg("--config")
                .arg(&config)
                .arg("--cassettes")
                .arg(&dir),
        );
        recorder.value("endpoint:")
    })
    .await
    .unwrap();
    assert!(
        started.is_some_and(|endpoint| endpoint.ends_with("/payment/service.asmx")),
        "record did not start from the profile"
    );
    simulator.shutdown().await;
}

/// The journal's lines, as JSON.
fn journal(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// Issue 22, item 8: `replay` answered whatever credentials a request carried. Told which to
/// expect (an account and its password from the environment, an API key pair), it answers a
/// request signed otherwise as the service answers a refused sign-in (HTTP 401, which the
/// client reads as refused credentials, exit 1), and journals it as such; the right ones get
/// the recorded answer, over SOAP, NVP and REST.
#[tokio::test(flavor = "multi_thread")]
async fn replay_checks_credentials_when_asked_and_journals_a_refused_sign_in() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/envelopes");
    let scratch = tempfile::tempdir().unwrap();
    let journal_file = scratch.path().join("journal.jsonl");
    let file = journal_file.clone();
    let runs = tokio::task::spawn_blocking(move || {
        let replay = Running::spawn(
            isolated::instamed_soap()
                .arg("replay")
                .arg(&corpus)
                .args(["--plain-http", "--expect-account-id", DEMO_ACCOUNT_ID])
                .args(["--expect-api-key", DEMO_API_KEY, "--journal"])
                .arg(&file)
                .env("INSTAMED_PASSWORD", DEMO_PASSWORD)
                .env("INSTAMED_API_SECRET", DEMO_API_SECRET),
        );
        let endpoint = replay.value("endpoint:").expect("an endpoint");
        let rest = replay.value("rest:").expect("a REST base");
        let void = |endpoint: &str, protocol: &str, password: &str| {
            isolated::instamed_soap()
                .args(["void", "--endpoint", endpoint, "--allow-plain-http"])
                .args(["--protocol", protocol])
                .args(OUTLET)
                .args(["--transaction-id", "C0FFEE00000000000000000000000001"])
                .env("INSTAMED_ACCOUNT_ID", DEMO_ACCOUNT_ID)
                .env("INSTAMED_PASSWORD", password)
                .env("INSTAMED_API_KEY", DEMO_API_KEY)
                .env("INSTAMED_API_SECRET", password)
                .output()
                .unwrap()
        };
        let runs = [
            void(&endpoint, "soap11", "wrong-password"),
            void(&endpoint, "soap11", DEMO_PASSWORD),
            void(&endpoint, "nvp", "wrong-password"),
            void(&endpoint, "nvp", DEMO_PASSWORD),
            void(&rest, "rest", "wrong-secret"),
            void(&rest, "rest", DEMO_API_SECRET),
        ];
        drop(replay);
        runs
    })
    .await
    .unwrap();
    let expected = [true, false, true, false, true, false];
    for (run, refused) in runs.iter().zip(expected) {
        if refused {
            assert_eq!(code(run), 1, "{}", described(run));
            assert!(text(run).contains("401"), "{}", described(run));
        } else {
            assert_eq!(code(run), 0, "{}", described(run));
        }
    }
    let entries = journal(&journal_file);
    let refused: Vec<bool> = entries
        .iter()
        .map(|entry| entry["credentials_refused"] == true)
        .collect();
    assert_eq!(refused, expected, "{entries:?}");
    for entry in entries
        .iter()
        .filter(|entry| entry["credentials_refused"] == true)
    {
        assert_eq!(entry["matched"], false, "{entry}");
        assert_eq!(entry["status"], 401, "{entry}");
    }
}

/// `bench --endpoint` takes the connection options too: through `--proxy` it measures ours
/// alone (`--no-raw`), since the raw baseline goes direct; asked to compare through a proxy,
/// it says so before anything is sent.
#[tokio::test(flavor = "multi_thread")]
async fn bench_reaches_its_endpoint_as_the_connection_options_say() {
    let scratch = tempfile::tempdir().unwrap();
    let seeds = scratch.path().join("seeds.csv");
    let ids: Vec<String> = (0..4)
        .map(|n| format!("BE0C0000000000000000000000000{n:03}"))
        .collect();
    let lines: String = ids
        .iter()
        .map(|id| format!("{id},123123123,123,123,5.00\n"))
        .collect();
    std::fs::write(&seeds, lines).unwrap();
    let simulator = Simulator::start(SimulatorConfig::default().with_seed_file(&seeds))
        .await
        .unwrap();
    let proxy = ConnectProxy::start(Policy::Open).await;
    let (endpoint, ca, proxy_url) = (
        simulator.endpoint(),
        simulator.ca_path().unwrap().to_path_buf(),
        proxy.url(None),
    );
    let (refused, measured) = tokio::task::spawn_blocking(move || {
        let bench = |extra: &[&str]| {
            isolated::instamed_soap()
                .args(["bench", "--endpoint", &endpoint, "--seed-file"])
                .arg(&seeds)
                .arg("--ca-cert")
                .arg(&ca)
                .args([
                    "--proxy", &proxy_url, "--voids", "2", "--rounds", "1", "--json",
                ])
                .args(extra)
                .output()
                .unwrap()
        };
        (bench(&[]), bench(&["--no-raw"]))
    })
    .await
    .unwrap();
    assert_eq!(code(&refused), 2, "{}", described(&refused));
    assert!(
        text(&refused).contains("--no-raw"),
        "{}",
        described(&refused)
    );
    assert_eq!(code(&measured), 0, "{}", described(&measured));
    assert!(!proxy.seen().is_empty(), "ours went through the proxy");
    simulator.shutdown().await;
}
