//! Invariants shared by the fuzz targets. Each target hands its input to one of the `check_*`
//! functions below, which panics (and so makes libFuzzer report a crash) when an invariant does
//! not hold. The invariants are written from the documented behaviour, independently of the
//! code under test: an independent XML parser (roxmltree) says what the document really holds.

use std::sync::OnceLock;

use instamed_soap::bindings::operations::DoCreditCardSecondaryVoid;
use instamed_soap::bindings::types::SecondaryCreditCardVoidResponseData;
use instamed_soap::call::{Call, Route, Wire};
use instamed_soap_contract::{Cassette, matcher};
use instamed_soap::{Credentials, Outlet, Protocol, TransactionId, UserName, VoidRequest};
use instamed_soap::soap::{self, FaultCode, Operation, Answer, SoapFault, SoapVersion};

type Op = DoCreditCardSecondaryVoid;

/// The payment every outcome check voids.
pub const PAYMENT: &str = "C0FFEE00000000000000000000000001";
/// Longest fault text kept (4096 bytes) plus the `…` that marks a cut.
const MAX_FAULT_FIELD: usize = 4096 + '…'.len_utf8();

// ---------------------------------------------------------------------------------------------
// Text helpers

/// The document as text: UTF-8 (BOM allowed) or UTF-16 with a BOM, as an XML parser would
/// read it; `None` for anything else (Latin-1 and friends are not checked structurally).
pub fn as_text(data: &[u8]) -> Option<String> {
    if let Some(rest) = data.strip_prefix(b"\xEF\xBB\xBF") {
        return std::str::from_utf8(rest).ok().map(str::to_owned);
    }
    let utf16 = |rest: &[u8], le: bool| -> Option<String> {
        if !rest.len().is_multiple_of(2) {
            return None;
        }
        let units = rest.chunks_exact(2).map(|c| {
            if le {
                u16::from_le_bytes([c[0], c[1]])
            } else {
                u16::from_be_bytes([c[0], c[1]])
            }
        });
        char::decode_utf16(units)
            .collect::<Result<String, _>>()
            .ok()
    };
    if let Some(rest) = data.strip_prefix(b"\xFF\xFE") {
        return utf16(rest, true);
    }
    if let Some(rest) = data.strip_prefix(b"\xFE\xFF") {
        return utf16(rest, false);
    }
    std::str::from_utf8(data).ok().map(str::to_owned)
}

