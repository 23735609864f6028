//! Voids through an HTTP CONNECT proxy, as from an ERP host that reaches the internet only
//! through one: a real proxy on loopback in front of the simulator over TLS. The proxy sees the
//! CONNECT line and TLS records, nothing else; a proxy that refuses or is down leaves the
//! request unsent, and its credentials never show.

use instamed_soap_test_support as support;

use instamed_soap_test_support::connect_proxy;

use std::error::Error as _;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use base64::Engine as _;
use connect_proxy::{ConnectProxy, Policy};
use instamed_soap::{Client, ClientBuilder, Credentials, Error, Protocol, ProxyError, VoidRequest};
use instamed_soap_simulator::{
    DEMO_ACCOUNT_ID, DEMO_PASSWORD, Hostname, Simulator, SimulatorConfig,
};
use support::outlet;

const PROXY_USER: &str = "erp-host";
const PROXY_PASSWORD: &str = "Pr0xy-s3cret";

fn basic(user: &str, password: &str) -> String {
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {token}")
}

fn builder(simulator: &Simulator) -> ClientBuilder {
    let ca = simulator.ca_path().expect("a TLS simulator");
    Client::builder(simulator.endpoint())
        .credentials(Credentials::new(DEMO_ACCOUNT_ID, DEMO_PASSWORD))
        .ca_certificate_file(ca)
        .timeout(Duration::from_secs(10))
}

fn void_of(simulator: &Simulator) -> VoidRequest {
    let payment = simulator
        .ledger()
        .create_payment(&outlet(), "10.00")
        .expect("a payment");
    VoidRequest::new(outlet(), payment)
}

