//! `instamed-soap bench gateway` run small: every row of its report is there, every void of it
//! was answered, and the private folder with the loopback certificate's key is gone after it.
//! No figure is judged here: timings on a shared machine are not a test's business.

use crate::isolated::{self, described};

#[test]
fn bench_gateway_reports_every_row_and_leaves_nothing_behind() {
    let dir = tempfile::tempdir().expect("dir");
    let output = isolated::instamed_soap()
        .args([
            "bench",
            "gateway",
            "--voids",
            "5",
            "--rounds",
            "2",
            "--callers",
            "4",
            "--upstream-latency",
            "5ms",
            "--throughput-voids",
            "8",
            "--ledger-voids",
            "8",
            "--memory-voids",
            "20",
            "--fsyncs",
            "5",
            "--dir",
            dir.path().to_str().expect("a UTF-8 path"),
        ])
        .output()
        .expect("run bench gateway");
    let out = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{}", described(&output));
    for heading in [
        "disk: write of 128 bytes + fsync, 5 times each",
        "latency: 5 sequential SOAP 1.1 voids over HTTPS per path and round, 2 rounds",
        "throughput: 4 callers, upstream latency 5 ms, ideal 800 voids/s",
        "ledger CPU per void:",
        "gateway process CPU per void:",
        "gateway resident memory over 20 voids (0 failed), MiB (of it anonymous): 10%:",
        "targets:",
        "throughput within 1.10x of the ideal:",
        "ledger CPU <= 20 µs per void:",
        "flat memory",
    ] {
        assert!(out.contains(heading), "no {heading:?} in:\n{out}");
    }
    // nginx is measured where it is installed, and said loudly to be missing where it is not.
    let nginx_row = out.lines().any(|line| line.starts_with("nginx "));
    assert!(
        nginx_row || out.contains("NGINX NOT MEASURED"),
        "neither nginx's row nor why it is missing:\n{out}"
    );
    // Every void of each table was answered as a void: the last column counts failures.
    let rows: Vec<&str> = out
        .lines()
        .filter(|line| {
            let mut words = line.split_whitespace();
            matches!(words.next(), Some("direct" | "gateway"))
                && words
                    .next()
                    .is_some_and(|figure| figure.parse::<f64>().is_ok())
        })
        .collect();
    assert_eq!(rows.len(), 4, "two latency and two throughput rows:\n{out}");
    for row in rows {
        assert!(row.ends_with(" 0"), "a void failed: {row}\n{out}");
    }
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .expect("read the folder")
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}
