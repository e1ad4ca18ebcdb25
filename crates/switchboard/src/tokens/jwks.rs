//! The JWKS key source: a key set fetched over HTTP and cached.
//!
//! - The set is fetched on first use and cached. A token whose `kid` the
//!   cached set lacks triggers a re-fetch; a set older than
//!   [`MAX_AGE`] is re-fetched in the background while its keys keep
//!   serving (so that a key removed from the set stops being accepted).
//! - Fetches are at most one per [`REFETCH_INTERVAL`] (10 s), counted from
//!   the start of the previous one, whatever its outcome: tokens with made-up
//!   key ids cannot make the hub hammer the issuer. Within the interval an
//!   unknown `kid` is refused as invalid (or the keys as unavailable, when
//!   the last fetch failed).
//! - Concurrent verifications that need a fetch share one: the fetch runs
//!   in its own task and every waiter gets its result, so a waiter that
//!   gives up does not stop it.
//! - A fetch times out after [`FETCH_TIMEOUT`] (5 s); one that fails, with
//!   no usable cached key for the token, gives
//!   [`TokenError::KeysUnavailable`]. A failed refresh keeps the cached set.
//! - No lock is held across an `.await`: the state's mutex is taken for
//!   bookkeeping only.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};
use parking_lot::Mutex;

use super::error::{TokenError, TokenKeyError};
use super::keys::{self, VerifyingKey};

/// At most one fetch of the key set per this interval.
pub(super) const REFETCH_INTERVAL: Duration = Duration::from_secs(10);
/// A fetch (connect, request and body) that takes longer fails.
pub(super) const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// A key set older than this is re-fetched (in the background).
pub(super) const MAX_AGE: Duration = Duration::from_secs(300);
/// A key set document larger than this is refused.
const MAX_DOCUMENT: usize = 1 << 20;

/// The source's time settings (the constants above; shorter in tests).
#[derive(Debug, Clone, Copy)]
pub(super) struct Timings {
    pub(super) refetch_interval: Duration,
    pub(super) fetch_timeout: Duration,
    pub(super) max_age: Duration,
}

impl Default for Timings {
    fn default() -> Self {
        Timings {
            refetch_interval: REFETCH_INTERVAL,
            fetch_timeout: FETCH_TIMEOUT,
            max_age: MAX_AGE,
        }
    }
}

/// The keys of one fetched set, by `kid`.
#[derive(Debug, Default)]
struct KeySet {
    by_kid: HashMap<String, Arc<VerifyingKey>>,
    all: Vec<Arc<VerifyingKey>>,
}

impl KeySet {
    /// The key for a token's `kid`; a token without one takes the set's
    /// only key (and none if the set has several).
    fn find(&self, kid: Option<&str>) -> Option<Arc<VerifyingKey>> {
        match kid {
            Some(kid) => self.by_kid.get(kid).cloned(),
            None if self.all.len() == 1 => self.all.first().cloned(),
            None => None,
        }
    }
}

/// A fetch in flight, which every waiter polls.
type Fetch = Shared<BoxFuture<'static, Result<Arc<KeySet>, String>>>;

#[derive(Default)]
struct State {
    /// The last set fetched.
    keys: Option<Arc<KeySet>>,
    /// When it was fetched.
    fetched_at: Option<Instant>,
    /// When the last fetch started (the rate limit).
    last_attempt: Option<Instant>,
    /// Why the last fetch failed; `None` if it succeeded.
    last_error: Option<String>,
    in_flight: Option<Fetch>,
}

/// What a verification does next, decided under the state's lock.
enum Step {
    Use(Arc<VerifyingKey>),
    Wait(Fetch),
    Refuse(TokenError),
}

/// The key set at a URL, fetched and cached.
pub(super) struct JwksKeys {
    fetcher: Fetcher,
    timings: Timings,
    state: Arc<Mutex<State>>,
}

