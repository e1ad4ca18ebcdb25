//! A TCP load balancer for chaos tests: it listens on `127.0.0.1:0` and
//! forwards each connection it accepts to one of its upstreams, byte for
//! byte (so it carries WebSocket and HTTP long-polling alike), and lets a
//! test cut every connection at once, move clients to another upstream,
//! drop a dead upstream, or cut the network altogether.
//!
//! With a single upstream it is a pausable link (see [`Balancer::link`]):
//! put one between a server node and its Redis or NATS server, and
//! [`Balancer::pause`] cuts the node off the backend while the backend
//! process stays up.
//!
//! A cut is abrupt: both sides of a forwarded connection are reset
//! (`SO_LINGER` 0), so neither gets a close frame or even a FIN, as when a
//! link dies. What the proxy was carrying at that instant is lost with it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How long the balancer waits for an upstream to accept a connection
/// before it tries the next one (or gives up on a pinned one).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// A TCP proxy with several upstreams: round-robin over the live ones by
/// default, or pinned to one ([`Balancer::route_to`]). Upstreams are
/// named by their index in the order they were given or added; an index
/// stays valid for the balancer's life (a removed upstream keeps its
/// index, and can be brought back with [`Balancer::revive`]).
///
/// Every method that takes an index panics when no upstream has it (a
/// mistake in the test). Dropping the balancer stops it and cuts every
/// connection it carries.
#[derive(Debug)]
pub struct Balancer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: JoinHandle<()>,
}

/// What the accept loop and the connection tasks share with the handle.
#[derive(Debug, Default)]
struct Shared {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    upstreams: Vec<Upstream>,
    /// New connections go to this upstream only.
    pinned: Option<usize>,
    /// The round-robin cursor: the index to try first next time.
    next: usize,
    /// New connections are reset at once, and none is open.
    paused: bool,
    /// The open connections, by a number of their own.
    open: HashMap<u64, Open>,
    next_id: u64,
}

#[derive(Debug)]
struct Upstream {
    addr: SocketAddr,
    /// Removed upstreams get no new connections.
    live: bool,
    /// Connections forwarded to it so far.
    forwarded: u64,
}

#[derive(Debug)]
struct Open {
    /// The upstream it reached (`None` while connecting).
    upstream: Option<usize>,
    /// Dropping or firing it cuts the connection.
    cut: oneshot::Sender<()>,
}

impl Balancer {
    /// Starts a balancer over `upstreams` (possibly none yet: see
    /// [`Balancer::add`]), listening on a free loopback port.
    pub async fn start(upstreams: impl IntoIterator<Item = SocketAddr>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the balancer to a free loopback port");
        let addr = listener.local_addr().expect("the balancer's address");
        let shared = Arc::new(Shared::default());
        {
            let mut state = shared.lock();
            for addr in upstreams {
                state.upstreams.push(Upstream::new(addr));
            }
        }
        let accept = tokio::spawn(accept_loop(listener, shared.clone()));
        tracing::debug!(%addr, "balancer listening");
        Self {
            addr,
            shared,
            accept,
        }
    }

    /// A balancer with the single upstream `upstream`: a link that a test
    /// can [`pause`](Balancer::pause) and [`resume`](Balancer::resume),
    /// e.g. between a server node and its backend.
    pub async fn link(upstream: SocketAddr) -> Self {
        Self::start([upstream]).await
    }

    /// The address clients connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every upstream's address, by index (removed ones included).
    pub fn upstreams(&self) -> Vec<SocketAddr> {
        self.shared
            .lock()
            .upstreams
            .iter()
            .map(|u| u.addr)
            .collect()
    }

    /// Adds an upstream; returns its index. It takes new connections at
    /// once (in the round-robin, or when pinned to).
    pub fn add(&self, addr: SocketAddr) -> usize {
        let mut state = self.shared.lock();
        state.upstreams.push(Upstream::new(addr));
        state.upstreams.len() - 1
    }

    /// Stops routing new connections to upstream `index` (a dead node);
    /// if new connections were pinned to it, they go round-robin again.
    /// The connections it has stay open until they end by themselves or
    /// are cut.
    pub fn remove(&self, index: usize) {
        let mut state = self.shared.lock();
        state.upstream(index).live = false;
        if state.pinned == Some(index) {
            state.pinned = None;
        }
        tracing::debug!(balancer = %self.addr, index, "upstream removed");
    }

    /// Routes new connections to upstream `index` again after
    /// [`Balancer::remove`].
    pub fn revive(&self, index: usize) {
        self.shared.lock().upstream(index).live = true;
    }

    /// Pins new connections to upstream `index` (live or not: a
    /// connection it refuses is reset). Open connections stay where they
    /// are.
    pub fn route_to(&self, index: usize) {
        let mut state = self.shared.lock();
        state.upstream(index);
        state.pinned = Some(index);
        tracing::debug!(balancer = %self.addr, index, "new connections pinned");
    }

    /// Unpins: new connections go round-robin over the live upstreams.
    pub fn round_robin(&self) {
        self.shared.lock().pinned = None;
    }

    /// Cuts every open connection at once, in both directions (both ends
    /// are reset, as when a link dies); returns how many were cut. New
    /// connections are accepted as before.
    pub fn cut_all(&self) -> usize {
        let cut = self.shared.take_open(|_| true);
        tracing::debug!(balancer = %self.addr, cut, "cut every connection");
        cut
    }

    /// Cuts the open connections to upstream `index`; returns how many.
    pub fn cut(&self, index: usize) -> usize {
        self.shared.lock().upstream(index);
        self.shared.take_open(|open| open.upstream == Some(index))
    }

