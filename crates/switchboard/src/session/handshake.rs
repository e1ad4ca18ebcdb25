//! What a session connected with: the handshake request as handlers see it
//! ([`crate::Socket::handshake`]). Built once when the session opens, kept
//! compact for the session's life (one allocation for every header).

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::{HeaderMap, HeaderName, HeaderValue, Uri};
use switchboard_protocol::Codec;
pub use switchboard_protocol::Transport;

/// The request that opened a session: its URI and query, headers, client
/// address, negotiated codec and subprotocol, and the request extensions
/// that tower or axum middleware set before the hub saw it.
///
/// Handlers reach it through [`crate::Socket::handshake`]. A resumed
/// session keeps the handshake that opened it (as it keeps its id, rooms
/// and [`crate::Socket::extension`]); the requests that resume it are
/// checked, not kept.
///
/// It is built once per session and shared: the headers are copied into
/// one compact allocation (the request's own buffers are not kept alive),
/// and turned into a [`HeaderMap`] the first time [`Handshake::headers`]
/// is called.
///
/// ```
/// use switchboard::{HandlerError, Hub, Socket};
///
/// let hub = Hub::builder()
///     .on("whoami", |socket: Socket, _: serde_json::Value| async move {
///         let handshake = socket.handshake();
///         let agent = handshake
///             .headers()
///             .get("user-agent")
///             .and_then(|v| v.to_str().ok())
///             .unwrap_or("")
///             .to_owned();
///         Ok::<_, HandlerError>(serde_json::json!({
///             "path": handshake.uri().path(),
///             "client": handshake.client_ip().map(|ip| ip.to_string()),
///             "agent": agent,
///             "subprotocol": handshake.subprotocol(),
///         }))
///     })
///     .build();
/// # drop(hub);
/// ```
pub struct Handshake {
    request: CompactRequest,
    extensions: http::Extensions,
    peer_addr: Option<SocketAddr>,
    client_ip: Option<IpAddr>,
    subprotocol: Option<Subprotocol>,
    codec: Codec,
    transport: Transport,
    /// Part of the request was left out ([`Handshake::is_truncated`]).
    truncated: bool,
    /// When the session opened, Unix seconds ([`Handshake::opened_at`]):
    /// 32 bits fit in the padding after the small fields.
    opened_at: u32,
    /// The authentication hook's answer, on its way to the session
    /// ([`Handshake::take_hook_extensions`]); empty once it is there. It
    /// rides here so that the WebSocket upgrade's task, which lives as
    /// long as its connection, holds one pointer for both.
    hook_extensions: http::Extensions,
}

/// A selected subprotocol: one of the protocol's own names (the codec
/// follows it) or a name the application registered. Shared with the
/// hub's list, never copied per session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Subprotocol(pub(crate) Arc<str>);

impl Subprotocol {
    /// The name, as answered in `Sec-WebSocket-Protocol`.
    pub(crate) fn name(&self) -> &str {
        &self.0
    }

    /// The codec the name stands for, when it is one of the protocol's.
    pub(crate) fn codec(&self) -> Option<Codec> {
        Codec::from_subprotocol(&self.0)
    }
}

/// The parts a [`Handshake`] is made of (the transports fill it in).
pub(crate) struct HandshakeParts<'a> {
    pub(crate) uri: &'a Uri,
    pub(crate) headers: &'a HeaderMap,
    pub(crate) extensions: http::Extensions,
    pub(crate) peer_addr: Option<SocketAddr>,
    pub(crate) client_ip: Option<IpAddr>,
    pub(crate) subprotocol: Option<Subprotocol>,
    pub(crate) codec: Codec,
    pub(crate) transport: Transport,
    pub(crate) hook_extensions: http::Extensions,
    /// Leave the token out of what is kept: the `token` query parameter
    /// and a Bearer `Authorization` header (the hub checked it).
    pub(crate) leave_out_token: bool,
}

