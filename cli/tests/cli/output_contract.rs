//! One output contract for every command (issue 22, item 2): one vocabulary of outcome names,
//! `--json` objects that match their schema in `docs/schemas` whatever the outcome, `error:`
//! said once with a `hint:` where there is a next step, errors that name what the user typed,
//! and counts in words.

use crate::isolated::{self, code, described, lossy, text};

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use instamed_soap::{Outcome, Outlet, TransactionId};
use instamed_soap_simulator::{
    DEMO_ACCOUNT_ID, DEMO_PASSWORD, FaultPlan, RefusalStyle, Simulator, SimulatorConfig,
};
use serde_json::Value;

/// The schemas of `docs/schemas`, each registered under its `$id`, so that one may refer to
/// another (`void` to `ledger-entry`) with nothing fetched.
pub(crate) struct Schemas {
    registry: jsonschema::Registry<'static>,
    by_file: Vec<(String, Value)>,
}

impl Schemas {
    pub(crate) fn load() -> Self {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/schemas");
        let mut by_file = Vec::new();
        for entry in std::fs::read_dir(&dir).expect("docs/schemas") {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if let Some(stem) = name.strip_suffix(".schema.json") {
                let schema: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_eq!(
                    schema["$schema"], "https://json-schema.org/draft/2020-12/schema",
                    "{name}"
                );
                by_file.push((stem.to_owned(), schema));
            }
        }
        let mut registry = jsonschema::Registry::new();
        for (_, schema) in &by_file {
            let id = schema["$id"]
                .as_str()
                .expect("every schema has an $id")
                .to_owned();
            registry = registry.add(id, schema.clone()).expect("a schema");
        }
        Self {
            registry: registry.prepare().expect("the schemas resolve"),
            by_file,
        }
    }

    /// Checks `value` against `docs/schemas/<schema>.schema.json`, and every `outcome` or
    /// `verdict` in it against the one outcome table.
    pub(crate) fn check(&self, schema: &str, value: &Value, what: &str) {
        let (_, document) = self
            .by_file
            .iter()
            .find(|(stem, _)| stem == schema)
            .unwrap_or_else(|| panic!("no docs/schemas/{schema}.schema.json"));
        let validator = jsonschema::options()
            .with_registry(&self.registry)
            .build(document)
            .unwrap_or_else(|e| panic!("{schema}: {e}"));
        let errors: Vec<String> = validator
            .iter_errors(value)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{what}: does not match {schema}.schema.json: {errors:?}\n{value:#}"
        );
        names_are_outcomes(value, what);
    }
}

/// Every `outcome` and `verdict` anywhere in `value` is a name of the outcome table.
fn names_are_outcomes(value: &Value, what: &str) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                if key == "outcome" || key == "verdict" {
                    if let Some(name) = inner.as_str() {
                        assert!(
                            Outcome::from_name(name).is_some(),
                            "{what}: {key} {name:?} is not in the outcome table"
                        );
                    }
                }
                names_are_outcomes(inner, what);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| names_are_outcomes(item, what)),
        _ => {}
    }
}

fn outlet() -> Outlet {
    Outlet::new("123123123", "123", "123").unwrap()
}

/// A simulator and how to reach it.
struct Scene {
    sim: Simulator,
    dir: tempfile::TempDir,
}

