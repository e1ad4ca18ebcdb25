//! What a new session keeps of its handshake ([`Handshake`]), and the
//! choice of its WebSocket subprotocol (PROTOCOL.md section 1).

use std::net::SocketAddr;
use std::sync::{Arc, LazyLock};

use axum::extract::{ConnectInfo, MatchedPath, NestedPath, OriginalUri};
use http::{HeaderMap, header};
use switchboard_protocol::{Codec, SUBPROTOCOL_JSON, SUBPROTOCOL_MSGPACK};

use crate::client_addr::client_address;
use crate::hub::handle::Hub;
use crate::session::handshake::{Handshake, HandshakeParts, Subprotocol, Transport};

/// The protocol's own names, shared by every session that selects one.
static PROTOCOL_NAMES: LazyLock<[Arc<str>; 2]> =
    LazyLock::new(|| [Arc::from(SUBPROTOCOL_JSON), Arc::from(SUBPROTOCOL_MSGPACK)]);

/// The subprotocols a client offers, in its order: every
/// `Sec-WebSocket-Protocol` header, split at commas.
fn offered(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .filter(|name| !name.is_empty())
}

/// The first subprotocol the client offers that the hub speaks: the
/// protocol's own (not in raw mode, whose sockets do not speak it), or
/// one of the application's `registered` names. `None` when it offers
/// none of them (or nothing).
pub(crate) fn select_subprotocol(
    headers: &HeaderMap,
    registered: &[Arc<str>],
    raw: bool,
) -> Option<Subprotocol> {
    // The application cannot register the protocol's names (the builder
    // skips them), so a selected name stands for a codec exactly when it
    // is one of them.
    let protocol_names: &[Arc<str>] = if raw { &[] } else { &*PROTOCOL_NAMES };
    offered(headers).find_map(|name| {
        protocol_names
            .iter()
            .chain(registered)
            .find(|known| &***known == name)
            .map(|known| Subprotocol(known.clone()))
    })
}

/// The codec of a session: the selected subprotocol's when it names one
/// (PROTOCOL.md section 1: "the codec follows it", whatever `codec=`
/// says), else the `codec` query parameter's.
pub(crate) fn session_codec(query_codec: Codec, subprotocol: Option<&Subprotocol>) -> Codec {
    subprotocol
        .and_then(Subprotocol::codec)
        .unwrap_or(query_codec)
}

/// Builds what the session keeps of its handshake. `extensions` are the
/// request's, less the entries of the hub and of axum: hyper's upgrade
/// handle, the peer address (kept as [`Handshake::peer_addr`]), axum's
/// `OriginalUri` (kept as [`Handshake::uri`]: a nested router's URI is
/// stripped of its prefix, and the original shares the connection's read
/// buffer, which it would keep alive), `MatchedPath` and `NestedPath`
/// (the hub's own route, the same for every session); a request left with
/// nothing but axum's unnamed entries keeps no map. `hook_extensions`
/// the authentication hook's answer, taken out again when the session
/// opens ([`Handshake::take_hook_extensions`]).
pub(crate) fn handshake_of(
    hub: &Hub,
    parts: &http::request::Parts,
    mut extensions: http::Extensions,
    hook_extensions: http::Extensions,
    codec: Codec,
    subprotocol: Option<Subprotocol>,
    transport: Transport,
) -> Arc<Handshake> {
    let peer_addr = extensions
        .remove::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| peer);
    extensions.remove::<hyper::upgrade::OnUpgrade>();
    let original_uri = remove_axums_own(&mut extensions);
    let extensions = if extensions.len() <= *AXUM_PRIVATE_ENTRIES {
        // Nothing but axum's private entries: nothing for handlers.
        http::Extensions::new()
    } else {
        compact(extensions)
    };
    let client_ip = peer_addr
        .map(|peer| client_address(peer.ip(), &parts.headers, &hub.config().trusted_proxies));
    Arc::new(Handshake::new(HandshakeParts {
        uri: original_uri.as_ref().unwrap_or(&parts.uri),
        headers: &parts.headers,
        extensions,
        peer_addr,
        client_ip,
        subprotocol,
        codec,
        transport,
        hook_extensions,
        leave_out_token: hub.policies().tokens.is_some(),
    }))
}

/// Removes the entries axum's routing adds that can be named (the
/// original URI is returned).
fn remove_axums_own(extensions: &mut http::Extensions) -> Option<http::Uri> {
    extensions.remove::<MatchedPath>();
    extensions.remove::<NestedPath>();
    extensions
        .remove::<OriginalUri>()
        .map(|OriginalUri(uri)| uri)
}

