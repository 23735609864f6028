//! A client of the embedded simulator, set up as the tests of every crate need it.

use std::time::Duration;

use instamed_soap::{ApiKey, Client, Credentials, Protocol};
use instamed_soap_simulator::{
    DEMO_ACCOUNT_ID, DEMO_API_KEY, DEMO_API_SECRET, DEMO_PASSWORD, Simulator,
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
