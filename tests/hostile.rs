//! Hostile and broken answers to a real `client.void(…)` over loopback TLS: entity tricks,
//! oversized and endless bodies, deep nesting, cut connections, wrong encodings and versions,
//! ambiguous results, redirects, stalls. Each must end in the exact typed error, say rightly
//! whether the outcome is unknown, come back in bounded time, and keep memory bounded; none may
//! read as a success unless the document genuinely says the payment was voided.
//!
//! The process counts its heap (a counting global allocator) so that the large cases can prove
//! the client never buffered what it refused. Those cases run alone ([`alone`]); every other
//! test shares the process ([`shared`]).

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use instamed_soap::soap::{FaultCode, MAX_DETAIL_ENTRIES, UnreadableEnvelope};
use instamed_soap::{Client, ClientBuilder, Error, Protocol, ResponseProblem, VoidReceipt};
use support::{
    PAYMENT, RawConnection, RawServer, Reply, Server, TNS, Version, chunk, envelope, fault,
    raw_response, request, version_of, void_result, voided,
};
use tokio::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

/// The client's deadline for a whole call in these tests.
const TIMEOUT: Duration = Duration::from_secs(3);
/// Past this, the client is taken to hang: a failure whatever it would have returned.
const HUNG: Duration = Duration::from_secs(20);
const MIB: usize = 1 << 20;

// ---------------------------------------------------------------------------------------------
// Heap accounting

struct CountingAllocator;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(by: usize) {
    let live = LIVE.fetch_add(by, Ordering::Relaxed) + by;
    PEAK.fetch_max(live, Ordering::Relaxed);
}

