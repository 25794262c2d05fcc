//! The listener and its guards: how long a client may take to send a
//! request's headers (and so how long an idle connection stays open), and
//! how many connections and WebSockets one client address and everyone
//! together may hold. A client over a cap is refused at once (a connection
//! with `503` and `Connection: close`, a WebSocket with `429`), so one
//! address holding its share cannot take `/healthz`, the API or the help
//! pages offline for everyone else, and the process never runs out of
//! open files while accepting.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Request};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tower::ServiceExt as _;

use crate::settings::ConnectionSettings;

/// What a refused client is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// This client address holds as many as it may.
    PerAddress(usize),
    /// The server holds as many as it may.
    Total(usize),
}

/// Who holds what, now: the counts the caps are checked against.
#[derive(Debug)]
pub struct Occupancy {
    settings: ConnectionSettings,
    counts: Mutex<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    connections: usize,
    connections_by_address: HashMap<String, usize>,
    websockets: usize,
    websockets_by_address: HashMap<String, usize>,
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Connection,
    WebSocket,
}

/// One admitted connection or WebSocket; dropping it frees its place.
#[derive(Debug)]
pub struct Permit {
    occupancy: Arc<Occupancy>,
    kind: Kind,
    address: String,
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut counts = self.occupancy.counts.lock().unwrap_or_else(PoisonError::into_inner);
        let (total, by_address) = counts.of(self.kind);
        *total = total.saturating_sub(1);
        if let Some(held) = by_address.get_mut(&self.address) {
            *held = held.saturating_sub(1);
            if *held == 0 {
                by_address.remove(&self.address);
            }
        }
    }
}

impl Counts {
    fn of(&mut self, kind: Kind) -> (&mut usize, &mut HashMap<String, usize>) {
        match kind {
            Kind::Connection => (&mut self.connections, &mut self.connections_by_address),
            Kind::WebSocket => (&mut self.websockets, &mut self.websockets_by_address),
        }
    }
}

impl Occupancy {
    /// Nobody connected yet.
    pub fn new(settings: ConnectionSettings) -> Arc<Occupancy> {
        Arc::new(Occupancy { settings, counts: Mutex::new(Counts::default()) })
    }

    /// The limits in force.
    pub fn settings(&self) -> &ConnectionSettings {
        &self.settings
    }

    /// Admits a TCP connection from `peer`, or says which cap it meets.
    pub fn enter_connection(self: &Arc<Self>, peer: IpAddr) -> Result<Permit, Refusal> {
        let address = client_address_of(&axum::http::HeaderMap::new(), Some(peer), false);
        let (total, per_address) = (self.settings.max_connections, self.settings.max_connections_per_address);
        self.enter(Kind::Connection, address, total, per_address)
    }

    /// Admits a WebSocket from `client` (a [`client_address_of`] key).
    pub fn enter_websocket(self: &Arc<Self>, client: String) -> Result<Permit, Refusal> {
        let (total, per_address) = (self.settings.max_websockets, self.settings.max_websockets_per_address);
        self.enter(Kind::WebSocket, client, total, per_address)
    }

    /// How many connections and WebSockets are open now.
    pub fn open(&self) -> (usize, usize) {
        let counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        (counts.connections, counts.websockets)
    }

    fn enter(
        self: &Arc<Self>,
        kind: Kind,
        address: String,
        cap: usize,
        cap_per_address: usize,
    ) -> Result<Permit, Refusal> {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        let (total, by_address) = counts.of(kind);
        if *total >= cap {
            return Err(Refusal::Total(cap));
        }
        let held = by_address.entry(address.clone()).or_insert(0);
        if *held >= cap_per_address {
            return Err(Refusal::PerAddress(cap_per_address));
        }
        *held += 1;
        *total += 1;
        Ok(Permit { occupancy: Arc::clone(self), kind, address })
    }
}

