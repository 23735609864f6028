//! `instamed-soap` on an enterprise network: behind an HTTP proxy named by the environment or
//! `--proxy`, with a private or OS trust store, credentials from the environment only, human
//! `--timeout` values and the NVP page as the endpoint. Each test drives the binary against
//! the simulator over TLS on loopback, with a real CONNECT proxy where one is in the way. A
//! proxied void names the service `instamed.test`, which only the proxy resolves: a proxy
//! from the environment never carries a loopback endpoint, and the client leaves names to it.

use crate::isolated::{self, code, text};
use instamed_soap_test_support::connect_proxy;

use std::net::{IpAddr, Ipv4Addr};
use std::process::Output;

use base64::Engine as _;
use connect_proxy::{ConnectProxy, Policy};
use instamed_soap::Outlet;
use instamed_soap_simulator::{
    DEMO_ACCOUNT_ID, DEMO_API_KEY, DEMO_API_SECRET, DEMO_PASSWORD, Hostname, Simulator,
    SimulatorConfig,
};

const PROXY_USER: &str = "erp-proxy-user";
const PROXY_PASSWORD: &str = "Pr0xy-Passw0rd-42";
/// Every variable that could choose a proxy or a trust store for the child.
const NETWORK_VARIABLES: [&str; 10] = [
    "HTTPS_PROXY",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "NO_PROXY",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
];

fn outlet() -> Outlet {
    Outlet::new("123123123", "123", "123").unwrap()
}

/// `instamed-soap SUBCOMMAND` with the outlet and demo credentials, a clean network
/// environment plus `env`, and `args`.
fn run(subcommand: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = isolated::instamed_soap();
    command.arg(subcommand).args(isolated::OUTLET);
    command
        .args(args)
        .env("INSTAMED_ACCOUNT_ID", DEMO_ACCOUNT_ID)
        .env("INSTAMED_PASSWORD", DEMO_PASSWORD)
        .env_remove("INSTAMED_ENDPOINT");
    for name in NETWORK_VARIABLES {
        command.env_remove(name);
    }
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().expect("run instamed-soap")
}

/// A void of a fresh payment at `endpoint` with `args` and `env`.
fn void(simulator: &Simulator, endpoint: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let payment = simulator
        .ledger()
        .create_payment(&outlet(), "10.00")
        .unwrap();
    let mut all = vec!["--endpoint", endpoint, "--transaction-id", payment.as_str()];
    all.extend_from_slice(args);
    run("void", &all, env)
}

fn basic(user: &str, password: &str) -> String {
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {token}")
}

fn ca(simulator: &Simulator) -> String {
    simulator.ca_path().unwrap().display().to_string()
}

/// Runs blocking child processes off the runtime the simulator and proxy live on.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(work).await.unwrap()
}

async fn simulator() -> std::sync::Arc<Simulator> {
    std::sync::Arc::new(Simulator::start(SimulatorConfig::default()).await.unwrap())
}

/// The service's host in the proxied tests: a name this machine cannot resolve (`.test` is
/// reserved), which only the test proxy knows, as only a corporate proxy knows the internet's.
const REMOTE: &str = "instamed.test";

/// A simulator whose certificate and endpoint name [`REMOTE`] (and `also`), listening on
/// 127.0.0.1, which every certificate names as `localhost` too.
async fn remote_simulator(also: Option<&str>) -> std::sync::Arc<Simulator> {
    let names = std::iter::once(REMOTE)
        .chain(also)
        .map(|name| name.parse::<Hostname>().unwrap());
    let config = SimulatorConfig::default().with_hostnames(names);
    let simulator = Simulator::start(config).await.unwrap();
    assert!(simulator.endpoint().starts_with("https://instamed.test:"));
    std::sync::Arc::new(simulator)
}

/// The simulator's SOAP endpoint with `host` in place of the name its endpoint uses.
fn endpoint_at(simulator: &Simulator, host: &str) -> String {
    let port = simulator.local_addr().port();
    format!("https://{host}:{port}/payment/service.asmx")
}

