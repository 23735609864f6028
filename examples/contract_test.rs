//! A contract test in your own test suite: your code against recorded InstaMed exchanges.
//!
//! `instamed-soap record` captures real exchanges as cassettes (secrets redacted), and
//! [`ContractServer::replay`] answers from them on loopback. A test then runs your own code, the
//! same code that talks to InstaMed in production, against what InstaMed really said: if a
//! change in your code or in this crate changes the request, the replay answers with a
//! mismatch and the test fails.
//!
//! This file is both: `cargo run --example contract_test` and, since the example is built with
//! `test = true`, `cargo test --example contract_test`. In your project the test lives in
//! `tests/` and points at your own cassettes.

use std::path::Path;

use instamed_soap::{Client, Credentials, Error, Outlet, TransactionId, VoidRequest};
use instamed_soap_contract::{ContractServer, ServeOptions};

/// The code under test: how this billing system voids a payment and words the result.
async fn void_and_describe(client: &Client, payment: &str) -> Result<String, Error> {
    let request = VoidRequest::new(
        Outlet::new("123123123", "123", "123")?,
        TransactionId::new(payment)?,
    );
    match client.void(&request).await {
        Ok(receipt) => Ok(format!("voided {}", receipt.payment)),
        Err(Error::AlreadyVoided(_)) => Ok(format!("{payment} was already voided")),
        Err(error) => Err(error),
    }
}

/// A client of the replaying server. The credentials are anything: cassettes keep no secret,
/// and the replay does not check them.
fn client_of(server: &ContractServer) -> Result<Client, Error> {
    let mut builder = Client::builder(server.endpoint())
        .credentials(Credentials::new("contract@test", "not-a-secret"));
    if let Some(ca) = server.ca_path() {
        builder = builder.ca_certificate_file(ca);
    }
    builder.build()
}

/// The recorded corpus this crate ships; yours is wherever `instamed-soap record` wrote it.
fn cassettes() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/envelopes"))
}

async fn check_against_recordings() -> Result<(), Box<dyn std::error::Error>> {
    let server = ContractServer::replay(cassettes(), ServeOptions::default()).await?;
    let client = client_of(&server)?;
    let voided = void_and_describe(&client, "C0FFEE00000000000000000000000001").await?;
    assert_eq!(voided, "voided C0FFEE00000000000000000000000001");
    // A payment no cassette knows: the replay refuses to invent an answer.
    let unrecorded = void_and_describe(&client, "BADBADBADBADBADBADBADBADBADBAD00").await;
    assert!(
        unrecorded.is_err(),
        "an unrecorded request must not pass: {unrecorded:?}"
    );
    server.shutdown().await;
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    check_against_recordings().await?;
    println!("the client still honours the recorded exchanges");
    Ok(())
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn void_matches_the_recorded_exchanges() {
        super::check_against_recordings()
            .await
            .expect("contract holds");
    }
}
