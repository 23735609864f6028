//! A gateway in front of the simulator, and an ERP's requests to it.

use std::path::PathBuf;
use std::time::Duration;

use http::Method;
use instamed_soap::{Credentials, Outlet, TransactionId, UserName};
use instamed_soap_gateway::{Clients, Gateway, GatewayConfig, Running, Tls, Upstream};
use instamed_soap_simulator::{
    DEMO_ACCOUNT_ID, DEMO_PASSWORD, DEMO_SSO_KEY, FaultPlan, Simulator, SimulatorConfig,
};
use instamed_soap_test_support::raw_https::{self, RawResponse, SOAP11, SOAP12, TNS, Target};
use instamed_soap_test_support::simulated;

/// The ERP's own client of the gateway.
pub const CLIENT: &str = "erp-prod";
/// Its secret (a test's; the gateway keeps only its hash).
pub const SECRET: &str = "erp-own-secret-7c1f";

/// `Authorization: Basic …` for the ERP's client.
pub fn basic() -> String {
    raw_https::basic_of(&format!("{CLIENT}:{SECRET}"))
}

/// A simulator, a gateway in front of it, and the files they keep.
pub struct Bench {
    pub simulator: Simulator,
    pub gateway: Option<Running>,
    pub dir: tempfile::TempDir,
    /// The ledger: a file in `dir`, or a database's URL that `replicas` share.
    pub ledger: PathBuf,
    /// More gateways on the same ledger and upstream: replicas behind a load balancer.
    pub replicas: Vec<Running>,
}

impl Bench {
    pub async fn start() -> Self {
        Self::with_faults(FaultPlan::default()).await
    }

    /// With faults injected by the simulator.
    pub async fn with_faults(faults: FaultPlan) -> Self {
        Self::with(
            faults,
            std::num::NonZeroU32::new(instamed_soap_gateway::DEFAULT_RATE_LIMIT),
        )
        .await
    }

    /// With each client held to `rate` requests a second.
    pub async fn with_rate_limit(rate: Option<std::num::NonZeroU32>) -> Self {
        Self::with(FaultPlan::default(), rate).await
    }

    /// With the operator pages, `operators` let in, and faults injected by the simulator; on
    /// the ledger at `ledger` (default: a file of the bench's own).
    pub async fn with_operators(
        faults: FaultPlan,
        operators: Clients,
        ledger: Option<String>,
    ) -> Self {
        Self::with_all(
            faults,
            std::num::NonZeroU32::new(instamed_soap_gateway::DEFAULT_RATE_LIMIT),
            Some(operators),
            ledger,
            1,
            None,
        )
        .await
    }

    async fn with(faults: FaultPlan, rate: Option<std::num::NonZeroU32>) -> Self {
        Self::with_all(faults, rate, None, None, 1, None).await
    }

    /// `count` gateways (at least one) on the ledger at `ledger` (default: a file of the
    /// bench's own), in front of one simulator; on a database, each replica's claims held for
    /// `lease` (default: the gateway's).
    pub async fn with_replicas(
        faults: FaultPlan,
        rate: Option<std::num::NonZeroU32>,
        ledger: Option<String>,
        count: usize,
        lease: Option<Duration>,
    ) -> Self {
        Self::with_all(faults, rate, None, ledger, count, lease).await
    }

    /// With `sso` as the gateway's Single Sign-On instead of the simulator's.
    pub async fn with_sso(sso: instamed_soap::sso::SsoClient) -> Self {
        Self::with_everything(
            FaultPlan::default(),
            std::num::NonZeroU32::new(instamed_soap_gateway::DEFAULT_RATE_LIMIT),
            None,
            None,
            1,
            Some(sso),
            None,
        )
        .await
    }

    async fn with_all(
        faults: FaultPlan,
        rate: Option<std::num::NonZeroU32>,
        operators: Option<Clients>,
        ledger: Option<String>,
        count: usize,
        lease: Option<Duration>,
    ) -> Self {
        Self::with_everything(faults, rate, operators, ledger, count, None, lease).await
    }

