//! Setup mistakes are said as such, never as a void that may have happened: a recorder that
//! cannot reach its upstream says so before it listens, and a request it could not forward
//! is answered as one that changed nothing.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Child, Output, Stdio};

use crate::isolated::{self, OUTLET, code, described, text};
use instamed_soap_simulator::{DEMO_ACCOUNT_ID, DEMO_PASSWORD, Simulator, SimulatorConfig};

/// `record` against the simulator over real TLS, without the simulator's CA: the upstream's
/// certificate is not trusted, which is said before any endpoint is printed, with the flag
/// that fixes it; exit 2.
#[tokio::test(flavor = "multi_thread")]
async fn record_without_the_upstream_ca_exits_2_before_printing_its_endpoint() {
    let simulator = Simulator::start(SimulatorConfig::default()).await.unwrap();
    let cassettes = tempfile::tempdir().unwrap();
    let output = isolated::instamed_soap()
        .args(["record", "--upstream", &simulator.endpoint(), "--cassettes"])
        .arg(cassettes.path())
        .output()
        .unwrap();
    assert_eq!(code(&output), 2, "{}", described(&output));
    assert!(output.stdout.is_empty(), "{}", described(&output));
    let said = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = said.lines().collect();
    assert_eq!(lines.len(), 2, "{said}");
    assert!(
        lines[0].starts_with(&format!(
            "error: cannot reach the upstream {}: TLS handshake",
            simulator.endpoint()
        )),
        "{said}"
    );
    assert!(
        lines[1].starts_with("hint: its certificate is not trusted: give --ca-cert"),
        "{said}"
    );

    // With the CA, the same command starts.
    let ca = simulator.ca_path().expect("a TLS simulator has a CA");
    let mut recorder = Recorder::spawn(&[
        "record",
        "--upstream",
        &simulator.endpoint(),
        "--ca-cert",
        &ca.display().to_string(),
        "--cassettes",
        &cassettes.path().display().to_string(),
    ]);
    assert!(
        recorder.value("endpoint:").is_some(),
        "{:?}",
        recorder.printed
    );
    recorder.stop();
    simulator.shutdown().await;
}

/// An upstream nothing listens on: exit 2, the address named, the next step given.
#[test]
fn record_with_an_upstream_that_is_not_running_exits_2() {
    let port = closed_port();
    let upstream = format!("http://127.0.0.1:{port}/payment/service.asmx");
    let cassettes = tempfile::tempdir().unwrap();
    let output = isolated::instamed_soap()
        .args(["record", "--upstream", &upstream, "--allow-plain-http"])
        .arg("--cassettes")
        .arg(cassettes.path())
        .output()
        .unwrap();
    assert_eq!(code(&output), 2, "{}", described(&output));
    assert!(output.stdout.is_empty(), "{}", described(&output));
    let said = text(&output);
    assert!(
        said.starts_with(&format!("error: cannot reach the upstream {upstream}: ")),
        "{said}"
    );
    assert!(
        said.contains("\nhint: check that the upstream is running"),
        "{said}"
    );
}

/// The upstream answers the recorder's start check, then goes away: each void through the
/// recorder, in every protocol, is told it was not forwarded and exits 1 (not voided), never 5
/// (outcome unknown); nothing is recorded.
#[tokio::test(flavor = "multi_thread")]
async fn a_void_the_recorder_could_not_forward_is_never_an_unknown_outcome() {
    let upstream = GoneAfterOneAnswer::start();
    let cassettes = tempfile::tempdir().unwrap();
    let mut recorder = Recorder::spawn(&[
        "record",
        "--upstream",
        &upstream.endpoint,
        "--allow-plain-http",
        "--plain-http",
        "--cassettes",
        &cassettes.path().display().to_string(),
    ]);
    upstream.wait_gone();
    let endpoint = recorder.value("endpoint:").expect("an endpoint");
    let rest = recorder.value("rest:").expect("a REST base");
    for (protocol, endpoint) in [
        ("soap11", &endpoint),
        ("soap12", &endpoint),
        ("nvp", &endpoint),
        ("rest", &rest),
    ] {
        let output = void(protocol, endpoint);
        assert_eq!(code(&output), 1, "{protocol}: {}", described(&output));
        // The reason is quoted where the client shows the service's words; a REST 400's
        // body is not shown (the recorder's log says why).
        if protocol != "rest" {
            let said = text(&output);
            assert!(said.contains("not forwarded"), "{protocol}: {said}");
            assert!(
                said.contains("nothing was sent to it"),
                "{protocol}: {said}"
            );
        }
    }
    let log = recorder.stop();
    assert!(
        log.contains("could not reach the upstream: nothing was forwarded"),
        "{log}"
    );
    assert_eq!(std::fs::read_dir(cassettes.path()).unwrap().count(), 0);
}

