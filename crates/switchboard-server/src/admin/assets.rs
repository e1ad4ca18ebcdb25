//! The dashboard's page, scripts and styles, and the charting library it
//! draws with (uPlot 1.6.32, MIT, vendored: no network at run time),
//! embedded in the binary and served from memory under `/admin`.
//!
//! | path | file |
//! | --- | --- |
//! | `/admin` | `clients/admin/index.html` |
//! | `/admin/admin.css` | `clients/admin/admin.css` |
//! | `/admin/js/<name>.js` | `clients/admin/js/<name>.js` |
//! | `/admin/vendor/uPlot.iife.min.js` | `clients/admin/vendor/uPlot.iife.min.js` |
//! | `/admin/vendor/uPlot.min.css` | `clients/admin/vendor/uPlot.min.css` |
//! | `/admin/vendor/uPlot.LICENSE` | `clients/admin/vendor/uPlot.LICENSE` |

use crate::assets::Asset;

/// A file of `clients/admin`, served at `/admin/<path>`.
macro_rules! admin_file {
    ($path:literal, $type:literal) => {
        Asset {
            path: concat!("/admin/", $path),
            content_type: $type,
            body: include_bytes!(concat!("../../../../clients/admin/", $path)),
        }
    };
}

/// A JavaScript module of `clients/admin/js`.
macro_rules! admin_module {
    ($name:literal) => {
        Asset {
            path: concat!("/admin/js/", $name),
            content_type: "text/javascript; charset=utf-8",
            body: include_bytes!(concat!("../../../../clients/admin/js/", $name)),
        }
    };
}

/// Every file of the dashboard.
pub const ADMIN_ASSETS: [Asset; 12] = [
    Asset {
        path: "/admin",
        content_type: "text/html; charset=utf-8",
        body: include_bytes!("../../../../clients/admin/index.html"),
    },
    admin_file!("admin.css", "text/css; charset=utf-8"),
    admin_module!("app.js"),
    admin_module!("api.js"),
    admin_module!("overview.js"),
    admin_module!("rooms.js"),
    admin_module!("sockets.js"),
    admin_module!("publish.js"),
    admin_module!("format.js"),
    admin_file!("vendor/uPlot.iife.min.js", "text/javascript; charset=utf-8"),
    admin_file!("vendor/uPlot.min.css", "text/css; charset=utf-8"),
    admin_file!("vendor/uPlot.LICENSE", "text/plain; charset=utf-8"),
];
