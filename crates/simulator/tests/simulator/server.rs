//! The simulator as a server facing slow and numerous clients: a request's headers and body
//! have a deadline, and slow clients cannot lock prompt ones out.

use instamed_soap_test_support as support;

use std::time::{Duration, Instant};

use instamed_soap::{Client, Credentials, Protocol, VoidRequest};
use instamed_soap_simulator::{
    DEMO_ACCOUNT_ID, DEMO_PASSWORD, FaultPlan, Hostname, PaymentStatus, Simulator, SimulatorConfig,
};
use support::outlet;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn client(simulator: &Simulator) -> Client {
    let mut builder = Client::builder(simulator.endpoint())
        .credentials(Credentials::new(DEMO_ACCOUNT_ID, DEMO_PASSWORD))
        .protocol(Protocol::Soap11)
        .timeout(Duration::from_secs(5))
        .allow_plain_http_on_loopback(true);
    if let Some(ca) = simulator.ca_path() {
        builder = builder.ca_certificate_file(ca);
    }
    builder.build().expect("client")
}

/// The headers of a void, signed in, whose body of `length` bytes is still to come.
fn slow_headers(length: usize) -> String {
    use base64::Engine as _;
    let token = base64::engine::general_purpose::STANDARD
        .encode(format!("{DEMO_ACCOUNT_ID}:{DEMO_PASSWORD}"));
    format!(
        "POST /payment/service.asmx HTTP/1.1\r\nHost: localhost\r\nAuthorization: Basic {token}\r\n\
         Content-Type: text/xml; charset=utf-8\r\nContent-Length: {length}\r\n\r\n"
    )
}

