//! Nothing secret reaches a cassette: a corpus of probes, each an exchange carrying secrets in
//! one of the ways a request or an answer can hold them, is sent through the real recording
//! proxy to a loopback HTTPS upstream that answers as each probe says. Every byte of every
//! cassette written is then searched for every secret: as written, percent-decoded, with XML
//! references decoded, with separators taken out of digit runs, and in the decoded bodies.
//!
//! `docs/redaction.md` states how many probes there are; a test keeps the two in step.

use instamed_soap_test_support as support;

use std::path::Path;
use std::sync::Arc;

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use instamed_soap_contract::{Cassette, ContractServer, ServeOptions, Upstream};
use support::{Reply, Server};
use tokio::net::TcpStream;

const ACCOUNT: &str = "probe@instamed.test";
const PASSWORD: &str = "Pr0be-Passw0rd!x";
const CVV: &str = "7391";
const TRACK1_NAME: &str = "ZANZIBAR/QUENTIN";
const API_KEY: &str = "ak_live_Zq81Lm0PqR";
const API_SECRET: &str = "as_live_Wx72Nb9TyU";
const BEARER: &str = "bt_8h7g6f5e4dQz";
const COOKIE: &str = "ck_9f8e7d6c5b4aQz";
const SET_COOKIE: &str = "sc_1a2b3c4d5e6fQz";
const CARDS: [&str; 4] = [
    "4111111111111111",
    "5500000000000004",
    "340000000000009",
    "6011000000000004",
];
const VOID_ACTION: &str =
    "\"http://online.instamed.com/TransactionServices/Payment/v1r3/DoCreditCardSecondaryVoid\"";
const SALE_ACTION: &str =
    "\"http://online.instamed.com/TransactionServices/Payment/v1r3/DoCreditCardAuthAndCapt\"";

fn token() -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{ACCOUNT}:{PASSWORD}"))
}

/// Every secret the probes carry; none may be found in a cassette.
fn secrets() -> Vec<String> {
    let mut secrets: Vec<String> = [
        PASSWORD,
        CVV,
        TRACK1_NAME,
        API_KEY,
        API_SECRET,
        BEARER,
        COOKIE,
        SET_COOKIE,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    secrets.push(token());
    secrets.extend(CARDS.iter().map(|c| c.to_string()));
    secrets
}

/// One exchange: what goes to the proxy, and what the upstream answers.
struct Probe {
    name: &'static str,
    method: &'static str,
    target: String,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
    status: u16,
    response_headers: Vec<(&'static str, String)>,
    response_body: Vec<u8>,
}

impl Probe {
    fn new(name: &'static str, method: &'static str, target: impl Into<String>) -> Self {
        Self {
            name,
            method,
            target: target.into(),
            headers: vec![("authorization", format!("Basic {}", token()))],
            body: Vec::new(),
            status: 200,
            response_headers: vec![("content-type", "text/xml; charset=utf-8".into())],
            response_body: soap11_voided().into_bytes(),
        }
    }

    fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    fn without_authorization(mut self) -> Self {
        self.headers.retain(|(name, _)| *name != "authorization");
        self
    }

    fn soap11(self, action: &str, inner: &str) -> Self {
        self.header("content-type", "text/xml; charset=utf-8")
            .header("soapaction", action)
            .body(envelope(inner))
    }

    fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    fn answer(mut self, status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        self.status = status;
        self.response_headers = vec![("content-type", content_type.to_owned())];
        self.response_body = body.into();
        self
    }

    fn answer_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.response_headers.push((name, value.into()));
        self
    }
}

fn envelope(inner: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body>{inner}</soap:Body></soap:Envelope>"
    )
}

fn sale(fields: &str) -> String {
    format!(
        "<DoCreditCardAuthAndCapt xmlns=\"http://online.instamed.com/TransactionServices/Payment/v1r3/\"><transaction><MerchantID>123123123</MerchantID><StoreID>123</StoreID><TerminalID>123</TerminalID><Amount>10.00</Amount>{fields}</transaction></DoCreditCardAuthAndCapt>"
    )
}

