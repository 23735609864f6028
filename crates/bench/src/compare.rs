//! `instamed-soap bench`: voids per second and client CPU per void, ours beside a bare hyper +
//! rustls client posting the same envelopes, against a simulator in another process (so that
//! its CPU is not counted) or any endpoint.

use std::io::{BufRead, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use instamed_soap::call::{self, Call, Route, Wire};
use instamed_soap::{
    Client, ClientBuilder, Credentials, Outlet, Protocol, TransactionId, UserName, VoidRequest,
};
use instamed_soap_simulator::{DEMO_ACCOUNT_ID, DEMO_PASSWORD};
use tokio::net::TcpStream;

use crate::process;

/// What to measure, and how.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Options {
    /// The service to measure against; without it a simulator is started in another process.
    pub endpoint: Option<String>,
    /// CA certificate for the endpoint (PEM), for the raw baseline (and for ours, unless
    /// `client` is given).
    pub ca_cert: Option<PathBuf>,
    /// With `endpoint`: the settings ours is built from (`Client::builder` with the endpoint,
    /// trust, proxy and deadline set), to which the bench adds the demo credentials, the
    /// protocol and the pool size. Without it, ours goes direct, trusting `ca_cert`.
    pub client: Option<ClientBuilder>,
    /// Payments to void, as the simulator's seed file (first column: transaction ID). Needed
    /// with --endpoint; the raw client takes the IDs after ours.
    pub seed_file: Option<PathBuf>,
    /// Protocol: soap11, soap12 or nvp.
    pub protocol: String,
    /// Voids per client and round, 1 to 100000.
    pub voids: usize,
    /// Voids in flight at once (1: sequential over one keep-alive connection), up to 1024.
    pub concurrency: usize,
    /// With the started simulator: plain HTTP instead of HTTPS.
    pub plain_http: bool,
    /// Skip the raw hyper + rustls baseline.
    pub no_raw: bool,
    /// Rounds of --voids voids per client, ours and the raw client taking turns (and turns at
    /// going first). Figures are medians over the rounds, so that a burst of other work on the
    /// machine moves one round, not the result. 1 to 20.
    pub rounds: usize,
    /// One JSON line per client instead of a table.
    pub json: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            endpoint: Default::default(),
            ca_cert: Default::default(),
            client: Default::default(),
            seed_file: Default::default(),
            protocol: "soap11".to_owned(),
            voids: 2000,
            concurrency: 1,
            plain_http: Default::default(),
            no_raw: Default::default(),
            rounds: 5,
            json: Default::default(),
        }
    }
}

/// What one client's run measured.
struct Figures {
    client: &'static str,
    calls: usize,
    failures: usize,
    wall: Duration,
    cpu: Duration,
}

/// Calls' latencies in nanoseconds, to three significant digits: a histogram of fixed size,
/// so that a long run's resident size says what the client holds, not what the bench keeps.
pub(crate) type Latencies = Histogram<u64>;

pub(crate) fn latencies() -> Latencies {
    // A microsecond to a minute: the bounds are constants, valid for any run.
    Histogram::new_with_bounds(1_000, 60_000_000_000, 3).expect("valid histogram bounds")
}

/// Adds `part` to `all`. Both have the same bounds, so adding cannot fail.
pub(crate) fn add(all: &mut Latencies, part: &Latencies) {
    let _ = all.add(part);
}

/// One client's rounds so far: each round's figures, and the latency of every call.
struct Rounds {
    figures: Vec<Figures>,
    latencies: Latencies,
}

impl Rounds {
    fn new(capacity: usize) -> Self {
        Self {
            figures: Vec::with_capacity(capacity),
            latencies: latencies(),
        }
    }

    fn push(&mut self, (figures, latencies): (Figures, Latencies)) {
        self.figures.push(figures);
        add(&mut self.latencies, &latencies);
    }
}

impl Figures {
    fn cpu_ms_per_call(&self) -> f64 {
        self.cpu.as_secs_f64() * 1e3 / self.calls.max(1) as f64
    }