/// Whether the server closed `stream` (end of file or a reset), reading what it answered first.
async fn is_closed(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buffer = [0_u8; 1024];
    loop {
        match tokio::time::timeout(within, stream.read(&mut buffer)).await {
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_hundred_slow_senders_do_not_lock_a_prompt_client_out() {
    const SLOW: usize = 300;
    const PLACES: usize = 64;
    let simulator = Simulator::start(
        SimulatorConfig::default()
            .with_tls(false)
            .with_max_connections(PLACES),
    )
    .await
    .expect("simulator starts");
    let payment = simulator
        .ledger()
        .create_payment(&outlet(), "12.34")
        .expect("payment");

    // Half send headers and then a byte of body at a time; half connect and say nothing.
    let mut slow = Vec::with_capacity(SLOW);
    for index in 0..SLOW {
        let mut stream = TcpStream::connect(simulator.local_addr())
            .await
            .expect("connect");
        if index % 2 == 0 {
            // A write may meet a connection already closed to make room: that is the point.
            let _ = stream.write_all(slow_headers(1000).as_bytes()).await;
            let _ = stream.write_all(b"<").await;
        }
        slow.push(stream);
    }
    // One more byte from every slow sender still connected, as a drip would.
    for stream in slow.iter_mut().step_by(2) {
        let _ = stream.write_all(b"s").await;
    }

    let started = Instant::now();
    let receipt = client(&simulator)
        .void(&VoidRequest::new(outlet(), payment.clone()))
        .await
        .expect("the prompt client is served");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(receipt.transaction_id.as_deref(), Some(payment.as_str()));
    assert_eq!(
        simulator.ledger().status(&payment),
        Some(PaymentStatus::Voided)
    );

    // The bound held: all but a place's worth of slow clients were closed to make room.
    let mut closed = 0;
    for stream in &mut slow {
        if is_closed(stream, Duration::from_millis(20)).await {
            closed += 1;
        }
    }
    assert!(closed >= SLOW - PLACES, "only {closed} of {SLOW} closed");
    simulator.shutdown().await;
}

#[tokio::test]
async fn a_slow_sender_is_cut_after_the_request_timeout() {
    let timeout = Duration::from_millis(800);
    let simulator = Simulator::start(
        SimulatorConfig::default()
            .with_tls(false)
            .with_request_timeout(timeout),
    )
    .await
    .expect("simulator starts");

    // A body one byte at a time: 408, then the connection is closed.
    let mut body = TcpStream::connect(simulator.local_addr())
        .await
        .expect("connect");
    let started = Instant::now();
    body.write_all(slow_headers(100).as_bytes())
        .await
        .expect("headers");
    let mut answer = Vec::new();
    let mut buffer = [0_u8; 512];
    let cut = loop {
        tokio::select! {
            read = body.read(&mut buffer) => match read {
                Ok(0) | Err(_) => break started.elapsed(),
                Ok(n) => answer.extend_from_slice(&buffer[..n]),
            },
            () = tokio::time::sleep(Duration::from_millis(100)) => {
                let _ = body.write_all(b"x").await;
            }
        }
        assert!(started.elapsed() < Duration::from_secs(5), "never cut");
    };
    assert!(cut >= timeout, "{cut:?}");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408 "), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("connection: close"),
        "{answer}"
    );

    // Headers one byte at a time: cut by the header deadline.
    let mut headers = TcpStream::connect(simulator.local_addr())
        .await
        .expect("connect");
    let started = Instant::now();
    let request = slow_headers(0);
    let mut bytes = request.as_bytes().iter().cycle();
    let cut = loop {
        tokio::select! {
            read = headers.read(&mut buffer) => match read {
                Ok(0) | Err(_) => break started.elapsed(),
                Ok(_) => {}
            },
            () = tokio::time::sleep(Duration::from_millis(100)) => {
                let byte = *bytes.next().expect("cycle");
                // Never the blank line that ends the headers.
                let byte = if byte == b'\r' || byte == b'\n' { b'x' } else { byte };
                let _ = headers.write_all(&[byte]).await;
            }
        }
        assert!(started.elapsed() < Duration::from_secs(5), "never cut");
    };
    assert!(cut >= timeout, "{cut:?}");

    // A prompt client is still served.
    let payment = simulator
        .ledger()
        .create_payment(&outlet(), "1.00")
        .expect("payment");
    client(&simulator)
        .void(&VoidRequest::new(outlet(), payment))
        .await
        .expect("voided");
    simulator.shutdown().await;
}

#[tokio::test]
async fn limits_of_zero_are_refused() {
    for config in [
        SimulatorConfig::default().with_max_connections(0),
        SimulatorConfig::default().with_request_timeout(Duration::ZERO),
    ] {
        assert!(Simulator::start(config.with_tls(false)).await.is_err());
    }
}

/// From Rust as from the command line: the first host name names the endpoints, an IPv6
/// address in brackets, and the loopback names stay in the certificate, so a client that
/// uses `localhost` still verifies it.
#[tokio::test]
async fn the_first_host_name_names_the_endpoints() {
    let names = ["fd00::7", "sim.test"].map(|name| name.parse::<Hostname>().expect("valid"));
    let simulator = Simulator::start(SimulatorConfig::default().with_hostnames(names))
        .await
        .expect("simulator starts");
    let port = simulator.local_addr().port();
    assert_eq!(simulator.origin(), format!("https://[fd00::7]:{port}"));
    assert_eq!(
        simulator.endpoint(),
        format!("https://[fd00::7]:{port}/payment/service.asmx")
    );

    let payment = simulator
        .ledger()
        .create_payment(&outlet(), "12.34")
        .expect("payment");
    let client = Client::builder(format!("https://localhost:{port}/payment/service.asmx"))
        .credentials(Credentials::new(DEMO_ACCOUNT_ID, DEMO_PASSWORD))
        .ca_certificate_file(simulator.ca_path().expect("a CA"))
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client");
    client
        .void(&VoidRequest::new(outlet(), payment))
        .await
        .expect("voided by way of localhost");
    simulator.shutdown().await;
}

/// `GET /health` needs no sign-in and is not subject to injected faults.
#[tokio::test]
async fn health_is_answered_without_sign_in_even_when_every_request_faults() {
    let simulator = Simulator::start(SimulatorConfig::default().with_tls(false).with_faults(
        FaultPlan {
            reset_rate: 1.0,
            ..FaultPlan::default()
        },
    ))
    .await
    .expect("simulator starts");
    let mut stream = TcpStream::connect(simulator.local_addr())
        .await
        .expect("connect");
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.expect("read");
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(answer.ends_with("\r\n\r\nok\n"), "{answer}");
    simulator.shutdown().await;
}