impl Handshake {
    /// Copies what it keeps out of the request (never a reference into its
    /// buffers, which would keep them alive for the session's life).
    pub(crate) fn new(parts: HandshakeParts<'_>) -> Self {
        let (request, truncated) =
            CompactRequest::copy(parts.uri, parts.headers, parts.leave_out_token);
        Self {
            request,
            truncated,
            extensions: parts.extensions,
            peer_addr: parts.peer_addr,
            client_ip: parts.client_ip,
            subprotocol: parts.subprotocol,
            codec: parts.codec,
            transport: parts.transport,
            hook_extensions: parts.hook_extensions,
            opened_at: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX)),
        }
    }

    /// Takes the authentication hook's answer out of a handshake that is
    /// not shared yet (empty once shared, or taken).
    pub(crate) fn take_hook_extensions(this: &mut Arc<Self>) -> http::Extensions {
        Arc::get_mut(this)
            .map(|handshake| std::mem::take(&mut handshake.hook_extensions))
            .unwrap_or_default()
    }

    /// A handshake with nothing but its codec and transport (for sessions
    /// made without a request, in tests).
    #[cfg(test)]
    pub(crate) fn bare(codec: Codec, transport: Transport) -> Self {
        Self::new(HandshakeParts {
            uri: &Uri::from_static("/"),
            headers: &HeaderMap::new(),
            extensions: http::Extensions::new(),
            peer_addr: None,
            client_ip: None,
            subprotocol: None,
            codec,
            transport,
            hook_extensions: http::Extensions::new(),
            leave_out_token: false,
        })
    }

    /// The request's URI as the client sent it (usually a path and a
    /// query: `/ws?codec=json`; when the hub checks tokens,
    /// [`HubBuilder::tokens`](crate::HubBuilder::tokens), without its
    /// `token` parameter, nor a Bearer `Authorization` among the headers:
    /// the authentication hook sees them); under a nested axum router, the
    /// whole path, prefix included.
    pub fn uri(&self) -> &Uri {
        self.request.uri()
    }

    /// The request's query string, without the `?`, if it had one.
    pub fn query(&self) -> Option<&str> {
        self.uri().query()
    }

    /// The value of the first query parameter `name`, percent-decoded.
    pub fn query_param(&self, name: &str) -> Option<String> {
        form_urlencoded::parse(self.query()?.as_bytes())
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
    }

    /// The request's headers (the first call builds the map), less those
    /// that only carried out the upgrade (`Connection`, `Upgrade`,
    /// `Sec-WebSocket-Key`, `-Version` and `-Extensions`: what they
    /// negotiated is in [`Handshake::subprotocol`] and the codec). A session
    /// keeps at most 8 KiB of its request, URI and headers together: the
    /// headers past that are left out, and [`Handshake::is_truncated`]
    /// says so. Read what you need from a huge header (a cookie jar, say)
    /// in the authentication hook or in middleware, which see the whole
    /// request.
    pub fn headers(&self) -> &HeaderMap {
        self.request.headers()
    }

    /// Whether part of the request was left out of what the session keeps
    /// (headers past 8 KiB; a URI longer than that keeps its path only).
    pub fn is_truncated(&self) -> bool {
        self.truncated
    }

    /// The request extensions that middleware inserted before the hub's
    /// handler ran (an axum `middleware::from_fn` that authenticates and
    /// inserts the user, say). The entries of the hub and of axum itself
    /// are left out: hyper's upgrade handle,
    /// `axum::extract::ConnectInfo<SocketAddr>` (see
    /// [`Handshake::peer_addr`]), `OriginalUri` (see [`Handshake::uri`]),
    /// `MatchedPath` and `NestedPath`; a session whose request carried
    /// nothing else keeps an empty map (no allocation).
    ///
    /// They live as long as the session: keep them small.
    pub fn extensions(&self) -> &http::Extensions {
        &self.extensions
    }

    /// The TCP peer's address, when the request carried
    /// `axum::extract::ConnectInfo<SocketAddr>` ([`crate::Hub::serve`] and
    /// [`crate::Hub::serve_router`] add it; `axum::serve` does with
    /// `into_make_service_with_connect_info`).
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.peer_addr
    }

    /// The client's address as the hub counts it: the TCP peer, or the
    /// address a trusted proxy names in `X-Forwarded-For` / `Forwarded`
    /// (see [`crate::HubConfig::trusted_proxies`]). `None` without a peer
    /// address.
    pub fn client_ip(&self) -> Option<IpAddr> {
        self.client_ip
    }

    /// The WebSocket subprotocol the hub selected (`Sec-WebSocket-Protocol`,
    /// PROTOCOL.md section 1): `switchboard.v1`, `switchboard.v1.msgpack`
    /// or a name registered with [`crate::HubBuilder::subprotocol`]. `None`
    /// when the client offered none the hub speaks, and on long-polling.
    pub fn subprotocol(&self) -> Option<&str> {
        self.subprotocol.as_ref().map(Subprotocol::name)
    }

    /// The codec the session speaks.
    pub fn codec(&self) -> Codec {
        self.codec
    }

    /// The transport the session was opened on.
    pub fn transport(&self) -> Transport {
        self.transport
    }

    /// When the session was opened (to the second; a resumed session
    /// keeps the time of its first handshake).
    pub fn opened_at(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(u64::from(self.opened_at))
    }
}

