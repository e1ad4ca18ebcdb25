//! The test balancer over real sockets: echo servers that name themselves
//! as upstreams, clients through the balancer.

use std::net::SocketAddr;

use switchboard_testkit::{Balancer, eventually, within};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// An echo server that first writes its one-letter name, then echoes
/// every byte; it reports each of its connections' ends on `ended`.
struct Echo {
    addr: SocketAddr,
    ended: mpsc::UnboundedReceiver<()>,
    task: tokio::task::JoinHandle<()>,
}

impl Echo {
    async fn start(name: u8) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, ended) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            loop {
                let (mut stream, _) = listener.accept().await.unwrap();
                let tx = tx.clone();
                tokio::spawn(async move {
                    let _ = stream.write_all(&[name]).await;
                    let (mut read, mut write) = stream.split();
                    let _ = tokio::io::copy(&mut read, &mut write).await;
                    let _ = tx.send(());
                });
            }
        });
        Self { addr, ended, task }
    }

    /// Stops accepting: the port refuses connections (a dead node).
    /// Connections already open are left alone.
    fn kill(&self) {
        self.task.abort();
    }
}

/// Connects through the balancer; returns the stream and the upstream's
/// name (its first byte).
async fn connect(balancer: &Balancer) -> (TcpStream, u8) {
    let mut stream = TcpStream::connect(balancer.addr()).await.unwrap();
    let mut name = [0u8];
    within("the upstream's name", stream.read_exact(&mut name))
        .await
        .expect("the upstream's name");
    (stream, name[0])
}

/// The upstream name a connection lands on.
async fn lands_on(balancer: &Balancer) -> u8 {
    connect(balancer).await.1
}

/// The connection ends (EOF or a reset) without reading anything more.
async fn ends(stream: &mut TcpStream) {
    let mut buf = [0u8; 16];
    let read = within("the connection to end", stream.read(&mut buf)).await;
    assert!(
        matches!(read, Ok(0) | Err(_)),
        "expected the end, read {read:?}"
    );
}

async fn echoes(n: usize) -> Vec<Echo> {
    let mut servers = Vec::new();
    for i in 0..n {
        servers.push(Echo::start(b'a' + i as u8).await);
    }
    servers
}

fn addrs(servers: &[Echo]) -> Vec<SocketAddr> {
    servers.iter().map(|s| s.addr).collect()
}

#[tokio::test]
async fn round_robin_spreads_connections_and_carries_bytes_both_ways() {
    let servers = echoes(3).await;
    let balancer = Balancer::start(addrs(&servers)).await;
    let mut names = Vec::new();
    let mut streams = Vec::new();
    for _ in 0..6 {
        let (stream, name) = connect(&balancer).await;
        names.push(name);
        streams.push(stream);
    }
    assert_eq!(names, b"abcabc");
    assert_eq!(balancer.open_connections(), 6);
    assert_eq!(
        (0..3).map(|i| balancer.forwarded(i)).collect::<Vec<_>>(),
        [2, 2, 2]
    );

    // A megabyte there and back, while the other connections stay open.
    let payload: Vec<u8> = (0..1 << 20).map(|i| (i % 251) as u8).collect();
    let (mut read, mut write) = streams[0].split();
    let send = async {
        write.write_all(&payload).await.unwrap();
    };
    let receive = async {
        let mut back = vec![0u8; payload.len()];
        read.read_exact(&mut back).await.unwrap();
        back
    };
    let ((), back) = within("the echo", async { tokio::join!(send, receive) }).await;
    assert!(back == payload, "the echo differs");
}

#[tokio::test]
async fn route_to_pins_new_connections_and_round_robin_unpins() {
    let servers = echoes(3).await;
    let balancer = Balancer::start(addrs(&servers)).await;
    let (_first, on) = connect(&balancer).await;
    assert_eq!(on, b'a');
    balancer.route_to(2);
    for _ in 0..3 {
        assert_eq!(lands_on(&balancer).await, b'c');
    }
    assert_eq!(balancer.open_to(0), 1, "the open connection stays");
    balancer.round_robin();
    assert_eq!(lands_on(&balancer).await, b'b');
    assert_eq!(lands_on(&balancer).await, b'c');
}

