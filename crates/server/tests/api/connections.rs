//! Issue 15's connection attacks: a connection that sends nothing or dribbles
//! its headers, one address holding many connections or chat sockets. Each
//! is refused or closed, and `/healthz` and the API keep answering others.

use std::time::{Duration, Instant};

use rapport_server::ServerConfig;
use rapport_server::settings::ConnectionSettings;
use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::helpers::{TestApp, spawn_app_with};

fn limited(settings: ConnectionSettings) -> ServerConfig {
    ServerConfig { connections: settings, ..ServerConfig::default() }
}

fn port(app: &TestApp) -> u16 {
    app.address.rsplit(':').next().unwrap().parse().unwrap()
}

/// A TCP connection to the server from `source` (any 127.x.y.z is this machine).
async fn connect_from(app: &TestApp, source: [u8; 4]) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind((std::net::Ipv4Addr::from(source), 0).into()).unwrap();
    socket.connect(([127, 0, 0, 1], port(app)).into()).await.unwrap()
}

/// Reads until the server closes the connection; returns what it sent and when it closed.
async fn read_until_closed(stream: &mut TcpStream, within: Duration) -> (String, Duration) {
    let started = Instant::now();
    let mut received = Vec::new();
    let read = tokio::time::timeout(within, stream.read_to_end(&mut received)).await;
    assert!(read.is_ok(), "still open after {within:?}");
    (String::from_utf8_lossy(&received).into_owned(), started.elapsed())
}

#[tokio::test]
async fn issue_15_a_connection_that_sends_nothing_is_closed_after_the_header_read_timeout() {
    let timeout = Duration::from_secs(1);
    let app = spawn_app_with(limited(ConnectionSettings { header_read_timeout: timeout, ..Default::default() })).await;
    let mut silent = connect_from(&app, [127, 0, 0, 1]).await;
    let (_, closed_after) = read_until_closed(&mut silent, Duration::from_secs(10)).await;
    assert!(closed_after >= timeout.mul_f32(0.9), "closed too soon: {closed_after:?}");
}

#[tokio::test]
async fn issue_15_headers_sent_a_line_at_a_time_do_not_hold_the_connection_open() {
    let timeout = Duration::from_secs(1);
    let app = spawn_app_with(limited(ConnectionSettings { header_read_timeout: timeout, ..Default::default() })).await;
    let mut slow = connect_from(&app, [127, 0, 0, 1]).await;
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    let started = Instant::now();
    // One header line every 300 ms: each resets nothing, the whole head has one deadline.
    let closed = loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        if slow.write_all(b"X-Slow: y\r\n").await.is_err() {
            break started.elapsed();
        }
        let mut probe = [0u8; 1];
        match tokio::time::timeout(Duration::from_millis(1), slow.read(&mut probe)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break started.elapsed(),
            _ => {}
        }
        assert!(started.elapsed() < Duration::from_secs(10), "a dribbling client kept its connection");
    };
    assert!(closed < Duration::from_secs(5), "closed after {closed:?}");
}

#[tokio::test]
async fn issue_15_a_kept_alive_connection_idle_between_requests_is_closed() {
    let timeout = Duration::from_secs(1);
    let app = spawn_app_with(limited(ConnectionSettings { header_read_timeout: timeout, ..Default::default() })).await;
    let mut idle = connect_from(&app, [127, 0, 0, 1]).await;
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let (answer, closed_after) = read_until_closed(&mut idle, Duration::from_secs(10)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(closed_after >= timeout.mul_f32(0.9), "the request was answered and then kept for the timeout");
}

/// The bounded flood of the issue's "Done when": one address (127.0.0.2)
/// holds its connection cap and more of its connections are refused, while
/// `/healthz` and the API answer everyone else within 100 ms at p99.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_15_one_address_at_its_connection_cap_leaves_the_api_answering_others() {
    let cap = 200;
    let settings = ConnectionSettings {
        header_read_timeout: Duration::from_secs(60),
        max_connections: 1000,
        max_connections_per_address: cap,
        ..Default::default()
    };
    let app = spawn_app_with(limited(settings)).await;
    let flooder = [127, 0, 0, 2];
    let mut held = Vec::new();
    for _ in 0..cap {
        held.push(connect_from(&app, flooder).await);
    }
    // The server accepts in order: once a request on the last held
    // connection is answered, every one of them has been counted.
    let last = held.last_mut().unwrap();
    last.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let mut head = [0u8; 12];
    last.read_exact(&mut head).await.unwrap();
    assert_eq!(&head, b"HTTP/1.1 200");
    let mut refused = 0;
    for _ in 0..50 {
        let mut extra = connect_from(&app, flooder).await;
        let (answer, _) = read_until_closed(&mut extra, Duration::from_secs(5)).await;
        assert!(answer.starts_with("HTTP/1.1 503"), "an extra connection gets 503: {answer:?}");
        assert!(answer.contains("too_many_connections") && answer.contains("Retry-After"), "{answer}");
        refused += 1;
    }
    assert_eq!(refused, 50);

    // Everyone else: a new connection per request, so each passes the cap check.
    let client = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
    let mut latencies = Vec::new();
    for round in 0..200 {
        let started = Instant::now();
        let answer = if round % 2 == 0 {
            client.get(format!("{}/healthz", app.address)).send().await.unwrap()
        } else {
            client.get(format!("{}/api/v1/tickets", app.address)).bearer_auth(&app.admin.token).send().await.unwrap()
        };
        assert_eq!(answer.status(), StatusCode::OK);
        answer.bytes().await.unwrap();
        latencies.push(started.elapsed());
    }
    latencies.sort();
    let p99 = latencies[latencies.len() * 99 / 100 - 1];
    assert!(p99 < Duration::from_millis(100), "p99 {p99:?} while one address holds its cap");
    drop(held);
}

#[tokio::test]
async fn issue_15_chat_sockets_from_one_address_stop_at_their_cap() {
    let settings = ConnectionSettings { max_websockets_per_address: 3, ..Default::default() };
    let app = spawn_app_with(limited(settings)).await;
    let url = format!("{}/chat/ws", app.address.replacen("http://", "ws://", 1));
    let mut open = Vec::new();
    for _ in 0..3 {
        open.push(tokio_tungstenite::connect_async(url.as_str()).await.expect("under the cap").0);
    }
    match tokio_tungstenite::connect_async(url.as_str()).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
            assert!(response.headers().contains_key("retry-after"));
            let body = String::from_utf8_lossy(response.body().as_deref().unwrap_or_default()).into_owned();
            assert!(body.contains("too_many_connections"), "{body}");
        }
        other => panic!("a fourth socket from one address: {other:?}"),
    }
    // Agents' sockets count as well: this address has no room left.
    let agent = format!("{}/chat/agent/ws?token={}", app.address.replacen("http://", "ws://", 1), app.admin.token);
    match tokio_tungstenite::connect_async(agent).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS, "the agent socket is over the cap too");
        }
        other => panic!("an agent socket from a full address: {other:?}"),
    }
    // A socket that closes frees its place.
    let mut first = open.remove(0);
    first.close(None).await.unwrap();
    drop(first);
    let reopened = async {
        loop {
            if let Ok((socket, _)) = tokio_tungstenite::connect_async(url.as_str()).await {
                return socket;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(5), reopened).await.expect("a closed socket's place is free again");
}
