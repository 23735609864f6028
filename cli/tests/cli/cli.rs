//! The `instamed-soap` binary, driven as a user would: against the simulator over TLS, for each
//! protocol and each outcome, with the exit codes scripts rely on.

use crate::isolated::{self, code, text};

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use instamed_soap::Outlet;
use instamed_soap_simulator::{FaultPlan, Simulator, SimulatorConfig};

const ACCOUNT: &str = "demo@instamed.test";
const PASSWORD: &str = "demo-password";

fn outlet() -> Outlet {
    Outlet::new("123123123", "123", "123").unwrap()
}

/// Runs `instamed-soap void` against `endpoint` with the demo credentials.
fn void(endpoint: &str, ca: Option<&Path>, payment: &str, extra: &[&str]) -> Output {
    let mut command = isolated::instamed_soap();
    command
        .args(["void", "--endpoint", endpoint])
        .args(isolated::OUTLET)
        .args(["--transaction-id", payment])
        .args(extra)
        .env("INSTAMED_ACCOUNT_ID", ACCOUNT)
        .env("INSTAMED_PASSWORD", PASSWORD)
        .env_remove("INSTAMED_ENDPOINT");
    if let Some(ca) = ca {
        command.arg("--ca-cert").arg(ca);
    }
    command.output().expect("run instamed-soap")
}

async fn simulator(config: SimulatorConfig) -> Simulator {
    Simulator::start(config).await.expect("simulator")
}