    async fn with_everything(
        faults: FaultPlan,
        rate: Option<std::num::NonZeroU32>,
        mut operators: Option<Clients>,
        ledger: Option<String>,
        count: usize,
        sso: Option<instamed_soap::sso::SsoClient>,
        lease: Option<Duration>,
    ) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let ledger = ledger.map_or_else(|| dir.path().join("gateway-ledger.db"), PathBuf::from);
        let simulator = Simulator::start(
            SimulatorConfig::default()
                .with_ledger_file(dir.path().join("instamed.jsonl"))
                .with_faults(faults),
        )
        .await
        .expect("simulator");
        let mut gateways = Vec::new();
        for n in 0..count.max(1) {
            let client = simulated::client(&simulator, instamed_soap::Protocol::Soap11);
            let upstream = Upstream::new(client, &simulator.endpoint())
                .expect("upstream")
                .credentials(
                    Credentials::new(DEMO_ACCOUNT_ID, DEMO_PASSWORD),
                    UserName::AccountId,
                )
                .sso(sso.clone().unwrap_or_else(|| {
                    simulated::sso_client(&simulator, instamed_soap::Protocol::Soap11, DEMO_SSO_KEY)
                }));
            let mut clients = Clients::new().expect("clients");
            clients
                .add_pair(&format!("{CLIENT}:{SECRET}"))
                .expect("a client");
            let mut config = GatewayConfig::new(
                "127.0.0.1:0".parse().expect("address"),
                Tls::Generated { ca_out: None },
                upstream,
                ledger.clone(),
                clients,
            );
            // A file for each gateway's JSON API operations: used on a ledger file only (on
            // PostgreSQL the replicas share their operations in the database).
            config.operations = dir.path().join(format!("operations-{n}.db"));
            config.retry_after = Duration::from_secs(1);
            config.rate_limit = rate;
            if let Some(lease) = lease {
                config.lease = lease;
            }
            // The operator pages on the first replica.
            config.operators = operators.take();
            gateways.push(Gateway::start(config).await.expect("gateway"));
        }
        let gateway = gateways.remove(0);
        Self {
            simulator,
            gateway: Some(gateway),
            dir,
            ledger,
            replicas: gateways,
        }
    }

    pub fn gateway(&self) -> &Running {
        self.gateway.as_ref().expect("running")
    }

    pub fn outlet() -> Outlet {
        Outlet::new("123123123", "123", "456").expect("outlet")
    }

    /// A captured payment at the simulator.
    pub fn payment(&self, amount: &str) -> TransactionId {
        self.simulator
            .ledger()
            .create_payment(&Self::outlet(), amount)
            .expect("payment")
    }

    /// How many times the simulator's own books say `payment` was voided.
    pub fn voids_at_instamed(&self, payment: &TransactionId) -> usize {
        let journal = std::fs::read_to_string(self.dir.path().join("instamed.jsonl"))
            .expect("the simulator's journal");
        journal
            .lines()
            .filter(|line| line.contains("\"event\":\"voided\""))
            .filter(|line| line.contains(payment.as_str()))
            .count()
    }

    /// How many refunds of `payment` the simulator made.
    pub fn refunds_at_instamed(&self, payment: &TransactionId) -> usize {
        self.simulator
            .ledger()
            .payments()
            .iter()
            .filter(|p| p.refund_of.as_ref() == Some(payment))
            .count()
    }

    pub fn ledger_path(&self) -> PathBuf {
        self.ledger.clone()
    }

    /// POSTs `envelope` to the gateway's SOAP address with `headers` and the ERP's own
    /// credentials.
    pub async fn post(
        &self,
        headers: &[(&str, &str)],
        envelope: impl Into<bytes::Bytes>,
    ) -> RawResponse {
        self.post_as(Some((CLIENT, SECRET)), headers, envelope)
            .await
    }

    /// Sends `form` to the gateway's `NVP.aspx` as an ERP does: a form `POST`, or (`get`) the
    /// same pairs as a query, with the ERP's own credentials.
    pub async fn nvp(&self, get: bool, form: &str) -> RawResponse {
        let gateway = self.gateway();
        let host = raw_https::host(&gateway.soap_url());
        let basic = basic();
        let (method, path, body, mut headers) = if get {
            (
                Method::GET,
                format!("/payment/NVP.aspx?{form}"),
                String::new(),
                vec![],
            )
        } else {
            (
                Method::POST,
                "/payment/NVP.aspx".to_owned(),
                form.to_owned(),
                vec![("content-type", "application/x-www-form-urlencoded")],
            )
        };
        headers.push(("authorization", &basic));
        raw_https::send_to(
            Target {
                addr: gateway.local_addr(),
                host: &host,
                ca: gateway.ca_path(),
            },
            method,
            &path,
            &headers,
            body,
        )
        .await
        .expect("an answer from the gateway")
    }

    pub async fn post_as(
        &self,
        credentials: Option<(&str, &str)>,
        headers: &[(&str, &str)],
        envelope: impl Into<bytes::Bytes>,
    ) -> RawResponse {
        self.post_to(self.gateway(), credentials, headers, envelope)
            .await
    }

    /// As [`post_as`](Self::post_as), to `gateway` (the first, or one of the replicas).
    pub async fn post_to(
        &self,
        gateway: &Running,
        credentials: Option<(&str, &str)>,
        headers: &[(&str, &str)],
        envelope: impl Into<bytes::Bytes>,
    ) -> RawResponse {
        let host = raw_https::host(&gateway.soap_url());
        let basic =
            credentials.map(|(name, secret)| raw_https::basic_of(&format!("{name}:{secret}")));
        let mut all: Vec<(&str, &str)> = headers.to_vec();
        if let Some(basic) = &basic {
            all.push(("authorization", basic));
        }
        raw_https::send_to(
            Target {
                addr: gateway.local_addr(),
                host: &host,
                ca: gateway.ca_path(),
            },
            Method::POST,
            "/payment/service.asmx",
            &all,
            envelope,
        )
        .await
        .expect("an answer from the gateway")
    }
}

