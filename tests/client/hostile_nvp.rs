//! Hostile NVP answers to a real `client.void(…)` over loopback TLS: garbage, an error under
//! HTTP 200, answers that contradict themselves, and keys in any order.

use instamed_soap_test_support as support;

use instamed_soap::{AnswerProblem, Error, Protocol};
use support::hostile::*;
use support::{Reply, Server};

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
                AnswerProblem::Inconsistent(_) | AnswerProblem::Html
            ),
            "{:?}: {error:?}",
            String::from_utf8_lossy(body)
        );
        assert_unknown(&error);
    }
}

#[tokio::test]
async fn an_nvp_error_with_http_200_is_the_service_saying_no() {
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
            matches!(problem(&error), AnswerProblem::Inconsistent(_)),
            "{body}: {error:?}"
        );
        assert_unknown(&error);
    }
}

#[tokio::test]
async fn an_nvp_success_is_read_whatever_the_key_order() {
    // The control case for the NVP refusals above.
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
