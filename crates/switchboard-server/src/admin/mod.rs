//! The admin dashboard at `/admin` (issue 21): a password-protected page
//! that shows a live hub and steers it. Served only when
//! `--admin-password` (or `--admin-password-file`) is set.
//!
//! It has its own small API under `/admin/api/`, separate from `/api/`:
//! `/api/` is for application back ends (a bearer key, or loopback
//! callers), which carry no cookie and need no CSRF defence; the
//! dashboard's API is for a logged-in browser (a session cookie, and a
//! CSRF token on every change, [`auth`]). Its handlers reuse the HTTP
//! API's logic (the publish body and its delivery, cluster-wide members,
//! users and kicks) and the hub's counters.
//!
//! | request | answer |
//! | --- | --- |
//! | `GET /admin` | the page (login form or dashboard) |
//! | `POST /admin/login` `{"password"}` | `200 {"csrf","expires_in_s"}` and the session cookie; `401`, `429` |
//! | `POST /admin/logout` | `204`, the cookie cleared |
//! | `GET /admin/api/session` | `{"csrf","expires_in_s"}` |
//! | `GET /admin/api/stream` | server-sent events: `history`, then a `sample` a second ([`overview::Sample`]); `429` past 4 per login |
//! | `GET /admin/api/rooms?q=&limit=` | this node's rooms matching `q`, with member counts |
//! | `GET /admin/api/rooms/{room}` | members (cluster-wide; detail of this node's), presence |
//! | `GET /admin/api/sockets/{id}` | a socket's detail |
//! | `GET /admin/api/users/{user}` | a user's sockets (cluster-wide) |
//! | `GET /admin/api/find?q=` | `{"kind":"socket"\|"user","id"}` or `404` |
//! | `POST /admin/api/publish` | as `POST /api/publish` |
//! | `DELETE /admin/api/sockets/{id}` | kick (`4000`), `204` or `404` |
//! | `DELETE /admin/api/users/{user}` | `{"closed":k}` |
//!
//! Nothing of it runs while nobody watches: the overview's sampling task
//! ([`sampler`]) lives only while a logged-in page holds the stream open,
//! and the hub's per-room traffic counting is on only then.

pub mod actions;
pub mod assets;
pub mod auth;
pub mod limiter;
pub mod overview;
pub mod sampler;
pub mod sessions;
pub mod stream;
pub mod views;

use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};

use crate::api_state::ApiState;
use crate::config::AdminSettings;

use self::limiter::LoginLimiter;
use self::sampler::Sampler;
use self::sessions::SessionStore;

/// The page's Content-Security-Policy: its own scripts, styles and
/// connections only; never framed.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; \
     frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// What the dashboard's handlers share.
#[derive(Debug, Clone)]
pub struct AdminState {
    /// The HTTP API's state (the hub, the start time).
    pub api: ApiState,
    /// The SHA-256 digest of the password.
    pub password_digest: [u8; 32],
    /// The live sessions.
    pub sessions: Arc<SessionStore>,
    /// The login rate limit.
    pub limiter: Arc<LoginLimiter>,
    /// The overview's sampling task.
    pub sampler: Arc<Sampler>,
    /// Whether the server serves TLS (the cookie is then `Secure`).
    pub tls: bool,
    /// `--public-origin`, which the Origin check compares with when set.
    pub public_origin: Option<String>,
}

impl AdminState {
    /// The dashboard's state for `settings`, beside the API's.
    pub fn new(
        api: ApiState,
        settings: &AdminSettings,
        tls: bool,
        public_origin: Option<String>,
    ) -> Self {
        Self {
            password_digest: auth::password_digest(settings.password.as_bytes()),
            sessions: Arc::new(SessionStore::new(settings.session_ttl)),
            limiter: Arc::new(LoginLimiter::default()),
            sampler: Arc::new(Sampler::new(api.hub.clone(), api.started)),
            api,
            tls,
            public_origin,
        }
    }
}

/// The dashboard's routes (full paths, to merge at the root).
pub fn router(state: AdminState) -> Router {
    let api = Router::new()
        .route("/admin/api/session", get(auth::session))
        .route("/admin/api/stream", get(stream::stream))
        .route("/admin/api/rooms", get(views::rooms))
        .route("/admin/api/rooms/{*room}", get(views::room))
        .route(
            "/admin/api/sockets/{id}",
            get(views::socket).delete(actions::kick),
        )
        .route(
            "/admin/api/users/{user}",
            get(views::user).delete(actions::disconnect_user),
        )
        .route("/admin/api/find", get(views::find))
        .route("/admin/api/publish", post(actions::publish))
        .route("/admin/logout", post(auth::logout))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_session,
        ))
        .route("/admin/login", post(auth::login))
        .with_state(state);
    Router::new()
        .merge(crate::assets::serve(&assets::ADMIN_ASSETS))
        .route(
            "/admin/",
            get(|| async { axum::response::Redirect::to("/admin") }),
        )
        .merge(api)
        .layer(middleware::from_fn(security_headers))
}

/// Headers on every dashboard answer: the CSP, no framing, no referrer,
/// and no caching of API answers.
async fn security_headers(request: Request, next: Next) -> Response {
    let api = request.uri().path().starts_with("/admin/api/");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if api {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}