/// How an ERP's SOAP stack writes a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stack {
    /// .NET's `SoapHttpClientProtocol` (Add Web Reference), SOAP 1.1: `soap` prefix, the
    /// operation declaring the service namespace as default, `SOAPAction` quoted.
    DotNet11,
    /// The same in SOAP 1.2: `soap12` prefix, `application/soap+xml` with an `action`.
    DotNet12,
    /// Python's zeep, SOAP 1.1: `soap-env` prefix, every element qualified with `ns0`.
    Zeep11,
    /// zeep in SOAP 1.2: the action only in the `Content-Type`.
    Zeep12,
}

impl Stack {
    pub const ALL: [Self; 4] = [Self::DotNet11, Self::DotNet12, Self::Zeep11, Self::Zeep12];

    pub fn is_soap12(self) -> bool {
        matches!(self, Self::DotNet12 | Self::Zeep12)
    }

    /// The request for `operation` with `fields` in its `transaction`, and its headers.
    pub fn request(
        self,
        operation: &str,
        fields: &[(&str, &str)],
    ) -> (Vec<(&'static str, String)>, String) {
        let action = format!("{TNS}{operation}");
        let (envelope_ns, prefix) = match self {
            Self::DotNet11 => (SOAP11, "soap"),
            Self::DotNet12 => (SOAP12, "soap12"),
            Self::Zeep11 => (SOAP11, "soap-env"),
            Self::Zeep12 => (SOAP12, "soap-env"),
        };
        let body = match self {
            Self::DotNet11 | Self::DotNet12 => {
                let inner: String = fields
                    .iter()
                    .map(|(name, value)| format!("<{name}>{value}</{name}>"))
                    .collect();
                format!(
                    "<{operation} xmlns=\"{TNS}\"><transaction>{inner}</transaction></{operation}>"
                )
            }
            Self::Zeep11 | Self::Zeep12 => {
                let inner: String = fields
                    .iter()
                    .map(|(name, value)| format!("<ns0:{name}>{value}</ns0:{name}>"))
                    .collect();
                format!(
                    "<ns0:{operation} xmlns:ns0=\"{TNS}\"><ns0:transaction>{inner}</ns0:transaction></ns0:{operation}>"
                )
            }
        };
        let envelope = match self {
            Self::DotNet11 | Self::DotNet12 => format!(
                "<?xml version=\"1.0\" encoding=\"utf-8\"?><{prefix}:Envelope xmlns:{prefix}=\"{envelope_ns}\" \
                 xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
                 xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\"><{prefix}:Body>{body}</{prefix}:Body></{prefix}:Envelope>"
            ),
            Self::Zeep11 | Self::Zeep12 => format!(
                "<?xml version='1.0' encoding='utf-8'?>\n<{prefix}:Envelope xmlns:{prefix}=\"{envelope_ns}\">\
                 <{prefix}:Body>{body}</{prefix}:Body></{prefix}:Envelope>"
            ),
        };
        let headers = match self {
            Self::DotNet11 | Self::Zeep11 => vec![
                ("content-type", "text/xml; charset=utf-8".to_owned()),
                ("soapaction", format!("\"{action}\"")),
            ],
            Self::DotNet12 | Self::Zeep12 => vec![(
                "content-type",
                format!("application/soap+xml; charset=utf-8; action=\"{action}\""),
            )],
        };
        (headers, envelope)
    }
}

/// The fields of a void of `payment` at the test outlet.
pub fn void_fields(payment: &TransactionId) -> Vec<(&'static str, String)> {
    vec![
        ("MerchantID", "123123123".to_owned()),
        ("StoreID", "123".to_owned()),
        ("TerminalID", "456".to_owned()),
        ("PrimaryTransactionID", payment.as_str().to_owned()),
        ("PrimaryCardPresentStatus", "PresentManualKey".to_owned()),
    ]
}

impl Bench {
    /// Sends `operation` with `fields` as `stack` writes it.
    pub async fn ask(
        &self,
        stack: Stack,
        operation: &str,
        fields: &[(&str, String)],
    ) -> RawResponse {
        let borrowed: Vec<(&str, &str)> = fields.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let (headers, envelope) = stack.request(operation, &borrowed);
        let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        self.post(&headers, envelope).await
    }

