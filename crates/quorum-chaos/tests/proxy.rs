//! The link fault proxy (`quorum_chaos::proxy`) on real 127.0.0.1 sockets: bytes unchanged,
//! order kept under delay and jitter, held directions, backpressure, stop, drop, reset and
//! refused targets; duplication (replays, their recording cap and in-flight bound), the
//! upstream source address, and starting from outside the runtime. Every wait is bounded by
//! a timeout; time is only checked as a lower bound.

use std::future::Future;
use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use quorum_chaos::proxy::{
    Direction, LinkFaults, LinkProxy, ProxyOptions, MAX_QUEUED_CHUNKS, MAX_RECORDED_BYTES,
    MAX_REPLAYS_IN_FLIGHT,
};
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Bound of every wait that should succeed.
const TIMEOUT: Duration = Duration::from_secs(60);
/// How long a held direction is watched for bytes that must not arrive.
const QUIET: Duration = Duration::from_millis(300);

fn any_port() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

async fn within<F: Future>(what: &str, f: F) -> F::Output {
    match tokio::time::timeout(TIMEOUT, f).await {
        Ok(out) => out,
        Err(_) => panic!("timed out: {what}"),
    }
}

/// An echo server; returns its address.
async fn echo_server() -> SocketAddr {
    let listener = TcpListener::bind(any_port()).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (mut r, mut w) = stream.split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
                let _ = w.shutdown().await;
            });
        }
    });
    addr
}

async fn proxy_to(target: SocketAddr, faults: &Arc<LinkFaults>) -> LinkProxy {
    LinkProxy::start(any_port(), move || Some(target), faults.clone())
        .await
        .unwrap()
}

/// Writes `data` and reads the same amount back, concurrently; returns what was read.
async fn echo_through(stream: TcpStream, data: Arc<Vec<u8>>) -> Vec<u8> {
    let (mut r, mut w) = stream.into_split();
    let sent = data.clone();
    let writer = tokio::spawn(async move {
        w.write_all(&sent).await.unwrap();
        w
    });
    let mut back = vec![0; data.len()];
    within("echo", r.read_exact(&mut back)).await.unwrap();
    within("writer", writer).await.unwrap();
    back
}

fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut data = vec![0; len];
    StdRng::seed_from_u64(seed).fill_bytes(&mut data);
    data
}

/// Reads until end of stream or error; true when that happened (the connection closed).
async fn closes(stream: &mut TcpStream) -> bool {
    let mut buf = [0; 1024];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return true,
            Ok(_) => {}
        }
    }
}

/// A connection to the proxy at `addr` whose echo has been seen once.
async fn echoing_client(addr: SocketAddr) -> TcpStream {
    let mut c = TcpStream::connect(addr).await.unwrap();
    c.write_all(b"hi").await.unwrap();
    let mut b = [0; 2];
    within("echo", c.read_exact(&mut b)).await.unwrap();
    c
}

/// A proxy under `faults` to a fresh listener, a client connected through it, and the
/// listener's end of that connection.
async fn proxied_pair(faults: &Arc<LinkFaults>) -> (LinkProxy, TcpStream, TcpStream) {
    let server = TcpListener::bind(any_port()).await.unwrap();
    let proxy = proxy_to(server.local_addr().unwrap(), faults).await;
    let client = TcpStream::connect(proxy.local_addr()).await.unwrap();
    let (upstream, _) = within("accept", server.accept()).await.unwrap();
    (proxy, client, upstream)
}

/// `bytes` written to `from` arrive unchanged at `to`.
async fn crosses(from: &mut TcpStream, to: &mut TcpStream, bytes: &[u8]) {
    from.write_all(bytes).await.unwrap();
    let mut got = vec![0; bytes.len()];
    within("bytes crossing", to.read_exact(&mut got))
        .await
        .unwrap();
    assert_eq!(got, bytes);
}

