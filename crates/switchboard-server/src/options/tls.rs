//! TLS: serving HTTPS and `wss://` directly (both files, or neither).

use super::DefaultValue::Unset;
use super::OptionSpec;

/// `--tls-cert`.
pub const TLS_CERT: OptionSpec = OptionSpec::one(
    "tls_cert",
    "SWITCHBOARD_TLS_CERT",
    "FILE",
    Unset("none: plain HTTP and ws://"),
    "PEM file of the server's certificate chain (its certificate first, then \
     any intermediates); with --tls-key, --listen serves HTTPS and wss:// \
     (not needed behind a proxy that terminates TLS)",
);

/// `--tls-key`.
pub const TLS_KEY: OptionSpec = OptionSpec::one(
    "tls_key",
    "SWITCHBOARD_TLS_KEY",
    "FILE",
    Unset("none"),
    "PEM file of the private key of --tls-cert's certificate (PKCS#8, PKCS#1 \
     or SEC1, not encrypted)",
);