/// A proxy that resolves [`REMOTE`], `localhost` and `others` to 127.0.0.1, and nothing else.
async fn proxy_for(policy: Policy, others: &[&str]) -> ConnectProxy {
    let loopback = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let names: Vec<(&str, IpAddr)> = [REMOTE, "localhost"]
        .iter()
        .chain(others)
        .map(|name| (*name, loopback))
        .collect();
    ConnectProxy::resolving(policy, &names).await
}

/// A name the hosts file maps to 127.0.0.1 alone and that is no loopback name by itself (not
/// `localhost` or `*.localhost`), such as the machine's own name: it resolves here without
/// DNS, and a proxy from the environment carries it unless `NO_PROXY` names it. `None` when
/// the hosts file has no such name.
fn loopback_alias() -> Option<String> {
    let hosts = std::fs::read_to_string("/etc/hosts").ok()?;
    let mut addresses: Vec<(String, String)> = Vec::new();
    for line in hosts.lines() {
        let line = line.split('#').next().unwrap_or_default();
        let mut words = line.split_whitespace();
        let Some(address) = words.next() else {
            continue;
        };
        for name in words {
            addresses.push((name.to_ascii_lowercase(), address.to_owned()));
        }
    }
    addresses
        .iter()
        .map(|(name, _)| name)
        .find(|name| {
            let only_127_0_0_1 = addresses
                .iter()
                .filter(|(other, _)| other == *name)
                .all(|(_, address)| address == "127.0.0.1");
            only_127_0_0_1
                && *name != "localhost"
                && !name.ends_with(".localhost")
                && name.parse::<IpAddr>().is_err()
                && name.parse::<Hostname>().is_ok()
        })
        .cloned()
}