#[tokio::test(flavor = "multi_thread")]
async fn void_over_each_protocol_and_each_outcome_has_its_exit_code() {
    let sim = simulator(SimulatorConfig::default()).await;
    let ca = sim.ca_path().map(Path::to_path_buf);
    let endpoint = sim.endpoint();
    let run = move |payment: String, extra: Vec<&'static str>| {
        let (endpoint, ca) = (endpoint.clone(), ca.clone());
        tokio::task::spawn_blocking(move || void(&endpoint, ca.as_deref(), &payment, &extra))
    };

    for protocol in ["soap11", "soap12", "nvp"] {
        let payment = sim.ledger().create_payment(&outlet(), "10.00").unwrap();
        let first = run(payment.to_string(), vec!["--protocol", protocol])
            .await
            .unwrap();
        assert_eq!(code(&first), 0, "{protocol}: {}", text(&first));
        assert!(text(&first).contains("voided"), "{}", text(&first));

        let again = run(payment.to_string(), vec!["--protocol", protocol, "--json"])
            .await
            .unwrap();
        assert_eq!(code(&again), 4, "{protocol}: {}", text(&again));
        let json: serde_json::Value = serde_json::from_slice(&again.stdout).expect("JSON");
        assert_eq!(json["outcome"], "already_voided");
        assert_eq!(json["outcome_unknown"], false);

        let late = sim.ledger().create_payment(&outlet(), "10.00").unwrap();
        sim.ledger().start_transfer(&late).unwrap();
        let refused = run(late.to_string(), vec!["--protocol", protocol, "--json"])
            .await
            .unwrap();
        assert_eq!(code(&refused), 3, "{protocol}: {}", text(&refused));
        let json: serde_json::Value = serde_json::from_slice(&refused.stdout).expect("JSON");
        assert_eq!(json["outcome"], "not_voidable");

        let unknown = run(
            "ABCDEF0123456789ABCDEF0123456789".into(),
            vec!["--protocol", protocol],
        )
        .await
        .unwrap();
        assert_eq!(code(&unknown), 3, "{protocol}: {}", text(&unknown));
        assert!(
            text(&unknown).contains("error: InstaMed does not know the payment"),
            "{}",
            text(&unknown)
        );
    }

    let invalid = run(String::new(), vec![]).await.unwrap();
    assert_eq!(code(&invalid), 2, "{}", text(&invalid));
    // Each thing said once: the flag the user typed, the problem.
    assert_eq!(
        String::from_utf8_lossy(&invalid.stderr).trim(),
        "error: --transaction-id: is required",
        "{}",
        text(&invalid)
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn json_success_and_credentials_refused() {
    let sim = simulator(SimulatorConfig::default()).await;
    let payment = sim.ledger().create_payment(&outlet(), "10.00").unwrap();
    let (endpoint, ca) = (sim.endpoint(), sim.ca_path().map(Path::to_path_buf));
    let id = payment.to_string();
    let output = tokio::task::spawn_blocking(move || {
        let ok = void(
            &endpoint,
            ca.as_deref(),
            &id,
            &["--json", "--protocol", "soap12"],
        );
        let mut wrong = isolated::instamed_soap();
        wrong
            .args([
                "void",
                "--endpoint",
                &endpoint,
                "--merchant-id",
                "1",
                "--store-id",
                "1",
            ])
            .args(["--terminal-id", "1", "--transaction-id", "AA"])
            .env("INSTAMED_ACCOUNT_ID", ACCOUNT)
            .env("INSTAMED_PASSWORD", "not-the-password");
        if let Some(ca) = &ca {
            wrong.arg("--ca-cert").arg(ca);
        }
        (ok, wrong.output().unwrap())
    })
    .await
    .unwrap();
    let (ok, refused) = output;
    assert_eq!(code(&ok), 0, "{}", text(&ok));
    let json: serde_json::Value = serde_json::from_slice(&ok.stdout).expect("JSON");
    assert_eq!(json["outcome"], "voided");
    assert_eq!(json["transaction_status"], "C");
    assert_eq!(json["primary_transaction_status"], "V");
    assert_eq!(json["protocol"], "soap12");

    assert_eq!(code(&refused), 1, "{}", text(&refused));
    assert!(
        text(&refused).contains("refused the credentials"),
        "{}",
        text(&refused)
    );
    assert!(!text(&refused).contains("not-the-password"));
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dropped_connection_is_reported_as_outcome_unknown() {
    let mut config = SimulatorConfig::default();
    config.faults = FaultPlan {
        seed: 7,
        reset_rate: 1.0,
        ..FaultPlan::default()
    };
    let sim = simulator(config).await;
    let payment = sim.ledger().create_payment(&outlet(), "10.00").unwrap();
    let (endpoint, ca, id) = (
        sim.endpoint(),
        sim.ca_path().map(Path::to_path_buf),
        payment.to_string(),
    );
    let output =
        tokio::task::spawn_blocking(move || void(&endpoint, ca.as_deref(), &id, &["--json"]))
            .await
            .unwrap();
    assert_eq!(code(&output), 5, "{}", text(&output));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(json["outcome_unknown"], true);
    sim.shutdown().await;
}

/// A `serve` process, stopped with SIGINT when dropped.
struct Served {
    child: Child,
    endpoint: String,
    ca: PathBuf,
}

impl Served {
    fn start(ledger: &Path, seeds: Option<&Path>) -> Served {
        let mut command = isolated::instamed_soap();
        command
            .args(["serve", "--listen", "127.0.0.1:0", "--ledger-file"])
            .arg(ledger);
        if let Some(seeds) = seeds {
            command.arg("--seed-file").arg(seeds);
        }
        command.stderr(Stdio::inherit());
        let (child, printed) = isolated::started(&mut command);
        let endpoint = isolated::printed_value(&printed, "endpoint:");
        let ca = isolated::printed_value(&printed, "ca-cert:").map(PathBuf::from);
        Served {
            child,
            endpoint: endpoint.expect("endpoint line"),
            ca: ca.expect("ca-cert line"),
        }
    }

    fn stop(mut self) {
        let pid = self.child.id().to_string();
        let status = Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .expect("kill");
        assert!(status.success());
        let exit = self.child.wait().expect("wait");
        assert!(exit.success(), "serve exited with {exit:?}");
    }
}

#[test]
fn serve_keeps_its_ledger_across_a_restart() {
    let dir = std::env::temp_dir().join(format!("instamed-soap-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ledger = dir.join("ledger.jsonl");
    let _ = std::fs::remove_file(&ledger);
    let seeds = dir.join("seeds.csv");
    let payment = "5EED0000000000000000000000000001";
    std::fs::write(
        &seeds,
        format!("# a captured payment\n{payment},123123123,123,123,10.00\n"),
    )
    .unwrap();

    let served = Served::start(&ledger, Some(&seeds));
    let first = void(&served.endpoint, Some(&served.ca), payment, &[]);
    assert_eq!(code(&first), 0, "{}", text(&first));
    served.stop();

    // Restarted from its ledger alone, the simulator still knows the payment is voided.
    let served = Served::start(&ledger, None);
    let again = void(
        &served.endpoint,
        Some(&served.ca),
        payment,
        &["--protocol", "soap12"],
    );
    assert_eq!(code(&again), 4, "{}", text(&again));
    served.stop();
}

/// Runs `bench --json` with `args`, which must succeed, and returns its JSON lines with the
/// whole output for messages.
fn bench_json(args: &[&str]) -> (Vec<serde_json::Value>, String) {
    let output = isolated::instamed_soap()
        .arg("bench")
        .args(args)
        .arg("--json")
        .output()
        .expect("run bench");
    let out = text(&output);
    assert!(output.status.success(), "{out}");
    let lines = out
        .lines()
        .filter(|line| line.starts_with('{'))
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect();
    (lines, out)
}

#[test]
fn bench_drives_a_given_endpoint_with_concurrent_callers() {
    let dir = std::env::temp_dir().join(format!("instamed-soap-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ledger = dir.join("ledger.jsonl");
    let _ = std::fs::remove_file(&ledger);
    // Two clients, two rounds, 24 voids each: 96 captured payments, and a few to spare.
    let seeds = dir.join("seeds.csv");
    let rows: String = (0..100)
        .map(|n| format!("BE{n:030X},123123123,123,123,1.00\n"))
        .collect();
    std::fs::write(&seeds, rows).unwrap();

    let served = Served::start(&ledger, Some(&seeds));
    let ca = served.ca.to_str().expect("a UTF-8 path");
    let seed_file = seeds.to_str().expect("a UTF-8 path");
    let (lines, out) = bench_json(&[
        "--endpoint",
        &served.endpoint,
        "--ca-cert",
        ca,
        "--seed-file",
        seed_file,
        "--voids",
        "24",
        "--rounds",
        "2",
        "--concurrency",
        "4",
        "--protocol",
        "soap12",
    ]);
    let clients: Vec<&str> = lines.iter().filter_map(|l| l["client"].as_str()).collect();
    assert_eq!(clients, ["instamed-soap", "raw-hyper"], "{out}");
    for line in &lines {
        assert_eq!(line["calls"], 48, "{out}");
        assert_eq!(line["failures"], 0, "{out}");
        assert_eq!(line["concurrency"], 4, "{out}");
        assert_eq!(line["protocol"], "soap12", "{out}");
        assert_eq!(line["scheme"], "https", "{out}");
    }

    // The payments the bench voided, the first and the last, are voided on the server: voiding
    // one again is refused.
    for used in [
        "BE000000000000000000000000000000",
        "BE00000000000000000000000000005F",
    ] {
        let again = void(&served.endpoint, Some(&served.ca), used, &[]);
        assert_eq!(code(&again), 4, "{used}: {}", text(&again));
    }
    // Not one payment more than the run needed: the next one is still voidable.
    let spare = void(
        &served.endpoint,
        Some(&served.ca),
        "BE000000000000000000000000000060",
        &[],
    );
    assert_eq!(code(&spare), 0, "{}", text(&spare));
    served.stop();
}

#[test]
fn demo_tells_the_whole_story() {
    let output = isolated::instamed_soap()
        .arg("demo")
        .output()
        .expect("run demo");
    let out = text(&output);
    assert!(output.status.success(), "{out}");
    for expected in [
        "soap11",
        "soap12",
        "nvp",
        "voided",
        // The outcome names of the one table, as every command says them.
        "already_voided",
        "not_voidable",
        "unknown_payment",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in:\n{out}");
    }
    // The REST void, the refund, the policy and the reconcile each have a row saying what
    // happened, with the proof that says so.
    let row = |step: &str| {
        out.lines()
            .find(|line| line.starts_with(step))
            .unwrap_or_else(|| panic!("no {step:?} row in:\n{out}"))
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    let rest = row("void over REST");
    assert!(
        rest.contains(" rest ") && rest.contains(" voided "),
        "{rest}"
    );
    let refund = row("refund 4.00 of a payment");
    assert!(
        refund.contains(" refunded ") && refund.contains("4.00 back, refund "),
        "{refund}"
    );
    let policy = row("void or refund, transfer began");
    assert!(
        policy.contains(" refunded ") && policy.contains("60.00 back, refund "),
        "{policy}"
    );
    // An ERP's own envelope through the gateway, twice: voided both times, sent once.
    let gateway = row("an ERP's void twice via gateway");
    assert!(
        gateway.contains(" soap11 ")
            && gateway.contains(" voided answered C/V then C/V; the gateway sent 1 void"),
        "{gateway}"
    );
    let sso = row("void by SSO");
    assert!(
        sso.contains(" voided on InstaMed's page; the payment's status V"),
        "{sso}"
    );
    let reconcile = row("reconcile after a lost answer");
    assert!(
        reconcile.contains(" voided answer lost; attempt 2 found the payment voided"),
        "{reconcile}"
    );
}

#[test]
fn every_command_has_complete_help() {
    for command in [
        &["--help"][..],
        &["void", "--help"],
        &["serve", "--help"],
        &["demo", "--help"],
    ] {
        let output = isolated::instamed_soap()
            .args(command)
            .output()
            .expect("help");
        assert!(output.status.success(), "{command:?}");
        let help = String::from_utf8_lossy(&output.stdout);
        assert!(help.contains("Usage:"), "{help}");
    }
    let help = isolated::instamed_soap()
        .args(["void", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for expected in [
        "--protocol",
        "--ca-cert",
        "--json",
        "INSTAMED_ACCOUNT_ID",
        "INSTAMED_PASSWORD",
        "Exit codes",
        "outcome unknown",
    ] {
        assert!(
            help.contains(expected),
            "void --help lacks {expected:?}:\n{help}"
        );
    }
    assert!(!help.contains("demo-password"));
}

#[test]
fn soak_accounts_for_every_void() {
    let output = isolated::instamed_soap()
        .args([
            "soak",
            "--voids",
            "3000",
            "--concurrency",
            "50",
            "--fault-rate",
            "0.03",
            "--seed",
            "5",
        ])
        .output()
        .expect("run soak");
    let out = text(&output);
    assert!(output.status.success(), "{out}");
    assert!(
        out.contains("accounted 3000 of 3000; lost 0; counted twice 0; ledger disagrees 0"),
        "{out}"
    );
    // With 3 % faults some voids must have needed reconciling, or the run proved nothing.
    assert!(
        out.contains("voided on a later attempt")
            || out.contains("voided, confirmed by a later attempt"),
        "{out}"
    );
}

#[test]
fn bench_measures_ours_beside_the_raw_client_in_rounds() {
    for protocol in ["soap11", "nvp"] {
        let (lines, out) = bench_json(&["--protocol", protocol, "--voids", "40", "--rounds", "3"]);
        let clients: Vec<&str> = lines.iter().filter_map(|l| l["client"].as_str()).collect();
        assert_eq!(clients, ["instamed-soap", "raw-hyper"], "{out}");
        for line in &lines {
            // Every round voids fresh payments: 3 rounds of 40, none refused.
            assert_eq!(line["rounds"], 3, "{out}");
            assert_eq!(line["calls"], 120, "{out}");
            assert_eq!(line["failures"], 0, "{out}");
            assert_eq!(line["protocol"], protocol, "{out}");
            assert!(
                line["cpu_ms_per_call"]
                    .as_f64()
                    .is_some_and(|cpu| cpu > 0.0),
                "{out}"
            );
            // Resident size, sampled after each round.
            let resident = line["rss_mib_by_round"].as_array().expect("an array");
            assert_eq!(resident.len(), 3, "{out}");
            assert!(
                resident
                    .iter()
                    .all(|mib| mib.as_f64().is_some_and(|m| m > 0.0)),
                "{out}"
            );
        }
    }
    // The table says how the two compare.
    let output = isolated::instamed_soap()
        .args(["bench", "--voids", "20", "--rounds", "2"])
        .output()
        .expect("run bench");
    let out = text(&output);
    assert!(output.status.success(), "{out}");
    assert!(out.contains("CPU per call, ours / raw:"), "{out}");
    assert!(out.contains("median of 2 rounds side by side"), "{out}");
    assert!(out.contains("resident memory after each round:"), "{out}");
}
