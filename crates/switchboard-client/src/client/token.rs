//! Tokens (PROTOCOL.md section 10): a fixed string, or a function that
//! returns a fresh one for every handshake and every refresh; and when the
//! client refreshes.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What a token function returns: a fresh token, or why there is none
/// (the error's text).
pub type TokenFuture = Pin<Box<dyn Future<Output = Result<String, String>> + Send>>;

/// Where the client's token comes from; made from a string or a function by
/// [`ClientBuilder::token`](super::ClientBuilder::token) (see
/// [`IntoTokenSource`]).
#[derive(Clone)]
pub struct TokenSource(Inner);

#[derive(Clone)]
enum Inner {
    Fixed(String),
    Function(Arc<dyn Fn() -> TokenFuture + Send + Sync>),
}

impl fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the token itself.
        match &self.0 {
            Inner::Fixed(_) => f.write_str("TokenSource::Fixed(..)"),
            Inner::Function(_) => f.write_str("TokenSource::Function(..)"),
        }
    }
}

impl TokenSource {
    /// The same token for every handshake; the client cannot refresh it.
    pub fn fixed(token: impl Into<String>) -> Self {
        Self(Inner::Fixed(token.into()))
    }

    /// A function called for every handshake (the first connect, every
    /// reconnect and resume) and every refresh; its error is reported and
    /// counts as a failed attempt.
    pub fn from_fn<F, Fut, E>(function: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<String, E>> + Send + 'static,
        E: fmt::Display + 'static,
    {
        Self(Inner::Function(Arc::new(move || {
            let fresh = function();
            Box::pin(async move { fresh.await.map_err(|e| e.to_string()) })
        })))
    }

    /// Whether this is a fixed token (which cannot be refreshed).
    pub fn is_fixed(&self) -> bool {
        matches!(self.0, Inner::Fixed(_))
    }

    /// A token for the next handshake or refresh.
    pub(crate) async fn get(&self) -> Result<String, String> {
        match &self.0 {
            Inner::Fixed(token) => Ok(token.clone()),
            Inner::Function(function) => function().await,
        }
    }
}

/// What [`ClientBuilder::token`](super::ClientBuilder::token) accepts: a
/// string (`&str`, `String`), a [`TokenSource`], or a function returning a
/// future of `Result<String, E>` with `E: Display`, such as
/// `|| async { Ok::<_, std::io::Error>(fetch_token().await?) }`.
pub trait IntoTokenSource {
    /// The token source.
    fn into_token_source(self) -> TokenSource;
}

impl IntoTokenSource for TokenSource {
    fn into_token_source(self) -> TokenSource {
        self
    }
}

impl IntoTokenSource for String {
    fn into_token_source(self) -> TokenSource {
        TokenSource::fixed(self)
    }
}

impl IntoTokenSource for &str {
    fn into_token_source(self) -> TokenSource {
        TokenSource::fixed(self)
    }
}

impl IntoTokenSource for &String {
    fn into_token_source(self) -> TokenSource {
        TokenSource::fixed(self.as_str())
    }
}

impl<F, Fut, E> IntoTokenSource for F
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<String, E>> + Send + 'static,
    E: fmt::Display + 'static,
{
    fn into_token_source(self) -> TokenSource {
        TokenSource::from_fn(self)
    }
}

/// How many handshakes refused `401` in a row a client with a token
/// function makes before it stops.
pub(crate) const MAX_UNAUTHORIZED: u32 = 3;

/// How many times a failed refresh is tried again before the token expires.
pub(crate) const REFRESH_RETRIES: u32 = 3;

/// The wait before refreshing a token that expires in `remaining`: the
/// refresh comes `margin` before the expiry, where `margin` is the larger
/// of a fifth of the remaining lifetime and `min(30 s, half of it)`. So a
/// token of an hour is refreshed after 48 minutes (80 %), one of 100 s
/// 30 s before it expires, one of 3 s after 1.5 s. A token already expired
/// by the client's clock (a clock ahead of the hub's) waits 1 s, so that a
/// skewed clock cannot make the client refresh in a loop.
pub(crate) fn refresh_delay(remaining: Duration) -> Duration {
    if remaining.is_zero() {
        return Duration::from_secs(1);
    }
    let margin = (remaining / 5).max((remaining / 2).min(Duration::from_secs(30)));
    remaining - margin
}

/// The wait before retry `retry` (1-based) of a failed refresh, with
/// `left` until the token expires: 1 s, 2 s, 4 s, but never more than a
/// third of what is left.
pub(crate) fn refresh_retry_delay(retry: u32, left: Duration) -> Duration {
    let backoff = Duration::from_secs(1u64 << retry.saturating_sub(1).min(6));
    backoff.min(left / 3)
}

/// The time until `expires_at` (Unix seconds) by the client's clock.
pub(crate) fn until(expires_at: u64) -> Duration {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Duration::from_secs(expires_at).saturating_sub(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_comes_before_expiry() {
        let secs = |s: f64| Duration::from_secs_f64(s);
        assert_eq!(refresh_delay(secs(3600.0)), secs(2880.0));
        assert_eq!(refresh_delay(secs(100.0)), secs(70.0));
        assert_eq!(refresh_delay(secs(3.0)), secs(1.5));
        assert_eq!(refresh_delay(Duration::ZERO), secs(1.0));
        for s in [0.1, 1.0, 10.0, 60.0, 149.0, 151.0, 86_400.0] {
            let delay = refresh_delay(secs(s));
            assert!(delay < secs(s) && delay >= secs(s) / 2, "{s}: {delay:?}");
        }
    }

    #[test]
    fn refresh_retries_back_off_within_what_is_left() {
        let left = Duration::from_secs(60);
        let delays: Vec<u64> = (1..=4)
            .map(|n| refresh_retry_delay(n, left).as_secs())
            .collect();
        assert_eq!(delays, [1, 2, 4, 8]);
        assert_eq!(
            refresh_retry_delay(1, Duration::from_millis(900)),
            Duration::from_millis(300)
        );
    }

    #[tokio::test]
    async fn strings_and_functions_are_token_sources() {
        let fixed = "abc".into_token_source();
        assert!(fixed.is_fixed());
        assert_eq!(fixed.get().await.unwrap(), "abc");
        assert_eq!(format!("{fixed:?}"), "TokenSource::Fixed(..)");
        let counter = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let calls = counter.clone();
        let function = (move || {
            let n = calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async move {
                if n == 0 {
                    Ok(format!("t{n}"))
                } else {
                    Err("no more")
                }
            }
        })
        .into_token_source();
        assert!(!function.is_fixed());
        assert_eq!(function.get().await.unwrap(), "t0");
        assert_eq!(function.get().await.unwrap_err(), "no more");
    }
}