fn void(protocol: &str, endpoint: &str) -> Output {
    isolated::instamed_soap()
        .args(["void", "--endpoint", endpoint, "--allow-plain-http"])
        .args(["--protocol", protocol])
        .args(OUTLET)
        .args(["--transaction-id", "DEAD0000000000000000000000000001"])
        .env("INSTAMED_ACCOUNT_ID", DEMO_ACCOUNT_ID)
        .env("INSTAMED_PASSWORD", DEMO_PASSWORD)
        .env("INSTAMED_API_KEY", "demo-api-key")
        .env("INSTAMED_API_SECRET", "demo-api-secret")
        .env_remove("HTTPS_PROXY")
        .env_remove("ALL_PROXY")
        .output()
        .unwrap()
}

/// A plain-HTTP upstream that answers one request (the recorder's start check) and closes
/// its port: later requests cannot even connect.
pub(crate) struct GoneAfterOneAnswer {
    /// Its SOAP address.
    pub(crate) endpoint: String,
    gone: std::sync::mpsc::Receiver<()>,
}

impl GoneAfterOneAnswer {
    pub(crate) fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (done, gone) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            if let Ok((mut stream, _)) = listener.accept() {
                let mut head = [0u8; 4096];
                let _ = stream.read(&mut head);
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
            }
            drop(listener);
            let _ = done.send(());
        });
        Self {
            endpoint: format!("http://127.0.0.1:{port}/payment/service.asmx"),
            gone,
        }
    }

    /// Waits for the one answer to have been given and the port closed.
    pub(crate) fn wait_gone(&self) {
        self.gone
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("the start check reached the upstream");
    }
}

/// A running `record`: what it printed up to `Ctrl-C`, and its log when stopped.
struct Recorder {
    child: Child,
    printed: Vec<String>,
}

impl Recorder {
    fn spawn(args: &[&str]) -> Self {
        let mut command = isolated::instamed_soap();
        command
            .args(args)
            .env_remove("RUST_LOG")
            .env_remove("INSTAMED_LOG_FORMAT")
            .stderr(Stdio::piped());
        let (child, printed) = isolated::started(&mut command);
        Self { child, printed }
    }

    fn value(&self, label: &str) -> Option<String> {
        self.printed
            .iter()
            .find_map(|line| line.strip_prefix(label).map(|v| v.trim().to_owned()))
    }

    /// Stops it with SIGTERM; what it logged.
    fn stop(&mut self) -> String {
        let status = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let mut log = String::new();
        if let Some(mut stderr) = self.child.stderr.take() {
            let _ = stderr.read_to_string(&mut log);
        }
        let _ = self.child.wait();
        log
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        // Only this test's own child, if a failed assertion left it running.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Issue 22: `record` and `replay` exited 1 when their port was taken, where `serve` exits
/// 11 (address in use), the code a script reads as "pick another port and try again".
#[tokio::test(flavor = "multi_thread")]
async fn record_and_replay_exit_11_when_their_port_is_taken() {
    let simulator = Simulator::start(SimulatorConfig::default()).await.unwrap();
    let holder = TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = holder.local_addr().unwrap().to_string();
    let cassettes = tempfile::tempdir().unwrap();
    let ca = simulator.ca_path().unwrap().display().to_string();
    let dir = cassettes.path().display().to_string();
    let endpoint = simulator.endpoint();
    let record = [
        "record",
        "--upstream",
        &endpoint,
        "--ca-cert",
        &ca,
        "--cassettes",
        &dir,
        "--listen",
        &taken,
    ];
    let corpus = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/envelopes");
    let replay = ["replay", corpus, "--listen", &taken];
    for command in [&record[..], &replay[..]] {
        let output = isolated::instamed_soap().args(command).output().unwrap();
        assert_eq!(code(&output), 11, "{command:?}: {}", described(&output));
        assert!(output.stdout.is_empty(), "{}", described(&output));
        let said = String::from_utf8_lossy(&output.stderr);
        assert!(
            said.starts_with(&format!("error: {taken} is already in use")),
            "{said}"
        );
    }
    drop(holder);
    simulator.shutdown().await;
}