/// `host:port` of an endpoint, as a CONNECT line names it.
fn authority(endpoint: &str) -> String {
    let endpoint: http::Uri = endpoint.parse().unwrap();
    endpoint.authority().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn https_proxy_from_the_environment_carries_the_void_and_no_proxy_bypasses_it() {
    let alias = loopback_alias();
    if alias.is_none() {
        eprintln!(
            "no name in /etc/hosts maps to 127.0.0.1 alone: NO_PROXY is shown with localhost only"
        );
    }
    let sim = remote_simulator(alias.as_deref()).await;
    let others: Vec<&str> = alias.iter().map(String::as_str).collect();
    let proxy = proxy_for(Policy::Require(basic(PROXY_USER, PROXY_PASSWORD)), &others).await;
    let with_password = proxy.url(Some(&format!("{PROXY_USER}:{PROXY_PASSWORD}")));
    let (s, url, local_name) = (sim.clone(), with_password.clone(), alias.clone());
    let (proxied, bypassed) = blocking(move || {
        let ca = ca(&s);
        let remote = s.endpoint();
        let base = ["--ca-cert", ca.as_str()];
        let mut proxied = vec![
            void(&s, &remote, &base, &[("HTTPS_PROXY", &url)]),
            void(&s, &remote, &base, &[("https_proxy", &url)]),
            void(&s, &remote, &base, &[("ALL_PROXY", &url)]),
        ];
        // localhost is loopback: never proxied from the environment, NO_PROXY or not.
        let mut bypassed = vec![void(
            &s,
            &endpoint_at(&s, "localhost"),
            &base,
            &[("HTTPS_PROXY", &url)],
        )];
        if let Some(name) = &local_name {
            let local = endpoint_at(&s, name);
            let listed = format!("example.org,{name}");
            // The proxy carries this name, unless NO_PROXY names it, or `*`, or --no-proxy
            // ignores the variables.
            proxied.push(void(&s, &local, &base, &[("HTTPS_PROXY", &url)]));
            bypassed.extend([
                void(
                    &s,
                    &local,
                    &base,
                    &[("HTTPS_PROXY", &url), ("NO_PROXY", &listed)],
                ),
                void(
                    &s,
                    &local,
                    &base,
                    &[("HTTPS_PROXY", &url), ("no_proxy", "*")],
                ),
                void(
                    &s,
                    &local,
                    &[base[0], base[1], "--no-proxy"],
                    &[("HTTPS_PROXY", &url)],
                ),
            ]);
        }
        (proxied, bypassed)
    })
    .await;
    for output in proxied.iter().chain(&bypassed) {
        assert_eq!(code(output), 0, "{}", text(output));
        assert!(!text(output).contains(PROXY_PASSWORD), "{}", text(output));
    }
    let seen = proxy.seen();
    let mut expected = vec![authority(&sim.endpoint()); 3];
    expected.extend(alias.iter().map(|name| authority(&endpoint_at(&sim, name))));
    let targets: Vec<&str> = seen.iter().map(|c| c.target.as_str()).collect();
    assert_eq!(targets, expected, "only the proxied voids used the proxy");
    for connect in seen {
        assert_eq!(
            connect.authorization,
            Some(basic(PROXY_USER, PROXY_PASSWORD))
        );
        assert_eq!(connect.first_tunnel_byte, Some(0x16), "TLS in the tunnel");
    }

    // --proxy names the proxy on the command line and wins over the environment, NO_PROXY
    // and the loopback rule included: it carries localhost too.
    let open = proxy_for(Policy::Open, &[]).await;
    let (s, url) = (sim.clone(), open.url(None));
    let outputs = blocking(move || {
        let ca = ca(&s);
        let args = ["--ca-cert", ca.as_str(), "--proxy", url.as_str()];
        let env = [
            ("HTTPS_PROXY", "http://127.0.0.1:9"),
            ("NO_PROXY", "instamed.test,localhost"),
        ];
        [
            void(&s, &s.endpoint(), &args, &env),
            void(&s, &endpoint_at(&s, "localhost"), &args, &env),
        ]
    })
    .await;
    for output in &outputs {
        assert_eq!(code(output), 0, "{}", text(output));
    }
    let targets: Vec<String> = open.seen().into_iter().map(|c| c.target).collect();
    assert_eq!(
        targets,
        [
            authority(&sim.endpoint()),
            authority(&endpoint_at(&sim, "localhost"))
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_proxy_from_the_environment_never_carries_a_loopback_endpoint() {
    let sim = simulator().await;
    // Nothing listens at the proxy: a void that tried it would fail to connect (exit 1).
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let s = sim.clone();
    let outputs = blocking(move || {
        let ca = ca(&s);
        let base = ["--ca-cert", ca.as_str()];
        let mut outputs = Vec::new();
        for host in ["localhost", "127.0.0.1"] {
            for variable in ["HTTPS_PROXY", "ALL_PROXY"] {
                let endpoint = endpoint_at(&s, host);
                outputs.push(void(&s, &endpoint, &base, &[(variable, dead.as_str())]));
            }
        }
        outputs
    })
    .await;
    for output in &outputs {
        assert_eq!(code(output), 0, "{}", text(output));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_proxy_that_refuses_the_credentials_or_is_down_means_not_sent_and_shows_no_secret() {
    let sim = remote_simulator(None).await;
    let proxy = proxy_for(Policy::Require(basic(PROXY_USER, "another-password")), &[]).await;
    let refused_url = proxy.url(Some(&format!("{PROXY_USER}:{PROXY_PASSWORD}")));
    let down = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let down_url = format!("http://{PROXY_USER}:{PROXY_PASSWORD}@{down}");
    let s = sim.clone();
    let payment = sim.ledger().create_payment(&outlet(), "10.00").unwrap();
    let (refused, refused_json, gone, afterwards) = blocking(move || {
        let ca = ca(&s);
        let remote = s.endpoint();
        let local = endpoint_at(&s, "localhost");
        let args = |endpoint: &str, json: bool| {
            let mut args = vec![
                "--endpoint".to_owned(),
                endpoint.to_owned(),
                "--transaction-id".to_owned(),
                payment.as_str().to_owned(),
                "--ca-cert".to_owned(),
                ca.clone(),
            ];
            if json {
                args.push("--json".to_owned());
            }
            args
        };
        let run_with = |args: Vec<String>, env: &[(&str, &str)]| {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            run("void", &args, env)
        };
        (
            run_with(args(&remote, false), &[("HTTPS_PROXY", &refused_url)]),
            run_with(args(&remote, true), &[("HTTPS_PROXY", &refused_url)]),
            run_with(args(&remote, false), &[("HTTPS_PROXY", &down_url)]),
            run_with(args(&local, false), &[]),
        )
    })
    .await;
    assert_eq!(code(&refused), 1, "{}", text(&refused));
    assert!(
        text(&refused).contains("refused the credentials"),
        "{}",
        text(&refused)
    );
    let json: serde_json::Value = serde_json::from_slice(&refused_json.stdout).unwrap();
    assert_eq!(json["error_code"], "connect_error", "{json}");
    assert_eq!(json["outcome_unknown"], false, "{json}");
    assert_eq!(code(&gone), 1, "{}", text(&gone));
    assert!(
        text(&gone).contains("could not connect to the proxy"),
        "{}",
        text(&gone)
    );
    for output in [&refused, &refused_json, &gone] {
        let said = text(output);
        assert!(
            !said.contains(PROXY_PASSWORD) && !said.contains(PROXY_USER),
            "{said}"
        );
    }
    // Nothing reached the service: the payment is still there to void.
    assert_eq!(code(&afterwards), 0, "{}", text(&afterwards));
}

#[tokio::test(flavor = "multi_thread")]
async fn trust_choices_on_the_command_line() {
    let sim = simulator().await;
    let other_ca = tempfile::NamedTempFile::new().unwrap();
    let other = rcgen::generate_simple_self_signed(vec!["other.test".to_owned()]).unwrap();
    std::fs::write(other_ca.path(), other.cert.pem()).unwrap();
    let other_path = other_ca.path().display().to_string();
    let s = sim.clone();
    let outputs = blocking(move || {
        let ca = ca(&s);
        let endpoint = s.endpoint();
        let os_env = |file: &str| vec![("SSL_CERT_FILE", file.to_owned())];
        let void_with = |args: &[&str], env: Vec<(&str, String)>| {
            let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
            void(&s, &endpoint, args, &env)
        };
        vec![
            // OS store: SSL_CERT_FILE names the simulator's CA.
            (0, void_with(&["--trust", "os"], os_env(&ca))),
            // OS store without it: the CA is unknown.
            (1, void_with(&["--trust", "os"], os_env(&other_path))),
            // Mozilla's roots alone never trust a private CA.
            (1, void_with(&["--trust", "mozilla"], Vec::new())),
            (1, void_with(&[], Vec::new())),
            // --ca-cert added to Mozilla's roots, or to the OS store, or alone.
            (
                0,
                void_with(&["--trust", "mozilla", "--ca-cert", &ca], Vec::new()),
            ),
            (
                0,
                void_with(&["--trust", "os", "--ca-cert", &ca], os_env(&other_path)),
            ),
            (
                0,
                void_with(&["--ca-cert", &other_path, "--ca-cert", &ca], Vec::new()),
            ),
            // An unreadable CA file is bad configuration: nothing sent.
            (
                2,
                void_with(&["--ca-cert", "/nonexistent/ca.pem"], Vec::new()),
            ),
        ]
    })
    .await;
    for (index, (expected, output)) in outputs.iter().enumerate() {
        assert_eq!(code(output), *expected, "case {index}: {}", text(output));
        if *expected == 1 {
            assert!(
                text(output).contains("TLS handshake") && text(output).contains("UnknownIssuer"),
                "case {index}: {}",
                text(output)
            );
        }
    }
}

#[test]
fn missing_or_empty_credentials_are_named_by_their_variable_and_nothing_is_sent() {
    // Nothing listens at this endpoint: had anything been sent, the exit would be 1.
    let endpoint = "https://127.0.0.1:9/payment/service.asmx";
    let base = ["--endpoint", endpoint, "--transaction-id", "ABC123"];
    let mut missing = isolated::instamed_soap();
    missing
        .arg("void")
        .args([
            "--merchant-id",
            "1",
            "--store-id",
            "1",
            "--terminal-id",
            "1",
        ])
        .args(base)
        .env("INSTAMED_ACCOUNT_ID", DEMO_ACCOUNT_ID)
        .env_remove("INSTAMED_PASSWORD")
        .env_remove("INSTAMED_ENDPOINT");
    let missing = missing.output().unwrap();
    assert_eq!(code(&missing), 2, "{}", text(&missing));
    assert!(
        text(&missing).contains("INSTAMED_PASSWORD"),
        "{}",
        text(&missing)
    );
    assert!(!text(&missing).contains("--password"), "{}", text(&missing));

    let mut batch = isolated::instamed_soap();
    batch
        .args(["batch", "--endpoint", endpoint, "--input", "in.csv"])
        .args(["--journal", "journal.db"])
        .env("INSTAMED_ACCOUNT_ID", DEMO_ACCOUNT_ID)
        .env_remove("INSTAMED_PASSWORD")
        .env_remove("INSTAMED_ENDPOINT");
    let batch = batch.output().unwrap();
    assert_eq!(code(&batch), 2, "{}", text(&batch));
    assert!(
        text(&batch).contains("INSTAMED_PASSWORD"),
        "{}",
        text(&batch)
    );
    assert!(!text(&batch).contains("--password"), "{}", text(&batch));

    for (name, says) in [
        ("INSTAMED_PASSWORD", "the password is empty"),
        ("INSTAMED_ACCOUNT_ID", "the account ID is empty"),
    ] {
        let empty = run("void", &base, &[(name, "")]);
        assert_eq!(code(&empty), 2, "{}", text(&empty));
        assert!(text(&empty).contains(says), "{}", text(&empty));
    }
    let rest = [
        "--endpoint",
        "https://127.0.0.1:9",
        "--transaction-id",
        "ABC123",
        "--protocol",
        "rest",
    ];
    let empty_secret = run(
        "void",
        &rest,
        &[
            ("INSTAMED_API_KEY", DEMO_API_KEY),
            ("INSTAMED_API_SECRET", ""),
        ],
    );
    assert_eq!(code(&empty_secret), 2, "{}", text(&empty_secret));
    assert!(
        text(&empty_secret).contains("INSTAMED_API_SECRET"),
        "{}",
        text(&empty_secret)
    );
    assert!(!text(&empty_secret).contains(DEMO_API_SECRET));
}

#[test]
fn credentials_in_the_endpoint_or_proxy_url_are_refused_and_never_echoed() {
    let user = "url-user-7731";
    let password = "url-passw0rd-8842";
    for (args, env) in [
        (
            vec![format!(
                "--endpoint=https://{user}:{password}@127.0.0.1:9/payment/service.asmx"
            )],
            vec![],
        ),
        (
            vec![
                format!("--endpoint=https://{user}:{password}@127.0.0.1:9/payment/NVP.aspx"),
                "--protocol=nvp".to_owned(),
            ],
            vec![],
        ),
        (
            vec![
                "--endpoint=https://127.0.0.1:9/payment/service.asmx".to_owned(),
                format!("--nvp-endpoint=https://{user}:{password}@127.0.0.1:9/payment/NVP.aspx"),
            ],
            vec![],
        ),
        (
            vec!["--endpoint=https://instamed.test:9/payment/service.asmx".to_owned()],
            vec![(
                "HTTPS_PROXY",
                format!("socks5://{user}:{password}@127.0.0.1:1080"),
            )],
        ),
        (
            vec!["--endpoint=https://instamed.test:9/payment/service.asmx".to_owned()],
            vec![(
                "HTTPS_PROXY",
                format!("http://{user}:{password}@bad host:1"),
            )],
        ),
    ] {
        for json in [false, true] {
            let mut all: Vec<&str> = args.iter().map(String::as_str).collect();
            all.extend(["--transaction-id", "ABC123"]);
            if json {
                all.push("--json");
            }
            let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let output = run("void", &all, &env);
            let said = text(&output);
            assert_eq!(code(&output), 2, "{args:?}: {said}");
            assert!(!said.contains(user) && !said.contains(password), "{said}");
            assert!(said.contains("***@"), "{said}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn timeouts_take_human_durations_and_every_bad_one_exits_2_naming_the_flag() {
    let sim = simulator().await;
    let s = sim.clone();
    let (good, bad) = blocking(move || {
        let ca = ca(&s);
        let endpoint = s.endpoint();
        let good: Vec<Output> = ["30s", "1m", "2", "1500ms"]
            .iter()
            .map(|value| {
                let flag = format!("--timeout={value}");
                void(&s, &endpoint, &["--ca-cert", &ca, &flag], &[])
            })
            .collect();
        let mut bad = Vec::new();
        for value in ["1e300", "0", "0s", "-1", "-5s", "11m", "abc", "", "inf"] {
            let flag = format!("--timeout={value}");
            for subcommand in ["void", "refund", "reconcile"] {
                let mut args = vec!["--endpoint", &endpoint, "--transaction-id", "ABC123"];
                args.push(&flag);
                if subcommand == "refund" {
                    args.extend(["--amount", "1.00"]);
                }
                bad.push((value, run(subcommand, &args, &[])));
            }
            let mut batch = isolated::instamed_soap();
            batch
                .args(["batch", "--endpoint", &endpoint, "--input", "in.csv"])
                .args(["--journal", "journal.db", &flag])
                .env("INSTAMED_ACCOUNT_ID", DEMO_ACCOUNT_ID)
                .env("INSTAMED_PASSWORD", DEMO_PASSWORD);
            bad.push((value, batch.output().unwrap()));
        }
        (good, bad)
    })
    .await;
    for output in &good {
        assert_eq!(code(output), 0, "{}", text(output));
    }
    for (value, output) in &bad {
        assert_eq!(code(output), 2, "{value:?}: {}", text(output));
        assert!(
            text(output).contains("--timeout"),
            "{value:?}: {}",
            text(output)
        );
    }
}

/// Every numeric flag of every command, as `--timeout` above: each value outside its range
/// (the ones that made `batch` and `serve` panic among them) exits 2 naming the flag, before
/// anything starts; the bounds themselves are accepted (the command then stops on another
/// argument made wrong on purpose, so that nothing runs).
#[test]
fn every_numeric_flag_refuses_a_value_out_of_range_with_exit_2_and_never_panics() {
    const VOID: &[&str] = &[
        "void",
        "--endpoint",
        "not a url",
        "--merchant-id",
        "123123123",
        "--store-id",
        "123",
        "--terminal-id",
        "123",
        "--transaction-id",
        "ABC123",
    ];
    const BATCH: &[&str] = &[
        "batch",
        "--endpoint",
        "not a url",
        "--input",
        "/nonexistent/in.csv",
        "--journal",
        "/nonexistent/journal.db",
    ];
    // Starts nothing: an account without a password is refused before the server starts.
    const SERVE: &[&str] = &["serve", "--account", "no-password"];
    // Clap stops at the first bad value, so a bad protocol after a good number stops them.
    const SOAK: &[&str] = &["soak"];
    const BENCH: &[&str] = &["bench"];
    const RECORD: &[&str] = &[
        "record",
        "--upstream",
        "not a url",
        "--cassettes",
        "/nonexistent",
    ];
    // A ledger in a directory that does not exist: nothing to list, nothing to settle.
    const LEDGER_LIST: &[&str] = &["ledger", "--ledger", "/nonexistent/ledger.db", "list"];
    const LEDGER_SETTLE: &[&str] = &[
        "ledger",
        "--ledger",
        "/nonexistent/ledger.db",
        "settle",
        "--not-made",
        "--by",
        "j.doe",
        "--note",
        "checked",
    ];
    const HUGE: [&str; 7] = [
        "18446744073709551615",
        "18446744073709551616",
        "2305843009213693952",
        "1e300",
        "NaN",
        "inf",
        "abc",
    ];
    struct Flag {
        command: &'static [&'static str],
        flag: &'static str,
        bad: &'static [&'static str],
        good: &'static [&'static str],
        /// Appended after the flag so that a good value stops the command before it runs.
        stop: &'static [&'static str],
        /// Whether every value of HUGE is out of range too.
        huge: bool,
    }
    let flags = [
        Flag {
            command: VOID,
            flag: "--attempts",
            bad: &["-1", "21"],
            good: &["0", "20"],
            stop: &[],
            huge: true,
        },
        Flag {
            command: VOID,
            flag: "--backoff",
            bad: &["-1", "31", "31s", "30001ms", "250x"],
            good: &["0", "30", "30s", "250ms"],
            stop: &[],
            huge: true,
        },
        Flag {
            command: BATCH,
            flag: "--concurrency",
            bad: &["0", "-1", "257"],
            good: &["1", "256"],
            stop: &[],
            huge: true,
        },
        Flag {
            command: BATCH,
            flag: "--rate",
            bad: &["0", "-1", "10001", "4294967296"],
            good: &["1", "10000"],
            stop: &[],
            huge: true,
        },
        Flag {
            command: SERVE,
            flag: "--void-cutoff",
            bad: &["-1", "-0.5", "315360001", "-inf", "3651days"],
            good: &["0", "0.5", "315360000", "90s", "3650days"],
            stop: &[],
            huge: true,
        },
        Flag {
            command: SERVE,
            flag: "--refund-window",
            bad: &["-1", "315360001", "3651days"],
            good: &["0", "315360000", "365days"],
            stop: &[],
            huge: true,
        },
        Flag {
            command: SERVE,
            flag: "--latency",
            bad: &["-1", "601", "11m", "600001ms"],
            good: &["0", "600", "10m", "250ms"],
            stop: &[],
            huge: true,
        },
        Flag {
            command: SERVE,
            flag: "--fault-rate",
            bad: &["-0.1", "1.5"],
            good: &["0", "1"],
            stop: &[],
            huge: true,
        },
        Flag {
            command: SERVE,
            flag: "--reset-rate",
            bad: &["-0.1", "1.5"],
            good: &["0", "1"],
            stop: &[],
            huge: true,
        },
        Flag {
            command: SERVE,
            flag: "--port",
            bad: &["-1", "65536"],
            good: &["0", "65535"],
            stop: &[],
            huge: true,
        },
        Flag {
            command: SOAK,
            flag: "--voids",
            bad: &["0", "-1", "1000001"],
            good: &["1", "1000000"],
            stop: &["--protocol", "bogus"],
            huge: true,
        },
        Flag {
            command: SOAK,
            flag: "--concurrency",
            bad: &["0", "1025"],
            good: &["1", "1024"],
            stop: &["--protocol", "bogus"],
            huge: true,
        },
        Flag {
            command: SOAK,
            flag: "--fault-rate",
            bad: &["-0.1", "1.5"],
            good: &["0", "1"],
            stop: &["--protocol", "bogus"],
            huge: true,
        },
        Flag {
            command: BENCH,
            flag: "--voids",
            bad: &["0", "100001"],
            good: &["1", "100000"],
            stop: &["--protocol", "bogus"],
            huge: true,
        },
        Flag {
            command: BENCH,
            flag: "--concurrency",
            bad: &["0", "1025"],
            good: &["1", "1024"],
            stop: &["--protocol", "bogus"],
            huge: true,
        },
        Flag {
            command: BENCH,
            flag: "--rounds",
            bad: &["0", "21"],
            good: &["1", "20"],
            stop: &["--protocol", "bogus"],
            huge: true,
        },
        Flag {
            command: RECORD,
            flag: "--timeout",
            bad: &["0", "-1", "601", "11m"],
            good: &["30", "100ms", "10m"],
            stop: &[],
            huge: true,
        },
        Flag {
            command: LEDGER_LIST,
            flag: "--limit",
            bad: &["-1", "4294967296"],
            good: &["0", "4294967295"],
            stop: &[],
            huge: true,
        },
        Flag {
            command: LEDGER_SETTLE,
            flag: "--entry",
            bad: &[
                "-9223372036854775809",
                "9223372036854775808",
                "18446744073709551615",
                "1e300",
                "NaN",
            ],
            good: &["1", "9223372036854775807"],
            stop: &[],
            huge: false,
        },
    ];
    // Seeds (`serve --seed`, `soak --seed`) and `serve --max-faults` take any u64: every value
    // is one the command can use.
    let run = |flag: &Flag, value: &str| {
        let output = isolated::instamed_soap()
            .args(flag.command)
            .arg(format!("{}={value}", flag.flag))
            .args(flag.stop)
            .env("INSTAMED_ACCOUNT_ID", DEMO_ACCOUNT_ID)
            .env("INSTAMED_PASSWORD", DEMO_PASSWORD)
            .env_remove("INSTAMED_ENDPOINT")
            .env("RUST_BACKTRACE", "0")
            .output()
            .expect("run instamed-soap");
        let said = text(&output);
        assert!(
            !said.contains("panicked"),
            "{} {}={value}: {said}",
            flag.command[0],
            flag.flag
        );
        (output, said)
    };
    for flag in &flags {
        let what = |value: &str| format!("{} {}={value}", flag.command[0], flag.flag);
        let huge: &[&str] = if flag.huge { &HUGE } else { &[] };
        for value in flag.bad.iter().chain(huge) {
            let (output, said) = run(flag, value);
            assert_eq!(code(&output), 2, "{}: {said}", what(value));
            assert!(said.contains(flag.flag), "{}: {said}", what(value));
        }
        for value in flag.good {
            let (_, said) = run(flag, value);
            assert!(
                !said.contains(&format!("for '{}", flag.flag)),
                "{} was refused: {said}",
                what(value)
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_nvp_page_is_an_endpoint_and_nvp_endpoint_a_flag() {
    let sim = simulator().await;
    let s = sim.clone();
    let (page, flag, wrong) = blocking(move || {
        let ca = ca(&s);
        let nvp = s.nvp_endpoint();
        let soap = s.endpoint();
        (
            void(
                &s,
                &nvp,
                &["--ca-cert", &ca, "--protocol", "nvp", "--json"],
                &[],
            ),
            void(
                &s,
                &soap,
                &[
                    "--ca-cert",
                    &ca,
                    "--protocol",
                    "nvp",
                    "--nvp-endpoint",
                    &nvp,
                ],
                &[],
            ),
            void(&s, &nvp, &["--ca-cert", &ca, "--protocol", "soap11"], &[]),
        )
    })
    .await;
    assert_eq!(code(&page), 0, "{}", text(&page));
    let json: serde_json::Value = serde_json::from_slice(&page.stdout).unwrap();
    assert_eq!(json["protocol"], "nvp", "{json}");
    assert_eq!(json["primary_transaction_status"], "V", "{json}");
    assert_eq!(code(&flag), 0, "{}", text(&flag));
    assert_eq!(code(&wrong), 2, "{}", text(&wrong));
    assert!(text(&wrong).contains("NVP page"), "{}", text(&wrong));
}
