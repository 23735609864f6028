//! A real HTTP CONNECT proxy on loopback, for tests: it reads the CONNECT head, checks
//! `Proxy-Authorization` when told to, opens the tunnel to the target and copies bytes both
//! ways. It records what it saw, so a test can prove the tunnel was used and that nothing but
//! TLS went through it.
//!
//! Like a corporate proxy, it resolves the target's name itself, but only through the map it
//! is given (a name that is not on it gets 502, and DNS is never asked); a loopback address
//! is the only literal target it connects to. So a client that reaches a name only this proxy
//! knows has left name resolution to the proxy, and nothing leaves the machine.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One CONNECT request as the proxy received it.
#[derive(Debug, Clone)]
pub struct Connect {
    /// `host:port` from the request line.
    pub target: String,
    /// The `Proxy-Authorization` value, if any.
    pub authorization: Option<String>,
    /// The first byte the client sent inside the tunnel (0x16 opens a TLS handshake).
    pub first_tunnel_byte: Option<u8>,
}

/// What the proxy asks of a client.
#[derive(Debug, Clone)]
pub enum Policy {
    /// Tunnel for anyone.
    Open,
    /// Tunnel only with this exact `Proxy-Authorization` value; 407 otherwise.
    Require(String),
}

/// A running proxy; it stops when dropped.
pub struct ConnectProxy {
    /// The loopback address and port it listens on; [`url`](Self::url) writes it as a proxy URL.
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<Connect>>>,
    task: tokio::task::JoinHandle<()>,
}

/// The names a proxy resolves, as (name, loopback address).
type Names = Arc<Vec<(String, IpAddr)>>;

impl Drop for ConnectProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ConnectProxy {
    /// A proxy that knows one name, `localhost`.
    pub async fn start(policy: Policy) -> ConnectProxy {
        Self::resolving(policy, &[("localhost", IpAddr::V4(Ipv4Addr::LOCALHOST))]).await
    }

    /// A proxy that resolves exactly these names, each to a loopback address.
    pub async fn resolving(policy: Policy, names: &[(&str, IpAddr)]) -> ConnectProxy {
        for (name, address) in names {
            assert!(
                address.is_loopback(),
                "{name} must map to loopback, not {address}"
            );
        }
        let names: Names = Arc::new(
            names
                .iter()
                .map(|(name, address)| (name.to_ascii_lowercase(), *address))
                .collect(),
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy address");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                let _ = client.set_nodelay(true);
                let (policy, log, names) = (policy.clone(), log.clone(), names.clone());
                tokio::spawn(async move {
                    let _ = serve(client, &policy, &names, &log).await;
                });
            }
        });
        ConnectProxy { addr, seen, task }
    }

    /// `http://127.0.0.1:port`, with `userinfo@` when given.
    pub fn url(&self, userinfo: Option<&str>) -> String {
        match userinfo {
            Some(userinfo) => format!("http://{userinfo}@{}", self.addr),
            None => format!("http://{}", self.addr),
        }
    }

    /// Every CONNECT seen so far.
    pub fn seen(&self) -> Vec<Connect> {
        self.seen.lock().unwrap().clone()
    }
}

/// Where the tunnel to `target` (`host:port`, IPv6 in brackets) leads: a loopback address
/// written as such, or a name on the map. Anything else is not reached.
fn resolve(target: &str, names: &[(String, IpAddr)]) -> Option<SocketAddr> {
    let (host, port) = target.rsplit_once(':')?;
    let port: u16 = port.parse().ok()?;
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let address = match bare.parse::<IpAddr>() {
        Ok(address) => address,
        Err(_) => names
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(bare))
            .map(|(_, address)| *address)?,
    };
    address
        .is_loopback()
        .then_some(SocketAddr::new(address, port))
}

async fn serve(
    mut client: TcpStream,
    policy: &Policy,
    names: &[(String, IpAddr)],
    log: &Mutex<Vec<Connect>>,
) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    // Byte by byte, so that nothing the client sends after the head is read here.
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 8192 || client.read(&mut byte).await? == 0 {
            return Ok(());
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut words = request_line.split(' ');
    let (method, target) = (
        words.next().unwrap_or_default(),
        words.next().unwrap_or_default(),
    );
    let authorization = lines
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("proxy-authorization"))
        .map(|(_, value)| value.trim().to_owned());
    let index = {
        let mut seen = log.lock().unwrap();
        seen.push(Connect {
            target: target.to_owned(),
            authorization: authorization.clone(),
            first_tunnel_byte: None,
        });
        seen.len() - 1
    };
    if method != "CONNECT" {
        client
            .write_all(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            .await?;
        return Ok(());
    }
    if let Policy::Require(expected) = policy {
        if authorization.as_deref() != Some(expected.as_str()) {
            client
                .write_all(
                    b"HTTP/1.1 407 Proxy Authentication Required\r\n\
                      Proxy-Authenticate: Basic realm=\"test\"\r\nContent-Length: 0\r\n\r\n",
                )
                .await?;
            return Ok(());
        }
    }
    let bad_gateway = b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n";
    // Tests never reach past loopback, whatever a client asks for.
    let Some(upstream) = resolve(target, names) else {
        client.write_all(bad_gateway).await?;
        return Ok(());
    };
    let mut upstream = match TcpStream::connect(upstream).await {
        Ok(upstream) => upstream,
        Err(_) => {
            client.write_all(bad_gateway).await?;
            return Ok(());
        }
    };
    let _ = upstream.set_nodelay(true);
    client
        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
        .await?;
    if client.read(&mut byte).await? == 0 {
        return Ok(());
    }
    log.lock().unwrap()[index].first_tunnel_byte = Some(byte[0]);
    upstream.write_all(&byte).await?;
    tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
    Ok(())
}
