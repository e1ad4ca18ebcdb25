//! The server: a hub built from a [`Config`], and the axum router that
//! serves it beside the HTTP API, metrics and the demo page.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use switchboard::adapter::{ClusterAdapter, ClusterOptions};
use switchboard::rustls::ServerConfig;
use switchboard::{HistoryLimits, Hub, HubConfig, RateLimit, TokenVerifier};
use tokio::net::TcpListener;

use crate::admin::AdminState;
use crate::api::{self, ApiState};
use crate::backend::stats::BackendStats;
use crate::config::{ClusterBackend, Config, ConfigError, TokenKey, TokenSettings};
use crate::keyless::KeylessRules;
use crate::{assets, metrics};

/// A configured server: its hub and its routes.
#[derive(Debug)]
pub struct Server {
    config: Config,
    state: ApiState,
    router: Router,
    /// With `--tls-cert` and `--tls-key`: what it serves TLS with.
    tls: Option<Arc<ServerConfig>>,
}

/// Builds the hub of a configuration: its limits, origins, tokens, the
/// `--rooms` join policy (or a token's `rooms` claim), the relay policy
/// (members relay to their rooms, within a token's `publish` claim), the
/// application's back end (`--proxy-*`) and, with `--redis` or `--nats`,
/// its cluster adapter. A
/// clustered hub must be built inside a Tokio runtime; it connects to the
/// backend in the background (and keeps retrying while it is down).
pub fn build_hub(config: &Config) -> Result<Hub, ConfigError> {
    let mut builder = Hub::builder();
    if let Some(backend) = &config.cluster {
        let options = ClusterOptions::default().prefix(config.cluster_prefix.clone());
        let invalid = |flag: &str, e: switchboard::adapter::DriverError| {
            ConfigError::new(format!("{flag}: {e}"))
        };
        builder = match backend {
            ClusterBackend::Redis(url) => builder.adapter(ClusterAdapter::new(
                switchboard_redis::RedisDriver::new(url).map_err(|e| invalid("--redis", e))?,
                options,
            )),
            ClusterBackend::Nats(url) => builder.adapter(ClusterAdapter::new(
                switchboard_nats::NatsDriver::new(url).map_err(|e| invalid("--nats", e))?,
                options,
            )),
        };
    }
    if let Some(tokens) = &config.tokens {
        builder = builder
            .tokens(token_verifier(tokens)?)
            .allow_anonymous(tokens.allow_anonymous);
    }
    if !config.history.patterns().is_empty() {
        let rooms = config.history.clone();
        builder = builder.history(move |room: &str| rooms.allows(room));
    }
    if !config.presence.patterns().is_empty() {
        let rooms = config.presence.clone();
        builder = builder.presence(move |room: &str| rooms.allows(room));
    }
    // The `--rooms` and token rules for joins and relays and, with
    // `--proxy-*`, the application's back end behind them.
    let builder = crate::backend::hooks::install(builder.config(hub_config(config)), config)?;
    Ok(builder.build())
}

/// The hub's token verifier of the `--token-*` options.
fn token_verifier(tokens: &TokenSettings) -> Result<TokenVerifier, ConfigError> {
    let verifier = match &tokens.key {
        TokenKey::HmacSecret(secret) => TokenVerifier::hmac(secret.as_bytes()),
        TokenKey::PublicKey { path, pem } => TokenVerifier::public_key_pem(pem)
            .map_err(|e| ConfigError::new(format!("--token-public-key {}: {e}", path.display())))?,
        TokenKey::JwksUrl(url) => TokenVerifier::jwks_url(url)
            .map_err(|e| ConfigError::new(format!("--token-jwks-url {url}: {e}")))?,
    };
    let verifier = match &tokens.issuer {
        Some(issuer) => verifier.issuer(issuer.clone()),
        None => verifier,
    };
    Ok(match &tokens.audience {
        Some(audience) => verifier.audience(audience.clone()),
        None => verifier,
    })
}

