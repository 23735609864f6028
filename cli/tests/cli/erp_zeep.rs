//! The gateway driven by zeep, the SOAP stack many Python ERPs are written with, as such an ERP
//! runs: it reads the service's WSDL from the gateway over TLS, signs in as a client, and voids
//! each payment three times at once and once more afterwards, over SOAP 1.1 and SOAP 1.2, asking
//! again after each fault, while the simulator drops connections, answers server faults and
//! cuts answers after voiding. Every settled answer is voided, and InstaMed's books show each
//! payment voided once.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use instamed_soap_test_support::TestCa;
use rcgen::CertificateParams;

use crate::isolated::{start, value};

const CLIENT: &str = "erp";
const SECRET: &str = "zeep-erp-secret";
const PAYMENTS: usize = 8;

/// A Python with zeep: `INSTAMED_ERP_PYTHON`, or the virtual environment `.ci/run` makes in
/// `target/erp-venv`.
fn zeep_python() -> Option<PathBuf> {
    let candidates = std::env::var_os("INSTAMED_ERP_PYTHON")
        .map(PathBuf::from)
        .into_iter()
        .chain([Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/erp-venv/bin/python")]);
    candidates.into_iter().find(|python| {
        Command::new(python)
            .args(["-c", "import zeep"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    })
}

#[test]
fn a_zeep_erp_retrying_over_soap_11_and_12_through_the_gateway_voids_each_payment_once() {
    let Some(python) = zeep_python() else {
        let message = "ZEEP MISSING: no Python with zeep (INSTAMED_ERP_PYTHON, or \
                       target/erp-venv made by .ci/run), so the gateway was not driven by a \
                       real SOAP client";
        assert!(std::env::var_os("CI").is_none(), "{message}");
        eprintln!("\n!!! {message} !!!\n");
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    let at = |name: &str| dir.path().join(name).to_str().expect("utf-8").to_owned();
    let payments: Vec<String> = (1..=PAYMENTS)
        .map(|i| format!("{:032X}", 0xE00 + i))
        .collect();
    let seed: String = payments
        .iter()
        .map(|id| format!("{id},123123123,123,456,10.00\n"))
        .collect();
    std::fs::write(at("payments.csv"), seed).expect("seed file");
    let (mut simulator, printed) = start(
        &[
            "serve",
            "--seed-file",
            &at("payments.csv"),
            "--ledger-file",
            &at("books.jsonl"),
            "--ca-out",
            &at("simulator-ca.pem"),
            "--seed",
            "11",
            "--reset-rate",
            "0.1",
            "--fault-rate",
            "0.1",
            "--truncate-rate",
            "0.2",
        ],
        &[],
    );
    let upstream = value(&printed, "endpoint:");

    // The certificate the ERP sees, from a CA only this test and the ERP trust.
    let ca = TestCa::new("gateway CA for the zeep ERP");
    let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
    let (chain, key) = ca.leaf_pem(CertificateParams::new(names).expect("params"));
    std::fs::write(at("gateway.pem"), chain).expect("chain");
    std::fs::write(at("gateway.key"), key).expect("key");
    let client = format!("{CLIENT}:{SECRET}");
    let (mut gateway, printed) = start(
        &[
            "gateway",
            "--listen",
            "127.0.0.1:0",
            "--hostname",
            "localhost",
            "--tls-cert",
            &at("gateway.pem"),
            "--tls-key",
            &at("gateway.key"),
            "--upstream",
            &upstream,
            "--ca-cert",
            &at("simulator-ca.pem"),
            "--client",
            &client,
            "--ledger",
            &at("gateway-ledger.db"),
            "--rate-limit",
            "0",
        ],
        &[
            (
                "INSTAMED_ACCOUNT_ID",
                instamed_soap_simulator::DEMO_ACCOUNT_ID,
            ),
            ("INSTAMED_PASSWORD", instamed_soap_simulator::DEMO_PASSWORD),
        ],
    );
    let wsdl = format!("{}?WSDL", value(&printed, "soap:"));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/erp/zeep_erp.py");

    let (soap11, soap12) = payments.split_at(PAYMENTS / 2);
    let mut answers = Vec::new();
    for (version, payments) in [("1.1", soap11), ("1.2", soap12)] {
        let output = Command::new(&python)
            .arg(&script)
            .args([wsdl.as_str(), CLIENT, SECRET, version])
            .args(payments)
            .env("REQUESTS_CA_BUNDLE", &ca.path)
            .output()
            .expect("python runs");
        assert!(
            output.status.success(),
            "the zeep ERP failed over SOAP {version}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let printed = String::from_utf8(output.stdout).expect("utf-8");
        answers.extend(
            printed
                .lines()
                .map(|line| serde_json::from_str::<serde_json::Value>(line).expect("a JSON line")),
        );
    }
    let _ = gateway.kill();
    let _ = gateway.wait();
    let _ = simulator.kill();
    let _ = simulator.wait();

    // Three at once and one after, for each payment.
    assert_eq!(answers.len(), PAYMENTS * 4, "{answers:#?}");
    for answer in &answers {
        assert_eq!(answer["TransactionStatus"], "C", "settled: {answer}");
        assert_eq!(answer["PrimaryTransactionStatus"], "V", "voided: {answer}");
        assert_eq!(
            answer["PrimaryTransactionID"], answer["payment"],
            "{answer}"
        );
    }
    let faults: usize = answers
        .iter()
        .map(|answer| answer["faults"].as_array().map_or(0, Vec::len))
        .sum();
    eprintln!("the zeep ERP was answered {faults} faults before settled answers");
    let books = std::fs::read_to_string(at("books.jsonl")).expect("the simulator's books");
    for payment in &payments {
        let voids = books
            .lines()
            .filter(|line| line.contains("\"event\":\"voided\"") && line.contains(payment))
            .count();
        assert_eq!(voids, 1, "{payment} voided once at InstaMed");
    }
}