    pub async fn void(&self, stack: Stack, payment: &TransactionId) -> RawResponse {
        self.ask(stack, "DoCreditCardSecondaryVoid", &void_fields(payment))
            .await
    }

    /// A void of `payment` sent to `gateway`.
    pub async fn void_at(
        &self,
        gateway: &Running,
        stack: Stack,
        payment: &TransactionId,
    ) -> RawResponse {
        let fields = void_fields(payment);
        let borrowed: Vec<(&str, &str)> = fields.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let (headers, envelope) = stack.request("DoCreditCardSecondaryVoid", &borrowed);
        let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        self.post_to(gateway, Some((CLIENT, SECRET)), &headers, envelope)
            .await
    }
}

/// A field of the answer, read by local name.
pub fn text(response: &RawResponse, local: &str) -> Option<String> {
    raw_https::xml_text(&response.body, local)
}

impl Bench {
    /// POSTs `body` to `path` as the ERP's client over a connection of its own, written by
    /// hand with `Content-Length: length` (which may say more than `body` holds), and returns
    /// the connection, its answer unread.
    pub async fn post_by_hand(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        length: usize,
        body: &[u8],
    ) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
        use tokio::io::AsyncWriteExt as _;
        let (mut tls, host) = self.connection().await;
        let mut head = format!(
            "POST {path} HTTP/1.1\r\nhost: {host}\r\nauthorization: {}\r\ncontent-length: {length}\r\n",
            basic(),
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        tls.write_all(head.as_bytes()).await.expect("head");
        tls.write_all(body).await.expect("body");
        tls.flush().await.expect("flush");
        tls
    }

    /// A TLS connection to the gateway as an ERP opens it, and the host it was opened to.
    async fn connection(
        &self,
    ) -> (
        tokio_rustls::client::TlsStream<tokio::net::TcpStream>,
        String,
    ) {
        use rustls::pki_types::pem::PemObject as _;
        let gateway = self.gateway();
        let host = raw_https::host(&gateway.soap_url());
        let ca = rustls::pki_types::CertificateDer::from_pem_file(
            gateway.ca_path().expect("the gateway's CA"),
        )
        .expect("CA");
        let mut roots = rustls::RootCertStore::empty();
        roots.add(ca).expect("root");
        let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
        let tcp = tokio::net::TcpStream::connect(gateway.local_addr())
            .await
            .expect("connect");
        let name = rustls::pki_types::ServerName::try_from(host.clone()).expect("name");
        let tls = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
            .connect(name, tcp)
            .await
            .expect("TLS");
        (tls, host)
    }
}

impl Bench {
    /// POSTs `body` to `path` as the ERP's client over a connection of its own, and hangs up
    /// without reading the answer once `until` resolves, as an ERP whose timeout fired does.
    /// Panics if the answer comes first.
    pub async fn hang_up_when(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
        until: impl std::future::Future<Output = ()>,
    ) {
        use tokio::io::AsyncReadExt as _;
        let mut tls = self.post_by_hand(path, headers, body.len(), body).await;
        let mut answer = [0_u8; 1];
        tokio::select! {
            read = tls.read(&mut answer) => panic!("answered before the hang-up: {read:?}"),
            () = until => {}
        }
        // Dropped without a word: the TCP connection closes under the gateway.
        drop(tls);
    }
}