    fn calls_per_s(&self) -> f64 {
        self.calls as f64 / self.wall.as_secs_f64()
    }
}

/// One client's rounds together: the median round's rates, every call's latency.
struct Summary {
    client: &'static str,
    rounds: usize,
    calls: usize,
    failures: usize,
    calls_per_s: f64,
    cpu_ms_per_call: f64,
    latencies: Latencies,
}

impl Summary {
    fn of(rounds: Rounds) -> Self {
        let Rounds {
            figures: rounds,
            latencies,
        } = rounds;
        Self {
            client: rounds.first().map_or("", |figures| figures.client),
            rounds: rounds.len(),
            calls: rounds.iter().map(|figures| figures.calls).sum(),
            failures: rounds.iter().map(|figures| figures.failures).sum(),
            calls_per_s: median(rounds.iter().map(Figures::calls_per_s).collect()),
            cpu_ms_per_call: median(rounds.iter().map(Figures::cpu_ms_per_call).collect()),
            latencies,
        }
    }

    /// The latency below which `share` of the calls answered, in milliseconds.
    fn percentile(&self, share: f64) -> f64 {
        self.latencies.value_at_quantile(share) as f64 / 1e6
    }
}

/// The middle value (the mean of the two middle ones for an even count).
pub(crate) fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => 0.0,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// Runs the comparison and prints its figures on standard output.
pub async fn run(args: &Options) -> Result<(), Box<dyn std::error::Error>> {
    let protocol: Protocol = args.protocol.parse()?;
    let clients = if args.no_raw { 1 } else { 2 };
    let needed = clients * args.rounds * args.voids;
    let (target, _server) = match &args.endpoint {
        Some(endpoint) => {
            let seeds = args
                .seed_file
                .as_deref()
                .ok_or("--endpoint needs --seed-file")?;
            (
                Target {
                    endpoint: endpoint.clone(),
                    ca: args.ca_cert.clone(),
                    ids: read_ids(seeds)?,
                },
                None,
            )
        }
        None => {
            let (target, server) = start_simulator(needed, args.plain_http)?;
            (target, Some(server))
        }
    };
    if target.ids.len() < needed {
        return Err(format!(
            "{} payment IDs for {needed} voids ({clients} clients x {} rounds x {} voids)",
            target.ids.len(),
            args.rounds,
            args.voids
        )
        .into());
    }
    let target = Arc::new(target);

    let mut ours = Rounds::new(args.rounds);
    let mut raw = Rounds::new(args.rounds);
    // Resident size after each round: a client that holds on to memory grows it round by round.
    let mut resident = Vec::with_capacity(args.rounds);
    let mut batches = target.ids.chunks(args.voids).map(<[String]>::to_vec);
    for round in 0..args.rounds {
        let ours_first = round % 2 == 0;
        if ours_first {
            ours.push(measure_ours(&target, batches.next(), protocol, args)?);
        }
        if !args.no_raw {
            raw.push(measure_raw(&target, batches.next(), protocol, args)?);
        }
        if !ours_first {
            ours.push(measure_ours(&target, batches.next(), protocol, args)?);
        }
        resident.push(rss_mib("VmRSS:"));
    }
    let ratios: Vec<f64> = ours
        .figures
        .iter()
        .zip(&raw.figures)
        .map(|(ours, raw)| ours.cpu_ms_per_call() / raw.cpu_ms_per_call())
        .collect();
    let mut results = vec![Summary::of(ours)];
    if !args.no_raw {
        results.push(Summary::of(raw));
    }
    let peak = rss_mib("VmHWM:");
    let scheme = if target.endpoint.starts_with("https") {
        "https"
    } else {
        "http"
    };
    if args.json {
        for figures in &results {
            println!(
                "{}",
                serde_json::json!({
                    "client": figures.client,
                    "rounds": figures.rounds,
                    "protocol": protocol.as_str(),
                    "scheme": scheme,
                    "calls": figures.calls,
                    "failures": figures.failures,
                    "concurrency": args.concurrency,
                    "calls_per_s": figures.calls_per_s,
                    "cpu_ms_per_call": figures.cpu_ms_per_call,
                    "p50_ms": figures.percentile(0.50),
                    "p99_ms": figures.percentile(0.99),
                    "peak_rss_mib": peak,
                    "rss_mib_by_round": resident,
                })
            );
        }
    } else {
        println!(
            "{} voids over {protocol} ({scheme}), {} in flight, {} rounds per client (medians); client CPU from getrusage, simulator in another process",
            args.voids, args.concurrency, args.rounds
        );
        println!(
            "{:<14} {:>10} {:>14} {:>9} {:>9} {:>9}",
            "client", "calls/s", "CPU ms/call", "p50 ms", "p99 ms", "failures"
        );
        for figures in &results {
            println!(
                "{:<14} {:>10.0} {:>14.4} {:>9.3} {:>9.3} {:>9}",
                figures.client,
                figures.calls_per_s,
                figures.cpu_ms_per_call,
                figures.percentile(0.50),
                figures.percentile(0.99),
                figures.failures
            );
        }
        if !ratios.is_empty() {
            let (low, high) = ratios.iter().fold((f64::MAX, f64::MIN), |(low, high), r| {
                (low.min(*r), high.max(*r))
            });
            println!(
                "CPU per call, ours / raw: {:.2} (median of {} rounds side by side; {low:.2} to {high:.2})",
                median(ratios.clone()),
                ratios.len()
            );
        }
        let by_round: Vec<String> = resident.iter().map(|mib| format!("{mib:.1}")).collect();
        println!(
            "resident memory after each round: {} MiB; peak {peak:.1} MiB",
            by_round.join(" ")
        );
    }
    Ok(())
}