/// What a connection over a cap reads before it is closed.
const REFUSED: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n\
Retry-After: 10\r\nConnection: close\r\nContent-Length: 105\r\n\r\n\
{\"error\":{\"code\":\"too_many_connections\",\"message\":\"too many open connections; retry later\",\"field\":null}}";

/// How long to wait before accepting again when the process is out of open
/// files (the caps should prevent it; other files count too).
const OUT_OF_FILES_PAUSE: Duration = Duration::from_millis(50);

/// Accepts connections on `listener` and serves `router` on each, within
/// `occupancy`'s caps, until `shutdown` resolves; then lets open requests
/// finish and returns once every connection is closed.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    occupancy: Arc<Occupancy>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let (stop, stopped) = watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop.send(true);
    });
    // Each connection's task holds a clone; `closed()` resolves when all are gone.
    let (all_closed, open) = watch::channel(());
    let mut accepting = stopped.clone();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = accepting.wait_for(|stop| *stop) => break,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                if matches!(error.raw_os_error(), Some(code) if code == 23 || code == 24) {
                    tracing::warn!(%error, "out of open files while accepting; lower [server] max_connections");
                    tokio::time::sleep(OUT_OF_FILES_PAUSE).await;
                } else {
                    tracing::debug!(%error, "accepting a connection");
                }
                continue;
            }
        };
        match occupancy.enter_connection(peer.ip()) {
            Ok(permit) => {
                let task =
                    serve_one(stream, peer, router.clone(), occupancy.settings.header_read_timeout, stopped.clone());
                let open = open.clone();
                tokio::spawn(async move {
                    task.await;
                    drop(permit);
                    drop(open);
                });
            }
            Err(refusal) => {
                tracing::debug!(%peer, ?refusal, "refusing a connection over its cap");
                // Best effort, without waiting: the socket's buffer takes it.
                let _ = stream.try_write(REFUSED);
            }
        }
    }
    drop(open);
    drop(listener);
    all_closed.closed().await;
}

/// Serves one connection with hyper: HTTP/1.1 with upgrades (WebSockets),
/// the header-read timeout, and a graceful close on shutdown.
fn serve_one(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    header_read_timeout: Duration,
    mut stopped: watch::Receiver<bool>,
) -> impl Future<Output = ()> + Send {
    // Small JSON responses should not wait for Nagle's algorithm.
    if let Err(error) = stream.set_nodelay(true) {
        tracing::debug!(%error, "setting TCP_NODELAY");
    }
    let service = router.map_request(move |mut request: Request<Incoming>| {
        // The peer address reaches handlers as `ConnectInfo` (rate limits, WebSocket caps).
        request.extensions_mut().insert(ConnectInfo(peer));
        request.map(Body::new)
    });
    let service = TowerToHyperService::new(service);
    async move {
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder.timer(TokioTimer::new()).header_read_timeout(header_read_timeout);
        let connection = builder.serve_connection(TokioIo::new(stream), service).with_upgrades();
        tokio::pin!(connection);
        let mut stopping = false;
        loop {
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(error) = result {
                        tracing::debug!(%peer, %error, "connection ended");
                    }
                    return;
                }
                _ = stopped.wait_for(|stop| *stop), if !stopping => {
                    stopping = true;
                    connection.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

/// The client's address, as a rate-limit key: the connection's peer, or with
/// `trust_forwarded_for` the last address in `X-Forwarded-For` (the one the
/// reverse proxy in front of Rapport appended). IPv6 clients are grouped by
/// their /64, since one subscriber commonly holds a whole /64.
pub fn client_address<B>(request: &Request<B>, trust_forwarded_for: bool) -> String {
    let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(address)| address.ip());
    client_address_of(request.headers(), peer, trust_forwarded_for)
}

/// [`client_address`] from a request's headers and its peer's address.
pub fn client_address_of(headers: &HeaderMap, peer: Option<IpAddr>, trust_forwarded_for: bool) -> String {
    let forwarded = trust_forwarded_for.then(|| forwarded_for(headers)).flatten();
    match forwarded.or(peer) {
        Some(IpAddr::V4(address)) => address.to_string(),
        Some(IpAddr::V6(address)) => match address.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let segments = address.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", segments[0], segments[1], segments[2], segments[3])
            }
        },
        // Served without connection info (a test harness calling the router
        // directly): everyone shares one counter.
        None => "unknown".to_owned(),
    }
}