impl Scene {
    async fn start(config: SimulatorConfig) -> Self {
        Self {
            sim: Simulator::start(config).await.expect("simulator"),
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn payment(&self, amount: &str) -> String {
        self.sim
            .ledger()
            .create_payment(&outlet(), amount)
            .unwrap()
            .to_string()
    }

    fn transferred(&self, amount: &str) -> String {
        let payment = self.payment(amount);
        self.sim
            .ledger()
            .start_transfer(&TransactionId::new(&payment).unwrap())
            .unwrap();
        payment
    }

    fn ca(&self) -> PathBuf {
        self.sim.ca_path().expect("TLS").to_path_buf()
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `instamed-soap <command>` against the simulator over `protocol`, signed in, for
    /// `payment` at the test outlet.
    fn paying(&self, command: &str, protocol: &str, payment: &str) -> Command {
        let endpoint = if protocol == "rest" {
            self.sim.rest_base()
        } else {
            self.sim.endpoint()
        };
        let mut run = isolated::instamed_soap();
        run.args([command, "--endpoint", &endpoint, "--protocol", protocol])
            .args(isolated::OUTLET)
            .args(["--transaction-id", payment])
            .arg("--ca-cert")
            .arg(self.ca())
            .env("INSTAMED_ACCOUNT_ID", DEMO_ACCOUNT_ID)
            .env("INSTAMED_PASSWORD", DEMO_PASSWORD)
            .env("INSTAMED_API_KEY", "demo-api-key")
            .env("INSTAMED_API_SECRET", "demo-api-secret")
            .env_remove("INSTAMED_ENDPOINT");
        run
    }
}

/// Runs a command off the async runtime.
async fn run(mut command: Command) -> Output {
    tokio::task::spawn_blocking(move || command.output().expect("run instamed-soap"))
        .await
        .unwrap()
}

/// The one JSON object a `--json` run printed.
fn object(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("not one JSON object ({e}): {}", described(output)))
}

/// One JSON value a line.
fn lines(output: &Output) -> Vec<Value> {
    lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect()
}

/// Checks a `void`/`refund`/`reconcile` JSON result: its schema, the outcome expected, and the
/// exit code the outcome table gives `command`.
fn checked(schemas: &Schemas, output: &Output, command: &str, outcome: &str, what: &str) -> Value {
    let json = object(output);
    schemas.check("void", &json, what);
    assert_eq!(json["outcome"], outcome, "{what}: {json:#}");
    assert_eq!(
        json["exit_code"].as_i64(),
        Some(i64::from(code(output))),
        "{what}"
    );
    let expected = Outcome::from_name(outcome).and_then(|o| o.exit_code(command));
    assert_eq!(
        Some(code(output)),
        expected.map(i32::from),
        "{what}: {json:#}"
    );
    json
}

#[tokio::test(flavor = "multi_thread")]
async fn every_json_output_matches_its_schema() {
    let schemas = Schemas::load();
    for style in [RefusalStyle::Decline, RefusalStyle::Fault] {
        let mut config = SimulatorConfig::default();
        config.refusal_style = style;
        let scene = Scene::start(config).await;
        for protocol in ["soap11", "soap12", "nvp", "rest"] {
            let what = |case: &str| format!("{style:?} {protocol}: {case}");
            let json = |command: &str, payment: &str, extra: &[&str]| {
                let mut run = scene.paying(command, protocol, payment);
                run.arg("--json").args(extra);
                run
            };
            // void: voided, then already voided (a fresh ledger: the service answers).
            let payment = scene.payment("10.00");
            let out = run(json("void", &payment, &[])).await;
            checked(&schemas, &out, "void", "voided", &what("voided"));
            let out = run(json("void", &payment, &[])).await;
            checked(
                &schemas,
                &out,
                "void",
                "already_voided",
                &what("already voided"),
            );
            // Not voidable, then refunded instead.
            let late = scene.transferred("20.00");
            let out = run(json("void", &late, &[])).await;
            let said = checked(
                &schemas,
                &out,
                "void",
                "not_voidable",
                &what("not voidable"),
            );
            assert!(said["hint"].as_str().unwrap().contains("refund"), "{said}");
            let out = run(json("void", &late, &["--or-refund", "20.00"])).await;
            checked(
                &schemas,
                &out,
                "void",
                "refunded",
                &what("refunded instead"),
            );
            // Unknown payment, for a void and a refund.
            let nobody = "ABCDEF0123456789ABCDEF0123456789";
            let out = run(json("void", nobody, &[])).await;
            checked(
                &schemas,
                &out,
                "void",
                "unknown_payment",
                &what("unknown payment"),
            );
            let out = run(json("refund", nobody, &["--amount", "1.00"])).await;
            checked(
                &schemas,
                &out,
                "refund",
                "unknown_payment",
                &what("refund unknown payment"),
            );
            // Refunds: made, more than is left, declined (a voided payment).
            let paid = scene.payment("30.00");
            let out = run(json("refund", &paid, &["--amount", "4.00"])).await;
            checked(&schemas, &out, "refund", "refunded", &what("refunded"));
            let out = run(json(
                "refund",
                &scene.payment("5.00"),
                &["--amount", "99.00"],
            ))
            .await;
            checked(
                &schemas,
                &out,
                "refund",
                "over_refundable",
                &what("over refundable"),
            );
            let out = run(json("refund", &payment, &["--amount", "1.00"])).await;
            checked(
                &schemas,
                &out,
                "refund",
                "declined",
                &what("refund declined"),
            );
            // Two years old: past the default refund window of one year.
            let two_years = std::time::Duration::from_secs(2 * 365 * 86_400);
            let old = scene
                .sim
                .ledger()
                .create_payment_at(&outlet(), "8.00", std::time::SystemTime::now() - two_years)
                .unwrap()
                .to_string();
            let out = run(json("refund", &old, &["--amount", "1.00"])).await;
            checked(
                &schemas,
                &out,
                "refund",
                "refund_window_passed",
                &what("too old"),
            );
            // Reconcile of a payment there and voided.
            let out = run(json("reconcile", &payment, &[])).await;
            let said = object(&out);
            schemas.check("void", &said, &what("reconcile"));
            assert!(
                said["outcome"] == "voided" || said["outcome"] == "already_voided",
                "{said}"
            );
            // Credentials refused: failed, with a hint.
            let mut wrong = json("void", &scene.payment("1.00"), &[]);
            wrong
                .env("INSTAMED_PASSWORD", "not-the-password")
                .env("INSTAMED_API_SECRET", "not-the-secret");
            let out = run(wrong).await;
            let said = checked(
                &schemas,
                &out,
                "void",
                "failed",
                &what("credentials refused"),
            );
            assert_eq!(said["error_code"], "authentication_refused");
            assert!(said["hint"].is_string(), "{said}");
            // Invalid: nothing sent, still the same object.
            let out = run(json("void", "", &[])).await;
            checked(&schemas, &out, "void", "invalid", &what("invalid"));
        }
        // The ledger answering: the same void twice on one ledger, a different refund after a
        // refund, and its list and show.
        let ledger = scene.path(&format!("{style:?}-ledger.db"));
        let ledger_arg = ledger.to_str().unwrap();
        let payment = scene.payment("10.00");
        for _ in 0..2 {
            let mut void = scene.paying("void", "soap11", &payment);
            void.args(["--json", "--ledger", ledger_arg]);
            let said = checked(
                &schemas,
                &run(void).await,
                "void",
                "voided",
                "void on a ledger",
            );
            schemas.check("void", &said, "void on a ledger");
        }
        let paid = scene.payment("30.00");
        let mut refund = scene.paying("refund", "soap11", &paid);
        refund.args(["--json", "--ledger", ledger_arg, "--amount", "5.00"]);
        checked(
            &schemas,
            &run(refund).await,
            "refund",
            "refunded",
            "refund on a ledger",
        );
        let mut again = scene.paying("refund", "soap11", &paid);
        again.args(["--json", "--ledger", ledger_arg, "--amount", "6.00"]);
        let said = checked(
            &schemas,
            &run(again).await,
            "refund",
            "already_refunded",
            "a different refund",
        );
        assert_eq!(said["from_ledger"], true);
        for args in [
            vec!["ledger", "list", "--json"],
            vec!["ledger", "show", "--json", "--transaction-id", &paid],
        ] {
            let mut list = isolated::instamed_soap();
            list.args(&args).args(["--ledger", ledger_arg]);
            let out = run(list).await;
            assert_eq!(code(&out), 0, "{}", described(&out));
            let entries = lines(&out);
            assert!(!entries.is_empty(), "{}", described(&out));
            for entry in entries {
                schemas.check("ledger-entry", &entry, &args.join(" "));
            }
        }
        scene.sim.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_unknown_outcome_the_simulator_can_produce_matches_the_schema() {
    let schemas = Schemas::load();
    let faults = [
        ("fault", FaultPlan::seeded(1).with_fault_rate(1.0)),
        (
            "unavailable",
            FaultPlan::seeded(1).with_unavailable_rate(1.0),
        ),
        ("bare fault", FaultPlan::seeded(1).with_bare_fault_rate(1.0)),
        ("reset", FaultPlan::seeded(1).with_reset_rate(1.0)),
        ("truncated", FaultPlan::seeded(1).with_truncate_rate(1.0)),
        ("garbage", FaultPlan::seeded(1).with_malformed_rate(1.0)),
    ];
    for (name, plan) in faults {
        let scene = Scene::start(SimulatorConfig::default().with_faults(plan)).await;
        for protocol in ["soap11", "nvp", "rest"] {
            let what = format!("{name} over {protocol}");
            let mut void = scene.paying("void", protocol, &scene.payment("10.00"));
            void.arg("--json");
            let said = checked(&schemas, &run(void).await, "void", "outcome_unknown", &what);
            assert_eq!(said["outcome_unknown"], true, "{what}");
            let hint = said["hint"].as_str().expect("a hint");
            assert!(hint.contains("instamed-soap reconcile"), "{what}: {hint}");
            let mut refund = scene.paying("refund", protocol, &scene.payment("10.00"));
            refund.args(["--json", "--amount", "1.00"]);
            // NVP has no framing: the first half of a refund's answer is a whole answer, and
            // when it still carries TransactionStatus C and the refund's own ID, the refund
            // (made before the answer was cut) is proved.
            let expected = if name == "truncated" && protocol == "nvp" {
                "refunded"
            } else {
                "refund_unknown"
            };
            let said = checked(
                &schemas,
                &run(refund).await,
                "refund",
                expected,
                &format!("refund, {what}"),
            );
            if expected == "refund_unknown" {
                assert!(said["sent_at"].is_string(), "{said}");
            }
        }
        scene.sim.shutdown().await;
    }
}

/// What the ledger answers after an unknown outcome, sending nothing new of a refund: a
/// second refund of a payment whose refund is unknown waits for a person (9), and a refund of a
/// payment whose void is unknown waits for the void to be settled (5, with the reconcile
/// command).
#[tokio::test(flavor = "multi_thread")]
async fn the_ledger_holding_an_unknown_outcome_answers_in_the_same_schema() {
    let schemas = Schemas::load();
    let plan = FaultPlan::seeded(1).with_fault_rate(1.0);
    let scene = Scene::start(SimulatorConfig::default().with_faults(plan)).await;
    let ledger = scene.path("ledger.db");
    let ledger = ledger.to_str().unwrap();
    let paying = |command: &str, payment: &str, extra: &[&str]| {
        let mut run = scene.paying(command, "soap11", payment);
        run.args(["--json", "--ledger", ledger]).args(extra);
        run
    };
    let refunded = scene.payment("10.00");
    for _ in 0..2 {
        let out = run(paying("refund", &refunded, &["--amount", "1.00"])).await;
        checked(
            &schemas,
            &out,
            "refund",
            "refund_unknown",
            "refund of unknown outcome",
        );
    }
    let voided = scene.payment("10.00");
    let out = run(paying("void", &voided, &[])).await;
    checked(
        &schemas,
        &out,
        "void",
        "outcome_unknown",
        "void of unknown outcome",
    );
    let out = run(paying("refund", &voided, &["--amount", "1.00"])).await;
    let said = checked(
        &schemas,
        &out,
        "refund",
        "outcome_unknown",
        "refund after a void of unknown outcome",
    );
    assert_eq!(said["from_ledger"], true, "{said}");
    assert!(
        said["hint"]
            .as_str()
            .is_some_and(|hint| hint.contains("instamed-soap reconcile")),
        "{said}"
    );
    scene.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn batch_summary_report_rows_and_dry_run_match_their_schemas() {
    let schemas = Schemas::load();
    let scene = Scene::start(SimulatorConfig::default()).await;
    let (voided, late, paid) = (
        scene.payment("1.00"),
        scene.transferred("2.00"),
        scene.payment("3.00"),
    );
    let csv = format!(
        "transaction_id,merchant_id,store_id,terminal_id,amount\n\
         {voided},123123123,123,123,1.00\n\
         {late},123123123,123,123,2.00\n\
         ABCDEF0123456789ABCDEF0123456789,123123123,123,123,1.00\n\
         {paid},123123123,,123,3.00\n"
    );
    let input = scene.path("in.csv");
    std::fs::write(&input, csv).unwrap();
    let batch = |extra: &[&str]| {
        let mut run = isolated::instamed_soap();
        run.args(["batch", "--endpoint", &scene.sim.endpoint(), "--json"])
            .arg("--input")
            .arg(&input)
            .arg("--journal")
            .arg(scene.path("journal.db"))
            .arg("--ca-cert")
            .arg(scene.ca())
            .args(extra)
            .env("INSTAMED_ACCOUNT_ID", DEMO_ACCOUNT_ID)
            .env("INSTAMED_PASSWORD", DEMO_PASSWORD)
            .env_remove("INSTAMED_ENDPOINT");
        run
    };
    let dry = run(batch(&["--dry-run"])).await;
    schemas.check("batch-dry-run", &object(&dry), "batch --dry-run");
    let report = scene.path("report.jsonl");
    let out = run(batch(&["--report", report.to_str().unwrap()])).await;
    assert_eq!(code(&out), 2, "{}", described(&out));
    let summary = object(&out);
    schemas.check("batch-summary", &summary, "batch summary");
    let rows: Vec<Value> = std::fs::read_to_string(&report)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(rows.len(), 4);
    for row in &rows {
        schemas.check("batch-report", row, "batch report row");
    }
    scene.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn contract_verify_and_wsdl_json_match_their_schemas() {
    let schemas = Schemas::load();
    let dir = tempfile::tempdir().unwrap();
    let envelopes = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/envelopes");
    for entry in std::fs::read_dir(&envelopes).unwrap().take(6) {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
    }
    std::fs::write(dir.path().join("zz-unreadable.cassette"), "not a cassette").unwrap();
    let mut verify = isolated::instamed_soap();
    verify
        .args(["contract", "verify", "--json"])
        .arg(dir.path());
    let out = run(verify).await;
    schemas.check("contract-verify", &object(&out), "contract verify");
    let wsdl = Path::new(env!("CARGO_MANIFEST_DIR")).join("../wsdl");
    let file = std::fs::read_dir(&wsdl)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "wsdl"))
        .expect("a WSDL");
    let mut list = isolated::instamed_soap();
    list.args(["wsdl", "--json"]).arg(&file);
    schemas.check("wsdl-list", &object(&run(list).await), "wsdl --json");
    let mut op = isolated::instamed_soap();
    op.args(["wsdl", "--json", "--operation", "DoCreditCardSecondaryVoid"])
        .arg(&file);
    schemas.check(
        "wsdl-operation",
        &object(&run(op).await),
        "wsdl --json OPERATION",
    );
}

#[test]
fn contract_verify_calls_json_matches_its_schema() {
    let schemas = Schemas::load();
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.jsonl");
    let entry = |matched: bool| {
        serde_json::json!({
            "time": "2026-01-01T00:00:00.000Z",
            "method": "POST",
            "target": "/payment/service.asmx",
            "protocol": "soap11",
            "operation": "DoCreditCardSecondaryVoid",
            "matched": matched,
            "cassette": if matched { Some("001-a.cassette") } else { None },
            "closest": if matched { None } else { Some("001-a.cassette") },
            "differs_at": if matched { None } else { Some("request.body") },
            "status": if matched { 200 } else { 500 },
            "body": "",
        })
    };
    std::fs::write(&journal, format!("{}\n{}\n", entry(true), entry(false))).unwrap();
    for (expect, exit) in [("all=2", 0), ("unmatched=0", 1)] {
        let out = isolated::instamed_soap()
            .args(["contract", "verify-calls", "--json", "--expect", expect])
            .arg("--journal")
            .arg(&journal)
            .output()
            .unwrap();
        assert_eq!(code(&out), exit, "{}", described(&out));
        let json = object(&out);
        schemas.check("contract-verify-calls", &json, expect);
        if exit == 1 {
            assert_eq!(
                json["expectations"][0]["unmatched"]
                    .as_array()
                    .map(Vec::len),
                Some(1)
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn void_and_batch_name_an_unknown_payment_the_same() {
    let scene = Scene::start(SimulatorConfig::default()).await;
    let nobody = "ABCDEF0123456789ABCDEF0123456789";
    let mut void = scene.paying("void", "soap11", nobody);
    void.arg("--json");
    let out = run(void).await;
    assert_eq!(
        object(&out)["outcome"],
        "unknown_payment",
        "{}",
        described(&out)
    );
    assert_eq!(
        object(&out)["error_code"],
        "unknown_transaction",
        "the finer, stable kind"
    );
    let input = scene.path("in.csv");
    std::fs::write(
        &input,
        format!("transaction_id,merchant_id,store_id,terminal_id\n{nobody},123123123,123,123\n"),
    )
    .unwrap();
    let mut batch = isolated::instamed_soap();
    batch
        .args(["batch", "--endpoint", &scene.sim.endpoint(), "--json"])
        .arg("--input")
        .arg(&input)
        .arg("--journal")
        .arg(scene.path("journal.db"))
        .arg("--ca-cert")
        .arg(scene.ca())
        .env("INSTAMED_ACCOUNT_ID", DEMO_ACCOUNT_ID)
        .env("INSTAMED_PASSWORD", DEMO_PASSWORD);
    let out = run(batch).await;
    assert_eq!(
        object(&out)["counts"]["unknown_payment"],
        1,
        "{}",
        described(&out)
    );
    scene.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_outcome_hints_the_exact_reconcile_command() {
    // The first answer is cut in half after the void is recorded: the outcome is unknown.
    let plan = FaultPlan::seeded(1)
        .with_truncate_rate(1.0)
        .with_max_faults(1);
    let scene = Scene::start(SimulatorConfig::default().with_faults(plan)).await;
    let payment = scene.payment("10.00");
    let out = run(scene.paying("void", "soap12", &payment)).await;
    assert_eq!(code(&out), 5, "{}", described(&out));
    let stderr = lossy(&out.stderr);
    let said: Vec<&str> = stderr.lines().collect();
    assert_eq!(said.len(), 2, "an error line and a hint: {stderr}");
    assert!(
        said[0].starts_with("error: the void may have gone through"),
        "{stderr}"
    );
    let (_, command) = said[1]
        .strip_prefix("hint: ")
        .and_then(|hint| hint.split_once(": instamed-soap reconcile"))
        .unwrap_or_else(|| panic!("no reconcile command: {stderr}"));
    for secret in [DEMO_PASSWORD, DEMO_ACCOUNT_ID] {
        assert!(!stderr.contains(secret), "{stderr}");
    }
    // The command, run as given (credentials from the environment as before), settles it.
    let words = shlex::split(command).expect("a shell command");
    assert!(words.contains(&payment), "{command}");
    let mut reconcile = isolated::instamed_soap();
    reconcile
        .arg("reconcile")
        .args(&words)
        .env("INSTAMED_ACCOUNT_ID", DEMO_ACCOUNT_ID)
        .env("INSTAMED_PASSWORD", DEMO_PASSWORD)
        .env_remove("INSTAMED_ENDPOINT");
    let settled = run(reconcile).await;
    assert!(
        code(&settled) == 0 || code(&settled) == 4,
        "{}",
        described(&settled)
    );
    scene.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_say_each_thing_once_with_a_hint() {
    let scene = Scene::start(SimulatorConfig::default()).await;
    let payment = scene.payment("10.00");
    run(scene.paying("void", "soap11", &payment)).await;
    let again = run(scene.paying("void", "soap11", &payment)).await;
    assert_eq!(code(&again), 4, "{}", described(&again));
    let stderr = lossy(&again.stderr);
    // The verdict once, then the service's own words (which say it again in theirs).
    assert!(
        stderr.starts_with("error: the payment was already voided: Transaction already voided"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(!stderr.contains("already voided: the payment"), "{stderr}");
    let nobody = run(scene.paying("void", "nvp", "ABCDEF0123456789ABCDEF0123456789")).await;
    let stderr = lossy(&nobody.stderr);
    assert_eq!(stderr.matches("error: ").count(), 1, "{stderr}");
    assert!(
        stderr.contains("\nhint: check --transaction-id"),
        "{stderr}"
    );
    scene.sim.shutdown().await;

    // An answer that is not XML: its problem said once.
    let garbage = FaultPlan::seeded(1).with_malformed_rate(1.0);
    let scene = Scene::start(SimulatorConfig::default().with_faults(garbage)).await;
    let out = run(scene.paying("void", "soap11", &scene.payment("1.00"))).await;
    let stderr = lossy(&out.stderr);
    assert_eq!(stderr.matches("expected shape").count(), 1, "{stderr}");
    assert_eq!(stderr.matches("error: ").count(), 1, "{stderr}");
    scene.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_name_the_flag_not_the_wire_field() {
    let scene = Scene::start(SimulatorConfig::default()).await;
    let payment = scene.payment("10.00");
    let mut void = isolated::instamed_soap();
    void.args(["void", "--endpoint", &scene.sim.endpoint()])
        .args([
            "--merchant-id",
            "123123123",
            "--store-id",
            "",
            "--terminal-id",
            "123",
        ])
        .args(["--transaction-id", &payment])
        .env("INSTAMED_ACCOUNT_ID", DEMO_ACCOUNT_ID)
        .env("INSTAMED_PASSWORD", DEMO_PASSWORD);
    let out = run(void).await;
    assert_eq!(code(&out), 2, "{}", described(&out));
    let stderr = lossy(&out.stderr);
    assert!(stderr.starts_with("error: --store-id: "), "{stderr}");
    assert!(!stderr.contains("StoreID"), "{stderr}");

    let mut amount = scene.paying("void", "soap11", &payment);
    amount.args(["--or-refund", "4.001"]);
    let out = run(amount).await;
    assert_eq!(code(&out), 2, "{}", described(&out));
    let stderr = lossy(&out.stderr);
    assert!(stderr.starts_with("error: --or-refund: "), "{stderr}");

    let mut bad = scene.paying("void", "soap11", &payment);
    bad.args(["--card-present-status", "Swiped"]);
    let out = run(bad).await;
    assert_eq!(code(&out), 2, "{}", described(&out));
    let stderr = lossy(&out.stderr);
    for valid in ["PresentManualKey", "PresentEMV", "NotPresentInternet"] {
        assert!(
            stderr.contains(valid),
            "the valid values are listed: {stderr}"
        );
    }

    // A batch names the column and the line.
    let input = scene.path("in.csv");
    std::fs::write(
        &input,
        format!(
            "transaction_id,merchant_id,store_id,terminal_id,card_present_status\n\
             {payment},123123123,,123,\n\
             {payment}0,123123123,123,123,Swiped\n"
        ),
    )
    .unwrap();
    let mut batch = isolated::instamed_soap();
    batch
        .args(["batch", "--endpoint", &scene.sim.endpoint(), "--dry-run"])
        .arg("--input")
        .arg(&input)
        .arg("--journal")
        .arg(scene.path("journal.db"))
        .arg("--ca-cert")
        .arg(scene.ca())
        .env("INSTAMED_ACCOUNT_ID", DEMO_ACCOUNT_ID)
        .env("INSTAMED_PASSWORD", DEMO_PASSWORD);
    let out = run(batch).await;
    let said = text(&out);
    assert!(
        said.contains("line 2: ") && said.contains("store_id: "),
        "{said}"
    );
    assert!(said.contains("card_present_status: "), "{said}");
    assert!(said.contains("PresentManualKey"), "{said}");
    assert!(
        !said.contains("StoreID") && !said.contains("PrimaryCardPresentStatus"),
        "{said}"
    );
    scene.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn progress_and_summaries_count_in_words() {
    let scene = Scene::start(SimulatorConfig::default()).await;
    let payment = scene.payment("10.00");
    let input = scene.path("in.csv");
    std::fs::write(
        &input,
        format!("transaction_id,merchant_id,store_id,terminal_id\n{payment},123123123,123,123\n"),
    )
    .unwrap();
    let mut batch = isolated::instamed_soap();
    batch
        .args(["batch", "--endpoint", &scene.sim.endpoint()])
        .arg("--input")
        .arg(&input)
        .arg("--journal")
        .arg(scene.path("journal.db"))
        .arg("--ca-cert")
        .arg(scene.ca())
        .env("INSTAMED_ACCOUNT_ID", DEMO_ACCOUNT_ID)
        .env("INSTAMED_PASSWORD", DEMO_PASSWORD);
    let out = run(batch).await;
    assert_eq!(code(&out), 0, "{}", described(&out));
    let said = text(&out);
    assert!(said.contains("loaded 1 row from"), "{said}");
    assert!(
        !said.contains("1 rows") && !said.contains(" 1 steps"),
        "{said}"
    );
    assert!(
        said.contains("this run: 1 step in") || said.contains("this run: 2 steps in"),
        "{said}"
    );
    scene.sim.shutdown().await;
}

#[test]
fn contract_verify_counts_an_unreadable_cassette_as_an_error_in_text_junit_and_json() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("broken.cassette"), "not a cassette").unwrap();
    let junit = dir.path().join("junit.xml");
    let text_run = isolated::instamed_soap()
        .args(["contract", "verify"])
        .arg(dir.path())
        .arg("--junit")
        .arg(&junit)
        .output()
        .unwrap();
    assert_eq!(code(&text_run), 1, "{}", described(&text_run));
    let said = lossy(&text_run.stdout);
    assert!(said.contains("ERROR broken.cassette"), "{said}");
    assert!(
        said.contains("0 passed, 0 failed, 1 error, 0 skipped"),
        "{said}"
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains(r#"failures="0""#) && xml.contains(r#"errors="1""#),
        "{xml}"
    );
    let json_run = isolated::instamed_soap()
        .args(["contract", "verify", "--json"])
        .arg(dir.path())
        .output()
        .unwrap();
    let json = object(&json_run);
    assert_eq!(json["failed"], 0, "{json}");
    assert_eq!(json["errors"], 1, "{json}");
}

#[test]
fn every_outcome_is_documented_once_and_listed_in_help() {
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
        .unwrap();
    let table = doc
        .split("<!-- outcome table: generated from instamed_soap::outcome::TABLE -->")
        .nth(1)
        .and_then(|rest| rest.split("<!-- end of the outcome table -->").next())
        .expect("the README holds the outcome table between its markers");
    for row in instamed_soap::outcome::TABLE {
        let codes: Vec<String> = row
            .exits
            .iter()
            .map(|exit| format!("{} ({})", exit.code, exit.commands.join(", ")))
            .collect();
        let line = format!(
            "| `{}` | {} | {} |",
            row.name,
            row.meaning,
            if codes.is_empty() {
                "—".to_owned()
            } else {
                codes.join("; ")
            }
        );
        assert_eq!(
            table.matches(&line).count(),
            1,
            "the README must hold, once:\n{line}"
        );
    }
    assert_eq!(
        table.lines().filter(|l| l.starts_with("| `")).count(),
        instamed_soap::outcome::TABLE.len(),
        "a row of the README's outcome table names no outcome of the table"
    );
    for command in ["void", "refund", "reconcile", "batch"] {
        let man = isolated::instamed_soap()
            .args(["man", command])
            .output()
            .unwrap();
        let man = lossy(&man.stdout);
        assert!(
            man.contains(".SH OUTCOMES") && man.contains("unknown_payment (3)"),
            "man {command}: {man}"
        );
        let help = isolated::instamed_soap()
            .args([command, "--help"])
            .output()
            .unwrap();
        let help = lossy(&help.stdout);
        assert!(help.contains("Outcomes ("), "{command} --help: {help}");
        assert!(
            help.contains("unknown_payment (3)"),
            "{command} --help: {help}"
        );
    }
}

/// Review of issue 22: `replay`, `record` and `bench` printed a setting they refused as a
/// client's ("error: invalid client configuration: …", though `replay` builds no client), and
/// `replay --expect-api-key` named the flags of `void` (`--api-key KEY:SECRET`, which `replay`
/// does not take) for a key pair it could not complete. Each now says the reason once, as
/// `void` does, naming the flag typed.
#[test]
fn replay_record_and_bench_name_their_own_flags_in_one_error_line() {
    let cassettes = tempfile::tempdir().unwrap();
    let dir = cassettes.path().to_str().unwrap().to_owned();
    let replay = |extra: &[&str]| {
        isolated::instamed_soap()
            .args(["replay", &dir, "--plain-http"])
            .args(extra)
            .env_remove("INSTAMED_PASSWORD")
            .env_remove("INSTAMED_API_SECRET")
            .env_remove("INSTAMED_API_KEY")
            .output()
            .unwrap()
    };
    let record = isolated::instamed_soap()
        .args(["record", "--cassettes", &dir, "--plain-http"])
        .env_remove("INSTAMED_ENDPOINT")
        .output()
        .unwrap();
    let bench = isolated::instamed_soap()
        .args([
            "bench",
            "--endpoint",
            "https://127.0.0.1:9/payment/service.asmx",
        ])
        .args(["--proxy", "http://127.0.0.1:9"])
        .output()
        .unwrap();
    let runs = [
        (bench, "--no-raw"),
        (
            replay(&["--expect-api-key", "demo-api-key"]),
            "--expect-api-key",
        ),
        (replay(&["--expect-api-key", ""]), "--expect-api-key"),
        (
            replay(&["--expect-account-id", "acct@clinic"]),
            "--expect-password-file",
        ),
        (record, "--upstream"),
    ];
    for (out, flag) in &runs {
        assert_eq!(code(out), 2, "{}", described(out));
        let stderr = lossy(&out.stderr);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.starts_with("error: "), "{stderr}");
        assert!(stderr.contains(flag), "{flag} is not named: {stderr}");
        assert!(!stderr.contains("client configuration"), "{stderr}");
        assert!(!stderr.contains("--api-key"), "{stderr}");
    }
}

/// The schemas name exactly the outcomes of the one table: an outcome added to the table and
/// not to `docs/schemas/void.schema.json` (as `nothing_done` once was) fails here, not in a
/// user's validator.
#[test]
fn the_void_schema_lists_exactly_the_outcomes_of_the_table() {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/schemas/void.schema.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let listed: Vec<&str> = schema["$defs"]["outcome"]["enum"]
        .as_array()
        .expect("an enum of outcomes")
        .iter()
        .map(|name| name.as_str().expect("a name"))
        .collect();
    let table: Vec<&str> = instamed_soap::outcome::TABLE
        .iter()
        .map(|row| row.name)
        .collect();
    assert_eq!(listed, table);
}