#[tokio::test]
async fn cut_all_drops_both_sides_and_new_connections_still_work() {
    let mut servers = echoes(2).await;
    let balancer = Balancer::start(addrs(&servers)).await;
    let (mut x, _) = connect(&balancer).await;
    let (mut y, _) = connect(&balancer).await;
    assert_eq!(balancer.cut_all(), 2);
    ends(&mut x).await;
    ends(&mut y).await;
    // The upstream side of each connection ended too.
    for server in &mut servers {
        within("the upstream side to end", server.ended.recv())
            .await
            .unwrap();
    }
    assert_eq!(balancer.open_connections(), 0);
    let (mut z, _) = connect(&balancer).await;
    z.write_all(b"ping").await.unwrap();
    let mut back = [0u8; 4];
    within("the echo", z.read_exact(&mut back)).await.unwrap();
    assert_eq!(&back, b"ping");
}

#[tokio::test]
async fn move_all_to_cuts_and_sends_everyone_to_one_upstream() {
    let servers = echoes(3).await;
    let balancer = Balancer::start(addrs(&servers)).await;
    let mut old = Vec::new();
    for _ in 0..3 {
        old.push(connect(&balancer).await.0);
    }
    assert_eq!(balancer.move_all_to(1), 3);
    for stream in &mut old {
        ends(stream).await;
    }
    for _ in 0..3 {
        assert_eq!(lands_on(&balancer).await, b'b');
    }
    eventually("the closed connections to end in the balancer", || {
        balancer.open_to(1) == 0
    })
    .await;
    let (_kept, _) = connect(&balancer).await;
    assert_eq!(balancer.open_to(1), 1);
    assert_eq!(balancer.cut(0), 0);
    assert_eq!(balancer.cut(1), 1);
}

#[tokio::test]
async fn removed_and_dead_upstreams_get_no_connections() {
    let servers = echoes(3).await;
    let balancer = Balancer::start(addrs(&servers)).await;
    balancer.route_to(0);
    balancer.remove(0);
    // Pinned to a removed upstream: round-robin over the others.
    let names = [lands_on(&balancer).await, lands_on(&balancer).await];
    assert_eq!(names, *b"bc");
    // A dead upstream not yet removed: the round-robin passes over it.
    servers[1].kill();
    eventually("the dead upstream to refuse", || {
        std::net::TcpStream::connect(servers[1].addr).is_err()
    })
    .await;
    for _ in 0..3 {
        assert_eq!(lands_on(&balancer).await, b'c');
    }
    // Pinned to a dead upstream: the client is reset.
    balancer.route_to(1);
    let mut refused = TcpStream::connect(balancer.addr()).await.unwrap();
    ends(&mut refused).await;
    // Revived and added upstreams take connections again.
    balancer.remove(1);
    balancer.revive(0);
    balancer.round_robin();
    let extra = Echo::start(b'z').await;
    assert_eq!(balancer.add(extra.addr), 3);
    let mut seen: Vec<u8> = Vec::new();
    for _ in 0..3 {
        seen.push(lands_on(&balancer).await);
    }
    seen.sort_unstable();
    assert_eq!(seen, b"acz");
}

#[tokio::test]
async fn a_paused_link_cuts_and_refuses_until_resumed() {
    let servers = echoes(1).await;
    let link = Balancer::link(servers[0].addr).await;
    let (mut open, _) = connect(&link).await;
    link.pause();
    assert!(link.is_paused());
    ends(&mut open).await;
    for _ in 0..3 {
        let mut refused = TcpStream::connect(link.addr()).await.unwrap();
        ends(&mut refused).await;
    }
    assert_eq!(link.open_connections(), 0);
    assert_eq!(link.forwarded(0), 1);
    link.resume();
    assert_eq!(lands_on(&link).await, b'a');
}
