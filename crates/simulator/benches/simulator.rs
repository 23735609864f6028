//! Voids per second through the simulator from one keep-alive client, one void at a time.
//!
//! `cargo bench --bench simulator` measures the crate's `Client` over plain HTTP and over TLS,
//! and a bare hyper connection posting pre-built envelopes. One void at a time, the loopback
//! round trip (two thread wake-ups) dominates, so a last variant pipelines batches of requests
//! on one keep-alive connection: that rate is the simulator's own ceiling. After each criterion
//! run it prints the rate of a plain run of 2000 voids.

#![allow(missing_docs)] // criterion_group! writes an undocumented function

fn main() {
    let mut criterion = criterion::Criterion::default()
        .sample_size(20)
        .measurement_time(std::time::Duration::from_secs(5))
        .configure_from_args();
    bench::voids(&mut criterion);
    criterion.final_summary();
}

mod bench {
    use std::time::{Duration, Instant};

    use bytes::Bytes;
    use criterion::Criterion;
    use http::Request;
    use http_body_util::{BodyExt, Full};
    use hyper::client::conn::http1::SendRequest;
    use hyper_util::rt::TokioIo;
    use instamed_soap::{Client, Credentials, Outlet, TransactionId, VoidRequest};
    use instamed_soap_simulator::{DEMO_ACCOUNT_ID, DEMO_PASSWORD, Simulator, SimulatorConfig};
    use tokio::runtime::Runtime;

    /// Voids in the plain run whose rate is printed.
    const PLAIN_RUN: u64 = 2000;
    const TNS: &str = "http://online.instamed.com/TransactionServices/Payment/v1r3/";
    const ACTION: &str =
        "\"http://online.instamed.com/TransactionServices/Payment/v1r3/DoCreditCardSecondaryVoid\"";