fn void(extra: &str) -> String {
    format!(
        "<DoCreditCardSecondaryVoid xmlns=\"http://online.instamed.com/TransactionServices/Payment/v1r3/\"><transaction><MerchantID>123123123</MerchantID><StoreID>123</StoreID><TerminalID>123</TerminalID>{extra}<PrimaryTransactionID>C0FFEE00000000000000000000000001</PrimaryTransactionID><PrimaryCardPresentStatus>PresentManualKey</PrimaryCardPresentStatus></transaction></DoCreditCardSecondaryVoid>"
    )
}

fn soap11_voided() -> String {
    envelope(
        "<DoCreditCardSecondaryVoidResponse xmlns=\"http://online.instamed.com/TransactionServices/Payment/v1r3/\"><DoCreditCardSecondaryVoidResult><ResponseCode>000</ResponseCode><ResponseMessage>APPROVED</ResponseMessage><TransactionStatus>C</TransactionStatus><PrimaryTransactionID>C0FFEE00000000000000000000000001</PrimaryTransactionID><PrimaryTransactionStatus>V</PrimaryTransactionStatus></DoCreditCardSecondaryVoidResult></DoCreditCardSecondaryVoidResponse>",
    )
}

fn utf16(text: &str, little: bool) -> Vec<u8> {
    let bom: [u8; 2] = if little { [0xff, 0xfe] } else { [0xfe, 0xff] };
    bom.into_iter()
        .chain(text.encode_utf16().flat_map(move |unit| {
            if little {
                unit.to_le_bytes()
            } else {
                unit.to_be_bytes()
            }
        }))
        .collect()
}