/// The hub's options of a configuration: every [`HubConfig`] field comes
/// from an option of the server (the tests check that none is left at the
/// hub's default by omission).
#[allow(clippy::needless_update)] // Not needless once the hub gains an option.
pub fn hub_config(config: &Config) -> HubConfig {
    HubConfig {
        ping_interval: config.ping_interval,
        ping_timeout: config.ping_timeout,
        write_timeout: config.write_timeout,
        max_message_size: config.max_message_size,
        send_queue_capacity: config.send_queue_capacity,
        inbound_queue_capacity: config.inbound_queue_capacity,
        max_connections: config.max_connections,
        allowed_origins: config.allowed_origins.clone(),
        rate_limit: config.message_rate_per_socket,
        max_bad_messages: config.max_bad_messages,
        compression: config.compression,
        shutdown_timeout: config.shutdown_timeout,
        // A zero window turns resume off too: a dropped link ends its
        // session.
        resume_buffer: if config.resume_window.is_zero() {
            0
        } else {
            config.resume_buffer_messages
        },
        resume_window: config.resume_window,
        poll_timeout: config.poll_timeout,
        cluster_timeout: config.cluster_timeout,
        broadcast_coalesce: config.broadcast_coalesce,
        // Resource bounds (issue 15).
        resume_buffer_bytes: config.resume_buffer_bytes,
        max_detached_sessions: config.max_detached_sessions,
        detached_budget: config.detached_budget,
        max_rooms_per_socket: config.max_rooms_per_socket,
        max_pending_polls: config.max_pending_polls,
        pending_poll_timeout: config.pending_poll_timeout,
        // The HTTP edge (issue 15).
        http_header_timeout: config.http_header_timeout,
        http_idle_timeout: config.http_idle_timeout,
        http_max_pending: config.http_max_pending,
        history_limits: HistoryLimits {
            size: config.history_size,
            ttl: config.history_ttl,
        },
        http_max_head_size: config.http_max_head_size,
        max_connections_per_address: config.max_connections_per_address,
        max_connections_per_user: config.max_connections_per_user,
        handshake_rate_per_address: (config.handshake_rate_per_address > 0).then_some(RateLimit {
            per_second: config.handshake_rate_per_address,
            burst: config.handshake_burst_per_address,
        }),
        exempt_loopback: config.exempt_loopback,
        trusted_proxies: config.trusted_proxies.clone(),
        max_tracked_addresses: config.max_tracked_addresses,
        public_origin: config.public_origin.clone(),
        // Options a later hub adds take its defaults until the server maps
        // them (the test `every_hub_option_comes_from_the_server` fails).
        ..HubConfig::default()
    }
}

impl Server {
    /// A server for `config`, with a new hub (inside a Tokio runtime when
    /// clustered). Fails on a cluster backend URL its driver refuses, or
    /// TLS files that cannot be read or do not make a certificate.
    pub fn new(config: Config) -> Result<Self, ConfigError> {
        let tls = config.tls.as_ref().map(|files| files.load()).transpose()?;
        let hub = build_hub(&config)?;
        let state = ApiState {
            hub: hub.clone(),
            api_key: config.api_key.as_deref().map(Arc::from),
            started: Instant::now(),
            keyless: Arc::new(keyless_rules(&config)),
        };
        let mut router = Router::new()
            .merge(hub.router(&config.path))
            .merge(assets::router());
        if let Some(admin) = &config.admin {
            // Off unless a password is set: without one, /admin is 404.
            router = router.merge(crate::admin::router(AdminState::new(
                state.clone(),
                admin,
                tls.is_some(),
                config.public_origin.clone(),
            )));
        }
        let router = router
            .route("/healthz", get(healthz))
            .route("/metrics", get(metrics_text).with_state(state.clone()))
            .nest("/api", api::router(state.clone()))
            .fallback(|| async { (StatusCode::NOT_FOUND, "not found\n") });
        Ok(Self {
            config,
            state,
            router,
            tls,
        })
    }

    /// The hub.
    pub fn hub(&self) -> &Hub {
        &self.state.hub
    }

    /// The configuration it was built from.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The routes (the API needs the peer address as `ConnectInfo`: serve
    /// them with [`Server::serve`] or `into_make_service_with_connect_info`).
    pub fn router(&self) -> Router {
        self.router.clone()
    }

    /// What start-up prints, once bound to `addr`: the first line is
    /// exactly `switchboard listening on http://ADDR` (`https://` with
    /// TLS).
    pub fn startup_lines(&self, addr: SocketAddr) -> Vec<String> {
        let api = match self.config.api_key {
            Some(_) => "needs Authorization: Bearer <key>".to_owned(),
            None => "answers loopback callers only (no --api-key set)".to_owned(),
        };
        let (http, ws) = if self.tls.is_some() {
            ("https", "wss")
        } else {
            ("http", "ws")
        };
        let mut lines = vec![
            format!("switchboard listening on {http}://{addr}"),
            format!("hub (WebSocket) at {ws}://{addr}{}", self.config.path),
            format!("demo page at {http}://{addr}/"),
            format!("HTTP API at {http}://{addr}/api/ {api}"),
        ];
        if self.config.admin.is_some() {
            lines.push(format!(
                "admin dashboard at {http}://{addr}/admin (password protected)"
            ));
        }
        if let Some(backend) = &self.config.cluster {
            let (kind, url) = match backend {
                ClusterBackend::Redis(url) => ("Redis", url),
                ClusterBackend::Nats(url) => ("NATS", url),
            };
            lines.push(format!(
                "cluster node {} over {kind} at {} (prefix {})",
                self.hub().node_id(),
                redact(url),
                self.config.cluster_prefix
            ));
        }
        lines
    }