fn forwarded_for(headers: &HeaderMap) -> Option<IpAddr> {
    let value = headers.get_all("x-forwarded-for").iter().filter_map(|value| value.to_str().ok()).next_back()?;
    value.rsplit(',').next()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn request(peer: &str, forwarded: Option<&str>) -> Request<()> {
        let mut request = Request::new(());
        request.extensions_mut().insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
        if let Some(forwarded) = forwarded {
            request.headers_mut().insert("x-forwarded-for", HeaderValue::from_str(forwarded).unwrap());
        }
        request
    }

    fn settings(per_address: usize, total: usize) -> ConnectionSettings {
        ConnectionSettings {
            max_connections: total,
            max_connections_per_address: per_address,
            max_websockets: total,
            max_websockets_per_address: per_address,
            ..ConnectionSettings::default()
        }
    }

    #[test]
    fn an_address_at_its_cap_is_refused_and_others_are_not() {
        let occupancy = Occupancy::new(settings(2, 10));
        let one: IpAddr = "192.0.2.1".parse().unwrap();
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        let held = [occupancy.enter_connection(one).unwrap(), occupancy.enter_connection(one).unwrap()];
        assert_eq!(occupancy.enter_connection(one).unwrap_err(), Refusal::PerAddress(2));
        let _other = occupancy.enter_connection(other).unwrap();
        drop(held);
        assert_eq!(occupancy.open(), (1, 0));
        assert!(occupancy.enter_connection(one).is_ok());
    }

    #[test]
    fn the_total_cap_holds_across_addresses_and_frees_on_drop() {
        let occupancy = Occupancy::new(settings(5, 3));
        let permits: Vec<_> =
            (1..=3).map(|n| occupancy.enter_connection(format!("192.0.2.{n}").parse().unwrap()).unwrap()).collect();
        assert_eq!(occupancy.enter_connection("192.0.2.9".parse().unwrap()).unwrap_err(), Refusal::Total(3));
        drop(permits);
        assert_eq!(occupancy.open(), (0, 0));
        assert!(occupancy.counts.lock().unwrap().connections_by_address.is_empty(), "no address left behind");
    }

    #[test]
    fn one_ipv6_subscriber_shares_one_cap_across_its_64() {
        let occupancy = Occupancy::new(settings(1, 10));
        let _first = occupancy.enter_connection("2001:db8:1:2::1".parse().unwrap()).unwrap();
        let second = occupancy.enter_connection("2001:db8:1:2::ffff".parse().unwrap());
        assert_eq!(second.unwrap_err(), Refusal::PerAddress(1));
    }

    #[test]
    fn websockets_have_their_own_counts() {
        let occupancy = Occupancy::new(settings(1, 10));
        let _connection = occupancy.enter_connection("192.0.2.1".parse().unwrap()).unwrap();
        let _socket = occupancy.enter_websocket("192.0.2.1".to_owned()).unwrap();
        assert_eq!(occupancy.enter_websocket("192.0.2.1".to_owned()).unwrap_err(), Refusal::PerAddress(1));
        assert_eq!(occupancy.open(), (1, 1));
    }

    #[test]
    fn the_refusal_is_a_whole_http_response() {
        let text = std::str::from_utf8(REFUSED).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.contains(&format!("Content-Length: {}", body.len())), "{head}");
        serde_json::from_str::<serde_json::Value>(body).unwrap();
    }

    #[test]
    fn the_client_address_comes_from_the_connection_unless_a_proxy_is_trusted() {
        assert_eq!(client_address(&request("10.0.0.1:5000", Some("1.2.3.4")), false), "10.0.0.1");
        assert_eq!(client_address(&request("10.0.0.1:5000", Some("9.9.9.9, 1.2.3.4")), true), "1.2.3.4");
        assert_eq!(client_address(&request("10.0.0.1:5000", Some("garbage")), true), "10.0.0.1");
        assert_eq!(client_address(&request("[2001:db8:1:2:3:4:5:6]:80", None), false), "2001:db8:1:2::/64");
        assert_eq!(client_address(&request("[::ffff:1.2.3.4]:80", None), false), "1.2.3.4");
        assert_eq!(client_address(&Request::new(()), false), "unknown");
    }
}