fn probes() -> Vec<Probe> {
    let [visa, mastercard, amex, discover] = CARDS;
    let track2 = format!(";{visa}=25121010000012300000?");
    let track1 = format!("%B{visa}^{TRACK1_NAME}^2512101000000000011100000000000000?");
    let token = token();
    let nvp = "/payment/NVP.aspx";
    let xml = "text/xml; charset=utf-8";
    let form = "application/x-www-form-urlencoded";
    vec![
        // Headers.
        Probe::new("basic authorization", "POST", "/payment/service.asmx")
            .soap11(VOID_ACTION, &void("")),
        Probe::new("authorization without a scheme word", "POST", "/payment/service.asmx")
            .without_authorization()
            .header("authorization", token.clone())
            .soap11(VOID_ACTION, &void("")),
        Probe::new("bearer authorization", "POST", "/payment/service.asmx")
            .without_authorization()
            .header("authorization", format!("Bearer {BEARER}"))
            .soap11(VOID_ACTION, &void("")),
        Probe::new("proxy authorization", "POST", "/payment/service.asmx")
            .header("proxy-authorization", format!("Basic {token}"))
            .soap11(VOID_ACTION, &void("")),
        Probe::new("cookie", "POST", "/payment/service.asmx")
            .header("cookie", format!("theme=dark; sessid={COOKIE}"))
            .soap11(VOID_ACTION, &void("")),
        Probe::new("x-api-key", "POST", "/payment/service.asmx")
            .header("x-api-key", API_KEY)
            .soap11(VOID_ACTION, &void("")),
        Probe::new("api-key and api-secret", "POST", "/rest/payment/void")
            .without_authorization()
            .header("api-key", API_KEY)
            .header("api-secret", API_SECRET)
            .header("content-type", "application/json")
            .body(r#"{"Outlet":{"MerchantID":"1","StoreID":"2","TerminalID":"3"},"TransactionID":"AB"}"#)
            .answer(200, "application/json", r#"{"TransactionID":"AB"}"#),
        Probe::new("an unknown header holding a token", "POST", "/payment/service.asmx")
            .header("x-session", BEARER)
            .soap11(VOID_ACTION, &void("")),
        Probe::new("a card in the soapaction", "POST", "/payment/service.asmx")
            .header("content-type", xml)
            .header("soapaction", format!("\"urn:x/{visa}\""))
            .body(envelope(&void(""))),
        Probe::new("a secret content-type parameter", "POST", "/payment/service.asmx")
            .header("content-type", format!("text/xml; charset=utf-8; apikey={API_KEY}"))
            .header("soapaction", VOID_ACTION)
            .body(envelope(&void(""))),
        // Query strings.
        Probe::new(
            "nvp get with password and cvv",
            "GET",
            format!("{nvp}?transactionType=CreditCard&transactionAction=Sale&userPassword={}&CVV2={CVV}&cardNumber={visa}&amount=1.00", urlencode(PASSWORD)),
        )
        .answer(200, form, "responseCode=000&transactionStatus=C"),
        Probe::new(
            "nvp get with a basic token",
            "GET",
            format!("{nvp}?transactionAction=Void&auth=Basic%20{}", urlencode(&token)),
        )
        .without_authorization()
        .answer(200, form, "responseCode=000"),
        Probe::new(
            "a token in any query string",
            "GET",
            format!("/payment/service.asmx?op=x&ref={}", urlencode(&token)),
        )
        .answer(200, "text/html", "<html><body>ok</body></html>"),
        Probe::new(
            "an authorization key in a query",
            "GET",
            format!("/payment/service.asmx?Authorization=Basic+{}", urlencode(&token)),
        )
        .without_authorization()
        .answer(200, "text/html", "<html><body>ok</body></html>"),
        Probe::new(
            "api key and secret in a query",
            "GET",
            format!("/rest/payment/void?api_key={API_KEY}&apiSecret={API_SECRET}"),
        )
        .without_authorization()
        .answer(200, "application/json", "{}"),
        Probe::new("a card in the path", "GET", format!("/payment/{visa}/service.asmx"))
            .answer(404, "text/html", "<html>not found</html>"),
        Probe::new(
            "spaced card in a query",
            "GET",
            format!("{nvp}?transactionAction=Sale&note=4111+1111+1111+1111"),
        )
        .answer(200, form, "responseCode=000"),
        // NVP bodies.
        Probe::new("nvp post with passwords of every name", "POST", nvp)
            .header("content-type", form)
            .body(format!(
                "transactionType=CreditCard&transactionAction=Sale&userPassword={p}&merchantPassword={p}&PASSWORD={p}&pwd={p}&cardNumber={mastercard}&CVV2={CVV}&amount=1.00",
                p = urlencode(PASSWORD)
            ))
            .answer(200, form, "responseCode=000"),
        Probe::new("nvp post with a percent-encoded key", "POST", nvp)
            .header("content-type", form)
            .body(format!("merchant%50assword={}&card%56erificationNumber={CVV}", urlencode(PASSWORD)))
            .answer(200, form, "responseCode=000"),
        Probe::new("nvp post with track data", "POST", nvp)
            .header("content-type", form)
            .body(format!("track1Data={}&track2={}", urlencode(&track1), urlencode(&track2)))
            .answer(200, form, "responseCode=000"),
        Probe::new("card with plus signs", "POST", nvp)
            .header("content-type", form)
            .body("transactionAction=Sale&card=4111+1111+1111+1111")
            .answer(200, form, "responseCode=000"),
        Probe::new("card with dashes", "POST", nvp)
            .header("content-type", form)
            .body("transactionAction=Sale&card=5500-0000-0000-0004")
            .answer(200, form, "responseCode=000"),
        Probe::new("card percent-encoded", "POST", nvp)
            .header("content-type", form)
            .body("transactionAction=Sale&card=%33%34%30%30%30%30%30%30%30%30%30%30%30%30%39")
            .answer(200, form, "responseCode=000"),
        Probe::new("card with encoded spaces", "POST", nvp)
            .header("content-type", form)
            .body("transactionAction=Sale&card=6011%200000%200000%200004")
            .answer(200, form, "responseCode=000"),
        Probe::new("nvp answer with a card", "POST", nvp)
            .header("content-type", form)
            .body("transactionAction=Sale&amount=1.00")
            .answer(200, "text/plain", format!("responseCode=000&cardNumber={visa}&maskedCard=XXXX1111")),
        // XML bodies.
        Probe::new("cvn in cdata", "POST", "/payment/service.asmx")
            .soap11(SALE_ACTION, &sale(&format!("<CardNumber>{visa}</CardNumber><CVN><![CDATA[{CVV}]]></CVN>"))),
        Probe::new("cvn after a comment", "POST", "/payment/service.asmx")
            .soap11(SALE_ACTION, &sale(&format!("<CVN><!-- the code -->{CVV}</CVN>"))),
        Probe::new("cvn split by a comment", "POST", "/payment/service.asmx")
            .soap11(SALE_ACTION, &sale(&format!("<CardVerificationNumber>{}<!-- -->{}</CardVerificationNumber>", &CVV[..2], &CVV[2..]))),
        Probe::new("password as an attribute", "POST", "/payment/service.asmx")
            .soap11(VOID_ACTION, &void("").replace("<transaction>", &format!("<transaction password=\"{PASSWORD}\" Api-Key='{API_KEY}'>"))),
        Probe::new("ws-security password", "POST", "/payment/service.asmx")
            .header("content-type", xml)
            .header("soapaction", VOID_ACTION)
            .body(format!(
                "<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:wsse=\"urn:wsse\"><soap:Header><wsse:UsernameToken><wsse:Username>{ACCOUNT}</wsse:Username><wsse:Password Type=\"PasswordText\">{PASSWORD}</wsse:Password></wsse:UsernameToken></soap:Header><soap:Body>{}</soap:Body></soap:Envelope>",
                void("")
            )),
        Probe::new("card as character references", "POST", "/payment/service.asmx")
            .soap11(SALE_ACTION, &sale("<Note>&#52;&#x31;11 1111 1111 1111</Note>")),
        Probe::new("track data elements", "POST", "/payment/service.asmx")
            .soap11(SALE_ACTION, &sale(&format!("<Track1Data>{}</Track1Data><Track2Data>{track2}</Track2Data>", track1.replace('&', "&amp;")))),
        Probe::new("card in a comment", "POST", "/payment/service.asmx")
            .soap11(SALE_ACTION, &sale(&format!("<!-- card {} -->", "4111 1111 1111 1111"))),
        Probe::new("card in an attribute", "POST", "/payment/service.asmx")
            .soap11(SALE_ACTION, &sale(&format!("<Ref value=\"{amex}\"/>"))),
        Probe::new("prefixed secret elements", "POST", "/payment/service.asmx")
            .soap11(SALE_ACTION, &format!("<t:X xmlns:t=\"urn:t\"><t:MerchantPassword>{PASSWORD}</t:MerchantPassword><t:CardNumber>{discover}</t:CardNumber></t:X>")),
        Probe::new("a request in windows-1252", "POST", "/payment/service.asmx")
            .header("content-type", "text/xml; charset=windows-1252")
            .header("soapaction", SALE_ACTION)
            .body({
                let mut body = envelope(&sale(&format!("<CardHolderName>Jos</CardHolderName><CardNumber>{visa}</CardNumber><Password>{PASSWORD}</Password>"))).into_bytes();
                let at = body.windows(3).position(|w| w == b"Jos").unwrap() + 3;
                body.insert(at, 0xe9);
                body
            }),
        // Answers.
        Probe::new("latin-1 answer", "POST", "/payment/service.asmx")
            .soap11(VOID_ACTION, &void(""))
            .answer(200, "text/xml; charset=iso-8859-1", {
                let mut body = format!("<r><Name>Jos</Name><Card>{visa}</Card></r>").into_bytes();
                body.insert(9, 0xe9);
                body
            }),
        Probe::new("one latin-1 byte in a utf-8 answer", "POST", "/payment/service.asmx")
            .soap11(VOID_ACTION, &void(""))
            .answer(500, xml, {
                let mut body = format!("<r><Card>{mastercard}</Card><CVN>{CVV}</CVN>caf</r>").into_bytes();
                let at = body.len() - 4;
                body.insert(at, 0xe9);
                body
            }),
        Probe::new("utf-16le answer", "POST", "/payment/service.asmx")
            .soap11(VOID_ACTION, &void(""))
            .answer(200, "text/xml; charset=utf-16", utf16(&format!("<r><Card>{visa}</Card><CVN>{CVV}</CVN><Password>{PASSWORD}</Password></r>"), true)),
        Probe::new("utf-16be answer", "POST", "/payment/service.asmx")
            .soap11(VOID_ACTION, &void(""))
            .answer(200, xml, utf16(&format!("<r><Card>{amex}</Card></r>"), false)),
        Probe::new("set-cookie", "POST", "/payment/service.asmx")
            .soap11(VOID_ACTION, &void(""))
            .answer_header("set-cookie", format!("ASP.NET_SessionId={SET_COOKIE}; path=/; HttpOnly")),
        Probe::new("an answer echoing the password", "POST", "/payment/service.asmx")
            .soap11(VOID_ACTION, &void(""))
            .answer(500, xml, envelope(&format!("<soap:Fault><faultcode>soap:Server</faultcode><faultstring>Login failed for {ACCOUNT} with password {PASSWORD}</faultstring></soap:Fault>"))),
        Probe::new("an answer echoing the token", "POST", "/payment/service.asmx")
            .soap11(VOID_ACTION, &void(""))
            .answer(401, "text/html", format!("<html><p>Bad header Basic {token}</p></html>"))
            .answer_header("www-authenticate", "Basic realm=\"InstaMed\""),
        Probe::new("json answer", "POST", "/rest/payment/sale")
            .header("content-type", "application/json")
            .body(format!(r#"{{"CardNumber":"{visa}","CVV":{CVV},"Patient":{{"Password":"{PASSWORD}"}},"Number":{mastercard}}}"#))
            .answer(200, "application/json; charset=utf-8", format!(r#"{{"Card":{{"number":"{discover}","token":"{BEARER}"}},"list":["{amex}"]}}"#)),
        Probe::new("json that does not parse", "POST", "/rest/payment/sale")
            .header("content-type", "application/json")
            .body(format!(r#"{{"CardNumber":"{visa}", "CVV":"{CVV}""#))
            .answer(200, "application/json", format!(r#"{{"cvv":"{CVV}""#)),
        Probe::new("compressed answer", "POST", "/payment/service.asmx")
            .soap11(VOID_ACTION, &void(""))
            .answer(200, xml, format!("pretend-gzip {visa} {CVV}"))
            .answer_header("content-encoding", "gzip"),
        Probe::new("answer with a dtd", "POST", "/payment/service.asmx")
            .soap11(VOID_ACTION, &void(""))
            .answer(200, xml, format!("<!DOCTYPE r [<!ENTITY a \"{}\"><!ENTITY b \"{}\">]><r><c>&a;&b;</c></r>", &visa[..8], &visa[8..])),
        Probe::new("html error page", "POST", "/payment/service.asmx")
            .soap11(VOID_ACTION, &void(""))
            .answer(500, "text/html", format!("<html><body><h1>Error</h1><input name=\"cvv\" value=\"{CVV}\"><p>card {}</p></body></html>", "4111 1111 1111 1111")),
        Probe::new("redirect with secrets in the location", "GET", "/payment/service.asmx?op=x")
            .answer(302, "text/html", "")
            .answer_header("location", format!("https://login.example/?token={BEARER}&card={visa}")),
        Probe::new("a truncated answer inside a secret", "POST", "/payment/service.asmx")
            .soap11(VOID_ACTION, &void(""))
            .answer(200, xml, format!("<r><Card>{amex}</Card><CVN>{CVV}")),
        Probe::new("a card-holder's secrets in a void's extra fields", "POST", "/payment/service.asmx")
            .soap11(VOID_ACTION, &void(&format!("<PIN>{CVV}</PIN><PinBlock>{API_KEY}</PinBlock><InstaMedAccountID>{ACCOUNT}</InstaMedAccountID>"))),
    ]
}

fn urlencode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// Sends one probe to the proxy as it is, over TLS trusting the proxy's CA.
async fn send(proxy: &ContractServer, index: usize, probe: &Probe) -> u16 {
    let origin = proxy.origin();
    let port: u16 = origin.rsplit(':').next().unwrap().parse().unwrap();
    let pem = std::fs::read(proxy.ca_path().unwrap()).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pemfile_certs(&pem) {
        roots.add(cert).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let tcp = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect("localhost".try_into().unwrap(), tcp)
        .await
        .unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .unwrap();
    tokio::spawn(connection);
    let mut request = http::Request::builder()
        .method(probe.method)
        .uri(&probe.target)
        .header("host", format!("localhost:{port}"))
        .header("x-probe", index.to_string());
    for (name, value) in &probe.headers {
        request = request.header(*name, value);
    }
    let request = request
        .body(Full::new(Bytes::from(probe.body.clone())))
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    let status = response.status().as_u16();
    response.into_body().collect().await.unwrap();
    status
}

fn rustls_pemfile_certs(pem: &[u8]) -> Vec<rustls::pki_types::CertificateDer<'static>> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::pem_slice_iter(pem)
        .map(Result::unwrap)
        .collect()
}

/// Ways a secret could still be written: the text as it is, percent-decoded, with XML
/// references decoded, and each of those with separators taken out of digit runs.
fn readings(text: &str) -> Vec<String> {
    let percent = percent_encoding::percent_decode_str(&text.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned();
    let references = decode_references(text);
    let mut readings = vec![text.to_owned(), percent, references];
    let joined: Vec<String> = readings
        .iter()
        .map(|t| {
            t.replace("%20", "")
                .replace("%2D", "")
                .replace("%2B", "")
                .chars()
                .filter(|c| !matches!(c, ' ' | '-' | '+' | '\t'))
                .collect()
        })
        .collect();
    readings.extend(joined);
    readings
}

fn decode_references(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("&#") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        let end = after.find(';').unwrap_or(0);
        let code = match after.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(&hex[..end.saturating_sub(1)], 16).ok(),
            None => after[..end].parse().ok(),
        };
        match code.and_then(char::from_u32) {
            Some(c) if end > 0 => {
                out.push(c);
                rest = &after[end + 1..];
            }
            _ => {
                out.push_str("&#");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn no_probe_leaves_a_secret_in_any_cassette() {
    let probes = Arc::new(probes());
    assert!(probes.len() >= 40, "only {} probes", probes.len());
    let answers = probes.clone();
    let upstream = Server::start(move |exchange| {
        // The recorder's start check (a HEAD of the upstream's path) is no probe.
        if exchange.method == http::Method::HEAD {
            return Reply::new(200, "", "");
        }
        let index: usize = exchange
            .header("x-probe")
            .and_then(|i| i.parse().ok())
            .expect("every probe names itself");
        let probe = &answers[index];
        let mut reply = Reply::new(probe.status, "", probe.response_body.clone());
        reply.headers = probe
            .response_headers
            .iter()
            .map(|(name, value)| (*name, value.clone()))
            .collect();
        reply
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let proxy = ContractServer::record(
        Upstream::new(&upstream.url).with_ca_cert(&upstream.ca_path),
        dir.path(),
        ServeOptions::default(),
    )
    .await
    .unwrap();
    for (index, probe) in probes.iter().enumerate() {
        let status = send(&proxy, index, probe).await;
        assert_eq!(status, probe.status, "probe {index} ({})", probe.name);
    }
    proxy.shutdown().await;
    let forwarded = upstream.requests();
    let forwarded = forwarded.iter().filter(|r| r.method != http::Method::HEAD);
    assert_eq!(forwarded.count(), probes.len());

    let files = instamed_soap_contract::verify::cassette_files(dir.path()).unwrap();
    assert_eq!(files.len(), probes.len(), "one cassette per probe");
    let secrets = secrets();
    for file in &files {
        let raw = std::fs::read(file).unwrap();
        let mut texts = vec![String::from_utf8_lossy(&raw).into_owned()];
        let cassette = Cassette::load(file).unwrap();
        for message in [&cassette.request, &cassette.response] {
            texts.push(String::from_utf8_lossy(&message.body).into_owned());
            // A body kept in another charset is searched in that charset's text as well.
            if message.body.len() >= 2 && [0xff, 0xfe].contains(&message.body[0]) {
                let units: Vec<u16> = message.body[2..]
                    .chunks_exact(2)
                    .map(|p| {
                        if message.body[0] == 0xff {
                            u16::from_le_bytes([p[0], p[1]])
                        } else {
                            u16::from_be_bytes([p[0], p[1]])
                        }
                    })
                    .collect();
                texts.push(String::from_utf16_lossy(&units));
            }
        }
        for text in texts {
            for reading in readings(&text) {
                for secret in &secrets {
                    assert!(
                        !reading.contains(secret.as_str()),
                        "{} holds {secret:?}:\n{}",
                        file.display(),
                        String::from_utf8_lossy(&raw)
                    );
                }
            }
        }
    }
}

#[test]
fn the_documentation_states_the_probe_count() {
    let docs = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/redaction.md"),
    )
    .unwrap();
    let count = probes().len();
    assert!(
        docs.contains(&format!("{count} probes")),
        "docs/redaction.md must say \"{count} probes\""
    );
}
