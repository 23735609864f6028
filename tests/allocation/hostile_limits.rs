//! Size caps on answers to a real `client.void(…)` over loopback TLS: 64 MiB text nodes with
//! and without a declared length, the cap to the byte, and NVP answers over it. The process
//! counts its heap (`support/alloc.rs`): the large cases run alone and prove the client never
//! buffered what it refused.

use instamed_soap_test_support as support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use crate::alloc::{alone, peak_growth, shared};
use instamed_soap::{AnswerProblem, Protocol};
use support::hostile::*;
use support::{RawConnection, RawServer, Reply, Server, Version, chunk, raw_response, voided};

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
            AnswerProblem::TooLarge { limit } if *limit == MIB
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
                    matches!(problem(&error), AnswerProblem::TooLarge { limit: CAP }),
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
                    matches!(problem(&error), AnswerProblem::TooLarge { limit: CAP }),
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
        matches!(problem(&error), AnswerProblem::TooLarge { limit } if *limit == MIB),
        "{error:?}"
    );
    assert_unknown(&error);
}