impl JwksKeys {
    /// A source for `url` (`http` or `https`); nothing is fetched yet.
    pub(super) fn new(url: &str, timings: Timings) -> Result<Self, TokenKeyError> {
        Ok(JwksKeys {
            fetcher: Fetcher::new(url, timings.fetch_timeout)?,
            timings,
            state: Arc::default(),
        })
    }

    /// The key for a token's `kid`, fetching the set when needed.
    pub(super) async fn key_for(&self, kid: Option<&str>) -> Result<Arc<VerifyingKey>, TokenError> {
        let fetch = match self.step(kid, Instant::now()) {
            Step::Use(key) => return Ok(key),
            Step::Refuse(error) => return Err(error),
            Step::Wait(fetch) => fetch,
        };
        match fetch.await {
            Ok(set) => set.find(kid).ok_or_else(|| unknown(kid)),
            Err(error) => Err(TokenError::KeysUnavailable(error)),
        }
    }

    fn step(&self, kid: Option<&str>, now: Instant) -> Step {
        let mut state = self.state.lock();
        let cached = state.keys.as_ref().and_then(|set| set.find(kid));
        let may_fetch = state
            .last_attempt
            .is_none_or(|at| now.duration_since(at) >= self.timings.refetch_interval);
        // reqwest runs on tokio; the fetch runs in a task of its own.
        let runtime = tokio::runtime::Handle::try_current().ok();
        if let Some(key) = cached {
            let stale = state
                .fetched_at
                .is_none_or(|at| now.duration_since(at) >= self.timings.max_age);
            if let Some(runtime) = runtime.filter(|_| stale && may_fetch)
                && state.in_flight.is_none()
            {
                // Refreshed in the background; the cached key serves now.
                tracing::debug!(url = %self.fetcher.url, "refreshing the token key set");
                let _refresh = self.start_fetch(&mut state, now, &runtime);
            }
            return Step::Use(key);
        }
        if let Some(fetch) = &state.in_flight {
            return Step::Wait(fetch.clone());
        }
        if may_fetch {
            let Some(runtime) = runtime else {
                return Step::Refuse(TokenError::KeysUnavailable(
                    "the key set is fetched within a tokio runtime, and there is none".into(),
                ));
            };
            return Step::Wait(self.start_fetch(&mut state, now, &runtime));
        }
        Step::Refuse(match (&state.last_error, &state.keys) {
            (Some(error), _) => TokenError::KeysUnavailable(error.clone()),
            (None, Some(_)) => unknown(kid),
            (None, None) => TokenError::KeysUnavailable("the key set is not fetched yet".into()),
        })
    }

    /// Starts a fetch in its own task, which records its outcome.
    fn start_fetch(
        &self,
        state: &mut State,
        now: Instant,
        runtime: &tokio::runtime::Handle,
    ) -> Fetch {
        state.last_attempt = Some(now);
        let fetcher = self.fetcher.clone();
        let shared_state = Arc::clone(&self.state);
        let task = async move {
            let result = fetcher.fetch().await.map(Arc::new);
            let mut state = shared_state.lock();
            state.in_flight = None;
            match &result {
                Ok(set) => {
                    tracing::debug!(url = %fetcher.url, keys = set.all.len(), "token key set fetched");
                    state.keys = Some(Arc::clone(set));
                    state.fetched_at = Some(Instant::now());
                    state.last_error = None;
                }
                Err(error) => {
                    tracing::warn!(url = %fetcher.url, %error, "the token key set cannot be fetched");
                    state.last_error = Some(error.clone());
                }
            }
            result
        };
        let handle = runtime.spawn(task);
        let fetch = async move {
            handle
                .await
                .unwrap_or_else(|e| Err(format!("the key set fetch stopped: {e}")))
        }
        .boxed()
        .shared();
        state.in_flight = Some(fetch.clone());
        fetch
    }
}

fn unknown(kid: Option<&str>) -> TokenError {
    TokenError::Invalid(match kid {
        Some(kid) => format!("no key with id `{kid}` in the key set"),
        None => "the token has no `kid` and the key set has several keys".into(),
    })
}