/// Where to send the voids, and which payments to void.
pub(crate) struct Target {
    pub endpoint: String,
    pub ca: Option<PathBuf>,
    pub ids: Vec<String>,
}

/// The simulator process, stopped with SIGINT when dropped.
pub(crate) struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-INT", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}

/// Starts `instamed-soap serve` in another process with `count` captured payments.
fn start_simulator(
    count: usize,
    plain_http: bool,
) -> Result<(Target, Server), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("instamed-soap-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let extra: &[&str] = if plain_http { &["--plain-http"] } else { &[] };
    start_simulator_in(&dir, count, extra)
}

/// Starts `instamed-soap serve` in another process with `count` captured payments, its seed
/// file in `dir`, with the further flags `extra`.
pub(crate) fn start_simulator_in(
    dir: &Path,
    count: usize,
    extra: &[&str],
) -> Result<(Target, Server), Box<dyn std::error::Error>> {
    let seeds = dir.join("seeds.csv");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&seeds)?);
    let ids: Vec<String> = (0..count).map(|n| format!("BE{n:030X}")).collect();
    for id in &ids {
        writeln!(file, "{id},123123123,123,123,1.00")?;
    }
    file.flush()?;
    let mut command = Command::new(std::env::current_exe()?);
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--seed-file"])
        .arg(&seeds)
        .args(extra);
    // A line per request would flood the terminal and spend, on the simulator's side, CPU the
    // client under measurement shares; its warnings still show. A RUST_LOG of the user's wins.
    if std::env::var_os("RUST_LOG").is_none() {
        command.env("RUST_LOG", "warn");
    }
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let stdout = child.stdout.take().ok_or("no stdout from the simulator")?;
    let server = Server(child);
    let (mut endpoint, mut ca) = (None, None);
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        if let Some(url) = line.strip_prefix("endpoint:") {
            endpoint = Some(url.trim().to_owned());
        } else if let Some(path) = line.strip_prefix("ca-cert:") {
            ca = Some(PathBuf::from(path.trim()));
        } else if line.starts_with("Ctrl-C") {
            break;
        }
    }
    let endpoint = endpoint.ok_or("the simulator did not print its endpoint")?;
    Ok((Target { endpoint, ca, ids }, server))
}