/// How many entries axum's routing adds to a request that cannot be
/// removed by name (its path parameters, of a private type: one in axum
/// 0.8). Counted once, by routing a request through a router like the
/// hub's, so that a later axum that adds more, or none, is counted right.
/// A session whose request holds no more than these keeps no map at all.
static AXUM_PRIVATE_ENTRIES: LazyLock<usize> = LazyLock::new(|| {
    use futures_util::FutureExt;
    use tower::ServiceExt;

    let seen = Arc::new(std::sync::Mutex::new(None));
    let probe = seen.clone();
    let router = axum::Router::new().route(
        "/probe",
        axum::routing::any(move |request: axum::extract::Request| {
            let probe = probe.clone();
            async move {
                let mut extensions = request.into_parts().0.extensions;
                remove_axums_own(&mut extensions);
                *probe.lock().unwrap_or_else(|e| e.into_inner()) = Some(extensions.len());
            }
        }),
    );
    let request = http::Request::get("/probe")
        .body(axum::body::Body::empty())
        .expect("a valid request");
    // The router answers at once: no I/O, no timer.
    let _ = router.oneshot(request).now_or_never();
    let counted = seen.lock().unwrap_or_else(|e| e.into_inner()).take();
    counted.unwrap_or(0)
});

/// What is left of the request's extensions, in a map of its own size:
/// the request's map had room for every entry removed above, and it is
/// kept for the session's life. None at all when nothing is left. (axum's
/// routing leaves one entry of a private type, its path parameters,
/// which cannot be removed by name.)
fn compact(extensions: http::Extensions) -> http::Extensions {
    if extensions.is_empty() {
        return http::Extensions::new();
    }
    // `extend` into an empty map would adopt the old map whole: seed a
    // new, smallest one, then move the entries over.
    let mut kept = http::Extensions::new();
    kept.insert(());
    kept.extend(extensions);
    kept.remove::<()>();
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append(header::SEC_WEBSOCKET_PROTOCOL, v.parse().unwrap());
        }
        headers
    }

    #[test]
    fn the_first_offered_name_the_hub_speaks_is_selected() {
        let app: Vec<Arc<str>> = vec!["chat.v2".into()];
        let pick = |values: &[&str], raw| {
            select_subprotocol(&offer(values), &app, raw).map(|s| s.name().to_owned())
        };
        assert_eq!(
            pick(&["switchboard.v1"], false).as_deref(),
            Some("switchboard.v1")
        );
        assert_eq!(
            pick(&["x, switchboard.v1.msgpack ,switchboard.v1"], false).as_deref(),
            Some("switchboard.v1.msgpack")
        );
        assert_eq!(
            pick(&["nope", "chat.v2, switchboard.v1"], false).as_deref(),
            Some("chat.v2")
        );
        assert_eq!(pick(&["Switchboard.V1", "other"], false), None);
        assert_eq!(pick(&[], false), None);
        assert_eq!(pick(&["switchboard.v1"], true), None);
        assert_eq!(
            pick(&["switchboard.v1, chat.v2"], true).as_deref(),
            Some("chat.v2")
        );
    }

    #[test]
    fn axum_adds_one_entry_of_its_own_that_has_no_name() {
        assert_eq!(*AXUM_PRIVATE_ENTRIES, 1);
    }

    #[test]
    fn compacted_extensions_keep_their_entries() {
        #[derive(Clone, Debug, PartialEq)]
        struct User(&'static str);
        let mut extensions = http::Extensions::new();
        for n in 0..6u8 {
            extensions.insert(n);
        }
        extensions.insert(User("ada"));
        extensions.remove::<u8>();
        let kept = compact(extensions);
        assert_eq!(kept.len(), 1);
        assert_eq!(kept.get::<User>(), Some(&User("ada")));
        assert!(compact(http::Extensions::new()).is_empty());
    }

    #[test]
    fn the_codec_follows_a_protocol_subprotocol() {
        let msgpack = Subprotocol(SUBPROTOCOL_MSGPACK.into());
        assert_eq!(session_codec(Codec::Json, Some(&msgpack)), Codec::MsgPack);
        let json = Subprotocol(SUBPROTOCOL_JSON.into());
        assert_eq!(session_codec(Codec::MsgPack, Some(&json)), Codec::Json);
        let app = Subprotocol("chat.v2".into());
        assert_eq!(session_codec(Codec::MsgPack, Some(&app)), Codec::MsgPack);
        assert_eq!(session_codec(Codec::MsgPack, None), Codec::MsgPack);
    }
}