impl fmt::Debug for Handshake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handshake")
            .field("uri", self.uri())
            .field("headers", self.headers())
            .field("peer_addr", &self.peer_addr)
            .field("client_ip", &self.client_ip)
            .field("subprotocol", &self.subprotocol)
            .field("codec", &self.codec)
            .field("transport", &self.transport)
            .finish_non_exhaustive()
    }
}

/// The request's URI and headers as lines in one allocation: the URI,
/// then `name:value` per header, each ended by `\n` (a URI and a value
/// hold no `\n`, a name no `:`). Nothing refers to the request's own
/// buffers (hyper's parsed URI and header values share the connection's
/// read buffer, which they would keep alive). The [`Uri`] and the
/// [`HeaderMap`] are made on first use: a map costs about 100 bytes per
/// entry it has room for, plus an allocation per value.
struct CompactRequest {
    text: Box<[u8]>,
    uri: OnceLock<Box<Uri>>,
    headers: OnceLock<Box<HeaderMap>>,
}

/// The headers that only carry out the WebSocket upgrade (RFC 6455 4.1):
/// their use ends with it, so a session does not keep them. What was
/// negotiated is kept apart ([`Handshake::subprotocol`], the codec);
/// `Sec-WebSocket-Protocol`, the client's offer, is kept.
fn is_upgrade_mechanics(name: &HeaderName) -> bool {
    use http::header::{
        CONNECTION, SEC_WEBSOCKET_EXTENSIONS, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_VERSION, UPGRADE,
    };
    [
        CONNECTION,
        UPGRADE,
        SEC_WEBSOCKET_KEY,
        SEC_WEBSOCKET_VERSION,
        SEC_WEBSOCKET_EXTENSIONS,
    ]
    .contains(name)
}

/// `uri` without its `token` query parameters (the rest as it was).
fn without_token_parameter(uri: &str) -> String {
    let Some((path, query)) = uri.split_once('?') else {
        return uri.to_owned();
    };
    let rest: Vec<&str> = query
        .split('&')
        .filter(|pair| pair.split('=').next() != Some("token"))
        .collect();
    if rest.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", rest.join("&"))
    }
}

/// The most bytes of its request (URI and header lines) a session keeps
/// for its life. A request head may be up to
/// [`crate::HubConfig::http_max_head_size`] (64 KiB by default): without
/// this bound a client could make every session, detached ones included,
/// hold that much instead of the few hundred bytes a browser sends.
pub(crate) const KEPT_MAX: usize = 8 * 1024;

