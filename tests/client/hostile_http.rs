//! Hostile and broken HTTP under a real `client.void(…)` over loopback TLS: answers that are not
//! SOAP answers (HTML pages, empty bodies, wrong media types and encodings, redirects),
//! connections lost before and after sending, silent and dripping servers, cut bodies and
//! chunks, informational responses, garbage status lines, unsolicited answers. Each must end in
//! the exact typed error, say rightly whether the outcome is unknown, and come back in bounded
//! time.

use instamed_soap_test_support as support;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use instamed_soap::soap::UnreadableEnvelope;
use instamed_soap::{AnswerProblem, Error, Protocol};
use support::hostile::*;
use support::{
    RawConnection, RawServer, Reply, Server, Version, chunk, error_info, fault, raw_response,
    version_of, void_result, voided,
};

// ---------------------------------------------------------------------------------------------
// HTTP answers that are not SOAP answers

#[tokio::test]
async fn html_error_pages_are_never_results() {
    let page = "<!DOCTYPE html><html><head><title>Runtime Error</title></head>\
                <body><h1>Server Error in '/payment' Application.</h1></body></html>";
    for protocol in [Protocol::Soap11, Protocol::Soap12, Protocol::Nvp] {
        let error = void_error(protocol, move |_| {
            Reply::new(200, "text/html; charset=utf-8", page)
        })
        .await;
        assert!(
            matches!(problem(&error), AnswerProblem::Html),
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
    for protocol in [Protocol::Soap11, Protocol::Soap12, Protocol::Nvp] {
        for status in [200, 202, 204] {
            let error = void_error(protocol, move |v| Reply::xml(status, v, "")).await;
            assert!(
                matches!(problem(&error), AnswerProblem::Empty),
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
                AnswerProblem::Empty | AnswerProblem::Envelope(_)
            ),
            "{error:?}"
        );
        assert_unknown(&error);
    }
}

#[tokio::test]
async fn a_result_that_comes_with_an_error_status_is_not_a_success() {
    for status in [400, 500] {
        let error = void_error(Protocol::Soap11, move |v| Reply::xml(status, v, voided(v))).await;
        assert!(
            matches!(problem(&error), AnswerProblem::Inconsistent(why) if why.contains(&status.to_string())),
            "{error:?}"
        );
        assert_unknown(&error);
    }
}

#[tokio::test]
async fn a_media_type_that_is_not_xml_is_refused() {
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
            matches!(problem(&error), AnswerProblem::ContentType(found) if found == content_type),
            "{error:?}"
        );
        assert_unknown(&error);
    }
}

#[tokio::test]
async fn a_content_encoding_the_client_did_not_ask_for_is_refused() {
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
            matches!(problem(&error), AnswerProblem::ContentEncoding(found) if found == coding),
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

/// A redirect's body is not the service's verdict on the void, whatever it holds: a refusal
/// read from it ("declined, transfer begun") would start a refund, an "already voided" would
/// settle a reconciliation.
#[tokio::test]
async fn a_redirect_carrying_a_refusal_is_never_judged_by_its_body() {
    let refusal = error_info(&[
        ("ResponseCode", "012"),
        ("TransactionStatus", "D"),
        ("PrimaryTransactionStatus", "S"),
    ]);
    for protocol in [Protocol::Soap11, Protocol::Soap12, Protocol::Nvp] {
        for status in [302, 307] {
            let refusal = refusal.clone();
            let error = void_error(protocol, move |v| {
                let reply = if protocol == Protocol::Nvp {
                    Reply::new(
                        status,
                        "text/plain",
                        "errorCode=400&errorMessage=Void not allowed: funds transfer initiated&transactionStatus=D&primaryTransactionStatus=S",
                    )
                } else {
                    Reply::xml(
                        status,
                        v,
                        fault(v, true, "Void not allowed: funds transfer initiated.", &refusal),
                    )
                };
                reply.header("location", "https://127.0.0.1:1/payment/service.asmx")
            })
            .await;
            match &error {
                Error::HttpStatus { status: got, .. } => assert_eq!(*got, status),
                other => panic!("{protocol} {status}: {other:?}"),
            }
            assert_known(&error);
            assert!(!error.is_refusal() && !error.proves_voided(), "{error:?}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Connections that fail

#[tokio::test]
async fn a_connection_lost_before_the_tls_handshake_is_a_failure_with_nothing_sent() {
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