fn read_ids(seeds: &Path) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let text =
        instamed_soap::files::read_to_string(seeds, instamed_soap_simulator::MAX_SEED_FILE_BYTES)
            .map_err(|e| format!("cannot read the seed file {}: {e}", seeds.display()))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(|line| line.split(',').next().map(str::to_owned))
        .collect())
}

/// A resident set size of this process in MiB: `VmRSS:` now, `VmHWM:` the highest so far
/// (Linux; 0 elsewhere).
pub(crate) fn rss_mib(field: &str) -> f64 {
    process::status_kib(field).map_or(0.0, |kib| kib as f64 / 1024.0)
}

/// Runs `work` on a runtime of its own in a thread of its own: a current-thread runtime for
/// sequential runs (as a single-threaded peer would), a multi-thread one for concurrent runs.
fn on_own_runtime<T: Send + 'static>(
    concurrency: usize,
    work: impl FnOnce() -> std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send>>
    + Send
    + 'static,
) -> Result<T, Box<dyn std::error::Error>> {
    let thread = std::thread::spawn(move || {
        let runtime = if concurrency == 1 {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
        } else {
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
        };
        runtime.map(|runtime| runtime.block_on(work()))
    });
    thread
        .join()
        .map_err(|_| "the benchmark thread panicked")?
        .map_err(Into::into)
}

/// Spreads `ids` over `concurrency` tasks, each voiding its share with `call` and timing it;
/// returns every call's latency and how many calls failed.
async fn drive<F, Fut>(ids: Vec<String>, concurrency: usize, call: F) -> (Latencies, usize)
where
    F: Fn(String) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let chunk = ids.len().div_ceil(concurrency);
    let mut tasks = Vec::new();
    for share in ids.chunks(chunk).map(<[String]>::to_vec) {
        let call = call.clone();
        tasks.push(tokio::spawn(async move {
            let (mut latencies, mut failures) = (latencies(), 0);
            for id in share {
                let started = Instant::now();
                failures += usize::from(!call(id).await);
                latencies.saturating_record(started.elapsed().as_nanos() as u64);
            }
            (latencies, failures)
        }));
    }
    let (mut all, mut failures) = (latencies(), 0);
    for task in tasks {
        if let Ok((part, failed)) = task.await {
            add(&mut all, &part);
            failures += failed;
        }
    }
    (all, failures)
}

fn measure_ours(
    target: &Arc<Target>,
    ids: Option<Vec<String>>,
    protocol: Protocol,
    args: &Options,
) -> Result<(Figures, Latencies), Box<dyn std::error::Error>> {
    let ids = ids.ok_or("no payments left to void")?;
    let builder = match (&args.client, &args.endpoint) {
        (Some(settings), Some(_)) => settings.clone(),
        _ => {
            // Direct, like the raw client it is compared with: a proxy would measure the
            // proxy.
            let mut builder = Client::builder(&target.endpoint)
                .no_proxy()
                .allow_plain_http_on_loopback(true);
            if let Some(ca) = &target.ca {
                builder = builder.ca_certificate_file(ca);
            }
            builder
        }
    };
    let client = builder
        .credentials(Credentials::new(DEMO_ACCOUNT_ID, DEMO_PASSWORD))
        .protocol(protocol)
        .max_idle_connections(args.concurrency)
        .build()?;
    let concurrency = args.concurrency;
    let outlet = Outlet::new("123123123", "123", "123")?;
    let (cpu_before, started) = (process::cpu_time(), Instant::now());
    let (latencies, failures) = on_own_runtime(concurrency, move || {
        Box::pin(drive(ids, concurrency, move |id| {
            let (client, outlet) = (client.clone(), outlet.clone());
            async move {
                let Ok(payment) = TransactionId::new(&id) else {
                    return false;
                };
                client
                    .void(&VoidRequest::new(outlet, payment))
                    .await
                    .is_ok()
            }
        }))
    })?;
    let figures = Figures {
        client: "instamed-soap",
        calls: latencies.len() as usize,
        failures,
        wall: started.elapsed(),
        cpu: process::cpu_time().saturating_sub(cpu_before),
    };
    Ok((figures, latencies))
}