    /// Pins new connections to upstream `index` and cuts every open one:
    /// clients that reconnect land there. Returns how many were cut.
    pub fn move_all_to(&self, index: usize) -> usize {
        self.route_to(index);
        self.cut_all()
    }

    /// Cuts every open connection and resets each new one at once until
    /// [`Balancer::resume`]: the network between the two sides is down,
    /// while both processes stay up.
    pub fn pause(&self) {
        self.shared.lock().paused = true;
        let cut = self.shared.take_open(|_| true);
        tracing::debug!(balancer = %self.addr, cut, "paused");
    }

    /// Forwards new connections again after [`Balancer::pause`].
    pub fn resume(&self) {
        self.shared.lock().paused = false;
        tracing::debug!(balancer = %self.addr, "resumed");
    }

    /// Whether the balancer is paused.
    pub fn is_paused(&self) -> bool {
        self.shared.lock().paused
    }

    /// How many connections are open (connecting ones included).
    pub fn open_connections(&self) -> usize {
        self.shared.lock().open.len()
    }

    /// How many open connections reached upstream `index`.
    pub fn open_to(&self, index: usize) -> usize {
        let state = self.shared.lock();
        state
            .open
            .values()
            .filter(|open| open.upstream == Some(index))
            .count()
    }

    /// How many connections were forwarded to upstream `index` so far.
    pub fn forwarded(&self, index: usize) -> u64 {
        self.shared.lock().upstream(index).forwarded
    }
}

impl Drop for Balancer {
    fn drop(&mut self) {
        self.accept.abort();
        self.shared.take_open(|_| true);
    }
}

impl Upstream {
    fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            live: true,
            forwarded: 0,
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking test thread must not hide the state from the others.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Cuts the open connections `which` selects; returns how many.
    fn take_open(&self, which: impl Fn(&Open) -> bool) -> usize {
        let mut state = self.lock();
        let ids: Vec<u64> = state
            .open
            .iter()
            .filter(|(_, open)| which(open))
            .map(|(id, _)| *id)
            .collect();
        for id in &ids {
            if let Some(open) = state.open.remove(id) {
                let _ = open.cut.send(());
            }
        }
        ids.len()
    }
}

impl State {
    fn upstream(&mut self, index: usize) -> &mut Upstream {
        let count = self.upstreams.len();
        self.upstreams
            .get_mut(index)
            .unwrap_or_else(|| panic!("no upstream {index}: the balancer has {count}"))
    }

    /// The upstreams to try for a new connection, in order: the pinned
    /// one alone, or every live one starting at the round-robin cursor
    /// (which moves on by one).
    fn candidates(&mut self) -> Vec<(usize, SocketAddr)> {
        if let Some(index) = self.pinned {
            return vec![(index, self.upstreams[index].addr)];
        }
        let count = self.upstreams.len();
        if count == 0 {
            return Vec::new();
        }
        let live: Vec<(usize, SocketAddr)> = (0..count)
            .map(|step| (self.next + step) % count)
            .filter(|&index| self.upstreams[index].live)
            .map(|index| (index, self.upstreams[index].addr))
            .collect();
        if let Some(&(first, _)) = live.first() {
            self.next = (first + 1) % count;
        }
        live
    }
}

/// Accepts connections until the balancer is dropped.
async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let client = match listener.accept().await {
            Ok((client, _)) => client,
            Err(error) => {
                tracing::debug!(%error, "balancer accept failed");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let (id, cut, candidates) = {
            let mut state = shared.lock();
            if state.paused {
                drop(state);
                reset(client);
                continue;
            }
            let candidates = state.candidates();
            let (cut, cut_rx) = oneshot::channel();
            let id = state.next_id;
            state.next_id += 1;
            state.open.insert(
                id,
                Open {
                    upstream: None,
                    cut,
                },
            );
            (id, cut_rx, candidates)
        };
        tokio::spawn(forward(shared.clone(), id, client, candidates, cut));
    }
}

/// Connects `client` to the first candidate that accepts and carries
/// bytes both ways until either side ends or the connection is cut.
async fn forward(
    shared: Arc<Shared>,
    id: u64,
    mut client: TcpStream,
    candidates: Vec<(usize, SocketAddr)>,
    mut cut: oneshot::Receiver<()>,
) {
    let connected = tokio::select! {
        connected = connect_first(&candidates) => connected,
        _ = &mut cut => None,
    };
    let Some((index, mut upstream)) = connected else {
        shared.lock().open.remove(&id);
        reset(client);
        return;
    };
    {
        let mut state = shared.lock();
        match state.open.get_mut(&id) {
            Some(open) => open.upstream = Some(index),
            // Cut while it connected.
            None => {
                drop(state);
                reset(client);
                reset(upstream);
                return;
            }
        }
        state.upstreams[index].forwarded += 1;
    }
    let _ = client.set_nodelay(true);
    let _ = upstream.set_nodelay(true);
    tokio::select! {
        result = tokio::io::copy_bidirectional(&mut client, &mut upstream) => {
            if let Err(error) = result {
                tracing::trace!(%error, "forwarded connection ended with an error");
            }
            shared.lock().open.remove(&id);
        }
        _ = &mut cut => {
            reset(client);
            reset(upstream);
        }
    }
}

/// The first of `candidates` that accepts a connection.
async fn connect_first(candidates: &[(usize, SocketAddr)]) -> Option<(usize, TcpStream)> {
    for &(index, addr) in candidates {
        match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => return Some((index, stream)),
            Ok(Err(error)) => tracing::debug!(%addr, %error, "upstream refused"),
            Err(_) => tracing::debug!(%addr, "upstream did not accept in time"),
        }
    }
    None
}

/// Closes `stream` with a reset: no FIN, what it had unsent is dropped.
fn reset(stream: TcpStream) {
    let _ = stream.set_zero_linger();
    drop(stream);
}