impl CompactRequest {
    /// Copies the URI and then the headers in order while they fit in
    /// [`KEPT_MAX`]; a URI longer than that keeps its path only. The
    /// flag says whether anything was left out. With `leave_out_token`,
    /// the `token` query parameter and a Bearer `Authorization` header
    /// are not kept: a credential the hub has checked is neither held for
    /// the session's life nor shown to handlers.
    fn copy(uri: &Uri, headers: &HeaderMap, leave_out_token: bool) -> (Self, bool) {
        let mut truncated = false;
        let mut uri = uri.to_string();
        if leave_out_token {
            uri = without_token_parameter(&uri);
        }
        if uri.len() > KEPT_MAX {
            truncated = true;
            uri = uri.split('?').next().unwrap_or_default().to_owned();
            if uri.len() > KEPT_MAX {
                uri = String::from("/");
            }
        }
        let kept_header = |name: &http::HeaderName, value: &http::HeaderValue| {
            let bearer_token = leave_out_token
                && *name == http::header::AUTHORIZATION
                && value
                    .as_bytes()
                    .get(..7)
                    .is_some_and(|scheme| scheme.eq_ignore_ascii_case(b"bearer "));
            !bearer_token && !is_upgrade_mechanics(name)
        };
        let mut len = uri.len() + 1;
        let mut kept = 0;
        for (name, value) in headers {
            let line = name.as_str().len() + value.len() + 2;
            if kept_header(name, value) {
                if len + line > KEPT_MAX {
                    truncated = true;
                    break;
                }
                len += line;
            }
            kept += 1;
        }
        let mut text = Vec::with_capacity(len);
        text.extend_from_slice(uri.as_bytes());
        text.push(b'\n');
        for (name, value) in headers.iter().take(kept) {
            if !kept_header(name, value) {
                continue;
            }
            text.extend_from_slice(name.as_str().as_bytes());
            text.push(b':');
            text.extend_from_slice(value.as_bytes());
            text.push(b'\n');
        }
        let request = Self {
            text: text.into_boxed_slice(),
            uri: OnceLock::new(),
            headers: OnceLock::new(),
        };
        (request, truncated)
    }

    /// The URI's line, and the header lines after it.
    fn split(&self) -> (&[u8], &[u8]) {
        let end = self
            .text
            .iter()
            .position(|&b| b == b'\n')
            .unwrap_or(self.text.len());
        let rest = self.text.get(end + 1..).unwrap_or_default();
        (&self.text[..end], rest)
    }

    fn uri(&self) -> &Uri {
        self.uri.get_or_init(|| {
            let (uri, _) = self.split();
            Box::new(Uri::try_from(uri).unwrap_or_default())
        })
    }