/// The bare baseline: hyper's HTTP/1.1 connection over tokio-rustls, posting envelopes built
/// before the clock starts (by our own encoder, so the bytes are the same) and reading each
/// answer whole, without parsing it.
fn measure_raw(
    target: &Arc<Target>,
    ids: Option<Vec<String>>,
    protocol: Protocol,
    args: &Options,
) -> Result<(Figures, Latencies), Box<dyn std::error::Error>> {
    let ids = ids.ok_or("no payments left to void")?;
    let credentials = Credentials::new(DEMO_ACCOUNT_ID, DEMO_PASSWORD);
    let run = raw_voids(
        &target.endpoint,
        target.ca.as_deref(),
        &credentials,
        ids,
        protocol,
        args.concurrency,
    )?;
    let figures = Figures {
        client: "raw-hyper",
        calls: run.latencies.len() as usize,
        failures: run.failures,
        wall: run.wall,
        cpu: run.cpu,
    };
    Ok((figures, run.latencies))
}

/// What a run of the bare client measured.
pub(crate) struct RawRun {
    /// Every call's latency.
    pub latencies: Latencies,
    /// Calls that failed or were not answered 2xx.
    pub failures: usize,
    /// Wall time of the whole run.
    pub wall: Duration,
    /// This process's CPU time over the run.
    pub cpu: Duration,
}

/// Voids `ids` at `endpoint` with the bare client, `concurrency` at a time, signed with
/// `credentials` as our client signs: what `bench` compares ours with, and what `bench
/// gateway` sends through each intermediary, so that the figures are the path's, not a
/// client's.
pub(crate) fn raw_voids(
    endpoint: &str,
    ca: Option<&Path>,
    credentials: &Credentials,
    ids: Vec<String>,
    protocol: Protocol,
    concurrency: usize,
) -> Result<RawRun, Box<dyn std::error::Error>> {
    raw_voids_over(
        &[endpoint.to_owned()],
        ca,
        credentials,
        ids,
        protocol,
        concurrency,
    )
}

/// [`raw_voids`] spread over several `endpoints` (replicas behind a load balancer that takes
/// turns): the n-th void goes to endpoint n modulo their number, each endpoint over
/// keep-alive connections of its own.
pub(crate) fn raw_voids_over(
    endpoints: &[String],
    ca: Option<&Path>,
    credentials: &Credentials,
    ids: Vec<String>,
    protocol: Protocol,
    concurrency: usize,
) -> Result<RawRun, Box<dyn std::error::Error>> {
    let mut places = Vec::with_capacity(endpoints.len());
    for endpoint in endpoints {
        places.push(Place::new(endpoint, ca, credentials, protocol)?);
    }
    if places.is_empty() {
        return Err("no endpoint to send the voids to".into());
    }
    let outlet = Outlet::new("123123123", "123", "123")?;
    // The requests our client would send, built now so that the timed loop only sends.
    let requests: Vec<(usize, http::Request<Bytes>)> = ids
        .iter()
        .enumerate()
        .map(|(index, id)| {
            let place = index % places.len();
            let request = VoidRequest::new(outlet.clone(), TransactionId::new(id)?);
            places[place]
                .wire
                .request(&request)
                .map(|request| (place, request))
                .map_err(|e| Box::new(e) as Box<dyn std::error::Error>)
        })
        .collect::<Result<_, _>>()?;
    let requests = Arc::new(std::sync::Mutex::new(
        requests.into_iter().map(Some).collect::<Vec<_>>(),
    ));
    let addresses: Arc<Vec<Address>> =
        Arc::new(places.into_iter().map(|place| place.address).collect());
    let indexes: Vec<String> = (0..ids.len()).map(|i| i.to_string()).collect();
    let (cpu_before, started) = (process::cpu_time(), Instant::now());
    let (latencies, failures) = on_own_runtime(concurrency, move || {
        Box::pin(async move {
            // Connections are opened by the tasks and kept, per endpoint, for the next void
            // to it: at most one per task and endpoint.
            let connections: Arc<Vec<tokio::sync::Mutex<Vec<Sender>>>> = Arc::new(
                (0..addresses.len())
                    .map(|_| tokio::sync::Mutex::new(Vec::new()))
                    .collect(),
            );
            drive(indexes, concurrency, move |index| {
                let (requests, connections, addresses) =
                    (requests.clone(), connections.clone(), addresses.clone());
                async move {
                    let Ok(index) = index.parse::<usize>() else {
                        return false;
                    };
                    let request = requests
                        .lock()
                        .ok()
                        .and_then(|mut all| all.get_mut(index).and_then(Option::take));
                    let Some((place, request)) = request else {
                        return false;
                    };
                    let (Some(pool), Some(address)) =
                        (connections.get(place), addresses.get(place))
                    else {
                        return false;
                    };
                    let sender = pool.lock().await.pop();
                    let mut sender = match sender {
                        Some(sender) => sender,
                        None => match raw_connect(&address.host, address.port, address.tls.clone())
                            .await
                        {
                            Ok(sender) => sender,
                            Err(_) => return false,
                        },
                    };
                    let ok = match sender.send_request(request.map(Full::new)).await {
                        Ok(response) => {
                            let status = response.status();
                            response.into_body().collect().await.is_ok() && status.is_success()
                        }
                        Err(_) => false,
                    };
                    pool.lock().await.push(sender);
                    ok
                }
            })
            .await
        })
    })?;
    Ok(RawRun {
        latencies,
        failures,
        wall: started.elapsed(),
        cpu: process::cpu_time().saturating_sub(cpu_before),
    })
}

