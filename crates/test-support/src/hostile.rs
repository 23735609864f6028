//! What the hostile-answer suites (`hostile_*.rs`) share: a client with a short deadline, a void
//! bounded in time, the error or receipt a void meets against a server, and the questions each
//! asks of an error.

use std::future::Future;
use std::path::Path;
use std::time::Duration;

use instamed_soap::soap::UnreadableEnvelope;
use instamed_soap::{AnswerProblem, Client, ClientBuilder, Error, Protocol, VoidReceipt};

use super::{RawServer, Reply, Server, TNS, Version, envelope, request, version_of};

/// The client's deadline for a whole call in these tests.
pub const TIMEOUT: Duration = Duration::from_secs(3);
/// Past this, the client is taken to hang: a failure whatever it would have returned.
const HUNG: Duration = Duration::from_secs(20);
/// One mebibyte, the unit the size limits of the client and these tests are counted in.
pub const MIB: usize = 1 << 20;

/// A client builder for a test server at `url` trusting `ca_path`, speaking `protocol`, with
/// the short deadline [`TIMEOUT`]: the starting point of a test that sets one more option.
pub fn builder(url: &str, ca_path: &Path, protocol: Protocol) -> ClientBuilder {
    super::builder(url)
        .protocol(protocol)
        .ca_certificate_file(ca_path)
        .timeout(TIMEOUT)
}

/// The client of [`builder`], as it is.
pub fn client(url: &str, ca_path: &Path, protocol: Protocol) -> Client {
    builder(url, ca_path, protocol).build().expect("client")
}

/// `future`, or a failure if it takes longer than `HUNG` (twenty seconds): a client that
/// hangs fails the test instead of stalling it.
pub async fn bounded<T>(future: impl Future<Output = T>) -> T {
    tokio::time::timeout(HUNG, future)
        .await
        .expect("the client hung")
}

/// A void of [`PAYMENT`](super::PAYMENT) by `client`, [`bounded`]: for a test that built its
/// client itself, or calls the same one twice.
pub async fn void_with(client: &Client) -> Result<VoidReceipt, Error> {
    bounded(client.void(&request())).await
}

/// A void of [`PAYMENT`](super::PAYMENT) by a new [`client`] of `url`, [`bounded`].
pub async fn void_at(url: &str, ca_path: &Path, protocol: Protocol) -> Result<VoidReceipt, Error> {
    void_with(&client(url, ca_path, protocol)).await
}

/// The error a void meets against a server answering every request with `reply`, given the
/// SOAP version of the request.
pub async fn void_error(
    protocol: Protocol,
    reply: impl Fn(Version) -> Reply + Send + Sync + 'static,
) -> Error {
    let server = Server::start(move |exchange| reply(version_of(exchange))).await;
    match void_at(&server.url, &server.ca_path, protocol).await {
        Ok(receipt) => panic!("a broken answer read as a success: {receipt:?}"),
        Err(error) => error,
    }
}

/// The receipt of a void against a server answering every request with `reply`.
pub async fn void_receipt(
    protocol: Protocol,
    reply: impl Fn(Version) -> Reply + Send + Sync + 'static,
) -> VoidReceipt {
    let server = Server::start(move |exchange| reply(version_of(exchange))).await;
    void_at(&server.url, &server.ca_path, protocol)
        .await
        .unwrap_or_else(|error| panic!("not voided: {}", error.report()))
}

/// The error of a void against a raw server.
pub async fn raw_void_error(server: &RawServer) -> Error {
    match void_at(&server.url, &server.ca_path, Protocol::Soap11).await {
        Ok(receipt) => panic!("a broken answer read as a success: {receipt:?}"),
        Err(error) => error,
    }
}

/// A voided result whose fields are given as raw XML (for markup the helpers cannot write).
pub fn result_xml(version: Version, fields: &str) -> String {
    envelope(
        version,
        &format!(
            "<DoCreditCardSecondaryVoidResponse xmlns=\"{TNS}\"><DoCreditCardSecondaryVoidResult>\
             {fields}</DoCreditCardSecondaryVoidResult></DoCreditCardSecondaryVoidResponse>"
        ),
    )
}

/// The least a result needs to prove [`PAYMENT`](super::PAYMENT) voided, as raw XML for
/// [`result_xml`]: a test adds the markup it means to try around it.
pub const PAYMENT_FIELDS: &str = "<ResponseCode>000</ResponseCode>\
     <PrimaryTransactionID>EE52401813A74328AAA7D93319FF4383</PrimaryTransactionID>";

/// What was wrong with the answer `error` reports; panics if `error` is not about a malformed
/// answer.
pub fn problem(error: &Error) -> &AnswerProblem {
    error
        .problem()
        .unwrap_or_else(|| panic!("not a malformed response: {error:?}"))
}

/// Why the envelope of the answer could not be read; panics if the answer's problem lies
/// elsewhere.
pub fn envelope_problem(error: &Error) -> &UnreadableEnvelope {
    match problem(error) {
        AnswerProblem::Envelope(why) => why,
        other => panic!("not an envelope problem: {other:?}"),
    }
}

/// The reader's message, for an answer that is not well-formed XML of the expected shape.
pub fn xml_problem(error: &Error) -> String {
    match envelope_problem(error) {
        UnreadableEnvelope::Xml(why) => why.message().to_owned(),
        other => panic!("not an XML problem: {other:?}"),
    }
}

/// Asserts `error` leaves the void's outcome unknown: the payment may have been voided, and a
/// caller must find out before trying again.
pub fn assert_unknown(error: &Error) {
    assert!(
        error.outcome_unknown(),
        "the outcome must be unknown: {}",
        error.report()
    );
}

/// Asserts `error` does not leave the void's outcome unknown: the opposite of
/// [`assert_unknown`].
pub fn assert_known(error: &Error) {
    assert!(
        !error.outcome_unknown(),
        "the outcome must be known: {}",
        error.report()
    );
}

/// Asserts `error` is a transport failure after the request was sent, and so leaves the
/// outcome unknown.
pub fn assert_lost_after_sending(error: &Error) {
    assert!(
        matches!(error, Error::Transport { sent: true, .. }),
        "{}",
        error.report()
    );
    assert_unknown(error);
}