    fn headers(&self) -> &HeaderMap {
        self.headers.get_or_init(|| {
            let (_, text) = self.split();
            let lines = text.split(|&b| b == b'\n').filter(|l| !l.is_empty());
            let mut map = HeaderMap::with_capacity(lines.clone().count());
            for line in lines {
                let Some(colon) = line.iter().position(|&b| b == b':') else {
                    continue;
                };
                let (name, value) = (&line[..colon], &line[colon + 1..]);
                if let (Ok(name), Ok(value)) =
                    (HeaderName::from_bytes(name), HeaderValue::from_bytes(value))
                {
                    map.append(name, value);
                }
            }
            Box::new(map)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checked_token_is_not_kept() {
        let mut headers = HeaderMap::new();
        headers.insert("authorization", "Bearer a.b.c".parse().unwrap());
        headers.insert("cookie", "a=b".parse().unwrap());
        let uri: Uri = "/ws?codec=json&token=a.b.c&x=1".parse().unwrap();
        let (kept, truncated) = CompactRequest::copy(&uri, &headers, true);
        assert!(!truncated);
        assert_eq!(kept.uri().to_string(), "/ws?codec=json&x=1");
        assert!(kept.headers().get("authorization").is_none());
        assert_eq!(kept.headers()["cookie"], "a=b");
        let only: Uri = "/ws?token=t".parse().unwrap();
        let (kept, _) = CompactRequest::copy(&only, &HeaderMap::new(), true);
        assert_eq!(kept.uri().to_string(), "/ws");
        // Another scheme is the application's: kept.
        let mut basic = HeaderMap::new();
        basic.insert("authorization", "Basic dTpw".parse().unwrap());
        let (kept, _) = CompactRequest::copy(&only, &basic, true);
        assert_eq!(kept.headers()["authorization"], "Basic dTpw");
    }

    #[test]
    fn headers_survive_the_compact_form_in_order() {
        let mut headers = HeaderMap::new();
        headers.insert("host", "a.example:8080".parse().unwrap());
        headers.append("x-many", "one".parse().unwrap());
        headers.append("x-many", "two: with colon".parse().unwrap());
        headers.insert("cookie", "a=b; c=d".parse().unwrap());
        headers.insert("x-empty", HeaderValue::from_static(""));
        let uri: Uri = "/ws?codec=json&token=a%20b".parse().unwrap();
        let handshake = Handshake::new(HandshakeParts {
            uri: &uri,
            headers: &headers,
            extensions: http::Extensions::new(),
            peer_addr: None,
            client_ip: None,
            subprotocol: None,
            codec: Codec::Json,
            transport: Transport::WebSocket,
            hook_extensions: http::Extensions::new(),
            leave_out_token: false,
        });
        assert_eq!(handshake.headers(), &headers);
        let many: Vec<_> = handshake.headers().get_all("x-many").iter().collect();
        assert_eq!(many, ["one", "two: with colon"]);
        assert_eq!(handshake.uri(), &uri);
        assert_eq!(handshake.query(), Some("codec=json&token=a%20b"));
        assert_eq!(handshake.query_param("token").as_deref(), Some("a b"));
        assert_eq!(handshake.query_param("nope"), None);
    }

    #[test]
    fn a_session_keeps_at_most_kept_max_of_its_request() {
        let mut headers = HeaderMap::new();
        headers.insert("host", "a.example".parse().unwrap());
        for i in 0..60 {
            let name = HeaderName::from_bytes(format!("x-pad-{i}").as_bytes()).unwrap();
            headers.insert(name, "v".repeat(1000).parse().unwrap());
        }
        let (kept, truncated) =
            CompactRequest::copy(&Uri::from_static("/ws?token=t"), &headers, false);
        assert!(truncated);
        assert!(kept.text.len() <= KEPT_MAX, "{}", kept.text.len());
        assert_eq!(kept.uri().query(), Some("token=t"));
        let map = kept.headers();
        assert_eq!(map["host"], "a.example", "the first headers are kept");
        assert!(map.len() < 61 && map.len() >= 8, "{}", map.len());

        let long: Uri = format!("/ws?q={}", "a".repeat(KEPT_MAX)).parse().unwrap();
        let (kept, truncated) = CompactRequest::copy(&long, &HeaderMap::new(), false);
        assert!(truncated);
        assert_eq!(kept.uri().path(), "/ws");
        assert_eq!(kept.uri().query(), None);

        let (_, truncated) =
            CompactRequest::copy(&Uri::from_static("/ws"), &HeaderMap::new(), false);
        assert!(!truncated);
    }

    #[test]
    fn what_a_session_keeps_stays_small() {
        // Every session holds one `Arc<Handshake>`: its fixed part is
        // 136 bytes on 64-bit targets (plus the `Arc`'s two counts), and
        // the request's text is one allocation beside it. Raise the bound
        // only knowingly (BENCHMARKS.md, memory per idle connection).
        let size = std::mem::size_of::<Handshake>();
        assert!(size <= 136, "Handshake is {size} bytes");
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("host", "127.0.0.1:8080"),
            ("upgrade", "websocket"),
            ("connection", "Upgrade"),
            ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
            ("sec-websocket-version", "13"),
        ] {
            headers.insert(name, value.parse().unwrap());
        }
        let (request, _) = CompactRequest::copy(&Uri::from_static("/ws"), &headers, false);
        // The upgrade's own headers are left out: `/ws` and `host` only.
        assert_eq!(request.text.len(), 24);
        assert!(request.uri.get().is_none() && request.headers.get().is_none());
        assert_eq!(request.headers().len(), 1);
    }
}
