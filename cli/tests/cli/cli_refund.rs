//! `refund`, `void --or-refund`, `reconcile`, `void --reconcile` and `void --protocol rest`, run
//! as a user runs them: the binary against the simulator over TLS on loopback, judged by exit
//! code and output, with the API secret never printed.

use crate::isolated::{self, code, text};
use instamed_soap_test_support as support;

use std::process::Output;

use instamed_soap::{Outlet, TransactionId};
use instamed_soap_simulator::{
    DEMO_ACCOUNT_ID, DEMO_API_KEY, DEMO_API_SECRET, DEMO_PASSWORD, FaultPlan, Simulator,
    SimulatorConfig,
};

fn outlet() -> Outlet {
    support::outlet_at("123")
}

fn payment(simulator: &Simulator) -> TransactionId {
    simulator
        .ledger()
        .create_payment(&outlet(), "10.00")
        .expect("payment")
}

/// Runs `instamed-soap <command>` for `payment` over `protocol` with the demo secrets in the
/// environment.
fn run(
    simulator: &Simulator,
    command: &str,
    protocol: &str,
    payment: &str,
    extra: &[&str],
) -> Output {
    let endpoint = if protocol == "rest" {
        simulator.rest_base()
    } else {
        simulator.endpoint()
    };
    let mut cli = isolated::instamed_soap();
    cli.args([command, "--endpoint", &endpoint, "--protocol", protocol])
        .args(isolated::OUTLET)
        .args(["--transaction-id", payment])
        .args(extra)
        .env("INSTAMED_ACCOUNT_ID", DEMO_ACCOUNT_ID)
        .env("INSTAMED_PASSWORD", DEMO_PASSWORD)
        .env("INSTAMED_API_KEY", DEMO_API_KEY)
        .env("INSTAMED_API_SECRET", DEMO_API_SECRET)
        .env_remove("INSTAMED_ENDPOINT");
    if let Some(ca) = simulator.ca_path() {
        cli.arg("--ca-cert").arg(ca);
    }
    cli.output().expect("run instamed-soap")
}

fn json(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).expect("one JSON object")
}