    /// Serves on `listener` until `shutdown` resolves, then shuts the hub
    /// down (clients get `1001`) and returns once connections are gone.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let hub = self.state.hub.clone();
        // The hub's accept loop: header and idle timeouts, the cap on
        // connections without a request, ConnectInfo, TCP_NODELAY.
        let stopping = hub.clone();
        let shutdown = async move {
            shutdown.await;
            tracing::info!(
                connections = stopping.count(),
                "shutting down: closing connections with 1001"
            );
            stopping.shutdown().await;
        };
        match self.tls {
            // The same loop, each connection's TLS handshake on its task.
            Some(tls) => {
                hub.serve_router_tls(listener, self.router, tls, shutdown)
                    .await
            }
            None => hub.serve_router(listener, self.router, shutdown).await,
        }
    }
}

/// The keyless API's rules: `--allow-origin`, `--public-origin`, and the
/// hosts it answers to (`--allow-host` and the listen address).
fn keyless_rules(config: &Config) -> KeylessRules {
    let mut allowed_hosts = config.allowed_hosts.clone();
    let listen = config.listen.ip();
    if !listen.is_unspecified() {
        allowed_hosts.push(listen.to_string());
    }
    KeylessRules {
        allowed_origins: config.allowed_origins.clone(),
        public_origin: config.public_origin.clone(),
        allowed_hosts,
        refused: Default::default(),
    }
}

async fn healthz() -> &'static str {
    "ok"
}

