//! Subscribers that follow their session across nodes as a client does:
//! each reads its link in a task of its own and, when the link ends,
//! reconnects at once through its entry point (a load balancer) asking to
//! resume. What they saw goes to the test through one watch channel, so a
//! test waits for a state of them all instead of polling.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use serde_json::{Value, json};
use switchboard_testkit::WAIT;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::chaos::feed::Received;
use crate::chaos::subscriber::{LinkEnd, Subscriber};

/// Reconnect attempts in a row before a subscriber gives up, and the pause
/// between two (a client's backoff, short: the balancer only routes to
/// live nodes).
const RECONNECT_ATTEMPTS: usize = 20;
const RECONNECT_PAUSE: Duration = Duration::from_millis(100);

/// What one subscriber saw, in order.
#[derive(Debug, Default)]
pub(crate) struct Log {
    /// The publisher's numbers.
    pub(crate) numbers: Vec<u64>,
    /// The highest number received.
    pub(crate) highest: Option<u64>,
    /// How each of its links ended.
    pub(crate) ends: Vec<LinkEnd>,
    /// The `$welcome` data of each reconnect (the first open's is not
    /// here).
    pub(crate) welcomes: Vec<Value>,
    /// Reconnect attempts that failed, and why.
    pub(crate) failed: Vec<String>,
}

impl Log {
    /// Whether it has received number `n`, or a later one.
    pub(crate) fn reached(&self, n: u64) -> bool {
        self.highest.is_some_and(|highest| highest >= n)
    }

    /// Whether each link that ended was followed by a reconnect (none
    /// under way).
    pub(crate) fn linked(&self) -> bool {
        self.welcomes.len() == self.ends.len()
    }
}

/// The test's subscribers, each following its session in a task.
pub(crate) struct Fleet {
    /// Each subscriber's name (`ws-0`, ...) and socket id.
    pub(crate) names: Vec<String>,
    pub(crate) ids: Vec<String>,
    seen: Arc<watch::Sender<Vec<Log>>>,
    tasks: Vec<JoinHandle<()>>,
}

impl Fleet {
    /// No subscriber yet.
    pub(crate) fn new() -> Self {
        Self {
            names: Vec::new(),
            ids: Vec::new(),
            seen: Arc::new(watch::Sender::new(Vec::new())),
            tasks: Vec::new(),
        }
    }

    /// Opens a session at `entry`, joins `room`, and follows it from then
    /// on; returns its index.
    pub(crate) async fn add<S: Subscriber>(
        &mut self,
        name: &str,
        entry: SocketAddr,
        room: &str,
    ) -> usize {
        let (mut link, welcome) = S::open(entry, None).await;
        let id = welcome["id"].as_str().expect("an id").to_owned();
        let session = welcome["session"].as_str().expect("a session").to_owned();
        let mut received = Received::new(room, false);
        link.send(json!({"event": "$join", "data": {"room": room}, "ack": 1}))
            .await;
        received.reply(&mut link, 1).await;
        let index = self.names.len();
        self.seen.send_modify(|logs| {
            let mut log = Log::default();
            for n in received.numbers {
                log.highest = log.highest.max(Some(n));
                log.numbers.push(n);
            }
            logs.push(log);
        });
        self.names.push(name.to_owned());
        self.ids.push(id);
        let seen = self.seen.clone();
        self.tasks
            .push(tokio::spawn(follow(index, entry, session, link, seen)));
        index
    }

    /// Runs `look` on what the subscribers saw so far.
    pub(crate) fn look<T>(&self, look: impl FnOnce(&[Log]) -> T) -> T {
        look(&self.seen.borrow())
    }

    /// Waits until `done` holds of what the subscribers saw; `Err` after
    /// [`WAIT`], saying what each one saw.
    pub(crate) async fn wait(
        &mut self,
        what: &str,
        done: impl Fn(&[Log]) -> bool,
    ) -> Result<(), String> {
        let mut seen = self.seen.subscribe();
        let waited = tokio::time::timeout(WAIT, async {
            let _ = seen.wait_for(|logs| done(logs)).await;
        })
        .await;
        waited.map_err(|_| format!("no {what} within {WAIT:?}; {}", self.summary()))
    }

    /// What each subscriber saw, and whether its task still runs, for a
    /// failure's message.
    pub(crate) fn summary(&mut self) -> String {
        let states: Vec<String> = self.tasks.iter_mut().map(task_state).collect();
        self.look(|logs| {
            let lines: Vec<String> = logs
                .iter()
                .zip(&states)
                .enumerate()
                .map(|(i, (log, state))| {
                    let ends: Vec<String> = log.ends.iter().map(LinkEnd::to_string).collect();
                    let welcomes: Vec<String> = log
                        .welcomes
                        .iter()
                        .map(|w| format!("resumed:{} id:{}", w["resumed"], w["id"]))
                        .collect();
                    format!(
                        "{} (id {}): {} numbers up to {:?}; links ended [{}]; reconnects \
                         [{}]; failed reconnects {:?}; {state}",
                        self.names[i],
                        self.ids[i],
                        log.numbers.len(),
                        log.highest,
                        ends.join(", "),
                        welcomes.join(", "),
                        log.failed
                    )
                })
                .collect();
            lines.join("\n")
        })
    }
}

/// Whether a subscriber's task still runs, or how it ended.
fn task_state(task: &mut JoinHandle<()>) -> String {
    if !task.is_finished() {
        return "following".to_owned();
    }
    match task.now_or_never() {
        Some(Err(error)) if error.is_panic() => {
            let panic = error.into_panic();
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            format!("its task panicked: {message}")
        }
        _ => "its task ended (gave up reconnecting)".to_owned(),
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Subscriber `index`'s life: reads its link; when the link ends,
/// reconnects through `entry` resuming its session from what it received,
/// at once, and again after a short pause while that fails.
async fn follow<S: Subscriber>(
    index: usize,
    entry: SocketAddr,
    mut session: String,
    mut link: S,
    seen: Arc<watch::Sender<Vec<Log>>>,
) {
    loop {
        let end = loop {
            match link.next().await {
                Ok(messages) => {
                    let numbers: Vec<u64> = messages
                        .iter()
                        .filter(|m| m["event"] == "n")
                        .filter_map(|m| m["data"].as_u64())
                        .collect();
                    if !numbers.is_empty() {
                        seen.send_modify(|logs| {
                            let log = &mut logs[index];
                            for n in numbers {
                                log.highest = log.highest.max(Some(n));
                                log.numbers.push(n);
                            }
                        });
                    }
                }
                Err(end) => break end,
            }
        };
        seen.send_modify(|logs| logs[index].ends.push(end));
        let last = link.received();
        let mut attempts = 0;
        link = loop {
            match S::try_open(entry, Some((&session, last))).await {
                Ok((link, welcome)) => {
                    // A new session (resume refused) goes on under its own
                    // token; the test fails on its `resumed:false`.
                    if let Some(token) = welcome["session"].as_str() {
                        session = token.to_owned();
                    }
                    seen.send_modify(|logs| logs[index].welcomes.push(welcome));
                    break link;
                }
                Err(why) => {
                    seen.send_modify(|logs| logs[index].failed.push(why));
                    attempts += 1;
                    if attempts == RECONNECT_ATTEMPTS {
                        return;
                    }
                    tokio::time::sleep(RECONNECT_PAUSE).await;
                }
            }
        };
    }
}