/// All white space removed: the two XML parsers differ in how they trim and join text around
/// comments and CDATA, never in the non-space characters.
fn squeeze(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

fn descendant_text(node: roxmltree::Node) -> String {
    node.descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect()
}

fn element_children<'a, 'i>(node: roxmltree::Node<'a, 'i>) -> Vec<roxmltree::Node<'a, 'i>> {
    node.children().filter(|c| c.is_element()).collect()
}

fn is(node: roxmltree::Node, namespace: &str, local: &str) -> bool {
    node.tag_name().name() == local && node.tag_name().namespace() == Some(namespace)
}

/// Whether the document has a document type declaration: after the XML declaration, comments,
/// processing instructions and white space, the next markup is `<!DOCTYPE`. Written from the
/// XML grammar, independently of the decoder's parser.
fn has_doctype(text: &str) -> bool {
    let mut rest = text.trim_start_matches('\u{feff}');
    loop {
        rest = rest.trim_start_matches([' ', '\t', '\r', '\n']);
        let skip_to = |rest: &str, end: &str| rest.find(end).map(|at| at + end.len());
        if rest.starts_with("<!--") {
            match skip_to(&rest[4..], "-->") {
                Some(at) => rest = &rest[4 + at..],
                None => return false,
            }
        } else if rest.starts_with("<?") {
            match skip_to(&rest[2..], "?>") {
                Some(at) => rest = &rest[2 + at..],
                None => return false,
            }
        } else {
            return rest.starts_with("<!DOCTYPE");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// SOAP response decoding

/// Decodes `data` as the reply to a void sent as `version` and checks what came out against
/// the document itself; then checks that the client's judgement of the same body (through
/// `contract::verify`) agrees with what the decoder said.
pub fn check_soap(version: SoapVersion, data: &[u8]) {
    let decoded = soap::decode::<Op>(version, data);
    if let Err(error) = &decoded {
        // Display must not panic either.
        let _ = error.to_string();
    }
    if let (Ok(reply), Some(text)) = (&decoded, as_text(data)) {
        assert!(
            !has_doctype(&text),
            "decode accepted a document with a DOCTYPE (SOAP forbids it; entity expansion)"
        );
        // Both ways: what an independent conforming parser refuses, the decoder must not
        // read; what it reads, the decoder must read the same way.
        match roxmltree::Document::parse(&text) {
            Ok(doc) => check_soap_structure(version, &doc, reply),
            Err(error) => panic!("decode read a document roxmltree refuses: {error}"),
        }
    }
    if let Ok(Answer::Fault(fault)) = &decoded {
        check_fault_fields(version, fault);
    }
    check_soap_outcome(version, data, &decoded);
}

/// The document really holds what the decoder says it does.
fn check_soap_structure(
    version: SoapVersion,
    doc: &roxmltree::Document,
    reply: &Answer<<Op as Operation>::Response>,
) {
    let env = version.envelope_namespace();
    let root = doc.root_element();
    assert!(
        is(root, env, "Envelope"),
        "decoded, but the root is {:?}",
        root.tag_name()
    );
    let children = element_children(root);
    let (body, headers) = children
        .split_last()
        .expect("decoded, but the envelope is empty");
    assert!(
        is(*body, env, "Body"),
        "decoded, but the envelope's last child is not Body"
    );
    assert!(
        headers.iter().all(|h| is(*h, env, "Header")),
        "decoded, but the envelope holds something other than Header before Body"
    );
    let body_children = element_children(*body);
    assert_eq!(
        body_children.len(),
        1,
        "decoded, but Body has {} elements",
        body_children.len()
    );
    let child = body_children[0];
    assert!(
        squeeze(&descendant_text(*body)) == squeeze(&descendant_text(child)),
        "decoded, but Body has text beside its element"
    );
    match reply {
        Answer::Fault(_) => assert!(
            is(child, env, "Fault"),
            "a Fault was decoded from a body holding {:?}",
            child.tag_name()
        ),
        Answer::Result(response) => {
            assert!(
                is(child, Op::NAMESPACE, Op::RESPONSE_ELEMENT),
                "a Response was decoded from a body holding {:?}",
                child.tag_name()
            );
            let result = element_children(child)
                .into_iter()
                .filter(|n| is(*n, Op::NAMESPACE, "DoCreditCardSecondaryVoidResult"))
                .collect::<Vec<_>>();
            match &response.do_credit_card_secondary_void_result {
                None => {}
                Some(data) => {
                    // Exactly one: two results would say two things.
                    assert_eq!(
                        result.len(),
                        1,
                        "a result was decoded from {} of them",
                        result.len()
                    );
                    check_result_fields(data, &result);
                }
            }
        }
    }
}

/// Every field the decoder filled comes from a same-named element, in the service namespace,
/// directly inside a `DoCreditCardSecondaryVoidResult`.
fn check_result_fields(data: &SecondaryCreditCardVoidResponseData, results: &[roxmltree::Node]) {
    let fields: [(&str, &Option<String>); 8] = [
        ("MerchantID", &data.merchant_id),
        ("StoreID", &data.store_id),
        ("TerminalID", &data.terminal_id),
        ("TransactionID", &data.transaction_id),
        ("TransactionStatus", &data.transaction_status),
        ("ResponseCode", &data.response_code),
        ("PrimaryTransactionID", &data.primary_transaction_id),
        ("PrimaryTransactionStatus", &data.primary_transaction_status),
    ];
    for (name, value) in fields {
        let same_named = element_children(results[0])
            .into_iter()
            .filter(|field| is(*field, Op::NAMESPACE, name))
            .count();
        assert!(
            same_named <= 1,
            "decoded although {name} appears {same_named} times"
        );
        let Some(value) = value else { continue };
        let found = results.iter().any(|result| {
            element_children(*result).into_iter().any(|field| {
                is(field, Op::NAMESPACE, name) && squeeze(&descendant_text(field)) == squeeze(value)
            })
        });
        assert!(
            found,
            "{name} was decoded as {value:?}, but no {{{}}}{name} directly in the result holds it",
            Op::NAMESPACE
        );
    }
}

/// What any fault must look like once read.
fn check_fault_fields(version: SoapVersion, fault: &SoapFault) {
    assert_eq!(fault.version, version);
    assert!(
        fault.detail.len() <= instamed_soap::soap::MAX_DETAIL_ENTRIES,
        "{} detail entries",
        fault.detail.len()
    );
    let entries = fault.detail.iter().map(|entry| Some(entry.text.clone()));
    let fields = [fault.reason.clone(), fault.actor.clone(), fault.node.clone()];
    for (what, text) in ["reason", "actor", "node"]
        .into_iter()
        .zip(fields)
        .chain(std::iter::repeat("detail").zip(entries))
    {
        let text = &text;
        if let Some(text) = text {
            assert!(
                text.len() <= MAX_FAULT_FIELD,
                "fault {what} is {} bytes",
                text.len()
            );
            assert_eq!(text.trim(), text, "fault {what} is not trimmed");
        }
    }
    for subcode in &fault.subcodes {
        assert!(
            subcode.len() <= MAX_FAULT_FIELD,
            "subcode is {} bytes",
            subcode.len()
        );
    }
    assert_eq!(
        fault.raw_code.trim(),
        fault.raw_code,
        "raw code is not trimmed"
    );
    // The class in `code` is the raw code's local part (dotted 1.1 codes keep their class).
    let local = fault
        .raw_code
        .rsplit_once(':')
        .map_or(&*fault.raw_code, |(_, l)| l);
    let class = local.split('.').next().unwrap_or(local);
    let consistent = match &fault.code {
        FaultCode::Sender => matches!(class, "Client" | "Sender"),
        FaultCode::Receiver => matches!(class, "Server" | "Receiver"),
        FaultCode::VersionMismatch => class == "VersionMismatch",
        FaultCode::MustUnderstand => class == "MustUnderstand",
        FaultCode::DataEncodingUnknown => class == "DataEncodingUnknown",
        FaultCode::Other(written) => written == &fault.raw_code,
        _ => true,
    };
    assert!(
        consistent,
        "code {:?} does not fit raw code {:?}",
        fault.code, fault.raw_code
    );
    let _ = fault.to_string();
}

/// The call layer of `protocol` for the fuzzed answers: it builds and judges, never connects.
fn wire(protocol: Protocol) -> &'static Wire {
    static SOAP11: OnceLock<Wire> = OnceLock::new();
    static SOAP12: OnceLock<Wire> = OnceLock::new();
    static NVP: OnceLock<Wire> = OnceLock::new();
    let cell = match protocol {
        Protocol::Soap11 => &SOAP11,
        Protocol::Soap12 => &SOAP12,
        _ => &NVP,
    };
    cell.get_or_init(|| {
        let credentials = Credentials::new("fuzz", "fuzz");
        let route = |url: &str| {
            let uri: http::Uri = url.parse().expect("a fixed URL");
            Route::new(&uri, &credentials, UserName::default()).expect("a fixed route")
        };
        let soap = route("http://127.0.0.1/payment/service.asmx");
        let nvp = route("http://127.0.0.1/payment/NVP.aspx");
        Wire::new(protocol, soap, Some(nvp)).expect("the call layer sets up")
    })
}

/// The void every fuzzed answer answers.
fn void_request() -> VoidRequest {
    VoidRequest::new(
        Outlet::new("1", "2", "3").expect("a fixed outlet"),
        TransactionId::new(PAYMENT).expect("a fixed payment"),
    )
}

/// What this build's client makes of `body` answering a void of [`PAYMENT`] with HTTP `status`:
/// `voided` or an error code, judged by the call layer as the client judges it.
pub fn outcome(protocol: Protocol, status: u16, body: &[u8]) -> String {
    let mut answer = http::Response::new(bytes::Bytes::copy_from_slice(body));
    *answer.status_mut() = http::StatusCode::from_u16(status).expect("a valid status");
    answer.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static(match protocol {
            Protocol::Soap11 => "text/xml; charset=utf-8",
            Protocol::Soap12 => "application/soap+xml; charset=utf-8",
            _ => "application/x-www-form-urlencoded; charset=utf-8",
        }),
    );
    match wire(protocol).judge(&void_request(), &answer) {
        Ok(_) => "voided".to_owned(),
        Err(error) => error.code().to_owned(),
    }
}

/// The client's outcome for the body agrees with the decoder: only a C/V result about this
/// payment is a success; a fault is a fault or a refusal; an unreadable envelope is malformed.
fn check_soap_outcome(
    version: SoapVersion,
    data: &[u8],
    decoded: &Result<Answer<<Op as Operation>::Response>, soap::UnreadableEnvelope>,
) {
    let protocol = match version {
        SoapVersion::Soap11 => Protocol::Soap11,
        _ => Protocol::Soap12,
    };
    for status in [200, 500] {
        let got = outcome(protocol, status, data);
        let expected: Vec<&str> = match decoded {
            _ if data.is_empty() && status == 200 => vec!["malformed_response"],
            _ if data.is_empty() => vec!["http_status"],
            Err(_) => vec!["malformed_response"],
            // A fault with structured statuses, or a Sender fault, may be a refusal; a detail
            // that contradicts itself or names another payment is unreadable; any other fault
            // stays a fault (docs/outcomes.md rows 4–11).
            Ok(Answer::Fault(_)) => {
                vec![
                    "fault",
                    "already_voided",
                    "not_voidable",
                    "unknown_transaction",
                    "declined",
                    "malformed_response",
                ]
            }
            Ok(Answer::Result(_)) if status != 200 => vec!["malformed_response"],
            Ok(Answer::Result(response)) => match &response.do_credit_card_secondary_void_result {
                None => vec!["malformed_response"],
                Some(data) => model_judgement(
                    data.primary_transaction_id.as_deref(),
                    data.transaction_id.as_deref(),
                    data.transaction_status.as_deref(),
                    data.primary_transaction_status.as_deref(),
                ),
            },
        };
        assert!(
            expected.contains(&got.as_str()),
            "HTTP {status}: the client says {got}, the decoded reply allows only {expected:?}"
        );
    }
}

/// InstaMed's rule: a void succeeded exactly when the answer is about this payment (its
/// PrimaryTransactionID and, since a void keeps the payment's ID, its TransactionID, where
/// given) and says TransactionStatus C and PrimaryTransactionStatus V. A refusal is "not
/// voidable" only with a payment status present and not V.
fn model_judgement(
    primary_id: Option<&str>,
    own_id: Option<&str>,
    status: Option<&str>,
    primary: Option<&str>,
) -> Vec<&'static str> {
    let status = status.map(str::trim);
    let primary = primary.map(str::trim).filter(|p| !p.is_empty());
    let other = |id: Option<&str>| id.is_some_and(|id| !id.trim().eq_ignore_ascii_case(PAYMENT));
    if other(primary_id) || other(own_id) {
        return vec!["malformed_response"];
    }
    match (status, primary) {
        (Some(s), Some(p)) if s.eq_ignore_ascii_case("C") && p.eq_ignore_ascii_case("V") => {
            vec!["voided"]
        }
        (Some(s), _) if s.eq_ignore_ascii_case("C") => vec!["malformed_response"],
        (None, _) => vec!["malformed_response"],
        // Declined or cancelled: a refusal, sorted by its statuses and words; "not voidable"
        // (a refund) only on a payment status present and not V.
        (Some(s), p) if s.eq_ignore_ascii_case("D") || s.eq_ignore_ascii_case("X") => match p {
            Some(p) if p.eq_ignore_ascii_case("V") => vec!["already_voided"],
            Some(p) if p.eq_ignore_ascii_case("S") || p.eq_ignore_ascii_case("SE") => {
                vec!["not_voidable"]
            }
            Some(_) => vec!["not_voidable", "unknown_transaction", "declined"],
            None => vec!["already_voided", "unknown_transaction", "declined"],
        },
        // Empty, or a status a void does not get: neither a success nor a refusal.
        (Some(_), _) => vec!["malformed_response"],
    }
}

// ---------------------------------------------------------------------------------------------
// NVP

/// `application/x-www-form-urlencoded` decoding written from the WHATWG rules: `+` is a space,
/// `%XY` with two hex digits is that byte, any other `%` is itself.
fn form_decode(bytes: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => match (
                bytes.get(i + 1).and_then(|b| hex(*b)),
                bytes.get(i + 2).and_then(|b| hex(*b)),
            ) {
                (Some(high), Some(low)) => {
                    out.push(high * 16 + low);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    out
}

/// The pairs of an NVP body as documented: `&`-separated, empty pieces skipped, split at the
/// first `=`, form-decoded; `None` for a key or value whose bytes are not UTF-8.
fn nvp_pairs(body: &[u8]) -> Vec<Option<(String, String)>> {
    body.trim_ascii()
        .split(|b| *b == b'&')
        .filter(|piece| !piece.is_empty())
        .map(|piece| {
            let (key, value) = match piece.iter().position(|b| *b == b'=') {
                Some(at) => (&piece[..at], &piece[at + 1..]),
                None => (piece, &b""[..]),
            };
            let key = String::from_utf8(form_decode(key)).ok()?;
            let value = String::from_utf8(form_decode(value)).ok()?;
            Some((key, value))
        })
        .collect()
}

/// The value of `key` (case-blind), trimmed, if not empty.
fn nvp_value(pairs: &[(String, String)], key: &str) -> Option<String> {
    pairs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// An NVP answer body: `nvp::decode` reads exactly what the pairs say, and the client's outcome
/// (through `contract::verify`, as an HTTP 200, 500 and 401 answer) follows from what it read.
pub fn check_nvp(body: &[u8]) {
    use instamed_soap::Evidence;
    use instamed_soap::nvp::{self, NvpProblem};

    /// What the pairs say to a void: an error, or the fields of an answer.
    #[derive(Debug)]
    enum NvpSaid {
        Error { code: Option<String>, message: String },
        Answer(Evidence),
    }
    let decoded = nvp::decode(body).and_then(|answer| match answer.error() {
        Some(error) => Ok(NvpSaid::Error {
            code: error.code.map(str::to_owned),
            message: error
                .message
                .map_or_else(|| "no errorMessage".to_owned(), str::to_owned),
        }),
        None => match Evidence::from_nvp(&answer) {
            fields if fields == Evidence::default() => Err(NvpProblem::NoPairs),
            fields => Ok(NvpSaid::Answer(fields)),
        },
    });
    if let Err(problem) = &decoded {
        let _ = problem.to_string();
    }
    let pairs = nvp_pairs(body);
    let utf8 = pairs.iter().all(Option::is_some);
    let pairs: Vec<(String, String)> = pairs.into_iter().flatten().collect();
    let mut keys: Vec<String> = pairs.iter().map(|(k, _)| k.to_ascii_lowercase()).collect();
    keys.sort();
    let repeated: Vec<&String> = keys
        .windows(2)
        .filter(|w| w[0] == w[1])
        .map(|w| &w[0])
        .collect();
    let error =
        nvp_value(&pairs, "errorCode").is_some() || nvp_value(&pairs, "errorMessage").is_some();
    let completed =
        nvp_value(&pairs, "transactionStatus").is_some_and(|s| s.eq_ignore_ascii_case("C"));
    let answer_keys = [
        "transactionStatus",
        "primaryTransactionStatus",
        "responseCode",
        "responseMessage",
        "primaryTransactionID",
        "transactionID",
        "authorizationNumber",
    ];
    let answer = answer_keys.iter().any(|k| nvp_value(&pairs, k).is_some());
    let clean = utf8 && repeated.is_empty();

    // What the decoder read, against the pairs.
    match &decoded {
        Err(NvpProblem::NotUtf8(_)) => assert!(!utf8, "NotUtf8 for a body whose pairs are UTF-8"),
        Err(NvpProblem::Repeated(key)) => {
            assert!(
                repeated.contains(&key),
                "Repeated({key:?}), but it is not repeated"
            )
        }
        Err(_) | Ok(_) if !clean => {
            panic!("a body that is not UTF-8 or repeats a key read as {decoded:?}")
        }
        Err(NvpProblem::Contradiction) => {
            assert!(error && completed, "a Contradiction that is none")
        }
        Err(NvpProblem::NoPairs) => assert!(!error && !answer, "NoPairs for a body with pairs"),
        Err(other) => panic!("unexpected problem {other:?}"),
        Ok(NvpSaid::Error { code, message, .. }) => {
            assert!(error && !completed, "an Error from pairs {pairs:?}");
            assert_eq!(code, &nvp_value(&pairs, "errorCode"));
            if let Some(expected) = nvp_value(&pairs, "errorMessage") {
                assert_eq!(message, &expected);
            }
        }
        Ok(NvpSaid::Answer(read)) => {
            assert!(answer && !error, "an Answer from pairs {pairs:?}");
            let fields = [
                ("transactionStatus", &read.transaction_status),
                ("primaryTransactionStatus", &read.primary_transaction_status),
                ("responseCode", &read.response_code),
                ("responseMessage", &read.response_message),
                ("primaryTransactionID", &read.primary_transaction_id),
                ("transactionID", &read.transaction_id),
                ("authorizationNumber", &read.authorization_number),
            ];
            for (key, value) in fields {
                assert_eq!(value, &nvp_value(&pairs, key), "{key}");
            }
        }
    }
    if clean {
        let expected_kind = if error && completed {
            "contradiction"
        } else if error {
            "error"
        } else if answer {
            "answer"
        } else {
            "no pairs"
        };
        let kind = match &decoded {
            Err(NvpProblem::Contradiction) => "contradiction",
            Ok(NvpSaid::Error { .. }) => "error",
            Ok(NvpSaid::Answer(_)) => "answer",
            Err(NvpProblem::NoPairs) => "no pairs",
            _ => "other",
        };
        assert_eq!(kind, expected_kind, "{decoded:?} from pairs {pairs:?}");
    }

    // What the client makes of it.
    for status in [200, 500, 401] {
        let got = outcome(Protocol::Nvp, status, body);
        let success = status == 200;
        let expected: Vec<&str> = match &decoded {
            _ if status == 401 => vec!["authentication_refused"],
            _ if body.is_empty() && success => vec!["malformed_response"],
            _ if body.is_empty() => vec!["http_status"],
            // Judged on its statuses and code (docs/outcomes.md rows 4–7, 12, 13); an error
            // naming another payment or beside an odd status is unreadable.
            Ok(NvpSaid::Error { .. }) => {
                vec![
                    "service_error",
                    "already_voided",
                    "not_voidable",
                    "unknown_transaction",
                    "declined",
                    "malformed_response",
                ]
            }
            Ok(NvpSaid::Answer(read)) if success => model_judgement(
                read.primary_transaction_id.as_deref(),
                read.transaction_id.as_deref(),
                read.transaction_status.as_deref(),
                read.primary_transaction_status.as_deref(),
            ),
            Err(NvpProblem::NoPairs) if !success => vec!["http_status"],
            _ => vec!["malformed_response"],
        };
        assert!(
            expected.contains(&got.as_str()),
            "HTTP {status}: the client says {got}, {decoded:?} allows only {expected:?}"
        );
        if got == "voided" {
            assert!(clean && !error && completed, "voided from {pairs:?}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The contract matcher

/// Writes `doc` again with other prefixes (`p0`, `p1`, … declared on the root, never a default
/// namespace) and other indentation: the same document by meaning.
pub fn reprefix(doc: &roxmltree::Document) -> String {
    reprefix_with(doc, None)
}

/// [`reprefix`], with the text of one leaf element replaced.
fn reprefix_with(doc: &roxmltree::Document, replace: Option<(roxmltree::NodeId, &str)>) -> String {
    const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";
    let mut namespaces: Vec<&str> = Vec::new();
    for node in doc.descendants().filter(|n| n.is_element()) {
        let used = std::iter::once(node.tag_name().namespace())
            .chain(node.attributes().map(|a| a.namespace()));
        // `xmlns=""` gives roxmltree the namespace "": that is no namespace (finding F3).
        for ns in used.flatten().filter(|ns| !ns.is_empty()) {
            if ns != XML_NS && !namespaces.contains(&ns) {
                namespaces.push(ns);
            }
        }
    }
    let prefix = |ns: Option<&str>| match ns {
        None | Some("") => String::new(),
        Some(XML_NS) => "xml:".to_owned(),
        Some(ns) => format!("p{}:", namespaces.iter().position(|n| *n == ns).unwrap()),
    };
    /// The house's one XML escaping, for element text or an attribute value.
    fn escape(text: &str, attribute: bool) -> String {
        if attribute {
            instamed_soap::soap::escaped_attribute(text).into_owned()
        } else {
            instamed_soap::soap::escaped(text).into_owned()
        }
    }
    fn write(
        node: roxmltree::Node,
        depth: usize,
        out: &mut String,
        prefix: &dyn Fn(Option<&str>) -> String,
        declarations: &str,
        replace: Option<(roxmltree::NodeId, &str)>,
    ) {
        let name = format!(
            "{}{}",
            prefix(node.tag_name().namespace()),
            node.tag_name().name()
        );
        out.push('<');
        out.push_str(&name);
        if depth == 0 {
            out.push_str(declarations);
        }
        // Attributes in reverse order: order must not matter.
        let attributes: Vec<_> = node.attributes().collect();
        for attribute in attributes.iter().rev() {
            out.push_str(&format!(
                " {}{}=\"{}\"",
                prefix(attribute.namespace()),
                attribute.name(),
                escape(attribute.value(), true)
            ));
        }
        if let Some((id, text)) = replace
            && id == node.id()
        {
            out.push_str(&format!(">{}</{name}>", escape(text, false)));
            return;
        }
        let children: Vec<_> = node
            .children()
            .filter(|c| c.is_element() || c.is_text())
            .collect();
        if children.is_empty() {
            out.push_str(" />");
            return;
        }
        out.push('>');
        let text: String = children.iter().filter_map(|c| c.text()).collect();
        // Indent only where the element's own text is white space: indentation must not change
        // what the element says.
        let indent = text.trim().is_empty() && children.iter().any(|c| c.is_element());
        for child in &children {
            if child.is_element() {
                if indent {
                    out.push('\n');
                    out.push_str(&"    ".repeat(depth + 1));
                }
                write(*child, depth + 1, out, prefix, declarations, replace);
            } else if !indent {
                out.push_str(&escape(child.text().unwrap_or(""), false));
            }
        }
        if indent {
            out.push('\n');
            out.push_str(&"    ".repeat(depth));
        }
        out.push_str(&format!("</{name}>"));
    }
    let declarations: String = namespaces
        .iter()
        .enumerate()
        .map(|(i, ns)| format!(" xmlns:p{i}=\"{}\"", escape(ns, true)))
        .collect();
    let mut out = String::from("<?xml version=\"1.0\"?>\n");
    write(
        doc.root_element(),
        0,
        &mut out,
        &prefix,
        &declarations,
        replace,
    );
    out.push('\n');
    out
}

fn own_text(node: roxmltree::Node) -> String {
    node.children()
        .filter(|c| c.is_text())
        .filter_map(|c| c.text())
        .collect::<String>()
        .trim()
        .to_owned()
}

/// The matcher's path of `node`: `/` and the local names from the root.
fn path_of(node: roxmltree::Node) -> String {
    let mut names: Vec<&str> = node
        .ancestors()
        .filter(|n| n.is_element())
        .map(|n| n.tag_name().name())
        .collect();
    names.reverse();
    format!("/{}", names.join("/"))
}

/// Whether any element on the way from the root to `node` (itself excluded) is `{{ignore}}`d —
/// such an ancestor would hide a change below it.
fn under_ignore(node: roxmltree::Node) -> bool {
    node.ancestors()
        .skip(1)
        .filter(|n| n.is_element())
        .any(|n| !n.children().any(|c| c.is_element()) && own_text(n) == matcher::IGNORE)
}

/// Runs the XML matcher on two documents and checks its laws.
pub fn check_xml_matcher(expected: &str, actual: &str) {
    let comparison = matcher::xml(expected, actual);
    let _ = comparison.difference.as_ref().map(ToString::to_string);
    let placeholders = |t: &str| t.contains("{{");
    if !placeholders(expected) && !placeholders(actual) {
        // Without placeholders, "matches" is an equivalence: symmetric.
        let reverse = matcher::xml(actual, expected);
        assert_eq!(
            comparison.matches(),
            reverse.matches(),
            "xml(a, b) = {:?} but xml(b, a) = {:?}",
            comparison.difference,
            reverse.difference
        );
    }
    let Ok(doc) = roxmltree::Document::parse(expected) else {
        assert!(!comparison.matches(), "a cassette that is not XML matched");
        return;
    };
    // Reflexive.
    let itself = matcher::xml(expected, expected);
    assert!(
        itself.matches(),
        "a document does not match itself: {:?}",
        itself.difference
    );
    // Prefixes, attribute order and indentation do not matter.
    let rewritten = reprefix(&doc);
    let same = matcher::xml(expected, &rewritten);
    assert!(
        same.matches(),
        "a document does not match itself re-prefixed: {:?}\n{rewritten}",
        same.difference
    );
    assert_eq!(
        same.agreed, itself.agreed,
        "agreed differs on the re-prefixed document"
    );
    // A changed leaf value is the first difference, at its path.
    let leaf = doc.descendants().filter(|n| n.is_element()).find(|n| {
        !n.children().any(|c| c.is_element())
            && !own_text(*n).is_empty()
            && !own_text(*n).contains("{{")
            && !under_ignore(*n)
    });
    if let Some(leaf) = leaf {
        let old = own_text(leaf);
        let new = format!("{old}#changed");
        let changed = rewrite_leaf(&doc, leaf, &new);
        let comparison = matcher::xml(expected, &changed);
        let difference = comparison
            .difference
            .unwrap_or_else(|| panic!("a changed leaf was not noticed:\n{changed}"));
        assert_eq!(
            difference.path,
            path_of(leaf),
            "the change is reported at the wrong path"
        );
        assert_eq!(
            (difference.expected.as_str(), difference.actual.as_str()),
            (old.as_str(), new.as_str())
        );
    }
}

/// `doc` re-prefixed, with the text of `leaf` replaced by `text`.
fn rewrite_leaf(doc: &roxmltree::Document, leaf: roxmltree::Node, text: &str) -> String {
    reprefix_with(doc, Some((leaf.id(), text)))
}

/// Runs the form matcher on two bodies and checks its laws.
pub fn check_form_matcher(expected: &str, actual: &str) {
    let comparison = matcher::form(expected, actual);
    let _ = comparison.difference.as_ref().map(ToString::to_string);
    let pairs: Vec<(String, String)> = form_urlencoded::parse(expected.trim().as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    // A key may be repeated, in any case (finding F2: such a form did not match itself).
    if !expected.contains("{{") && !actual.contains("{{") {
        let reverse = matcher::form(actual, expected);
        assert_eq!(
            comparison.matches(),
            reverse.matches(),
            "form matching is not symmetric"
        );
    }
    let itself = matcher::form(expected, expected);
    assert!(
        itself.matches(),
        "a form does not match itself: {:?}",
        itself.difference
    );
    // Reordered pairs with upper-cased keys are the same form.
    let mut shuffled = pairs.clone();
    shuffled.reverse();
    let rewritten = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(
            shuffled
                .iter()
                .map(|(k, v)| (k.to_ascii_uppercase(), v.as_str())),
        )
        .finish();
    let same = matcher::form(expected, &rewritten);
    assert!(
        same.matches(),
        "a form does not match itself reordered: {:?} vs {rewritten}",
        same.difference
    );
    // A changed value is noticed at its key.
    if let Some((key, value)) = pairs
        .iter()
        .find(|(_, v)| !v.contains("{{") && !v.trim().is_empty())
    {
        let new_value = format!("{}#changed", value.trim());
        let changed = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs.iter().map(|(k, v)| {
                (
                    k.as_str(),
                    if k == key && v == value {
                        new_value.as_str()
                    } else {
                        v.as_str()
                    },
                )
            }))
            .finish();
        let difference = matcher::form(expected, &changed)
            .difference
            .unwrap_or_else(|| panic!("a changed value was not noticed: {changed}"));
        assert_eq!(difference.path, format!("?{}", key.to_ascii_lowercase()));
    }
}

// ---------------------------------------------------------------------------------------------
// Cassettes

/// `Cassette::parse` on any text; when it reads a cassette, writing it out and reading it back
/// gives the same cassette, and writing is stable.
pub fn check_cassette(text: &str) {
    let Ok(cassette) = Cassette::parse(text) else {
        return;
    };
    // Bodies with CR line ends (finding F5) and a recorded `x-cassette-body` header (F6) too.
    let written = cassette.to_text();
    let again = Cassette::parse(&written)
        .unwrap_or_else(|e| panic!("a written cassette does not parse: {e:?}\n{written}"));
    assert_eq!(
        again, cassette,
        "parse → to_text → parse changed the cassette:\n{written}"
    );
    assert_eq!(again.to_text(), written, "to_text is not stable");
}
