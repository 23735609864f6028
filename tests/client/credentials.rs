//! Credentials a client refuses before anything is sent: empty ones, which would only earn a
//! 401, and ones written in the endpoint URL, which would be sent nowhere and shown everywhere.

use instamed_soap::{ApiKey, Client, Credentials, Error, Protocol};

const ENDPOINT: &str = "https://connect.instamed.com/payment/service.asmx";

fn refused(result: Result<Client, Error>) -> String {
    match result {
        Err(error @ Error::InvalidConfig { .. }) => error.report().to_string(),
        other => panic!("expected a configuration error, got {other:?}"),
    }
}

#[test]
fn empty_credentials_and_api_keys_are_refused() {
    for (account, password) in [("acct@clinic", ""), ("", "pw")] {
        let report = refused(
            Client::builder(ENDPOINT)
                .credentials(Credentials::new(account, password))
                .build(),
        );
        assert!(report.contains("must not be empty"), "{report}");
    }
    for (key, secret) in [("key", ""), ("", "secret")] {
        let report = refused(
            Client::builder("https://connect.instamed.com")
                .protocol(Protocol::Rest)
                .api_key(ApiKey::new(key, secret))
                .build(),
        );
        assert!(report.contains("must not be empty"), "{report}");
    }
}

#[test]
fn credentials_in_the_endpoint_are_refused_and_shown_masked() {
    let user = "acct-in-url";
    let password = "pw-in-url-4431";
    for (endpoint, nvp) in [
        (
            format!("https://{user}:{password}@connect.instamed.com/payment/service.asmx"),
            None,
        ),
        (
            format!("https://{user}@connect.instamed.com/payment/service.asmx"),
            None,
        ),
        (
            ENDPOINT.to_owned(),
            Some(format!(
                "https://{user}:{password}@connect.instamed.com/payment/NVP.aspx"
            )),
        ),
    ] {
        let mut builder = Client::builder(&endpoint).credentials(Credentials::new("a", "b"));
        if let Some(nvp) = nvp {
            builder = builder.nvp_endpoint(nvp);
        }
        let shown = format!("{builder:?}");
        let report = refused(builder.build());
        for said in [&report, &shown] {
            assert!(!said.contains(user) && !said.contains(password), "{said}");
        }
        assert!(
            report.contains("https://***@connect.instamed.com/payment/"),
            "{report}"
        );
    }
}

/// A password with a `/`, `?` or `#` in it, typed into the endpoint: a URL parser ends the
/// host part there, so the account ID would be looked up as a host and the rest sent as a
/// path. Refused whole, and never shown.
#[test]
fn credentials_that_cut_the_host_part_short_are_refused_too() {
    for endpoint in [
        "https://acctQ:Zq/9x@connect.instamed.com/payment/service.asmx",
        "https://acctQ:Zq?9x@connect.instamed.com/payment/service.asmx",
        "https://127.0.0.1:Zq55/9x@connect.instamed.com/payment/service.asmx",
    ] {
        let builder = Client::builder(endpoint).credentials(Credentials::new("a", "b"));
        let shown = format!("{builder:?}");
        let report = refused(builder.build());
        for part in ["Zq", "acctQ", "9x"] {
            assert!(!report.contains(part), "{endpoint}: {report}");
            assert!(!shown.contains(part), "{endpoint}: {shown}");
        }
    }
}

/// Review of issue 22: the one sign-in check (`Credentials::admits`) left the rule "an
/// `Authorization` given twice admits nothing" to each server, and only the replaying server
/// kept it: the simulator read the first header and let a request signed twice in, which the
/// replaying server, checking the same account, refused. Both now ask the client's one check,
/// which takes the headers whole, as `ApiKey::admits` does.
#[tokio::test(flavor = "multi_thread")]
async fn an_authorization_given_twice_admits_nothing_at_the_simulator_as_at_replay() {
    use http::header::AUTHORIZATION;
    use http::{HeaderMap, HeaderValue, Method, StatusCode};
    use instamed_soap_simulator::{Simulator, SimulatorConfig};
    use instamed_soap_test_support::raw_https::{basic, send};
    let simulator = Simulator::start(SimulatorConfig::default()).await.unwrap();
    let good = basic();
    let bad = "Basic d3Jvbmc6d3Jvbmc=";
    let path = "/payment/service.asmx";
    let single = send(
        &simulator,
        Method::GET,
        path,
        &[("authorization", &good)],
        "",
    )
    .await
    .unwrap();
    assert_eq!(single.status, StatusCode::OK, "{}", single.body);
    for twice in [[&good[..], bad], [bad, &good[..]], [&good[..], &good[..]]] {
        let headers = [("authorization", twice[0]), ("authorization", twice[1])];
        let answer = send(&simulator, Method::GET, path, &headers, "")
            .await
            .unwrap();
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{twice:?}");
    }
    simulator.shutdown().await;

    // The one check, which the replaying server's `ExpectedCredentials` asks too.
    let account = Credentials::new(
        instamed_soap_simulator::DEMO_ACCOUNT_ID,
        instamed_soap_simulator::DEMO_PASSWORD,
    );
    let mut headers = HeaderMap::new();
    headers.append(AUTHORIZATION, HeaderValue::from_str(&good).unwrap());
    assert!(account.admits(&headers));
    headers.append(AUTHORIZATION, HeaderValue::from_static(bad));
    assert!(!account.admits(&headers));
    assert!(!account.admits(&HeaderMap::new()));
}