#[tokio::test(flavor = "multi_thread")]
async fn refund_over_every_protocol_exits_0_with_the_refunds_own_id() {
    let simulator = Simulator::start(SimulatorConfig::default())
        .await
        .expect("simulator");
    for protocol in ["soap11", "soap12", "nvp", "rest"] {
        let id = payment(&simulator);
        let output = run(
            &simulator,
            "refund",
            protocol,
            id.as_str(),
            &["--amount", "4.00", "--json"],
        );
        assert_eq!(code(&output), 0, "{protocol}: {}", text(&output));
        let answer = json(&output);
        assert_eq!(answer["outcome"], "refunded");
        assert_eq!(answer["amount"], "4.00");
        let refund_id = answer["refund_transaction_id"].as_str().expect("refund ID");
        assert!(!refund_id.is_empty() && !id.matches(refund_id), "{answer}");
        let over = run(
            &simulator,
            "refund",
            protocol,
            id.as_str(),
            &["--amount", "6.01"],
        );
        assert_eq!(code(&over), 3, "{protocol}: {}", text(&over));
        assert!(text(&over).contains("exceeds"), "{}", text(&over));
        let bad = run(
            &simulator,
            "refund",
            protocol,
            id.as_str(),
            &["--amount", "4.001"],
        );
        // Invalid input: nothing was sent.
        assert_eq!(code(&bad), 2, "{}", text(&bad));
        assert!(text(&bad).contains("--amount"), "{}", text(&bad));
        assert!(!text(&over).contains(DEMO_API_SECRET) && !text(&over).contains(DEMO_PASSWORD));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn void_or_refund_exits_6_when_the_transfer_began_and_0_when_it_voids() {
    let simulator = Simulator::start(SimulatorConfig::default())
        .await
        .expect("simulator");
    for protocol in ["soap11", "rest"] {
        let fresh = payment(&simulator);
        let voided = run(
            &simulator,
            "void",
            protocol,
            fresh.as_str(),
            &["--or-refund", "10.00"],
        );
        assert_eq!(code(&voided), 0, "{}", text(&voided));
        assert!(text(&voided).starts_with("voided"), "{}", text(&voided));

        let moving = payment(&simulator);
        simulator
            .ledger()
            .start_transfer(&moving)
            .expect("transfer");
        let refunded = run(
            &simulator,
            "void",
            protocol,
            moving.as_str(),
            &["--or-refund", "10.00", "--json"],
        );
        assert_eq!(code(&refunded), 6, "{}", text(&refunded));
        let answer = json(&refunded);
        assert_eq!(answer["outcome"], "refunded");
        assert!(
            answer["refund_transaction_id"].as_str().is_some(),
            "{answer}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn void_over_rest_takes_its_keys_from_the_environment_and_never_prints_the_secret() {
    let simulator = Simulator::start(SimulatorConfig::default())
        .await
        .expect("simulator");
    let id = payment(&simulator);
    let output = run(&simulator, "void", "rest", id.as_str(), &["--json"]);
    assert_eq!(code(&output), 0, "{}", text(&output));
    assert_eq!(json(&output)["protocol"], "rest");
    let again = run(&simulator, "void", "rest", id.as_str(), &[]);
    assert_eq!(code(&again), 4, "{}", text(&again));
    let wrong = run(
        &simulator,
        "void",
        "rest",
        id.as_str(),
        &["--api-secret", "not-the-secret-42"],
    );
    assert_eq!(code(&wrong), 1, "{}", text(&wrong));
    for output in [&output, &again, &wrong] {
        let said = text(output);
        assert!(
            !said.contains(DEMO_API_SECRET) && !said.contains("not-the-secret-42"),
            "{said}"
        );
    }
    let help = isolated::instamed_soap()
        .args(["void", "--help"])
        .output()
        .expect("help");
    let help = text(&help);
    assert!(
        help.contains("--or-refund") && help.contains("  6  "),
        "{help}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn reconcile_settles_a_void_whose_answer_was_lost() {
    for command in ["reconcile", "void --reconcile"] {
        let faults = FaultPlan::seeded(5).with_fault_rate(1.0).with_max_faults(1);
        let simulator = Simulator::start(SimulatorConfig::default().with_faults(faults))
            .await
            .expect("simulator");
        let id = payment(&simulator);
        let lost = run(&simulator, "void", "nvp", id.as_str(), &[]);
        assert_eq!(code(&lost), 5, "{}", text(&lost));
        let mut words = command.split(' ');
        let first = words.next().expect("command");
        let mut extra: Vec<&str> = words.collect();
        extra.extend(["--backoff", "1ms"]);
        let settled = run(&simulator, first, "nvp", id.as_str(), &extra);
        assert_eq!(code(&settled), 0, "{command}: {}", text(&settled));
        assert!(text(&settled).contains("voided"), "{}", text(&settled));
    }
}

/// Issue 22: after a truncated answer (the void carried out, its answer cut), `reconcile` run
/// without the ledger of that void heard "already voided" with PTS `V` and exited 4, where
/// `void --reconcile`, hearing the same on its second attempt, exited 0. The payment's status
/// `V` is the proof a reconciliation looks for (docs/outcomes.md) on whichever attempt it comes:
/// both say voided, exit 0, in the same words.
#[tokio::test(flavor = "multi_thread")]
async fn reconcile_and_void_reconcile_give_the_same_verdict_after_a_truncated_answer() {
    for protocol in ["soap11", "soap12", "nvp", "rest"] {
        // Two answers cut in half, then whole ones: one for the lost void, one for the first
        // attempt of `void --reconcile`.
        let faults = FaultPlan::seeded(9)
            .with_truncate_rate(1.0)
            .with_max_faults(2);
        let simulator = Simulator::start(SimulatorConfig::default().with_faults(faults))
            .await
            .expect("simulator");
        let (lost, other) = (payment(&simulator), payment(&simulator));
        let cut = run(&simulator, "void", protocol, lost.as_str(), &[]);
        assert_eq!(code(&cut), 5, "{protocol}: {}", text(&cut));
        let fast = ["--backoff", "1ms", "--json"];
        let both = run(
            &simulator,
            "void",
            protocol,
            other.as_str(),
            &[&["--reconcile"], &fast[..]].concat(),
        );
        // Each run has a ledger of its own: this one knows nothing of the lost void.
        let reconciled = run(&simulator, "reconcile", protocol, lost.as_str(), &fast);
        for output in [&both, &reconciled] {
            assert_eq!(code(output), 0, "{protocol}: {}", text(output));
        }
        let (both, reconciled) = (json(&both), json(&reconciled));
        for field in [
            "outcome",
            "confirmed",
            "primary_transaction_status",
            "protocol",
        ] {
            assert_eq!(
                both[field], reconciled[field],
                "{protocol} {field}: {both} / {reconciled}"
            );
        }
        assert_eq!(reconciled["outcome"], "voided", "{protocol}: {reconciled}");
        assert_eq!(
            reconciled["confirmed"], "already_voided",
            "{protocol}: {reconciled}"
        );
        // The sentence a person reads says the same, whichever attempt heard the proof.
        let said = run(
            &simulator,
            "reconcile",
            protocol,
            lost.as_str(),
            &["--backoff", "1ms"],
        );
        assert_eq!(code(&said), 0, "{protocol}: {}", text(&said));
        assert!(
            text(&said)
                .contains("confirmed it voided (PrimaryTransactionStatus V) after 1 attempt"),
            "{protocol}: {}",
            text(&said)
        );
    }
}

/// Two REST answers that are not the service's verdict on the void: a redirect whose JSON says
/// "declined, transfer begun" was read as a known not-voidable refusal and refunded; a 4xx that
/// says "completed" with a numeric `ResponseCode` was read as a rejected request (exit 1).
/// Neither may move money, and the second may be a void that went through (exit 5).
#[tokio::test(flavor = "multi_thread")]
async fn void_or_refund_over_rest_never_refunds_on_a_redirect_or_an_unreadable_4xx() {
    let cases = [
        (
            302,
            r#"{"TransactionStatus":"D","PrimaryTransactionStatus":"S","Message":"Void not allowed: funds transfer initiated"}"#,
            1,
        ),
        (
            422,
            r#"{"TransactionStatus":"C","PrimaryTransactionStatus":"V","ResponseCode":0}"#,
            5,
        ),
    ];
    for (status, body, exit) in cases {
        let server = support::Server::start(move |_| {
            support::Reply::new(status, "application/json; charset=utf-8", body)
                .header("location", "https://127.0.0.1:1/rest/payment/void")
        })
        .await;
        let base = server.url.trim_end_matches("/payment/service.asmx");
        let output = isolated::instamed_soap()
            .args(["void", "--endpoint", base, "--protocol", "rest"])
            .args(isolated::OUTLET)
            .args([
                "--transaction-id",
                "EE52401813A74328AAA7D93319FF4383",
                "--or-refund",
                "1.00",
            ])
            .arg("--ca-cert")
            .arg(&server.ca_path)
            .env("INSTAMED_API_KEY", DEMO_API_KEY)
            .env("INSTAMED_API_SECRET", DEMO_API_SECRET)
            .env_remove("INSTAMED_ENDPOINT")
            .output()
            .expect("run instamed-soap");
        assert_eq!(code(&output), exit, "HTTP {status}: {}", text(&output));
        let paths: Vec<String> = server.requests().iter().map(|r| r.path.clone()).collect();
        assert_eq!(
            paths,
            ["/rest/payment/void"],
            "HTTP {status}: nothing but the void was sent"
        );
    }
}