/// A URL without its password, for printing.
fn redact(url: &str) -> String {
    url.split(',')
        .map(|server| match (server.find("://"), server.rfind('@')) {
            (Some(scheme), Some(at)) if at > scheme => {
                let credentials = &server[scheme + 3..at];
                match credentials.split_once(':') {
                    Some((user, _)) => {
                        format!("{}{user}:***{}", &server[..scheme + 3], &server[at..])
                    }
                    None => format!("{}***{}", &server[..scheme + 3], &server[at..]),
                }
            }
            _ => server.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(",")
}

async fn metrics_text(State(state): State<ApiState>) -> impl IntoResponse {
    let hub = &state.hub;
    let cluster = hub.cluster();
    let clustered = cluster
        .is_clustered()
        .then(|| (cluster.status(), cluster.stats()));
    let stats = hub.stats();
    let mut body = metrics::render(
        &stats,
        hub.session_count(),
        state.started.elapsed(),
        clustered.as_ref(),
    );
    body.push_str(&metrics::render_edge(
        &stats.edge,
        &state.keyless.refused.snapshot(),
    ));
    if let Some(backend) = hub.state::<Arc<BackendStats>>() {
        body.push_str(&metrics::render_backend(&backend.snapshot()));
    }
    ([(header::CONTENT_TYPE, metrics::CONTENT_TYPE)], body)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use switchboard::HubConfig;

    use crate::config::{Config, RawOptions};
    use crate::options::*;

    /// Each field of a hub's options and its value, as `{:#?}` shows them.
    fn fields(config: &HubConfig) -> BTreeMap<String, String> {
        let text = format!("{config:#?}");
        let mut fields = BTreeMap::new();
        let mut current: Option<String> = None;
        for line in text.lines() {
            let field = line
                .strip_prefix("    ")
                .filter(|rest| !rest.starts_with(' '))
                .and_then(|rest| rest.split_once(": "));
            if let Some((name, value)) = field {
                fields.insert(name.to_owned(), value.to_owned());
                current = Some(name.to_owned());
            } else if let Some(name) = &current {
                fields.get_mut(name).unwrap().push_str(line.trim());
            }
        }
        fields
    }

    /// Every option of the hub is reachable from the server: with every
    /// server option away from its default, no field of the hub's options
    /// is left at the hub's default.
    #[test]
    fn every_hub_option_comes_from_the_server() {
        let mut raw = RawOptions::default();
        for (option, value) in [
            (PING_INTERVAL, "7s"),
            (PING_TIMEOUT, "8s"),
            (WRITE_TIMEOUT, "3s"),
            (MAX_MESSAGE_SIZE, "1KiB"),
            (SEND_QUEUE_CAPACITY, "8"),
            (INBOUND_QUEUE_CAPACITY, "4"),
            (MAX_CONNECTIONS, "5"),
            (ALLOW_ORIGIN, "https://a.example"),
            (MESSAGE_RATE_PER_SOCKET, "5"),
            (MESSAGE_BURST_PER_SOCKET, "9"),
            (MAX_BAD_MESSAGES, "3"),
            (COMPRESSION, "false"),
            (SHUTDOWN_TIMEOUT, "2s"),
            (RESUME_BUFFER_MESSAGES, "10"),
            (RESUME_WINDOW, "30s"),
            (POLL_TIMEOUT, "5s"),
            (CLUSTER_TIMEOUT, "2s"),
            (BROADCAST_COALESCE, "5ms"),
            (RESUME_BUFFER_BYTES, "2KiB"),
            (MAX_DETACHED_SESSIONS, "3"),
            (DETACHED_BUDGET, "1MiB"),
            (MAX_ROOMS_PER_SOCKET, "3"),
            (MAX_PENDING_POLLS, "3"),
            (PENDING_POLL_TIMEOUT, "3s"),
            (HTTP_HEADER_TIMEOUT, "3s"),
            (HTTP_IDLE_TIMEOUT, "2s"),
            (HTTP_MAX_PENDING, "9"),
            (HTTP_MAX_HEAD_SIZE, "16KiB"),
            (MAX_CONNECTIONS_PER_ADDRESS, "9"),
            (MAX_CONNECTIONS_PER_USER, "2"),
            (HANDSHAKE_RATE_PER_ADDRESS, "9"),
            (HANDSHAKE_BURST_PER_ADDRESS, "10"),
            (EXEMPT_LOOPBACK, "false"),
            (TRUSTED_PROXY, "10.0.0.0/8"),
            (MAX_TRACKED_ADDRESSES, "9"),
            (PUBLIC_ORIGIN, "https://a.example"),
            (HISTORY_SIZE, "7"),
            (HISTORY_TTL, "9s"),
        ] {
            raw.set(&option, vec![value.to_owned()], Source::Flag);
        }
        let config = Config::resolve(&raw).unwrap();
        let hub = super::hub_config(&config);
        let defaults = fields(&HubConfig::default());
        let mapped = fields(&hub);
        assert!(defaults.len() > 30, "{defaults:?}");
        assert_eq!(
            defaults.keys().collect::<Vec<_>>(),
            mapped.keys().collect::<Vec<_>>()
        );
        // `namespace` tells apart several hubs of one application; the
        // server runs one hub, whose channels `--cluster-prefix` names.
        let unmapped: Vec<&String> = defaults
            .iter()
            .filter(|(name, _)| name.as_str() != "namespace")
            .filter(|(name, value)| mapped[*name] == **value)
            .map(|(name, _)| name)
            .collect();
        assert!(
            unmapped.is_empty(),
            "hub options no server option sets (add them to options/): {unmapped:?}"
        );
        // The options of issue 17, as given.
        assert_eq!(hub.write_timeout, Duration::from_secs(3));
        assert_eq!(hub.send_queue_capacity, 8);
        assert_eq!(hub.inbound_queue_capacity, 4);
        assert_eq!(
            hub.rate_limit,
            Some(switchboard::RateLimit {
                per_second: 5,
                burst: 9
            })
        );
        assert_eq!(hub.max_bad_messages, 3);
        assert_eq!(hub.shutdown_timeout, Duration::from_secs(2));
        assert_eq!(hub.resume_buffer, 10);
        assert_eq!(hub.poll_timeout, Duration::from_secs(5));
    }

    #[test]
    fn a_zero_resume_window_turns_the_resume_buffer_off() {
        let mut raw = RawOptions::default();
        raw.set(&RESUME_WINDOW, vec!["0".into()], Source::Env);
        let config = Config::resolve(&raw).unwrap();
        assert_eq!(config.resume_buffer_messages, 1000);
        assert_eq!(super::hub_config(&config).resume_buffer, 0);
    }

    #[test]
    fn passwords_are_not_printed() {
        assert_eq!(super::redact("redis://u:pw@h:1/0"), "redis://u:***@h:1/0");
        assert_eq!(
            super::redact("nats://tok@h:1,nats://h2:2"),
            "nats://***@h:1,nats://h2:2"
        );
        assert_eq!(super::redact("nats://h:1"), "nats://h:1");
    }
}
