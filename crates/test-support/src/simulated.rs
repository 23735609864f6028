//! A client of the embedded simulator, set up as the tests of every crate need it.

use std::time::Duration;

use instamed_soap::{ApiKey, Client, Credentials, Protocol};
use instamed_soap_simulator::{
    DEMO_ACCOUNT_ID, DEMO_API_KEY, DEMO_API_SECRET, DEMO_PASSWORD, DEMO_SSO_ALIAS, Simulator,
};

/// A client of `simulator` over `protocol`, signed in with the demo account and API key,
/// trusting the simulator's CA, with a timeout short enough for a test.
pub fn client(simulator: &Simulator, protocol: Protocol) -> Client {
    let endpoint = if protocol == Protocol::Rest {
        simulator.rest_base()
    } else {
        simulator.endpoint()
    };
    let mut builder = Client::builder(endpoint)
        .credentials(Credentials::new(DEMO_ACCOUNT_ID, DEMO_PASSWORD))
        .api_key(ApiKey::new(DEMO_API_KEY, DEMO_API_SECRET))
        .protocol(protocol)
        .timeout(Duration::from_secs(5));
    if let Some(ca) = simulator.ca_path() {
        builder = builder.ca_certificate_file(ca);
    }
    builder.build().expect("a client of the simulator")
}

/// An SSO client of `simulator`'s `SSOService.asmx` and login over `protocol`, signed with the
/// demo SSO account and `key`, polling every millisecond.
pub fn sso_client(
    simulator: &Simulator,
    protocol: Protocol,
    key: &str,
) -> instamed_soap::sso::SsoClient {
    let mut builder = Client::builder(simulator.sso_service_endpoint())
        .protocol(protocol)
        .timeout(Duration::from_secs(5));
    if let Some(ca) = simulator.ca_path() {
        builder = builder.ca_certificate_file(ca);
    }
    instamed_soap::sso::SsoClient::new(
        builder,
        simulator.sso_login_url(),
        instamed_soap::sso::SsoAccount::new(DEMO_ACCOUNT_ID, DEMO_SSO_ALIAS, key),
    )
    .expect("an SSO client of the simulator")
    .poll_interval(Duration::from_millis(1))
}

/// The person's click on the void page at `url` (as `sso void` printed it, with its token):
/// `action` is `void` or `cancel`, posted as the page's form posts it, over `simulator`'s TLS.
pub async fn sso_click(simulator: &Simulator, url: &str, action: &str) {
    let uri: http::Uri = url.parse().expect("the launch URL");
    let token = form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .find(|(key, _)| key == "token")
        .map(|(_, token)| token.into_owned())
        .expect("a token in the launch URL");
    let mut browser = Client::builder(simulator.endpoint())
        .credentials(Credentials::new(DEMO_ACCOUNT_ID, DEMO_PASSWORD))
        .timeout(Duration::from_secs(5));
    if let Some(ca) = simulator.ca_path() {
        browser = browser.ca_certificate_file(ca);
    }
    let browser = browser.build().expect("a browser");
    let form = form_urlencoded::Serializer::new(String::new())
        .append_pair("token", &token)
        .append_pair("action", action)
        .finish();
    let request = http::Request::post(uri.path())
        .header(
            http::header::HOST,
            uri.authority().expect("a host").as_str(),
        )
        .header(
            http::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(bytes::Bytes::from(form))
        .expect("a request");
    let answer = browser.execute(request).await.expect("the page answers");
    // A page launched with return URLs sends the browser on (303); without, it shows the result.
    assert!(
        answer.status() == 303 || answer.status() == 200,
        "{} {:?}",
        answer.status(),
        answer.body()
    );
}
