//! A fake application back end: an axum app on 127.0.0.1:0 that records
//! every call (its hook, JSON body, headers, arrival and answer times) and
//! answers what the test's function decides, after the delay it decides
//! (a slow back end is behaviour under test, not a wait).

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::Value;
use switchboard_testkit::within;
use tokio::sync::mpsc;

/// What the back end answers one call.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) body: String,
    pub(crate) delay: Duration,
}

impl Reply {
    /// `200` with this JSON.
    pub(crate) fn json(value: Value) -> Self {
        Self::raw(200, &value.to_string())
    }

    /// This status and body, as given.
    pub(crate) fn raw(status: u16, body: &str) -> Self {
        Self {
            status,
            body: body.to_owned(),
            delay: Duration::ZERO,
        }
    }

    /// `{"error":{"code","message"}}`.
    pub(crate) fn error(code: &str, message: &str) -> Self {
        Self::json(serde_json::json!({"error": {"code": code, "message": message}}))
    }

    /// The same answer, after `delay`.
    pub(crate) fn after(self, delay: Duration) -> Self {
        Self { delay, ..self }
    }
}

/// One recorded call.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    /// The URL's last segment: connect, join, publish, event, disconnect.
    pub(crate) hook: String,
    pub(crate) body: Value,
    pub(crate) headers: HeaderMap,
    /// The order of arrival, over every hook.
    pub(crate) seq: u64,
    pub(crate) arrived: Instant,
    pub(crate) answered: Instant,
}

type Decide = Arc<dyn Fn(&str, &Value) -> Reply + Send + Sync>;

struct Shared {
    decide: Decide,
    next_seq: AtomicU64,
    calls: Mutex<Vec<Call>>,
    tx: mpsc::UnboundedSender<Call>,
}

/// The running fake back end.
pub(crate) struct FakeBackend {
    pub(crate) addr: SocketAddr,
    shared: Arc<Shared>,
    rx: tokio::sync::Mutex<mpsc::UnboundedReceiver<Call>>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeBackend {
    /// Starts a back end answering with `decide(hook, body)`.
    pub(crate) async fn start(
        decide: impl Fn(&str, &Value) -> Reply + Send + Sync + 'static,
    ) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            decide: Arc::new(decide),
            next_seq: AtomicU64::new(0),
            calls: Mutex::new(Vec::new()),
            tx,
        });
        let app = Router::new()
            .route("/{hook}", post(answer))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self {
            addr,
            shared,
            rx: tokio::sync::Mutex::new(rx),
            task,
        }
    }

    /// The URL of `hook`.
    pub(crate) fn url(&self, hook: &str) -> String {
        format!("http://{}/{hook}", self.addr)
    }

    /// The next answered call of `hook` (calls of other hooks are passed
    /// over; they stay in [`FakeBackend::calls`]).
    pub(crate) async fn next(&self, hook: &str) -> Call {
        let mut rx = self.rx.lock().await;
        within(&format!("a {hook} call"), async {
            loop {
                let call = rx.recv().await.expect("the back end runs");
                if call.hook == hook {
                    return call;
                }
            }
        })
        .await
    }

    /// Every answered call of `hook`, in the order they arrived.
    pub(crate) fn calls(&self, hook: &str) -> Vec<Call> {
        let mut calls: Vec<Call> = self
            .shared
            .calls
            .lock()
            .unwrap()
            .iter()
            .filter(|call| call.hook == hook)
            .cloned()
            .collect();
        calls.sort_by_key(|call| call.seq);
        calls
    }
}

impl Drop for FakeBackend {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn answer(
    State(shared): State<Arc<Shared>>,
    Path(hook): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let arrived = Instant::now();
    let seq = shared.next_seq.fetch_add(1, Ordering::SeqCst);
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let reply = (shared.decide)(&hook, &body);
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    let call = Call {
        hook,
        body,
        headers,
        seq,
        arrived,
        answered: Instant::now(),
    };
    shared.calls.lock().unwrap().push(call.clone());
    let _ = shared.tx.send(call);
    (
        StatusCode::from_u16(reply.status).unwrap(),
        [(header::CONTENT_TYPE, "application/json")],
        reply.body,
    )
        .into_response()
}

/// A small random delay, 1 to `max_ms` milliseconds.
pub(crate) fn random_delay(max_ms: u64) -> Duration {
    let random = RandomState::new().hash_one(Instant::now());
    Duration::from_millis(1 + random % max_ms)
}
