//! The HTTP side of the back-end calls: one pooled keep-alive client
//! (reqwest over rustls with the `ring` provider, as the hub's JWKS fetch),
//! a deadline over each whole call, the static headers, a bounded answer,
//! and the counters of every call.

use std::sync::Arc;
use std::time::{Duration, Instant};

use http::header::{ACCEPT, CONTENT_TYPE};
use http::{HeaderMap, StatusCode};
use serde_json::{Map, Value};

use super::Hook;
use super::answer::{self, Outcome};
use super::stats::{BackendStats, FailureKind};
use crate::config::{BackendSettings, ConfigError};

/// The largest answer read; a longer one is a bad answer.
pub const MAX_ANSWER: usize = 1 << 20;

/// Idle keep-alive connections kept per back-end host.
const MAX_IDLE_PER_HOST: usize = 64;

/// How long an idle keep-alive connection is kept.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Why a call gave no usable answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// No complete answer within `--proxy-timeout`.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// The connection could not be made, or broke.
    #[error("connection failed: {0}")]
    Connect(String),
    /// An HTTP status other than 200.
    #[error("answered HTTP {0}")]
    Status(StatusCode),
    /// A 200 whose body is not what the hook expects.
    #[error("bad answer: {0}")]
    BadAnswer(String),
}

impl CallError {
    fn kind(&self) -> FailureKind {
        match self {
            CallError::Timeout(_) => FailureKind::Timeout,
            CallError::Connect(_) => FailureKind::Connect,
            CallError::Status(_) => FailureKind::Status,
            CallError::BadAnswer(_) => FailureKind::BadAnswer,
        }
    }
}

/// Posts JSON to the back end and reads its answers.
#[derive(Debug)]
pub struct Caller {
    client: reqwest::Client,
    headers: HeaderMap,
    timeout: Duration,
    stats: Arc<BackendStats>,
}

impl Caller {
    /// A client for `settings`' URLs (the platform's trust store when one
    /// of them is `https`), counting in `stats`.
    pub fn new(settings: &BackendSettings, stats: Arc<BackendStats>) -> Result<Self, ConfigError> {
        let failed = |e: String| ConfigError::new(format!("the back-end HTTP client: {e}"));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| failed(e.to_string()))?;
        let urls = [
            &settings.connect,
            &settings.join,
            &settings.publish,
            &settings.event,
            &settings.disconnect,
        ];
        let https = urls
            .iter()
            .filter_map(|url| url.as_deref())
            .any(|url| url.starts_with("https://"));
        let tls = if https {
            use rustls_platform_verifier::BuilderVerifierExt;
            tls.with_platform_verifier()
                .map_err(|e| failed(e.to_string()))?
                .with_no_client_auth()
        } else {
            // Never used for `http`, but reqwest wants one.
            tls.with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth()
        };
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .connect_timeout(settings.timeout)
            .timeout(settings.timeout)
            .pool_max_idle_per_host(MAX_IDLE_PER_HOST)
            .pool_idle_timeout(IDLE_TIMEOUT)
            .tcp_nodelay(true)
            // A redirect is an answer other than 200; proxies from the
            // environment are not used: the back end is called directly.
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .user_agent(concat!("switchboard/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| failed(error_chain(&e)))?;
        let headers = settings.headers.iter().cloned().collect();
        Ok(Self {
            client,
            headers,
            timeout: settings.timeout,
            stats,
        })
    }

    /// Posts `body` to `url` for `hook` and reads the answer with `parse`.
    /// Every call is counted; a failed one is logged with its reason.
    pub async fn call<T>(
        &self,
        hook: Hook,
        url: &str,
        body: &Value,
        parse: impl FnOnce(Map<String, Value>) -> Result<T, String>,
    ) -> Result<Outcome<T>, CallError> {
        let started = Instant::now();
        let result = self
            .exchange(url, body)
            .await
            .and_then(|answer| answer::read(&answer, parse).map_err(CallError::BadAnswer));
        let counted = match &result {
            Ok(Outcome::Allowed(_)) => Ok(false),
            Ok(Outcome::Refused { .. }) => Ok(true),
            Err(error) => Err(error.kind()),
        };
        self.stats.record(hook, started.elapsed(), counted);
        if let Err(error) = &result {
            tracing::warn!(
                hook = hook.as_str(),
                url,
                %error,
                "the application's back end failed"
            );
        }
        result
    }

    /// Posts `body` to `url` for `hook`, reading (and dropping) the answer:
    /// only its status counts.
    pub async fn notify(&self, hook: Hook, url: &str, body: &Value) {
        let started = Instant::now();
        let result = self.exchange(url, body).await;
        self.stats.record(
            hook,
            started.elapsed(),
            result.as_ref().map(|_| false).map_err(CallError::kind),
        );
        if let Err(error) = result {
            tracing::warn!(
                hook = hook.as_str(),
                url,
                %error,
                "the application's back end failed"
            );
        }
    }

    /// One POST within the deadline: the answer's body, when its status is
    /// 200.
    async fn exchange(&self, url: &str, body: &Value) -> Result<Vec<u8>, CallError> {
        let deadline = self.timeout;
        tokio::time::timeout(deadline, self.post(url, body))
            .await
            .unwrap_or(Err(CallError::Timeout(deadline)))
    }

    async fn post(&self, url: &str, body: &Value) -> Result<Vec<u8>, CallError> {
        let bytes = serde_json::to_vec(body)
            .map_err(|e| CallError::BadAnswer(format!("the request does not serialize: {e}")))?;
        let mut response = self
            .client
            .post(url)
            .headers(self.headers.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json")
            .body(bytes)
            .send()
            .await
            .map_err(|e| self.transport_error(&e))?;
        let status = response.status();
        if status != StatusCode::OK {
            return Err(CallError::Status(status));
        }
        if response
            .content_length()
            .is_some_and(|length| length > MAX_ANSWER as u64)
        {
            return Err(CallError::BadAnswer(format!(
                "the answer is over {MAX_ANSWER} bytes"
            )));
        }
        let mut answer = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.transport_error(&e))?
        {
            if answer.len() + chunk.len() > MAX_ANSWER {
                return Err(CallError::BadAnswer(format!(
                    "the answer is over {MAX_ANSWER} bytes"
                )));
            }
            answer.extend_from_slice(&chunk);
        }
        Ok(answer)
    }

    fn transport_error(&self, error: &reqwest::Error) -> CallError {
        if error.is_timeout() {
            CallError::Timeout(self.timeout)
        } else {
            CallError::Connect(error_chain(error))
        }
    }
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