/// Nothing arrives on `stream` within [`QUIET`].
async fn quiet(stream: &mut TcpStream) -> bool {
    let mut buf = [0; 1];
    tokio::time::timeout(QUIET, stream.read(&mut buf))
        .await
        .is_err()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bytes_round_trip_unchanged_small_and_8_mib() {
    let faults = Arc::new(LinkFaults::new(1));
    let proxy = proxy_to(echo_server().await, &faults).await;
    let stream = TcpStream::connect(proxy.local_addr()).await.unwrap();
    let small = Arc::new(b"PING\r\n".to_vec());
    assert_eq!(echo_through(stream, small.clone()).await, *small);

    let big = Arc::new(random_bytes(8 << 20, 7));
    let stream = TcpStream::connect(proxy.local_addr()).await.unwrap();
    let back = echo_through(stream, big.clone()).await;
    assert!(back == *big, "8 MiB came back changed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_is_kept_within_a_connection_under_delay_and_jitter() {
    let faults = Arc::new(LinkFaults::new(2));
    // Jitter as large as the delay: later chunks are often due before earlier ones.
    faults.set_delay(Duration::from_millis(5), Duration::from_millis(5));
    let proxy = proxy_to(echo_server().await, &faults).await;
    let stream = TcpStream::connect(proxy.local_addr()).await.unwrap();
    let (mut r, mut w) = stream.into_split();
    let messages: Vec<Vec<u8>> = (0..300u32)
        .map(|i| format!("message {i:05};").into_bytes())
        .collect();
    let expected: Vec<u8> = messages.concat();
    let writer = tokio::spawn(async move {
        for m in messages {
            w.write_all(&m).await.unwrap();
            // Separate reads at the proxy, so separate chunks with their own jitter.
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        w
    });
    let mut back = vec![0; expected.len()];
    within("echo", r.read_exact(&mut back)).await.unwrap();
    within("writer", writer).await.unwrap();
    assert_eq!(
        String::from_utf8_lossy(&back),
        String::from_utf8_lossy(&expected)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delay_is_a_lower_bound_in_each_direction() {
    let faults = Arc::new(LinkFaults::new(3));
    let (delay, jitter) = (Duration::from_millis(100), Duration::from_millis(20));
    faults.set_delay(delay, jitter);
    assert_eq!(faults.delay(), (delay, jitter));
    let proxy = proxy_to(echo_server().await, &faults).await;
    let mut stream = TcpStream::connect(proxy.local_addr()).await.unwrap();
    for _ in 0..3 {
        let started = tokio::time::Instant::now();
        stream.write_all(b"x").await.unwrap();
        let mut b = [0; 1];
        within("echo", stream.read_exact(&mut b)).await.unwrap();
        // Through the proxy twice: at least twice (delay - jitter).
        assert!(
            started.elapsed() >= 2 * (delay - jitter),
            "{:?}",
            started.elapsed()
        );
    }
}

/// Holds `held` only: nothing crosses it until released, then everything in order, while the
/// other direction flows.
async fn one_way(held: Direction) {
    let faults = Arc::new(LinkFaults::new(4));
    let (_proxy, mut client, mut upstream) = proxied_pair(&faults).await;
    let (sender, receiver) = match held {
        Direction::ToTarget => (&mut client, &mut upstream),
        Direction::FromTarget => (&mut upstream, &mut client),
    };

    faults.set_hold(held, true);
    assert!(faults.held(held));
    let mut expected = Vec::new();
    for i in 0..20 {
        let piece = format!("held {i};");
        sender.write_all(piece.as_bytes()).await.unwrap();
        expected.extend_from_slice(piece.as_bytes());
    }
    assert!(quiet(receiver).await, "bytes crossed a held direction");

    // The other direction still flows.
    crosses(receiver, sender, b"other way").await;

    faults.set_hold(held, false);
    let mut back = vec![0; expected.len()];
    within("released bytes", receiver.read_exact(&mut back))
        .await
        .unwrap();
    assert_eq!(back, expected);
    // And it flows normally afterwards.
    crosses(sender, receiver, b"after release").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn held_to_target_delivers_nothing_until_released_while_replies_flow() {
    one_way(Direction::ToTarget).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn held_from_target_delivers_nothing_until_released_while_requests_flow() {
    one_way(Direction::FromTarget).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partition_holds_both_directions_and_end_of_stream() {
    let faults = Arc::new(LinkFaults::new(5));
    let (_proxy, mut client, mut upstream) = proxied_pair(&faults).await;
    faults.set_partitioned(true);
    client.write_all(b"request").await.unwrap();
    client.shutdown().await.unwrap();
    upstream.write_all(b"reply").await.unwrap();
    assert!(quiet(&mut upstream).await, "request crossed a partition");
    assert!(quiet(&mut client).await, "reply crossed a partition");
    faults.set_partitioned(false);
    let mut got = Vec::new();
    within("request and end of stream", upstream.read_to_end(&mut got))
        .await
        .unwrap();
    assert_eq!(got, b"request");
    let mut b = [0; 5];
    within("reply", client.read_exact(&mut b)).await.unwrap();
    assert_eq!(&b, b"reply");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn held_direction_stops_reading_when_its_queue_is_full() {
    const TOTAL: usize = 64 << 20;
    let faults = Arc::new(LinkFaults::new(6));
    let (_proxy, client, mut upstream) = proxied_pair(&faults).await;
    faults.set_hold(Direction::ToTarget, true);
    let data = Arc::new(random_bytes(TOTAL, 8));
    let written = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (sent, count) = (data.clone(), written.clone());
    let writer = tokio::spawn(async move {
        let mut client = client;
        for piece in sent.chunks(64 * 1024) {
            client.write_all(piece).await.unwrap();
            count.fetch_add(piece.len(), std::sync::atomic::Ordering::Relaxed);
        }
        client
    });
    // Unbounded buffering would take all 64 MiB at once; bounded, the sender stalls after
    // the proxy's queue and the sockets' buffers fill.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let stalled_at = written.load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        stalled_at < TOTAL,
        "all {TOTAL} bytes were taken while held (queue of {MAX_QUEUED_CHUNKS} chunks)"
    );
    assert!(quiet(&mut upstream).await, "bytes crossed a held direction");
    faults.set_hold(Direction::ToTarget, false);
    let mut back = vec![0; TOTAL];
    within("released bytes", upstream.read_exact(&mut back))
        .await
        .unwrap();
    within("writer", writer).await.unwrap();
    assert!(back == *data, "bytes changed or reordered after release");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_closes_the_listener_and_every_connection() {
    let faults = Arc::new(LinkFaults::new(9));
    let mut proxy = proxy_to(echo_server().await, &faults).await;
    let addr = proxy.local_addr();
    let mut clients = Vec::new();
    for _ in 0..3 {
        clients.push(echoing_client(addr).await);
    }
    assert_eq!(proxy.connections(), 3);
    within("stop", proxy.stop()).await;
    assert_eq!(proxy.connections(), 0, "connection tasks outlived stop");
    for c in &mut clients {
        assert!(within("close", closes(c)).await);
    }
    assert!(TcpStream::connect(addr).await.is_err(), "still listening");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_proxy_closes_its_connections() {
    let faults = Arc::new(LinkFaults::new(10));
    let proxy = proxy_to(echo_server().await, &faults).await;
    let mut c = echoing_client(proxy.local_addr()).await;
    drop(proxy);
    assert!(within("close", closes(&mut c)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_closes_open_connections_and_later_ones_work() {
    let faults = Arc::new(LinkFaults::new(11));
    let proxy = proxy_to(echo_server().await, &faults).await;
    let mut c = echoing_client(proxy.local_addr()).await;
    faults.reset_connections();
    assert!(within("close", closes(&mut c)).await);

    let later = TcpStream::connect(proxy.local_addr()).await.unwrap();
    let data = Arc::new(b"still works".to_vec());
    assert_eq!(echo_through(later, data.clone()).await, *data);
}

/// Connects to `addr` and reads until the connection closes; true when it did. The proxy
/// may reset the connection before `connect` returns, which counts as closed too.
async fn connect_and_see_it_close(addr: SocketAddr) -> bool {
    let Ok(mut c) = TcpStream::connect(addr).await else {
        return true;
    };
    let _ = c.write_all(b"hello?").await;
    closes(&mut c).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusing_or_missing_target_closes_the_client_connection() {
    // A port nothing listens on.
    let refusing = {
        let l = TcpListener::bind(any_port()).await.unwrap();
        l.local_addr().unwrap()
    };
    let faults = Arc::new(LinkFaults::new(12));
    let proxy = proxy_to(refusing, &faults).await;
    let closed = connect_and_see_it_close(proxy.local_addr());
    assert!(within("close after refusal", closed).await);

    let none = LinkProxy::start(any_port(), || None, faults.clone())
        .await
        .unwrap();
    let closed = connect_and_see_it_close(none.local_addr());
    assert!(within("close without target", closed).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_target_is_looked_up_at_connect_time() {
    let first = TcpListener::bind(any_port()).await.unwrap();
    let second = TcpListener::bind(any_port()).await.unwrap();
    let table = Arc::new(Mutex::new(first.local_addr().unwrap()));
    let lookup = table.clone();
    let faults = Arc::new(LinkFaults::new(13));
    let proxy = LinkProxy::start(any_port(), move || Some(*lookup.lock().unwrap()), faults)
        .await
        .unwrap();
    let _a = TcpStream::connect(proxy.local_addr()).await.unwrap();
    within("first target", first.accept()).await.unwrap();
    *table.lock().unwrap() = second.local_addr().unwrap();
    let _b = TcpStream::connect(proxy.local_addr()).await.unwrap();
    within("second target", second.accept()).await.unwrap();
}

/// What a [`recording_server`] received on one connection.
#[derive(Debug, Clone)]
struct Received {
    peer: SocketAddr,
    bytes: Vec<u8>,
    /// The client closed (end of stream or error).
    closed: bool,
}

/// Every connection a [`recording_server`] accepted, in accept order.
type Log = Arc<Mutex<Vec<Received>>>;

/// An echo server that logs what each connection sends, as it arrives; returns its address.
async fn recording_server() -> (SocketAddr, Log) {
    let listener = TcpListener::bind(any_port()).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let log = Log::default();
    let accepted = log.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, peer)) = listener.accept().await {
            let index = {
                let mut log = accepted.lock().unwrap();
                log.push(Received {
                    peer,
                    bytes: Vec::new(),
                    closed: false,
                });
                log.len() - 1
            };
            let log = accepted.clone();
            tokio::spawn(async move {
                let mut buf = vec![0; 64 * 1024];
                while let Ok(n @ 1..) = stream.read(&mut buf).await {
                    log.lock().unwrap()[index]
                        .bytes
                        .extend_from_slice(&buf[..n]);
                    if stream.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
                log.lock().unwrap()[index].closed = true;
                let _ = stream.shutdown().await;
            });
        }
    });
    (addr, log)
}

fn snapshot(log: &Log) -> Vec<Received> {
    log.lock().unwrap().clone()
}

/// Waits, bounded by [`TIMEOUT`], until `done()`.
async fn until(what: &str, mut done: impl FnMut() -> bool) {
    within(what, async {
        while !done() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
}

/// Sends `bytes` through the proxy at `addr`, closes, and sees them echoed and the close.
async fn send_and_close(addr: SocketAddr, bytes: &[u8]) {
    let mut c = TcpStream::connect(addr).await.unwrap();
    c.write_all(bytes).await.unwrap();
    c.shutdown().await.unwrap();
    let mut back = Vec::new();
    within("echo and close", c.read_to_end(&mut back))
        .await
        .unwrap();
    assert_eq!(back, bytes);
}

/// Whether `log` holds exactly the connections whose bytes are `expected`, in that order.
fn received(log: &Log, expected: &[&[u8]]) -> bool {
    let got = snapshot(log);
    got.len() == expected.len() && got.iter().zip(expected).all(|(r, e)| r.bytes == *e)
}

/// A [`recording_server`], faults seeded with `seed` with duplication on, and a proxy to the
/// server under them.
async fn duplicating_proxy(seed: u64) -> (LinkProxy, Arc<LinkFaults>, Log) {
    let (target, log) = recording_server().await;
    let faults = Arc::new(LinkFaults::new(seed));
    faults.set_duplicate(true);
    assert!(faults.duplicating());
    let proxy = proxy_to(target, &faults).await;
    (proxy, faults, log)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicated_connection_arrives_twice_on_distinct_connections() {
    let (proxy, _faults, log) = duplicating_proxy(14).await;
    send_and_close(proxy.local_addr(), b"abc").await;
    until("the replay", || {
        received(&log, &[b"abc", b"abc"]) && proxy.replays() == 1
    })
    .await;
    let got = snapshot(&log);
    assert_ne!(got[0].peer, got[1].peer, "the replay reused a connection");
    assert_eq!(proxy.replays_skipped(), 0);
    // The echo server never closes first: the replay closes after REPLAY_READ_TIMEOUT.
    until("the replay's end", || snapshot(&log)[1].closed).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_started_before_duplication_is_not_replayed() {
    let (target, log) = recording_server().await;
    let faults = Arc::new(LinkFaults::new(15));
    let proxy = proxy_to(target, &faults).await;
    let mut before = echoing_client(proxy.local_addr()).await;
    faults.set_duplicate(true);
    before.write_all(b"abc").await.unwrap();
    before.shutdown().await.unwrap();
    assert!(within("close", closes(&mut before)).await);
    until("the connection's end", || proxy.connections() == 0).await;
    tokio::time::sleep(QUIET).await;
    assert!(received(&log, &[b"hiabc"]), "{:?}", snapshot(&log));
    assert_eq!(proxy.replays(), 0);

    // A connection started now is replayed: the check above could have seen a replay.
    send_and_close(proxy.local_addr(), b"xyz").await;
    until("the later connection's replay", || {
        received(&log, &[b"hiabc", b"xyz", b"xyz"]) && proxy.replays() == 1
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recording_stops_at_max_recorded_bytes_and_keeps_the_prefix() {
    let (proxy, _faults, log) = duplicating_proxy(16).await;
    let data = Arc::new(random_bytes(MAX_RECORDED_BYTES + 100_000, 17));
    let stream = TcpStream::connect(proxy.local_addr()).await.unwrap();
    let back = echo_through(stream, data.clone()).await;
    assert!(back == *data, "the live connection changed bytes");
    // The replay's connection closes after REPLAY_READ_TIMEOUT at the latest, so its bytes
    // are all there then.
    until("the replay and its end", || {
        let got = snapshot(&log);
        got.len() == 2 && got[1].closed
    })
    .await;
    let got = snapshot(&log);
    assert!(got[0].bytes == *data, "the target got changed bytes");
    assert_eq!(got[1].bytes.len(), MAX_RECORDED_BYTES);
    assert!(
        got[1].bytes == data[..MAX_RECORDED_BYTES],
        "the replay is not the prefix"
    );
    assert_eq!(proxy.replays(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_replays_what_was_recorded_even_after_duplication_is_switched_off() {
    let (proxy, faults, log) = duplicating_proxy(18).await;
    let mut c = TcpStream::connect(proxy.local_addr()).await.unwrap();
    c.write_all(b"abc").await.unwrap();
    until("delivery", || received(&log, &[b"abc"])).await;
    faults.set_duplicate(false);
    faults.reset_connections();
    assert!(within("close", closes(&mut c)).await);
    until("the replay", || {
        received(&log, &[b"abc", b"abc"]) && proxy.replays() == 1
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replays_beyond_the_in_flight_bound_are_skipped_and_counted() {
    const EXTRA: usize = 4;
    let (proxy, faults, log) = duplicating_proxy(19).await;
    let mut clients = Vec::new();
    for _ in 0..MAX_REPLAYS_IN_FLIGHT + EXTRA {
        let mut c = TcpStream::connect(proxy.local_addr()).await.unwrap();
        c.write_all(b"x").await.unwrap();
        clients.push(c);
    }
    let all = clients.len();
    until("delivery", || {
        let got = snapshot(&log);
        got.len() == all && got.iter().all(|r| r.bytes == b"x")
    })
    .await;
    // All end at once; each replay then lasts REPLAY_READ_TIMEOUT, as the echo server does
    // not close, so only MAX_REPLAYS_IN_FLIGHT of them run.
    faults.reset_connections();
    until("replays", || {
        proxy.replays() == MAX_REPLAYS_IN_FLIGHT as u64 && proxy.replays_skipped() == EXTRA as u64
    })
    .await;
    until("replayed bytes", || {
        snapshot(&log).len() == all + MAX_REPLAYS_IN_FLIGHT
    })
    .await;
    tokio::time::sleep(QUIET).await;
    assert_eq!(snapshot(&log).len(), all + MAX_REPLAYS_IN_FLIGHT);
    assert!(snapshot(&log).iter().all(|r| r.bytes == b"x"));
}

/// Reads from a blocking `stream` (with a read timeout set) until it closes; false when the
/// read timed out instead.
fn std_closes(stream: &mut std::net::TcpStream) -> bool {
    let mut buf = [0; 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return false;
            }
            Err(_) => return true,
        }
    }
}

#[test]
fn start_on_and_drop_from_a_thread_outside_any_runtime() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let target = runtime.block_on(echo_server());
    let faults = Arc::new(LinkFaults::new(20));
    let proxy = LinkProxy::start_on(
        runtime.handle(),
        any_port(),
        ProxyOptions::default(),
        move || Some(target),
        faults,
    )
    .unwrap();
    let mut c = std::net::TcpStream::connect(proxy.local_addr()).unwrap();
    c.set_read_timeout(Some(TIMEOUT)).unwrap();
    c.write_all(b"ping").unwrap();
    let mut back = [0; 4];
    c.read_exact(&mut back).unwrap();
    assert_eq!(&back, b"ping");
    drop(proxy);
    assert!(std_closes(&mut c), "the connection outlived the proxy");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_on_from_inside_another_runtime_connects_and_replays_from_the_source() {
    let source: IpAddr = "127.0.0.2".parse().unwrap();
    let server = TcpListener::bind(any_port()).await.unwrap();
    let target = server.local_addr().unwrap();
    let other = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let faults = Arc::new(LinkFaults::new(21));
    faults.set_duplicate(true);
    let options = ProxyOptions {
        upstream_source: Some(source),
    };
    let proxy = LinkProxy::start_on(
        other.handle(),
        any_port(),
        options,
        move || Some(target),
        faults,
    )
    .unwrap();
    let mut c = TcpStream::connect(proxy.local_addr()).await.unwrap();
    let (mut upstream, peer) = within("accept", server.accept()).await.unwrap();
    assert_eq!(peer.ip(), source);
    crosses(&mut c, &mut upstream, b"abc").await;
    drop(c);
    let mut rest = Vec::new();
    within("close", upstream.read_to_end(&mut rest))
        .await
        .unwrap();
    // Both directions ended: the connection ends, and its replay is due.
    drop(upstream);
    let (mut replayed, peer) = within("the replay", server.accept()).await.unwrap();
    assert_eq!(peer.ip(), source, "the replay came from elsewhere");
    let mut got = [0; 3];
    within("replayed bytes", replayed.read_exact(&mut got))
        .await
        .unwrap();
    assert_eq!(&got, b"abc");
    drop(proxy);
    other.shutdown_background();
}