    /// The SOAP 1.1 void of `payment`, as the client would send it.
    fn envelope(payment: &TransactionId) -> String {
        format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><soap:Envelope \
             xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body>\
             <DoCreditCardSecondaryVoid xmlns=\"{TNS}\"><transaction>\
             <MerchantID>123123123</MerchantID><StoreID>123</StoreID><TerminalID>123</TerminalID>\
             <PrimaryTransactionID>{payment}</PrimaryTransactionID>\
             <PrimaryCardPresentStatus>PresentManualKey</PrimaryCardPresentStatus>\
             </transaction></DoCreditCardSecondaryVoid></soap:Body></soap:Envelope>"
        )
    }

    fn authorization() -> String {
        use base64::Engine as _;
        let token = base64::engine::general_purpose::STANDARD
            .encode(format!("{DEMO_ACCOUNT_ID}:{DEMO_PASSWORD}"));
        format!("Basic {token}")
    }

    fn outlet() -> Outlet {
        Outlet::new("123123123", "123", "123").expect("outlet")
    }

    fn payments(simulator: &Simulator, count: u64) -> Vec<TransactionId> {
        (0..count)
            .map(|_| {
                simulator
                    .ledger()
                    .create_payment(&outlet(), "10.00")
                    .expect("payment")
            })
            .collect()
    }

    /// One way of sending voids, one at a time over one kept-alive connection.
    trait Voider {
        /// Voids every payment in turn; returns the time taken.
        async fn void_all(&mut self, payments: &[TransactionId]) -> Duration;
    }

    struct CrateClient(Client);

    impl Voider for CrateClient {
        async fn void_all(&mut self, payments: &[TransactionId]) -> Duration {
            let requests: Vec<VoidRequest> = payments
                .iter()
                .map(|id| VoidRequest::new(outlet(), id.clone()))
                .collect();
            let started = Instant::now();
            for request in &requests {
                self.0.void(request).await.expect("voided");
            }
            started.elapsed()
        }
    }

    /// hyper alone, posting envelopes built before the clock starts.
    struct RawHyper {
        sender: SendRequest<Full<Bytes>>,
        authorization: String,
    }

    impl RawHyper {
        async fn connect(simulator: &Simulator) -> Self {
            let stream = tokio::net::TcpStream::connect(simulator.local_addr())
                .await
                .expect("connect");
            stream.set_nodelay(true).expect("nodelay");
            let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .expect("handshake");
            tokio::spawn(connection);
            Self {
                sender,
                authorization: authorization(),
            }
        }

        fn request(&self, payment: &TransactionId) -> Request<Full<Bytes>> {
            Request::post("/payment/service.asmx")
                .header("host", "localhost")
                .header("content-type", "text/xml; charset=utf-8")
                .header("soapaction", ACTION)
                .header("authorization", &self.authorization)
                .body(Full::new(Bytes::from(envelope(payment))))
                .expect("request")
        }
    }

    impl Voider for RawHyper {
        async fn void_all(&mut self, payments: &[TransactionId]) -> Duration {
            let requests: Vec<_> = payments.iter().map(|id| self.request(id)).collect();
            let started = Instant::now();
            for request in requests {
                self.sender.ready().await.expect("ready");
                let response = self.sender.send_request(request).await.expect("response");
                assert_eq!(response.status(), 200);
                let body = response.into_body().collect().await.expect("body");
                std::hint::black_box(body.to_bytes());
            }
            started.elapsed()
        }
    }

    /// Requests written in batches on one keep-alive connection, answers read after each batch.
    struct Pipelined {
        stream: tokio::net::TcpStream,
        authorization: String,
        received: Vec<u8>,
    }

    /// Requests in flight at once.
    const BATCH: usize = 64;

    impl Pipelined {
        async fn connect(simulator: &Simulator) -> Self {
            let stream = tokio::net::TcpStream::connect(simulator.local_addr())
                .await
                .expect("connect");
            stream.set_nodelay(true).expect("nodelay");
            Self {
                stream,
                authorization: authorization(),
                received: Vec::with_capacity(1 << 16),
            }
        }

        fn batch(&self, payments: &[TransactionId]) -> Vec<u8> {
            let mut out = Vec::new();
            for payment in payments {
                let body = envelope(payment);
                out.extend_from_slice(
                    format!(
                        "POST /payment/service.asmx HTTP/1.1\r\nHost: localhost\r\n\
                         Content-Type: text/xml; charset=utf-8\r\nSOAPAction: {ACTION}\r\n\
                         Authorization: {}\r\nContent-Length: {}\r\n\r\n{body}",
                        self.authorization,
                        body.len()
                    )
                    .as_bytes(),
                );
            }
            out
        }

        /// Reads until `count` whole answers have arrived, checking each is a 200.
        async fn read_answers(&mut self, mut count: usize) {
            use tokio::io::AsyncReadExt as _;
            while count > 0 {
                if let Some(length) = whole_answer(&self.received) {
                    self.received.drain(..length);
                    count -= 1;
                    continue;
                }
                let read = self
                    .stream
                    .read_buf(&mut self.received)
                    .await
                    .expect("read");
                assert!(read > 0, "the simulator closed the connection");
            }
        }
    }

    /// The length of the first answer in `bytes` if it is all there (it must be a 200 with a
    /// Content-Length, as the simulator's answers are).
    fn whole_answer(bytes: &[u8]) -> Option<usize> {
        let head_end = bytes.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
        let head = std::str::from_utf8(&bytes[..head_end]).expect("ASCII head");
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        let length: usize = head
            .lines()
            .find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse().ok())?
            })
            .expect("Content-Length");
        (bytes.len() >= head_end + length).then_some(head_end + length)
    }

    impl Voider for Pipelined {
        async fn void_all(&mut self, payments: &[TransactionId]) -> Duration {
            use tokio::io::AsyncWriteExt as _;
            let batches: Vec<(Vec<u8>, usize)> = payments
                .chunks(BATCH)
                .map(|chunk| (self.batch(chunk), chunk.len()))
                .collect();
            let started = Instant::now();
            for (bytes, count) in batches {
                self.stream.write_all(&bytes).await.expect("write");
                self.read_answers(count).await;
            }
            started.elapsed()
        }
    }

    fn client(simulator: &Simulator) -> Client {
        let mut builder = Client::builder(simulator.endpoint())
            .credentials(Credentials::new(DEMO_ACCOUNT_ID, DEMO_PASSWORD))
            .allow_plain_http_on_loopback(true)
            .max_idle_connections(1);
        if let Some(ca) = simulator.ca_path() {
            builder = builder.ca_certificate_file(ca);
        }
        builder.build().expect("client")
    }

    fn measure(
        criterion: &mut Criterion,
        client_runtime: &Runtime,
        name: &str,
        simulator: &Simulator,
        voider: &mut impl Voider,
    ) {
        criterion.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let payments = payments(simulator, iters);
                client_runtime.block_on(voider.void_all(&payments))
            })
        });
        let payments = payments(simulator, PLAIN_RUN);
        let elapsed = client_runtime.block_on(voider.void_all(&payments));
        println!(
            "{name}: {PLAIN_RUN} voids in {:.1} ms = {:.0} voids/s",
            elapsed.as_secs_f64() * 1e3,
            PLAIN_RUN as f64 / elapsed.as_secs_f64()
        );
    }

    /// The simulator runs on a two-worker runtime of its own, as in a process of its own; the
    /// client on a single-threaded one, so that its connection task shares its thread.
    pub(super) fn voids(criterion: &mut Criterion) {
        let server_runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("server runtime");
        let client_runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("client runtime");
        let start = |tls: bool| {
            server_runtime
                .block_on(Simulator::start(SimulatorConfig::default().with_tls(tls)))
                .expect("simulator")
        };

        let plain = start(false);
        let mut raw = client_runtime.block_on(RawHyper::connect(&plain));
        measure(
            criterion,
            &client_runtime,
            "void/raw_hyper/http",
            &plain,
            &mut raw,
        );
        let mut pipelined = client_runtime.block_on(Pipelined::connect(&plain));
        let name = "void/raw_pipelined_64/http";
        measure(criterion, &client_runtime, name, &plain, &mut pipelined);
        let mut crate_client = CrateClient(client(&plain));
        let name = "void/client_soap11/http";
        measure(criterion, &client_runtime, name, &plain, &mut crate_client);
        server_runtime.block_on(plain.shutdown());

        let tls = start(true);
        let mut crate_client = CrateClient(client(&tls));
        let name = "void/client_soap11/https";
        measure(criterion, &client_runtime, name, &tls, &mut crate_client);
        server_runtime.block_on(tls.shutdown());
    }
}