// SAFETY: every call is forwarded unchanged to the system allocator; only sizes are counted.
#[allow(unsafe_code)] // counting allocations needs a global allocator
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, passed on as is.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            grew(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `alloc`/`realloc` above with this layout.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::realloc`'s contract, passed on as is.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            if new_size >= layout.size() {
                grew(new_size - layout.size());
            } else {
                LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// Held by every test but the heap-measuring ones, which hold it alone.
static HEAP: RwLock<()> = RwLock::const_new(());

async fn shared() -> RwLockReadGuard<'static, ()> {
    HEAP.read().await
}

async fn alone() -> RwLockWriteGuard<'static, ()> {
    HEAP.write().await
}

/// Runs `future` and returns its output with how far the heap grew above where it started.
async fn peak_growth<T>(future: impl Future<Output = T>) -> (T, usize) {
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let output = future.await;
    (output, PEAK.load(Ordering::Relaxed).saturating_sub(base))
}

// ---------------------------------------------------------------------------------------------
// Clients, requests and expectations

fn builder(url: &str, ca_path: &Path, protocol: Protocol) -> ClientBuilder {
    support::builder(url)
        .protocol(protocol)
        .ca_certificate_file(ca_path)
        .timeout(TIMEOUT)
}

fn client(url: &str, ca_path: &Path, protocol: Protocol) -> Client {
    builder(url, ca_path, protocol).build().expect("client")
}

/// `future`, or a failure if it takes longer than [`HUNG`].
async fn bounded<T>(future: impl Future<Output = T>) -> T {
    tokio::time::timeout(HUNG, future)
        .await
        .expect("the client hung")
}

async fn void_with(client: &Client) -> Result<VoidReceipt, Error> {
    bounded(client.void(&request())).await
}

async fn void_at(url: &str, ca_path: &Path, protocol: Protocol) -> Result<VoidReceipt, Error> {
    void_with(&client(url, ca_path, protocol)).await
}

/// The error a void meets against a server answering every request with `reply`, given the
/// SOAP version of the request.
async fn void_error(
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
async fn void_receipt(
    protocol: Protocol,
    reply: impl Fn(Version) -> Reply + Send + Sync + 'static,
) -> VoidReceipt {
    let server = Server::start(move |exchange| reply(version_of(exchange))).await;
    void_at(&server.url, &server.ca_path, protocol)
        .await
        .unwrap_or_else(|error| panic!("not voided: {}", error.report()))
}

/// The error of a void against a raw server.
async fn raw_void_error(server: &RawServer) -> Error {
    match void_at(&server.url, &server.ca_path, Protocol::Soap11).await {
        Ok(receipt) => panic!("a broken answer read as a success: {receipt:?}"),
        Err(error) => error,
    }
}

/// A voided result whose fields are given as raw XML (for markup the helpers cannot write).
fn result_xml(version: Version, fields: &str) -> String {
    envelope(
        version,
        &format!(
            "<DoCreditCardSecondaryVoidResponse xmlns=\"{TNS}\"><DoCreditCardSecondaryVoidResult>\
             {fields}</DoCreditCardSecondaryVoidResult></DoCreditCardSecondaryVoidResponse>"
        ),
    )
}

const PAYMENT_FIELDS: &str = "<ResponseCode>000</ResponseCode>\
     <PrimaryTransactionID>EE52401813A74328AAA7D93319FF4383</PrimaryTransactionID>";

fn problem(error: &Error) -> &ResponseProblem {
    error
        .problem()
        .unwrap_or_else(|| panic!("not a malformed response: {error:?}"))
}

fn envelope_problem(error: &Error) -> &UnreadableEnvelope {
    match problem(error) {
        ResponseProblem::Envelope(why) => why,
        other => panic!("not an envelope problem: {other:?}"),
    }
}

/// The reader's message, for an answer that is not well-formed XML of the expected shape.
fn xml_problem(error: &Error) -> String {
    match envelope_problem(error) {
        UnreadableEnvelope::Xml(why) => why.message().to_owned(),
        other => panic!("not an XML problem: {other:?}"),
    }
}

fn assert_unknown(error: &Error) {
    assert!(
        error.outcome_unknown(),
        "the outcome must be unknown: {}",
        error.report()
    );
}

fn assert_known(error: &Error) {
    assert!(
        !error.outcome_unknown(),
        "the outcome must be known: {}",
        error.report()
    );
}

fn assert_lost_after_sending(error: &Error) {
    assert!(
        matches!(error, Error::Transport { sent: true, .. }),
        "{}",
        error.report()
    );
    assert_unknown(error);
}

// ---------------------------------------------------------------------------------------------
// Document type declarations and entities

fn with_doctype(version: Version, doctype: &str, status: &str) -> String {
    let body = void_result(
        version,
        &[
            ("TransactionStatus", status),
            ("PrimaryTransactionID", PAYMENT),
            ("PrimaryTransactionStatus", "V"),
        ],
    );
    body.replacen("?>", &format!("?>{doctype}"), 1)
}

#[tokio::test]
async fn a_doctype_with_internal_entities_is_refused_before_parsing() {
    let _heap = shared().await;
    for protocol in [Protocol::Soap11, Protocol::Soap12] {
        let error = void_error(protocol, |v| {
            let doctype = "<!DOCTYPE Envelope [<!ENTITY completed \"C\">]>";
            Reply::xml(200, v, with_doctype(v, doctype, "&completed;"))
        })
        .await;
        assert!(
            matches!(envelope_problem(&error), UnreadableEnvelope::DocumentType),
            "{error:?}"
        );
        assert_unknown(&error);
    }
}

#[tokio::test]
async fn an_external_entity_is_neither_fetched_nor_expanded() {
    let _heap = shared().await;
    // A second server stands where an external DTD would be fetched from.
    let dtd_host = Server::start(|_| Reply::new(200, "application/xml-dtd", "")).await;
    let dtd_url = format!("https://localhost:{}/evil.dtd", dtd_host.addr.port());
    let error = void_error(Protocol::Soap11, move |v| {
        let doctype = format!(
            "<!DOCTYPE Envelope SYSTEM \"{dtd_url}\" [<!ENTITY xxe SYSTEM \"file:///etc/hostname\">]>"
        );
        Reply::xml(200, v, with_doctype(v, &doctype, "&xxe;"))
    })
    .await;
    assert!(
        matches!(envelope_problem(&error), UnreadableEnvelope::DocumentType),
        "{error:?}"
    );
    assert_unknown(&error);
    assert_eq!(dtd_host.connections(), 0, "the DTD was fetched");
    if let Ok(hostname) = std::fs::read_to_string("/etc/hostname") {
        let hostname = hostname.trim();
        let report = error.report().to_string();
        assert!(
            hostname.is_empty() || !report.contains(hostname),
            "{report}"
        );
    }
}

#[tokio::test]
async fn billion_laughs_is_refused_at_once() {
    let _heap = shared().await;
    let mut doctype = String::from("<!DOCTYPE lolz [<!ENTITY lol \"lol\">");
    for level in 1..10 {
        let previous = if level == 1 {
            "lol".to_owned()
        } else {
            format!("lol{}", level - 1)
        };
        let refs = format!("&{previous};").repeat(10);
        doctype.push_str(&format!("<!ENTITY lol{level} \"{refs}\">"));
    }
    doctype.push_str("]>");
    let (error, growth) = peak_growth(void_error(Protocol::Soap11, move |v| {
        Reply::xml(200, v, with_doctype(v, &doctype, "&lol9;"))
    }))
    .await;
    assert!(
        matches!(envelope_problem(&error), UnreadableEnvelope::DocumentType),
        "{error:?}"
    );
    assert_unknown(&error);
    // 10^9 "lol"s would be 3 GB; the server, the client and its TLS fit in a few megabytes.
    assert!(growth < 64 * MIB, "the heap grew by {growth} bytes");
}

#[tokio::test]
async fn a_doctype_behind_a_comment_that_looks_like_markup_is_still_refused() {
    let _heap = shared().await;
    let error = void_error(Protocol::Soap11, |v| {
        let doctype = "<!-- see <a href='x'> --><?pi <b?><!DOCTYPE d [<!ENTITY s \"C\">]>";
        Reply::xml(200, v, with_doctype(v, doctype, "&s;"))
    })
    .await;
    assert!(
        matches!(envelope_problem(&error), UnreadableEnvelope::DocumentType),
        "{error:?}"
    );
    assert_unknown(&error);
}

#[tokio::test]
async fn an_undeclared_entity_is_unreadable() {
    let _heap = shared().await;
    let error = void_error(Protocol::Soap11, |v| {
        Reply::xml(
            200,
            v,
            result_xml(v, "<TransactionStatus>&status;</TransactionStatus>"),
        )
    })
    .await;
    assert!(xml_problem(&error).contains("entity"), "{error:?}");
    assert_unknown(&error);
}

// ---------------------------------------------------------------------------------------------
// Size

/// Streams an answer whose `TransactionStatus` holds 64 MiB of text, chunked or with its
/// length declared, until the client stops reading. Returns the bytes written and a flag set
/// once the server gave up.
async fn endless_text_server(chunked: bool) -> (RawServer, Arc<AtomicUsize>, Arc<AtomicBool>) {
    const TEXT: usize = 64 * MIB;
    let written = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let (written2, done2) = (written.clone(), done.clone());
    let server = RawServer::start(move |mut connection: RawConnection| {
        let (written, done) = (written2.clone(), done2.clone());
        async move {
            if connection.read_request().await.is_some() {
                let body = result_xml(Version::Soap11, "<TransactionStatus>@</TransactionStatus>");
                let (before, after) = body.split_once('@').expect("marker");
                let length = (before.len() + TEXT + after.len()).to_string();
                let head = if chunked {
                    raw_response(
                        "200 OK",
                        &[
                            ("Content-Type", "text/xml; charset=utf-8"),
                            ("Transfer-Encoding", "chunked"),
                        ],
                        b"",
                    )
                } else {
                    raw_response(
                        "200 OK",
                        &[
                            ("Content-Type", "text/xml; charset=utf-8"),
                            ("Content-Length", &length),
                        ],
                        b"",
                    )
                };
                let frame = |data: &[u8]| if chunked { chunk(data) } else { data.to_vec() };
                let block = frame(&[b'C'; 64 * 1024]);
                let mut ok = connection.write(&head).await.is_ok()
                    && connection.write(&frame(before.as_bytes())).await.is_ok();
                let mut sent = 0;
                while ok && sent < TEXT {
                    ok = connection.write(&block).await.is_ok();
                    if ok {
                        sent += 64 * 1024;
                        written.fetch_add(block.len(), Ordering::SeqCst);
                    }
                }
                if ok {
                    let _ = connection.write(&frame(after.as_bytes())).await;
                    if chunked {
                        let _ = connection.write(b"0\r\n\r\n").await;
                    }
                }
            }
            done.store(true, Ordering::SeqCst);
        }
    })
    .await;
    (server, written, done)
}

async fn a_64_mib_text_node_is_refused_by_the_cap(chunked: bool) {
    let _heap = alone().await;
    let (server, written, done) = endless_text_server(chunked).await;
    let (result, growth) =
        peak_growth(void_at(&server.url, &server.ca_path, Protocol::Soap11)).await;
    let error = result.expect_err("64 MiB cannot be a success");
    assert!(
        matches!(
            problem(&error),
            ResponseProblem::TooLarge { limit } if *limit == MIB
        ),
        "{error:?}"
    );
    assert_unknown(&error);
    // The client kept at most the cap (and its own buffers), never the 64 MiB.
    assert!(growth < 16 * MIB, "the heap grew by {growth} bytes");
    // The client hung up: the server could not write the whole text.
    bounded(async {
        while !done.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    let written = written.load(Ordering::SeqCst);
    assert!(written < 32 * MIB, "the server wrote {written} bytes");
}

#[tokio::test]
async fn a_64_mib_text_node_with_its_length_declared_is_refused_unread() {
    a_64_mib_text_node_is_refused_by_the_cap(false).await;
}

#[tokio::test]
async fn a_64_mib_chunked_text_node_is_cut_at_the_cap() {
    a_64_mib_text_node_is_refused_by_the_cap(true).await;
}

/// A voided answer padded with trailing white space to exactly `size` bytes.
fn padded_voided(size: usize) -> Vec<u8> {
    let mut body = voided(Version::Soap11).into_bytes();
    assert!(body.len() <= size);
    body.resize(size, b' ');
    body
}

#[tokio::test]
async fn the_size_cap_holds_to_the_byte_with_a_declared_length() {
    let _heap = shared().await;
    const CAP: usize = 16 * 1024;
    for (size, fits) in [(CAP, true), (CAP + 1, false)] {
        let server =
            Server::start(move |_| Reply::xml(200, Version::Soap11, padded_voided(size))).await;
        let client = builder(&server.url, &server.ca_path, Protocol::Soap11)
            .max_response_bytes(CAP)
            .build()
            .unwrap();
        match void_with(&client).await {
            Ok(receipt) => assert!(fits, "{size} bytes read under a cap of {CAP}: {receipt:?}"),
            Err(error) => {
                assert!(!fits, "{size} bytes refused: {}", error.report());
                assert!(
                    matches!(problem(&error), ResponseProblem::TooLarge { limit: CAP }),
                    "{error:?}"
                );
                assert_unknown(&error);
            }
        }
    }
}

#[tokio::test]
async fn the_size_cap_holds_to_the_byte_without_a_length() {
    let _heap = shared().await;
    const CAP: usize = 16 * 1024;
    for (size, fits) in [(CAP, true), (CAP + 1, false)] {
        let server = RawServer::start(move |mut connection: RawConnection| async move {
            if connection.read_request().await.is_some() {
                let body = padded_voided(size);
                let mut bytes = raw_response(
                    "200 OK",
                    &[
                        ("Content-Type", "text/xml; charset=utf-8"),
                        ("Transfer-Encoding", "chunked"),
                    ],
                    b"",
                );
                for part in body.chunks(1000) {
                    bytes.extend_from_slice(&chunk(part));
                }
                bytes.extend_from_slice(b"0\r\n\r\n");
                let _ = connection.write(&bytes).await;
                connection.wait_for_close().await;
            }
        })
        .await;
        let client = builder(&server.url, &server.ca_path, Protocol::Soap11)
            .max_response_bytes(CAP)
            .build()
            .unwrap();
        match void_with(&client).await {
            Ok(receipt) => assert!(fits, "{size} bytes read under a cap of {CAP}: {receipt:?}"),
            Err(error) => {
                assert!(!fits, "{size} bytes refused: {}", error.report());
                assert!(
                    matches!(problem(&error), ResponseProblem::TooLarge { limit: CAP }),
                    "{error:?}"
                );
                assert_unknown(&error);
            }
        }
    }
}

#[tokio::test]
async fn an_nvp_answer_over_the_cap_is_refused_too() {
    let _heap = shared().await;
    let server = Server::start(|_| {
        let mut body = "transactionStatus=C&primaryTransactionStatus=V&responseMessage=".to_owned();
        body.push_str(&"A".repeat(2 * MIB));
        Reply::new(200, "application/x-www-form-urlencoded", body)
    })
    .await;
    let error = void_at(&server.url, &server.ca_path, Protocol::Nvp)
        .await
        .expect_err("too large");
    assert!(
        matches!(problem(&error), ResponseProblem::TooLarge { limit } if *limit == MIB),
        "{error:?}"
    );
    assert_unknown(&error);
}

// ---------------------------------------------------------------------------------------------
// Structure

#[tokio::test]
async fn a_hundred_thousand_deep_nesting_neither_overflows_nor_succeeds() {
    let _heap = shared().await;
    let deep = format!("{}{}", "<x>".repeat(100_000), "</x>".repeat(100_000));
    let in_result = {
        let deep = deep.clone();
        move |v: Version| {
            result_xml(
                v,
                &format!(
                    "<TransactionStatus>C</TransactionStatus>{PAYMENT_FIELDS}\
                          <PrimaryTransactionStatus>V</PrimaryTransactionStatus>{deep}"
                ),
            )
        }
    };
    let in_header = {
        let deep = deep.clone();
        move |v: Version| {
            let p = if v == Version::Soap11 {
                "soap"
            } else {
                "soap12"
            };
            voided(v).replacen(
                &format!("<{p}:Body>"),
                &format!("<{p}:Header>{deep}</{p}:Header><{p}:Body>"),
                1,
            )
        }
    };
    let in_detail = {
        let deep = deep.clone();
        move |v: Version| fault(v, false, "Server error", &deep)
    };
    type Make = Box<dyn Fn(Version) -> String + Send + Sync>;
    let cases: Vec<(&str, Make)> = vec![
        ("result", Box::new(in_result)),
        ("header", Box::new(in_header)),
        ("fault detail", Box::new(in_detail)),
    ];
    for (place, make) in cases {
        let make = Arc::new(make);
        for protocol in [Protocol::Soap11, Protocol::Soap12] {
            let make = make.clone();
            let error = void_error(protocol, move |v| Reply::xml(500, v, make(v))).await;
            assert!(xml_problem(&error).contains("deeper"), "{place}: {error:?}");
            assert_unknown(&error);
        }
    }
    // Deep from the very root: not even an envelope.
    let error = void_error(Protocol::Soap11, move |v| Reply::xml(200, v, deep.clone())).await;
    assert!(
        matches!(
            envelope_problem(&error),
            UnreadableEnvelope::NotAnEnvelope { .. }
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn truncated_xml_is_unreadable_wherever_it_stops() {
    let _heap = shared().await;
    let whole = voided(Version::Soap11);
    for keep in [
        whole.find("<soap:Body").unwrap() + 3,
        whole.find("<TransactionStatus>").unwrap() + 20,
        whole.find("</DoCreditCardSecondaryVoidResult>").unwrap(),
        whole.find("</soap:Body>").unwrap(),
        whole.len() - 3,
    ] {
        let cut = whole[..keep].to_owned();
        let error = void_error(Protocol::Soap11, move |v| Reply::xml(200, v, cut.clone())).await;
        let _ = xml_problem(&error);
        assert_unknown(&error);
    }
}

#[tokio::test]
async fn a_duplicated_result_element_is_refused() {
    let _heap = shared().await;
    for (first, second) in [("D", "C"), ("C", "D"), ("C", "C")] {
        let error = void_error(Protocol::Soap11, move |v| {
            let result = |status: &str| {
                format!(
                    "<DoCreditCardSecondaryVoidResult><TransactionStatus>{status}</TransactionStatus>\
                     {PAYMENT_FIELDS}<PrimaryTransactionStatus>V</PrimaryTransactionStatus>\
                     </DoCreditCardSecondaryVoidResult>"
                )
            };
            let body = format!(
                "<DoCreditCardSecondaryVoidResponse xmlns=\"{TNS}\">{}{}</DoCreditCardSecondaryVoidResponse>",
                result(first),
                result(second)
            );
            Reply::xml(200, v, envelope(v, &body))
        })
        .await;
        assert!(
            xml_problem(&error).contains("more than once"),
            "{first}/{second}: {error:?}"
        );
        assert_unknown(&error);
    }
}

#[tokio::test]
async fn a_transaction_status_given_twice_is_refused() {
    let _heap = shared().await;
    let cases = [
        "<TransactionStatus>D</TransactionStatus><TransactionStatus>C</TransactionStatus>",
        "<TransactionStatus>C</TransactionStatus><TransactionStatus>D</TransactionStatus>",
        "<TransactionStatus xsi:nil=\"true\"/><TransactionStatus>C</TransactionStatus>",
        "<TransactionStatus>C</TransactionStatus><ResponseMessage>x</ResponseMessage>\
         <TransactionStatus>C</TransactionStatus>",
    ];
    for statuses in cases {
        let error = void_error(Protocol::Soap12, move |v| {
            Reply::xml(
                200,
                v,
                result_xml(
                    v,
                    &format!(
                        "{statuses}{PAYMENT_FIELDS}<PrimaryTransactionStatus>V</PrimaryTransactionStatus>"
                    ),
                ),
            )
        })
        .await;
        assert!(
            xml_problem(&error).contains("more than once"),
            "{statuses}: {error:?}"
        );
        assert_unknown(&error);
    }
}

#[tokio::test]
async fn a_result_for_another_operation_is_unexpected() {
    let _heap = shared().await;
    let error = void_error(Protocol::Soap11, |v| {
        let body = format!(
            "<DoCreditCardSaleResponse xmlns=\"{TNS}\"><DoCreditCardSaleResult>\
             <TransactionStatus>C</TransactionStatus><PrimaryTransactionStatus>V</PrimaryTransactionStatus>\
             </DoCreditCardSaleResult></DoCreditCardSaleResponse>"
        );
        Reply::xml(200, v, envelope(v, &body))
    })
    .await;
    match envelope_problem(&error) {
        UnreadableEnvelope::UnexpectedElement { expected, found } => {
            assert!(
                expected.ends_with("}DoCreditCardSecondaryVoidResponse"),
                "{expected}"
            );
            assert!(found.ends_with("}DoCreditCardSaleResponse"), "{found}");
        }
        other => panic!("{other:?}"),
    }
    assert_unknown(&error);
}

#[tokio::test]
async fn a_wrong_envelope_namespace_is_not_an_envelope() {
    let _heap = shared().await;
    for namespace in ["http://example.org/not-soap/", ""] {
        let error = void_error(Protocol::Soap11, move |v| {
            let body = voided(v).replace(v.envelope_ns(), namespace);
            Reply::xml(200, v, body)
        })
        .await;
        match envelope_problem(&error) {
            UnreadableEnvelope::NotAnEnvelope { found } => {
                assert!(found.ends_with("Envelope"), "{found}")
            }
            // An empty namespace name undeclares the prefix: the reader refuses it.
            UnreadableEnvelope::Xml(_) if namespace.is_empty() => {}
            other => panic!("{namespace:?}: {other:?}"),
        }
        assert_unknown(&error);
    }
}

#[tokio::test]
async fn an_answer_in_the_other_soap_version_is_a_version_mismatch() {
    let _heap = shared().await;
    for (protocol, asked, answered) in [
        (Protocol::Soap11, "SOAP 1.1", Version::Soap12),
        (Protocol::Soap12, "SOAP 1.2", Version::Soap11),
    ] {
        let error = void_error(protocol, move |_| {
            Reply::xml(200, answered, voided(answered))
        })
        .await;
        match envelope_problem(&error) {
            UnreadableEnvelope::VersionMismatch { expected, found } => {
                assert_eq!(expected.to_string(), asked);
                assert_ne!(found, expected);
            }
            other => panic!("{other:?}"),
        }
        assert_unknown(&error);
    }
}

#[tokio::test]
async fn text_in_the_body_is_unreadable() {
    let _heap = shared().await;
    for body in ["voided", "ok <DoCreditCardSecondaryVoidResponse/>"] {
        let error = void_error(Protocol::Soap11, move |v| {
            Reply::xml(200, v, envelope(v, body))
        })
        .await;
        assert!(xml_problem(&error).contains("text"), "{error:?}");
        assert_unknown(&error);
    }
}

#[tokio::test]
async fn a_fault_in_a_header_is_not_the_answer() {
    let _heap = shared().await;
    // A Fault is a fault only as the Body's child; a header block is passed over.
    let receipt = void_receipt(Protocol::Soap11, |v| {
        let body = voided(v).replacen(
            "<soap:Body>",
            "<soap:Header><soap:Fault><faultcode>soap:Server</faultcode>\
             <faultstring>not here</faultstring></soap:Fault></soap:Header><soap:Body>",
            1,
        );
        Reply::xml(200, v, body)
    })
    .await;
    assert_eq!(receipt.transaction_status, "C");
}

// ---------------------------------------------------------------------------------------------
// Encodings

#[tokio::test]
async fn non_utf8_bytes_are_refused_even_where_nothing_reads_them() {
    let _heap = shared().await;
    for fields in [
        "<TransactionStatus>C\u{0}</TransactionStatus>",
        "<TransactionStatus>C</TransactionStatus><Note>@</Note>",
        "<TransactionStatus>C</TransactionStatus><!-- @ -->",
    ] {
        let error = void_error(Protocol::Soap11, move |v| {
            let text = result_xml(
                v,
                &format!(
                    "{fields}{PAYMENT_FIELDS}<PrimaryTransactionStatus>V</PrimaryTransactionStatus>"
                ),
            );
            // A lone continuation byte, and a Latin-1 "é", where the marker is.
            let bytes = text
                .replace('\u{0}', "@")
                .into_bytes()
                .into_iter()
                .flat_map(|b| if b == b'@' { vec![0x80, 0xE9] } else { vec![b] })
                .collect::<Vec<u8>>();
            Reply::xml(200, v, bytes)
        })
        .await;
        assert!(
            matches!(envelope_problem(&error), UnreadableEnvelope::NotUtf8),
            "{fields}: {error:?}"
        );
        assert_unknown(&error);
    }
}

fn utf16(text: &str, big_endian: bool, bom: bool) -> Vec<u8> {
    let mut out = Vec::new();
    if bom {
        out.extend_from_slice(if big_endian {
            &[0xFE, 0xFF]
        } else {
            &[0xFF, 0xFE]
        });
    }
    for unit in text.encode_utf16() {
        out.extend_from_slice(&if big_endian {
            unit.to_be_bytes()
        } else {
            unit.to_le_bytes()
        });
    }
    out
}

#[tokio::test]
async fn utf16_answers_are_refused_clearly() {
    // Decision: the client reads UTF-8 only (ASP.NET answers in UTF-8). A UTF-16 document,
    // however correct, is refused as not UTF-8 rather than half-read.
    let _heap = shared().await;
    for big_endian in [false, true] {
        let error = void_error(Protocol::Soap11, move |v| {
            let text = voided(v).replace("utf-8", "utf-16");
            Reply::new(
                200,
                "text/xml; charset=utf-16",
                utf16(&text, big_endian, true),
            )
        })
        .await;
        assert!(
            matches!(envelope_problem(&error), UnreadableEnvelope::NotUtf8),
            "{error:?}"
        );
        assert!(error.report().to_string().contains("not UTF-8"));
        assert_unknown(&error);
    }
    // Without a byte order mark the NULs are valid UTF-8, but no envelope is found.
    let error = void_error(Protocol::Soap11, |v| {
        Reply::xml(
            200,
            v,
            utf16(&voided(v).replace("utf-8", "utf-16"), false, false),
        )
    })
    .await;
    let _ = envelope_problem(&error);
    assert_unknown(&error);
}

#[tokio::test]
async fn a_utf8_bom_comments_and_processing_instructions_before_the_envelope_are_fine() {
    let _heap = shared().await;
    let receipt = void_receipt(Protocol::Soap12, |v| {
        let body = voided(v).replacen(
            "?>",
            "?>\r\n<!-- generated by a proxy -->\n<?proxy id=\"7\"?>\n  ",
            1,
        );
        let mut bytes = b"\xEF\xBB\xBF".to_vec();
        bytes.extend_from_slice(body.as_bytes());
        bytes.extend_from_slice(b"\n<!-- trailing comment -->\n");
        Reply::xml(200, v, bytes)
    })
    .await;
    assert_eq!(receipt.primary_transaction_status, "V");
}

// ---------------------------------------------------------------------------------------------
// Field values

#[tokio::test]
async fn statuses_in_cdata_character_references_or_another_case_are_read_as_written() {
    // The document means C and V in each case, so each is a success. Case and surrounding
    // white space are the domain layer's choice: InstaMed's statuses are single letters, read
    // case-blind and trimmed.
    let _heap = shared().await;
    for (status, primary) in [
        ("<![CDATA[C]]>", "V"),
        ("&#67;", "&#x56;"),
        ("\n  c  \n", " v "),
        ("C<!-- comment -->", "<![CDATA[V]]>"),
    ] {
        let receipt = void_receipt(Protocol::Soap11, move |v| {
            Reply::xml(
                200,
                v,
                result_xml(
                    v,
                    &format!(
                        "<TransactionStatus>{status}</TransactionStatus>{PAYMENT_FIELDS}\
                         <PrimaryTransactionStatus>{primary}</PrimaryTransactionStatus>"
                    ),
                ),
            )
        })
        .await;
        assert!(
            receipt.transaction_status.eq_ignore_ascii_case("C"),
            "{receipt:?}"
        );
        assert!(receipt.primary_transaction_status.eq_ignore_ascii_case("V"));
    }
}

#[tokio::test]
async fn a_nil_transaction_status_is_a_missing_one_not_a_decline() {
    let _heap = shared().await;
    for status in [
        "<TransactionStatus xsi:nil=\"true\"/>",
        "<TransactionStatus xsi:nil=\"1\"></TransactionStatus>",
    ] {
        let error = void_error(Protocol::Soap11, move |v| {
            Reply::xml(
                200,
                v,
                result_xml(
                    v,
                    &format!("{status}{PAYMENT_FIELDS}<PrimaryTransactionStatus>V</PrimaryTransactionStatus>"),
                ),
            )
        })
        .await;
        assert!(
            matches!(problem(&error), ResponseProblem::Inconsistent(why) if why.contains("no TransactionStatus")),
            "{status}: {error:?}"
        );
        assert_unknown(&error);
    }
}

#[tokio::test]
async fn a_status_element_holding_markup_is_unreadable() {
    let _heap = shared().await;
    let error = void_error(Protocol::Soap11, |v| {
        Reply::xml(
            200,
            v,
            result_xml(
                v,
                &format!(
                    "<TransactionStatus><b>C</b></TransactionStatus>{PAYMENT_FIELDS}\
                     <PrimaryTransactionStatus>V</PrimaryTransactionStatus>"
                ),
            ),
        )
    })
    .await;
    assert!(xml_problem(&error).contains("inside the text"), "{error:?}");
    assert_unknown(&error);
}

#[tokio::test]
async fn unknown_elements_in_the_result_are_passed_over() {
    // Forward compatibility: fields the service adds later must not break a void. A status in
    // another namespace is such an unknown element, never the status.
    let _heap = shared().await;
    let receipt = void_receipt(Protocol::Soap12, |v| {
        Reply::xml(
            200,
            v,
            result_xml(
                v,
                &format!(
                    "<NewField a=\"1\">x</NewField><NewField/>\
                     <Wrapper><Inner><Deeper>1</Deeper></Inner><TransactionStatus>D</TransactionStatus></Wrapper>\
                     <TransactionStatus xmlns=\"urn:other\">D</TransactionStatus>\
                     <TransactionStatus extra=\"ignored\">C</TransactionStatus>{PAYMENT_FIELDS}\
                     <PrimaryTransactionStatus>V</PrimaryTransactionStatus><Trailer/>"
                ),
            ),
        )
    })
    .await;
    assert_eq!(receipt.transaction_status, "C");
    assert_eq!(receipt.primary_transaction_status, "V");
}

// ---------------------------------------------------------------------------------------------
// Faults

#[tokio::test]
async fn a_fault_without_a_reason_is_still_a_fault() {
    let _heap = shared().await;
    for protocol in [Protocol::Soap11, Protocol::Soap12] {
        let error = void_error(protocol, |v| {
            let body = match v {
                Version::Soap11 => "<soap:Fault><faultcode>soap:Server</faultcode></soap:Fault>",
                Version::Soap12 => {
                    "<soap12:Fault><soap12:Code><soap12:Value>soap12:Receiver</soap12:Value>\
                     </soap12:Code></soap12:Fault>"
                }
            };
            Reply::xml(500, v, envelope(v, body))
        })
        .await;
        match &error {
            Error::Fault(fault) => {
                assert_eq!(fault.code, FaultCode::Receiver);
                assert_eq!(fault.reason, None);
            }
            other => panic!("{protocol}: {other:?}"),
        }
        // A Receiver fault may hide a void that happened.
        assert_unknown(&error);
    }
}

#[tokio::test]
async fn a_fault_without_a_code_is_unreadable() {
    let _heap = shared().await;
    for protocol in [Protocol::Soap11, Protocol::Soap12] {
        for body in [
            "<p:Fault/>",
            "<p:Fault><faultstring>Transaction has already been voided.</faultstring></p:Fault>",
            "<p:Fault><p:Reason><p:Text>Transaction has already been voided.</p:Text></p:Reason></p:Fault>",
            "<p:Fault><faultcode> </faultcode><p:Code><p:Value/></p:Code></p:Fault>",
        ] {
            let error = void_error(protocol, move |v| {
                let p = if v == Version::Soap11 {
                    "soap"
                } else {
                    "soap12"
                };
                Reply::xml(500, v, envelope(v, &body.replace("p:", &format!("{p}:"))))
            })
            .await;
            assert!(
                matches!(
                    envelope_problem(&error),
                    UnreadableEnvelope::IncompleteFault { .. }
                ),
                "{protocol} {body}: {error:?}"
            );
            assert_unknown(&error);
        }
    }
}

#[tokio::test]
async fn a_huge_fault_is_cut_to_a_few_kilobytes() {
    let _heap = shared().await;
    let long = "x".repeat(400 * 1024);
    for protocol in [Protocol::Soap11, Protocol::Soap12] {
        let long = long.clone();
        let error = void_error(protocol, move |v| {
            Reply::xml(
                500,
                v,
                fault(v, true, &long, &format!("<Trace>{long}</Trace>")),
            )
        })
        .await;
        match &error {
            Error::Fault(fault) => {
                let reason = fault.reason.as_deref().unwrap_or_default();
                assert!(
                    reason.len() <= 4100 && reason.ends_with('…'),
                    "{}",
                    reason.len()
                );
                assert_eq!(fault.detail.len(), 1);
                let detail = &fault.detail[0].text;
                assert!(
                    detail.len() <= 4100 && detail.ends_with('…'),
                    "{}",
                    detail.len()
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(error.report().to_string().len() < 16 * 1024);
        assert_known(&error);
    }
}

#[tokio::test]
async fn a_fault_detail_of_half_a_million_elements_is_read_in_linear_time() {
    let _heap = shared().await;
    let leaves = "<a/>".repeat(500_000);
    let server = Server::start(move |exchange| {
        let v = version_of(exchange);
        Reply::xml(500, v, fault(v, false, "Server error", &leaves))
    })
    .await;
    let client = builder(&server.url, &server.ca_path, Protocol::Soap11)
        .max_response_bytes(4 * MIB)
        .build()
        .unwrap();
    let started = Instant::now();
    let error = void_with(&client).await.expect_err("a fault");
    // Quadratic work over half a million leaves takes tens of seconds; linear work takes well under a second.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    match &error {
        Error::Fault(fault) => {
            assert_eq!(fault.detail.len(), MAX_DETAIL_ENTRIES);
            assert!(fault.detail.iter().all(|entry| entry.name == "a"));
        }
        other => panic!("{other:?}"),
    }
    assert_unknown(&error);
}

#[tokio::test]
async fn a_fault_that_comes_with_http_200_is_still_a_fault() {
    let _heap = shared().await;
    let error = void_error(Protocol::Soap12, |v| {
        Reply::xml(
            200,
            v,
            fault(v, false, "Internal error", "<ErrorCode>9</ErrorCode>"),
        )
    })
    .await;
    assert!(matches!(error, Error::Fault(_)), "{error:?}");
    assert_unknown(&error);
}

// ---------------------------------------------------------------------------------------------
// HTTP answers that are not SOAP answers

#[tokio::test]
async fn html_error_pages_are_never_results() {
    let _heap = shared().await;
    let page = "<!DOCTYPE html><html><head><title>Runtime Error</title></head>\
                <body><h1>Server Error in '/payment' Application.</h1></body></html>";
    for protocol in [Protocol::Soap11, Protocol::Soap12, Protocol::Nvp] {
        let error = void_error(protocol, move |_| {
            Reply::new(200, "text/html; charset=utf-8", page)
        })
        .await;
        assert!(
            matches!(problem(&error), ResponseProblem::Html),
            "{protocol}: {error:?}"
        );
        assert_unknown(&error);

        // Every 5xx may come after the service acted; a 4xx rejected the request.
        for (status, unknown) in [(500, true), (502, true), (503, true), (404, false)] {
            let error = void_error(protocol, move |_| Reply::new(status, "text/html", page)).await;
            match &error {
                Error::HttpStatus {
                    status: got,
                    body_excerpt,
                } => {
                    assert_eq!(*got, status);
                    assert!(body_excerpt.contains("Runtime Error"), "{body_excerpt}");
                }
                other => panic!("{protocol} {status}: {other:?}"),
            }
            assert_eq!(error.outcome_unknown(), unknown, "{protocol} {status}");
        }
    }
    // An HTML page labelled as XML is no envelope either.
    let error = void_error(Protocol::Soap11, |v| {
        Reply::xml(
            200,
            v,
            "<html><body><p>Service Unavailable</p></body></html>",
        )
    })
    .await;
    assert!(
        matches!(
            envelope_problem(&error),
            UnreadableEnvelope::NotAnEnvelope { .. }
        ),
        "{error:?}"
    );
    assert_unknown(&error);
}

#[tokio::test]
async fn empty_answers_are_never_a_success() {
    let _heap = shared().await;
    for protocol in [Protocol::Soap11, Protocol::Soap12, Protocol::Nvp] {
        for status in [200, 202, 204] {
            let error = void_error(protocol, move |v| Reply::xml(status, v, "")).await;
            assert!(
                matches!(problem(&error), ResponseProblem::Empty),
                "{protocol} {status}: {error:?}"
            );
            assert_unknown(&error);
        }
        let error = void_error(protocol, |v| Reply::xml(500, v, "")).await;
        assert!(
            matches!(error, Error::HttpStatus { status: 500, .. }),
            "{error:?}"
        );
        assert_unknown(&error);
    }
    // Chunked with no chunk at all, and white space only.
    for body in [&b"0\r\n\r\n"[..], &b"3\r\n \r\n\r\n0\r\n\r\n"[..]] {
        let server = RawServer::start(move |mut connection: RawConnection| async move {
            if connection.read_request().await.is_some() {
                let mut bytes = raw_response(
                    "200 OK",
                    &[
                        ("Content-Type", "text/xml"),
                        ("Transfer-Encoding", "chunked"),
                    ],
                    b"",
                );
                bytes.extend_from_slice(body);
                let _ = connection.write(&bytes).await;
                connection.wait_for_close().await;
            }
        })
        .await;
        let error = raw_void_error(&server).await;
        assert!(
            matches!(
                problem(&error),
                ResponseProblem::Empty | ResponseProblem::Envelope(_)
            ),
            "{error:?}"
        );
        assert_unknown(&error);
    }
}

#[tokio::test]
async fn a_result_that_comes_with_an_error_status_is_not_a_success() {
    let _heap = shared().await;
    for status in [400, 500] {
        let error = void_error(Protocol::Soap11, move |v| Reply::xml(status, v, voided(v))).await;
        assert!(
            matches!(problem(&error), ResponseProblem::Inconsistent(why) if why.contains(&status.to_string())),
            "{error:?}"
        );
        assert_unknown(&error);
    }
}

#[tokio::test]
async fn a_media_type_that_is_not_xml_is_refused() {
    let _heap = shared().await;
    for content_type in ["application/json", "text/plain", ""] {
        let server = Server::start(move |exchange| {
            let mut reply = Reply::new(200, content_type, voided(version_of(exchange)));
            if content_type.is_empty() {
                reply.headers.clear();
            }
            reply
        })
        .await;
        let error = void_at(&server.url, &server.ca_path, Protocol::Soap11)
            .await
            .expect_err("not XML");
        assert!(
            matches!(problem(&error), ResponseProblem::ContentType(found) if found == content_type),
            "{error:?}"
        );
        assert_unknown(&error);
    }
}

#[tokio::test]
async fn a_content_encoding_the_client_did_not_ask_for_is_refused() {
    let _heap = shared().await;
    // The first bytes of a gzip stream: the client never tries to inflate it.
    let gzip = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xb3\x29\x4e\x4c\xcb\x4c\x2d\x02\x00";
    for (protocol, coding) in [
        (Protocol::Soap11, "gzip"),
        (Protocol::Soap12, "br"),
        (Protocol::Nvp, "deflate"),
    ] {
        let error = void_error(protocol, move |v| {
            Reply::xml(200, v, gzip.to_vec()).header("content-encoding", coding)
        })
        .await;
        assert!(
            matches!(problem(&error), ResponseProblem::ContentEncoding(found) if found == coding),
            "{error:?}"
        );
        assert_unknown(&error);
    }
    // `identity` is no coding at all.
    let receipt = void_receipt(Protocol::Soap11, |v| {
        Reply::xml(200, v, voided(v)).header("content-encoding", "identity")
    })
    .await;
    assert_eq!(receipt.transaction_status, "C");
}

#[tokio::test]
async fn redirects_are_never_followed() {
    let _heap = shared().await;
    // Where the redirects point: it would void happily, if anyone came.
    let elsewhere = Server::start(|exchange| {
        Reply::xml(200, version_of(exchange), voided(version_of(exchange)))
    })
    .await;
    for protocol in [Protocol::Soap11, Protocol::Nvp] {
        for status in [301, 302, 303, 307, 308] {
            let location = format!(
                "https://127.0.0.1:{}/payment/service.asmx",
                elsewhere.addr.port()
            );
            let error = void_error(protocol, move |_| {
                Reply::new(
                    status,
                    "text/html",
                    "<html><body>Object moved</body></html>",
                )
                .header("location", &location)
            })
            .await;
            match &error {
                Error::HttpStatus { status: got, .. } => assert_eq!(*got, status),
                other => panic!("{protocol} {status}: {other:?}"),
            }
            assert_known(&error);
        }
    }
    assert_eq!(elsewhere.connections(), 0, "a redirect was followed");
    assert!(elsewhere.requests().is_empty());
}

// ---------------------------------------------------------------------------------------------
// Connections that fail

#[tokio::test]
async fn a_connection_lost_before_the_tls_handshake_is_a_failure_with_nothing_sent() {
    let _heap = shared().await;
    type Reaction = fn(tokio::net::TcpStream) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>>;
    let reactions: [(&str, Reaction); 3] = [
        ("reset", |tcp| {
            Box::pin(async move {
                let _ = tcp.set_zero_linger();
            })
        }),
        ("closed", |tcp| Box::pin(async move { drop(tcp) })),
        ("garbage", |mut tcp| {
            Box::pin(async move {
                use tokio::io::AsyncWriteExt;
                let _ = tcp.write_all(b"SSH-2.0-OpenSSH_9.6\r\n").await;
            })
        }),
    ];
    for (what, reaction) in reactions {
        let server = RawServer::start_tcp(reaction).await;
        let error = raw_void_error(&server).await;
        assert!(
            matches!(error, Error::Connect { .. } | Error::Tls { .. }),
            "{what}: {}",
            error.report()
        );
        assert_known(&error);
        assert_eq!(server.handshakes(), 0);
        assert!(server.requests().is_empty());
    }
}

#[tokio::test]
async fn a_connection_lost_after_the_request_leaves_the_outcome_unknown() {
    let _heap = shared().await;
    for how in ["closed", "reset", "dropped"] {
        let server = RawServer::start(move |mut connection: RawConnection| async move {
            if connection.read_request().await.is_some() {
                match how {
                    "closed" => connection.close().await,
                    "reset" => connection.reset(),
                    _ => connection.drop_connection(),
                }
            }
        })
        .await;
        let error = raw_void_error(&server).await;
        assert_lost_after_sending(&error);
        assert_eq!(server.requests().len(), 1, "{how}");
    }
}

#[tokio::test]
async fn a_connection_closed_unread_after_the_handshake_leaves_the_outcome_unknown() {
    let _heap = shared().await;
    // The server takes the connection, lets the request arrive, and closes without reading it:
    // the client cannot tell whether it was processed.
    let server = RawServer::start(|connection: RawConnection| async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        connection.reset();
    })
    .await;
    let error = raw_void_error(&server).await;
    assert_lost_after_sending(&error);
    assert_eq!(server.handshakes(), 1);
}

#[tokio::test]
async fn a_body_that_stops_before_its_declared_length_is_a_lost_answer() {
    let _heap = shared().await;
    for clean_close in [true, false] {
        let server = RawServer::start(move |mut connection: RawConnection| async move {
            if connection.read_request().await.is_some() {
                let body = voided(Version::Soap11);
                let head = raw_response(
                    "200 OK",
                    &[
                        ("Content-Type", "text/xml; charset=utf-8"),
                        ("Content-Length", &body.len().to_string()),
                    ],
                    b"",
                );
                // Everything that matters is there; only the closing tags are missing.
                let cut = body.find("</soap:Body>").unwrap();
                let _ = connection.write(&head).await;
                let _ = connection.write(&body.as_bytes()[..cut]).await;
                if clean_close {
                    connection.close().await;
                } else {
                    connection.drop_connection();
                }
            }
        })
        .await;
        let error = raw_void_error(&server).await;
        assert_lost_after_sending(&error);
    }
}

#[tokio::test]
async fn a_chunked_body_cut_before_its_last_chunk_is_a_lost_answer() {
    let _heap = shared().await;
    let server = RawServer::start(|mut connection: RawConnection| async move {
        if connection.read_request().await.is_some() {
            let mut bytes = raw_response(
                "200 OK",
                &[
                    ("Content-Type", "text/xml"),
                    ("Transfer-Encoding", "chunked"),
                ],
                b"",
            );
            // The whole envelope, but never the terminating zero-length chunk.
            bytes.extend_from_slice(&chunk(voided(Version::Soap11).as_bytes()));
            let _ = connection.write(&bytes).await;
            connection.close().await;
        }
    })
    .await;
    let error = raw_void_error(&server).await;
    assert_lost_after_sending(&error);
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_with_the_outcome_unknown() {
    let _heap = shared().await;
    let server = RawServer::start(|mut connection: RawConnection| async move {
        if connection.read_request().await.is_some() {
            connection.hold().await;
        }
    })
    .await;
    let error = raw_void_error(&server).await;
    match &error {
        Error::Timeout { after, sent } => {
            assert_eq!(*after, TIMEOUT);
            assert!(*sent);
        }
        other => panic!("{other:?}"),
    }
    assert!(error.is_timeout());
    assert_unknown(&error);
}

#[tokio::test]
async fn a_body_that_stalls_or_drips_times_out() {
    let _heap = shared().await;
    for drip in [false, true] {
        let server = RawServer::start(move |mut connection: RawConnection| async move {
            if connection.read_request().await.is_some() {
                let body = voided(Version::Soap11);
                let head = raw_response(
                    "200 OK",
                    &[
                        ("Content-Type", "text/xml"),
                        ("Content-Length", &(body.len() + 1_000_000).to_string()),
                    ],
                    b"",
                );
                let _ = connection.write(&head).await;
                let _ = connection.write(&body.as_bytes()[..100]).await;
                if drip {
                    // One byte every 100 ms: always something, never the end.
                    loop {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        if connection.write(b" ").await.is_err() {
                            break;
                        }
                    }
                } else {
                    connection.hold().await;
                }
            }
        })
        .await;
        let error = raw_void_error(&server).await;
        assert!(
            matches!(error, Error::Timeout { sent: true, .. }),
            "drip {drip}: {}",
            error.report()
        );
        assert_unknown(&error);
    }
}

// ---------------------------------------------------------------------------------------------
// Broken and unusual HTTP

fn voided_http(extra_head: &str) -> Vec<u8> {
    let body = voided(Version::Soap11);
    let mut bytes = extra_head.as_bytes().to_vec();
    bytes.extend_from_slice(&raw_response(
        "200 OK",
        &[("Content-Type", "text/xml; charset=utf-8")],
        body.as_bytes(),
    ));
    bytes
}

#[tokio::test]
async fn informational_responses_before_the_answer_are_passed_over() {
    let _heap = shared().await;
    let server = RawServer::start(|mut connection: RawConnection| async move {
        if connection.read_request().await.is_some() {
            let _ = connection
                .write(&voided_http(
                    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\n\r\n",
                ))
                .await;
            connection.wait_for_close().await;
        }
    })
    .await;
    let receipt = void_at(&server.url, &server.ca_path, Protocol::Soap11)
        .await
        .unwrap_or_else(|error| panic!("{}", error.report()));
    assert_eq!(receipt.transaction_status, "C");
}

#[tokio::test]
async fn an_oversized_response_head_is_a_lost_answer() {
    let _heap = shared().await;
    let huge_value = format!("X-Padding: {}\r\n", "p".repeat(MIB));
    let many = (0..1000)
        .map(|i| format!("X-H{i}: {i}\r\n"))
        .collect::<String>();
    for extra in [huge_value, many] {
        let server = RawServer::start(move |mut connection: RawConnection| {
            let extra = extra.clone();
            async move {
                if connection.read_request().await.is_some() {
                    let body = voided(Version::Soap11);
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\n{extra}Content-Length: {}\r\n\r\n",
                        body.len()
                    );
                    let _ = connection.write(head.as_bytes()).await;
                    let _ = connection.write(body.as_bytes()).await;
                    connection.wait_for_close().await;
                }
            }
        })
        .await;
        let error = raw_void_error(&server).await;
        assert_lost_after_sending(&error);
    }
}

#[tokio::test]
async fn a_garbage_status_line_is_a_lost_answer() {
    let _heap = shared().await;
    for garbage in [
        &b"SOAP/1.1 OK\r\n\r\n"[..],
        &b"HTTP/1.1 2OO OK\r\nContent-Length: 0\r\n\r\n"[..],
        &b"\x00\x01\x02\x03\r\n\r\n"[..],
        &b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\nContent-Length: 900\r\n\r\n"[..],
    ] {
        let server = RawServer::start(move |mut connection: RawConnection| async move {
            if connection.read_request().await.is_some() {
                let _ = connection.write(garbage).await;
                connection.wait_for_close().await;
            }
        })
        .await;
        let error = raw_void_error(&server).await;
        assert_lost_after_sending(&error);
    }
}

#[tokio::test]
async fn a_close_delimited_http10_answer_is_read_whole() {
    // The raw server's control case: a correct, if old-fashioned, answer is a success.
    let _heap = shared().await;
    let server = RawServer::start(|mut connection: RawConnection| async move {
        if connection.read_request().await.is_some() {
            let body = voided(Version::Soap11);
            let bytes = format!("HTTP/1.0 200 OK\r\nContent-Type: text/xml\r\n\r\n{body}");
            let _ = connection.write(bytes.as_bytes()).await;
            connection.close().await;
        }
    })
    .await;
    let receipt = void_at(&server.url, &server.ca_path, Protocol::Soap11)
        .await
        .unwrap_or_else(|error| panic!("{}", error.report()));
    assert_eq!(receipt.primary_transaction_status, "V");
}

#[tokio::test]
async fn an_unsolicited_answer_left_on_a_connection_never_answers_the_next_void() {
    let _heap = shared().await;
    // The first answer is followed by a second, unasked one that says STALE. The next void on
    // the same client must read a fresh answer (or fail), never the stale one.
    let served = Arc::new(AtomicUsize::new(0));
    let served2 = served.clone();
    let server = RawServer::start(move |mut connection: RawConnection| {
        let served = served2.clone();
        async move {
            while connection.read_request().await.is_some() {
                let message = if served.fetch_add(1, Ordering::SeqCst) == 0 {
                    "FIRST"
                } else {
                    "FRESH"
                };
                let answer = |message: &str| {
                    let fields: Vec<(&str, &str)> = support::VOIDED
                        .iter()
                        .map(|&(k, v)| (k, if k == "ResponseMessage" { message } else { v }))
                        .collect();
                    raw_response(
                        "200 OK",
                        &[("Content-Type", "text/xml")],
                        void_result(Version::Soap11, &fields).as_bytes(),
                    )
                };
                let mut bytes = answer(message);
                if message == "FIRST" {
                    bytes.extend_from_slice(&answer("STALE"));
                }
                if connection.write(&bytes).await.is_err() {
                    break;
                }
            }
        }
    })
    .await;
    let client = client(&server.url, &server.ca_path, Protocol::Soap11);
    let first = void_with(&client).await.expect("first void");
    assert_eq!(first.response_message.as_deref(), Some("FIRST"));
    tokio::time::sleep(Duration::from_millis(100)).await;
    match void_with(&client).await {
        Ok(receipt) => assert_eq!(receipt.response_message.as_deref(), Some("FRESH")),
        Err(error) => assert!(!error.to_string().contains("STALE"), "{}", error.report()),
    }
}

// ---------------------------------------------------------------------------------------------
// NVP

async fn nvp_error(body: impl Into<Vec<u8>>) -> Error {
    let body = body.into();
    void_error(Protocol::Nvp, move |_| {
        Reply::new(
            200,
            "application/x-www-form-urlencoded; charset=utf-8",
            body.clone(),
        )
    })
    .await
}

#[tokio::test]
async fn nvp_garbage_is_unreadable() {
    let _heap = shared().await;
    for body in [
        &b"\x00\x9f\x92\x96garbage\xff\xfe"[..],
        b"=&&==&",
        b"foo=bar&baz=qux",
        b"<?xml version=\"1.0\"?><string>C</string>",
    ] {
        let error = nvp_error(body).await;
        assert!(
            matches!(
                problem(&error),
                ResponseProblem::Inconsistent(_) | ResponseProblem::Html
            ),
            "{:?}: {error:?}",
            String::from_utf8_lossy(body)
        );
        assert_unknown(&error);
    }
}

#[tokio::test]
async fn an_nvp_error_with_http_200_is_the_service_saying_no() {
    let _heap = shared().await;
    let error = nvp_error("errorCode=400&errorMessage=Invalid+Merchant+ID").await;
    match &error {
        Error::NvpError(answer) => {
            assert_eq!(answer.code.as_deref(), Some("400"));
            assert_eq!(answer.message, "Invalid Merchant ID");
        }
        other => panic!("{other:?}"),
    }
    assert_known(&error);
}

#[tokio::test]
async fn an_nvp_answer_that_contradicts_itself_is_unreadable() {
    let _heap = shared().await;
    for body in [
        // Two statuses: the first would be read, the second ignored.
        "transactionStatus=D&TransactionStatus=C&primaryTransactionStatus=V&primaryTransactionID=EE52401813A74328AAA7D93319FF4383",
        "transactionStatus=C&primaryTransactionStatus=V&primaryTransactionStatus=C",
        // An error that also says the void completed.
        "errorCode=500&errorMessage=Failure&transactionStatus=C&primaryTransactionStatus=V",
        // Bytes that are not UTF-8 inside a status.
        "transactionStatus=C%FF&primaryTransactionStatus=V",
    ] {
        let error = nvp_error(body).await;
        assert!(
            matches!(problem(&error), ResponseProblem::Inconsistent(_)),
            "{body}: {error:?}"
        );
        assert_unknown(&error);
    }
}

#[tokio::test]
async fn an_nvp_success_is_read_whatever_the_key_order() {
    // The control case for the NVP refusals above.
    let _heap = shared().await;
    let server = Server::start(|_| {
        Reply::new(
            200,
            "application/x-www-form-urlencoded",
            "primaryTransactionStatus=V&responseMessage=APPROVED&transactionStatus=C\
             &primaryTransactionID=EE52401813A74328AAA7D93319FF4383\r\n",
        )
    })
    .await;
    let receipt = void_at(&server.url, &server.ca_path, Protocol::Nvp)
        .await
        .unwrap_or_else(|error| panic!("{}", error.report()));
    assert_eq!(receipt.transaction_status, "C");
    assert_eq!(server.requests()[0].path, "/payment/NVP.aspx");
}
