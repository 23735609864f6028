//! `instamed-soap bench gateway` run small: every row of its report is there, every void of it
//! was answered, and the private folder with the loopback certificate's key is gone after it.
//! No figure is judged here: timings on a shared machine are not a test's business.

use std::path::Path;

use crate::isolated::{self, described};

/// Runs `bench gateway` small in `dir`, with `more` arguments: it succeeds; its report.
fn run_small(dir: &Path, more: &[&str]) -> String {
    let output = isolated::instamed_soap()
        .args(["bench", "gateway"])
        .args(more)
        .args([
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
            "--fsyncs",
            "5",
            "--dir",
            dir.to_str().expect("a UTF-8 path"),
        ])
        .output()
        .expect("run bench gateway");
    assert!(output.status.success(), "{}", described(&output));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The report's rows named `first` with a figure after the name.
fn rows<'a>(out: &'a str, first: &str) -> Vec<&'a str> {
    out.lines()
        .filter(|line| {
            let mut words = line.split_whitespace();
            words.next() == Some(first)
                && words
                    .next()
                    .is_some_and(|figure| figure.parse::<f64>().is_ok())
        })
        .collect()
}

/// The run left nothing behind in `dir`.
fn left_nothing_in(dir: &Path) {
    let left: Vec<_> = std::fs::read_dir(dir).expect("read the folder").collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn bench_gateway_reports_every_row_and_leaves_nothing_behind() {
    let dir = tempfile::tempdir().expect("dir");
    let out = run_small(dir.path(), &["--voids", "5", "--memory-voids", "20"]);
    for heading in [
        "disk: write of 128 bytes + fsync, 5 times each",
        "disk beside traffic: the same in place while one more round of direct voids runs",
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
    let rows = [rows(&out, "direct"), rows(&out, "gateway")].concat();
    assert_eq!(rows.len(), 4, "two latency and two throughput rows:\n{out}");
    for row in rows {
        assert!(row.ends_with(" 0"), "a void failed: {row}\n{out}");
    }
    left_nothing_in(dir.path());
}

/// `bench gateway --ledgers sqlite,postgres,postgres-2` run small: a row for each ledger in
/// every table, every void answered, and the throwaway PostgreSQL cluster gone after it.
#[test]
fn bench_gateway_ledgers_reports_sqlite_beside_postgres_replicas_and_leaves_nothing_behind() {
    if !instamed_soap_test_support::postgres::available() {
        return;
    }
    let dir = tempfile::tempdir().expect("dir");
    // Run as root, the bench's PostgreSQL runs as nobody, who must reach its folder in here.
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("the folder opened to the server's user");
    let out = run_small(
        dir.path(),
        &["--ledgers", "sqlite,postgres,postgres-2", "--voids", "6"],
    );
    for heading in [
        "bench gateway --ledgers sqlite,postgres,postgres-2: load average",
        "PostgreSQL: postgres (PostgreSQL)",
        "disk: write of 128 bytes + fsync, 5 times each",
        "latency: 6 sequential SOAP 1.1 voids over HTTPS per path and round, 2 rounds",
        "throughput: 4 callers spread over a path's replicas, upstream latency 5 ms",
        "CPU under load: 8 voids per path, 4 in flight",
        "ledger CPU per void: median of 2 rounds of 8 voids, 4 in flight",
    ] {
        assert!(out.contains(heading), "no {heading:?} in:\n{out}");
    }
    // No row of nginx or the memory run: the mode measures the ledgers only.
    assert!(
        !out.contains("nginx") && !out.contains("resident memory"),
        "{out}"
    );
    // Each table has its rows, and every void was answered as a void (failures last, 0).
    let rows = |first: &str| rows(&out, first);
    assert_eq!(rows("direct").len(), 2, "latency and throughput:\n{out}");
    for ledger in ["sqlite", "postgres", "postgres-2"] {
        let rows = rows(ledger);
        // Latency, throughput, CPU under load, ledger CPU.
        assert_eq!(rows.len(), 4, "{ledger}:\n{out}");
        for row in &rows[..3] {
            assert!(row.ends_with(" 0"), "a void failed: {row}\n{out}");
        }
    }
    // SQLite has no server: its PostgreSQL column says so rather than 0.
    let sqlite_load = rows("sqlite")[2];
    assert!(
        sqlite_load.split_whitespace().nth(4) == Some("-"),
        "{sqlite_load}\n{out}"
    );
    left_nothing_in(dir.path());
}