/// One endpoint the bare client sends to: where to connect, and how its requests are written.
struct Place {
    address: Address,
    wire: Wire,
}

/// Where the bare client connects, and with which TLS settings.
struct Address {
    host: String,
    port: u16,
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl Place {
    fn new(
        endpoint: &str,
        ca: Option<&Path>,
        credentials: &Credentials,
        protocol: Protocol,
    ) -> Result<Self, Box<dyn std::error::Error>> {
        let uri: http::Uri = endpoint.parse()?;
        let host = uri.host().ok_or("no host in the endpoint")?.to_owned();
        let port = uri
            .port_u16()
            .unwrap_or(if uri.scheme_str() == Some("https") {
                443
            } else {
                80
            });
        let tls = match (uri.scheme_str(), ca) {
            (Some("https"), Some(ca)) => Some(raw_tls_config(ca)?),
            (Some("https"), None) => {
                return Err("the raw baseline needs --ca-cert for https".into());
            }
            _ => None,
        };
        let route = |uri: &http::Uri| Route::new(uri, credentials, UserName::default());
        let nvp_route = call::nvp_address(&uri).map(|uri| route(&uri)).transpose()?;
        let wire = Wire::new(protocol, route(&uri)?, nvp_route)?;
        Ok(Self {
            address: Address { host, port, tls },
            wire,
        })
    }
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

async fn raw_connect(
    host: &str,
    port: u16,
    tls: Option<Arc<rustls::ClientConfig>>,
) -> Result<Sender, Box<dyn std::error::Error + Send + Sync>> {
    let tcp = TcpStream::connect((host, port)).await?;
    tcp.set_nodelay(true)?;
    let sender = match tls {
        Some(config) => {
            let name = rustls::pki_types::ServerName::try_from(host.to_owned())?;
            let stream = tokio_rustls::TlsConnector::from(config)
                .connect(name, tcp)
                .await?;
            let (sender, connection) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
            tokio::spawn(connection);
            sender
        }
        None => {
            let (sender, connection) =
                hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await?;
            tokio::spawn(connection);
            sender
        }
    };
    Ok(sender)
}

fn raw_tls_config(ca: &Path) -> Result<Arc<rustls::ClientConfig>, Box<dyn std::error::Error>> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for certificate in CertificateDer::pem_file_iter(ca)? {
        roots.add(certificate?)?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