/// The `host:port` the simulator's endpoint names.
fn authority(simulator: &Simulator) -> String {
    let endpoint: http::Uri = simulator.endpoint().parse().unwrap();
    endpoint.authority().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_void_goes_through_the_proxy_tunnel_with_its_credentials() {
    let simulator = Simulator::start(SimulatorConfig::default()).await.unwrap();
    let proxy = ConnectProxy::start(Policy::Require(basic(PROXY_USER, PROXY_PASSWORD))).await;
    for protocol in [Protocol::Soap11, Protocol::Soap12, Protocol::Nvp] {
        let client = builder(&simulator)
            .protocol(protocol)
            .proxy(proxy.url(Some(&format!("{PROXY_USER}:{PROXY_PASSWORD}"))))
            .build()
            .unwrap();
        let shown = format!("{client:?}");
        assert!(!shown.contains(PROXY_PASSWORD), "{shown}");
        let receipt = client.void(&void_of(&simulator)).await.expect("voided");
        assert_eq!(receipt.primary_transaction_status, "V");
    }
    let seen = proxy.seen();
    assert_eq!(seen.len(), 3, "one tunnel per client: {seen:?}");
    for connect in &seen {
        assert_eq!(connect.target, authority(&simulator));
        assert_eq!(
            connect.authorization.as_deref(),
            Some(basic(PROXY_USER, PROXY_PASSWORD).as_str())
        );
        assert_eq!(
            connect.first_tunnel_byte,
            Some(0x16),
            "TLS inside the tunnel"
        );
    }
    simulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_explicit_proxy_carries_loopback_and_resolves_the_names_behind_it() {
    // The certificate names instamed.test, which this machine cannot resolve; only the proxy
    // knows where it is, as a corporate proxy knows the internet's names.
    let hostname: Hostname = "instamed.test".parse().unwrap();
    let simulator = Simulator::start(SimulatorConfig::default().with_hostnames([hostname]))
        .await
        .unwrap();
    let proxy = ConnectProxy::resolving(
        Policy::Open,
        &[("instamed.test", IpAddr::V4(Ipv4Addr::LOCALHOST))],
    )
    .await;
    let remote = simulator.endpoint();
    assert!(remote.starts_with("https://instamed.test:"), "{remote}");
    let port = simulator.local_addr().port();
    let local = format!("https://localhost:{port}/payment/service.asmx");
    let ca = simulator.ca_path().expect("a TLS simulator");
    for endpoint in [&remote, &local] {
        let client = Client::builder(endpoint.as_str())
            .credentials(Credentials::new(DEMO_ACCOUNT_ID, DEMO_PASSWORD))
            .ca_certificate_file(ca)
            .timeout(Duration::from_secs(10))
            .proxy(proxy.url(None))
            .build()
            .unwrap();
        let result = client.void(&void_of(&simulator)).await;
        // localhost is not on the proxy's map: the tunnel is refused, which proves that the
        // explicit proxy was asked for a loopback endpoint too.
        if endpoint == &remote {
            let receipt = result.expect("voided through the proxy");
            assert_eq!(receipt.primary_transaction_status, "V");
        } else {
            let report = result.unwrap_err().report().to_string();
            assert!(
                report.contains(&format!("refused to open a tunnel to localhost:{port}")),
                "{report}"
            );
        }
    }
    let targets: Vec<String> = proxy.seen().into_iter().map(|c| c.target).collect();
    assert_eq!(
        targets,
        [format!("instamed.test:{port}"), format!("localhost:{port}")]
    );
    simulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_builder_that_debugs_a_proxy_url_hides_its_password() {
    let builder = Client::builder("https://connect.instamed.com/payment/service.asmx").proxy(
        format!("http://{PROXY_USER}:{PROXY_PASSWORD}@proxy.corp:3128"),
    );
    let shown = format!("{builder:?}");
    assert!(!shown.contains(PROXY_PASSWORD), "{shown}");
    assert!(shown.contains("proxy.corp:3128"), "{shown}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_407_says_the_proxy_refused_the_credentials_and_nothing_was_sent() {
    let simulator = Simulator::start(SimulatorConfig::default()).await.unwrap();
    let proxy = ConnectProxy::start(Policy::Require(basic(PROXY_USER, "the-right-one"))).await;
    let request = void_of(&simulator);

    let client = builder(&simulator)
        .proxy(proxy.url(Some(&format!("{PROXY_USER}:{PROXY_PASSWORD}"))))
        .build()
        .unwrap();
    let error = client.void(&request).await.unwrap_err();
    assert!(matches!(error, Error::Connect { .. }), "{error:?}");
    assert!(error.never_sent() && !error.outcome_unknown(), "{error:?}");
    let report = error.report().to_string();
    assert!(report.contains("refused the credentials"), "{report}");
    assert!(report.contains(&proxy.addr.to_string()), "{report}");
    let debug = format!("{error:?}");
    for shown in [&report, &debug] {
        assert!(
            !shown.contains(PROXY_PASSWORD) && !shown.contains(PROXY_USER),
            "{shown}"
        );
    }
    let cause = error.source().and_then(|s| s.downcast_ref::<ProxyError>());
    assert!(
        cause.is_some_and(ProxyError::credentials_refused),
        "{debug}"
    );

    // Without credentials, the same answer says that some are needed.
    let bare = builder(&simulator).proxy(proxy.url(None)).build().unwrap();
    let report = bare.void(&request).await.unwrap_err().report().to_string();
    assert!(report.contains("requires credentials"), "{report}");

    // The payment was never touched: voiding it directly still works.
    let direct = builder(&simulator).no_proxy().build().unwrap();
    direct.void(&request).await.expect("voided directly");
    simulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_proxy_that_is_down_or_refuses_the_tunnel_leaves_the_request_unsent() {
    let simulator = Simulator::start(SimulatorConfig::default()).await.unwrap();
    let request = void_of(&simulator);
    // A port that was free a moment ago: nothing listens there.
    let down = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let client = builder(&simulator)
        .proxy(format!("http://{PROXY_USER}:{PROXY_PASSWORD}@{down}"))
        .build()
        .unwrap();
    let error = client.void(&request).await.unwrap_err();
    assert!(error.never_sent(), "{error:?}");
    let report = error.report().to_string();
    assert!(
        report.contains("could not connect to the proxy"),
        "{report}"
    );
    assert!(!report.contains(PROXY_PASSWORD), "{report}");

    // A proxy that answers CONNECT with something other than 200 (here 502 for a target it
    // will not reach) is a refusal, not a connection to the service.
    let proxy = ConnectProxy::start(Policy::Open).await;
    let elsewhere = Client::builder("https://192.0.2.1:1/payment/service.asmx")
        .credentials(Credentials::new(DEMO_ACCOUNT_ID, DEMO_PASSWORD))
        .proxy(proxy.url(None))
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let error = elsewhere.void(&request).await.unwrap_err();
    assert!(error.never_sent(), "{error:?}");
    let report = error.report().to_string();
    assert!(
        report.contains("refused to open a tunnel to 192.0.2.1:1"),
        "{report}"
    );
    direct_void_still_works(&simulator, &request).await;
    simulator.shutdown().await;
}

async fn direct_void_still_works(simulator: &Simulator, request: &VoidRequest) {
    let direct = builder(simulator).no_proxy().build().unwrap();
    direct.void(request).await.expect("voided directly");
}

#[test]
fn an_unusable_proxy_url_is_refused_when_the_client_is_built() {
    for (url, says) in [
        (
            "socks5://u:s3cret@127.0.0.1:1080",
            "socks5 proxies are not supported",
        ),
        (
            "https://u:s3cret@127.0.0.1:443",
            "over TLS is not supported",
        ),
        // A `/`, `?` or `#` in the password, not percent-encoded, cuts the host part short:
        // refused whole, never shown, and never taken for a host to look up.
        ("http://u:s3c/ret@127.0.0.1:3128", "percent-encode"),
        ("http://u:s3c?ret@127.0.0.1:3128", "percent-encode"),
        (
            "http://127.0.0.1:s3cret/rest@proxy.lan:3128",
            "percent-encode",
        ),
        ("http://u:s3c#ret@127.0.0.1:3128", "percent-encode"),
    ] {
        let error = Client::builder("https://localhost:1/payment/service.asmx")
            .credentials(Credentials::new("a", "b"))
            .proxy(url)
            .build()
            .unwrap_err();
        let report = error.report().to_string();
        assert!(report.contains(says), "{report}");
        for part in ["s3cret", "s3c", "ret@"] {
            assert!(!report.contains(part), "{url}: {report}");
        }
        assert!(matches!(error, Error::InvalidConfig { .. }), "{report}");
    }
}