/// The HTTP side: one GET of the key set document.
#[derive(Clone)]
struct Fetcher {
    url: reqwest::Url,
    client: reqwest::Client,
}

impl Fetcher {
    fn new(url: &str, timeout: Duration) -> Result<Self, TokenKeyError> {
        let invalid = |reason: String| TokenKeyError::InvalidUrl {
            url: url.to_owned(),
            reason,
        };
        let parsed = reqwest::Url::parse(url).map_err(|e| invalid(e.to_string()))?;
        let Some(host) = parsed.host_str() else {
            return Err(invalid("the URL has no host".into()));
        };
        let loopback = host.eq_ignore_ascii_case("localhost")
            || host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| TokenKeyError::HttpClient(e.to_string()))?;
        let tls = match parsed.scheme() {
            "https" => {
                use rustls_platform_verifier::BuilderVerifierExt;
                tls.with_platform_verifier()
                    .map_err(|e| TokenKeyError::HttpClient(e.to_string()))?
                    .with_no_client_auth()
            }
            "http" => {
                if !loopback {
                    tracing::warn!(
                        url,
                        "the token key set is fetched over plain HTTP: anyone on the path can replace its keys"
                    );
                }
                // Never used for `http`, but reqwest wants one.
                tls.with_root_certificates(rustls::RootCertStore::empty())
                    .with_no_client_auth()
            }
            other => {
                return Err(invalid(format!(
                    "the scheme must be http or https, not `{other}`"
                )));
            }
        };
        let mut client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("switchboard/", env!("CARGO_PKG_VERSION")));
        if loopback {
            client = client.no_proxy();
        }
        let client = client
            .build()
            .map_err(|e| TokenKeyError::HttpClient(error_chain(&e)))?;
        Ok(Fetcher {
            url: parsed,
            client,
        })
    }

    async fn fetch(&self) -> Result<KeySet, String> {
        let url = &self.url;
        let mut response = self
            .client
            .get(url.clone())
            .header(http::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| format!("GET {url}: {}", error_chain(&e)))?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("GET {url}: HTTP {status}"));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| format!("GET {url}: {}", error_chain(&e)))?
        {
            if body.len() + chunk.len() > MAX_DOCUMENT {
                return Err(format!(
                    "GET {url}: the key set is over {MAX_DOCUMENT} bytes"
                ));
            }
            body.extend_from_slice(&chunk);
        }
        parse(&body).map_err(|e| format!("GET {url}: {e}"))
    }
}

/// A key set document: `{"keys":[...]}`. Keys that cannot be used are left
/// out (logged); the others are kept.
fn parse(body: &[u8]) -> Result<KeySet, String> {
    #[derive(serde::Deserialize)]
    struct Document {
        keys: Vec<serde_json::Value>,
    }
    let document: Document =
        serde_json::from_slice(body).map_err(|e| format!("not a JWKS document: {e}"))?;
    let mut set = KeySet::default();
    for (index, value) in document.keys.into_iter().enumerate() {
        let key = serde_json::from_value::<jsonwebtoken::jwk::Jwk>(value)
            .map_err(|e| e.to_string())
            .and_then(|jwk| keys::from_jwk(&jwk));
        match key {
            Ok((kid, key)) => {
                let key = Arc::new(key);
                if let Some(kid) = kid {
                    if set.by_kid.contains_key(&kid) {
                        tracing::warn!(
                            index,
                            kid,
                            "a key set repeats a key id; the first key is kept"
                        );
                        continue;
                    }
                    set.by_kid.insert(kid, Arc::clone(&key));
                }
                set.all.push(key);
            }
            Err(reason) => tracing::warn!(index, %reason, "a key of the token key set is left out"),
        }
    }
    if set.all.is_empty() {
        tracing::warn!("the token key set holds no usable key");
    }
    Ok(set)
}

/// An error with its sources: reqwest's own message rarely says why.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}
