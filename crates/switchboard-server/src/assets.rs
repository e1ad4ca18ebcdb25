//! The demo page and the browser client, embedded in the binary.
//!
//! | path | file |
//! | --- | --- |
//! | `/` | `clients/demo/index.html` |
//! | `/app.js` | `clients/demo/app.js` |
//! | `/style.css` | `clients/demo/style.css` |
//! | `/switchboard.js` | `clients/js/switchboard.js` |
//! | `/lib/client.js` | `clients/js/lib/client.js` |
//! | `/lib/emitter.js` | `clients/js/lib/emitter.js` |
//! | `/lib/errors.js` | `clients/js/lib/errors.js` |
//! | `/lib/history.js` | `clients/js/lib/history.js` |
//! | `/lib/message.js` | `clients/js/lib/message.js` |
//! | `/lib/options.js` | `clients/js/lib/options.js` |
//! | `/lib/polling-transport.js` | `clients/js/lib/polling-transport.js` |
//! | `/lib/reconnect.js` | `clients/js/lib/reconnect.js` |
//! | `/lib/room-methods.js` | `clients/js/lib/room-methods.js` |
//! | `/lib/token-refresh.js` | `clients/js/lib/token-refresh.js` |
//! | `/lib/upgrade-probe.js` | `clients/js/lib/upgrade-probe.js` |
//! | `/lib/urls.js` | `clients/js/lib/urls.js` |
//! | `/lib/websocket-transport.js` | `clients/js/lib/websocket-transport.js` |
//!
//! `switchboard.js` is the browser client's entry module; it imports its parts
//! from `./lib/`, so each of them is served at `/lib/<name>.js`.
//!
//! Each answer carries an `ETag` (a hash of the file) and
//! `Cache-Control: no-cache`: browsers keep the file but ask again each time,
//! getting `304 Not Modified` until the server runs a build with a new file.

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// One embedded file.
#[derive(Debug, Clone, Copy)]
pub struct Asset {
    /// The URL path it is served at.
    pub path: &'static str,
    /// Its `Content-Type`.
    pub content_type: &'static str,
    /// Its bytes.
    pub body: &'static [u8],
}

/// A JavaScript module of `clients/js`, served at `/<path>`.
macro_rules! client_module {
    ($path:literal) => {
        Asset {
            path: concat!("/", $path),
            content_type: "text/javascript; charset=utf-8",
            body: include_bytes!(concat!("../../../clients/js/", $path)),
        }
    };
}

/// Every embedded file.
pub const ASSETS: [Asset; 17] = [
    Asset {
        path: "/",
        content_type: "text/html; charset=utf-8",
        body: include_bytes!("../../../clients/demo/index.html"),
    },
    Asset {
        path: "/app.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../../clients/demo/app.js"),
    },
    Asset {
        path: "/style.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../../../clients/demo/style.css"),
    },
    client_module!("switchboard.js"),
    client_module!("lib/client.js"),
    client_module!("lib/emitter.js"),
    client_module!("lib/errors.js"),
    client_module!("lib/history.js"),
    client_module!("lib/message.js"),
    client_module!("lib/options.js"),
    client_module!("lib/polling-transport.js"),
    client_module!("lib/reconnect.js"),
    client_module!("lib/room-methods.js"),
    client_module!("lib/token-refresh.js"),
    client_module!("lib/upgrade-probe.js"),
    client_module!("lib/urls.js"),
    client_module!("lib/websocket-transport.js"),
];

impl Asset {
    /// A strong ETag: the FNV-1a hash of the body.
    pub fn etag(&self) -> String {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in self.body {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        format!("\"{hash:016x}\"")
    }

    fn respond(&self, etag: &HeaderValue, request: &HeaderMap) -> Response {
        let fresh = request
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(',')
                    .any(|t| t.trim() == "*" || t.trim() == etag.to_str().unwrap_or_default())
            });
        let headers = [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(self.content_type),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            (header::ETAG, etag.clone()),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ];
        if fresh {
            (StatusCode::NOT_MODIFIED, headers).into_response()
        } else {
            (headers, self.body).into_response()
        }
    }
}

/// A router serving every embedded file (GET and HEAD).
pub fn router() -> Router {
    serve(&ASSETS)
}

/// A router serving `assets` (GET and HEAD), each at its path.
pub fn serve(assets: &'static [Asset]) -> Router {
    assets.iter().fold(Router::new(), |router, asset| {
        let asset = *asset;
        let etag =
            HeaderValue::from_str(&asset.etag()).unwrap_or(HeaderValue::from_static("\"0\""));
        router.route(
            asset.path,
            get(move |headers: HeaderMap| async move { asset.respond(&etag, &headers) }),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_are_quoted_and_differ_by_content() {
        let a = Asset {
            path: "/a",
            content_type: "text/plain",
            body: b"a",
        };
        let b = Asset { body: b"b", ..a };
        assert!(a.etag().starts_with('"') && a.etag().ends_with('"'));
        assert_eq!(a.etag().len(), 18);
        assert_ne!(a.etag(), b.etag());
        assert_eq!(a.etag(), a.etag());
    }
}
