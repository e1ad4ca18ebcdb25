//! Who a client is: the JSON Web Tokens the hub checks at every handshake,
//! and the bound on each user's connections (PROTOCOL.md section 10).

use super::DefaultValue::{Unset, Value};
use super::OptionSpec;

/// `--token-hmac-secret`.
pub const TOKEN_HMAC_SECRET: OptionSpec = OptionSpec::one(
    "token_hmac_secret",
    "SWITCHBOARD_TOKEN_HMAC_SECRET",
    "SECRET",
    Unset("none"),
    "Check every handshake's token (JWT, HS256) with this shared secret, \
     at least 32 bytes",
)
.secret();

/// `--token-public-key`.
pub const TOKEN_PUBLIC_KEY: OptionSpec = OptionSpec::one(
    "token_public_key",
    "SWITCHBOARD_TOKEN_PUBLIC_KEY",
    "FILE",
    Unset("none"),
    "Check every handshake's token (JWT) with this PEM public key: RSA \
     (RS256), P-256 (ES256) or Ed25519 (EdDSA)",
);

/// `--token-jwks-url`.
pub const TOKEN_JWKS_URL: OptionSpec = OptionSpec::one(
    "token_jwks_url",
    "SWITCHBOARD_TOKEN_JWKS_URL",
    "URL",
    Unset("none"),
    "Check every handshake's token (JWT) with the keys of this JWKS \
     (fetched, cached, fetched again for an unknown `kid`)",
);

/// `--token-issuer`.
pub const TOKEN_ISSUER: OptionSpec = OptionSpec::one(
    "token_issuer",
    "SWITCHBOARD_TOKEN_ISSUER",
    "ISSUER",
    Unset("not checked"),
    "The `iss` every token must carry",
);

/// `--token-audience`.
pub const TOKEN_AUDIENCE: OptionSpec = OptionSpec::one(
    "token_audience",
    "SWITCHBOARD_TOKEN_AUDIENCE",
    "AUDIENCE",
    Unset("not checked"),
    "The `aud` every token must carry",
);

/// `--allow-anonymous`.
pub const ALLOW_ANONYMOUS: OptionSpec = OptionSpec::one(
    "allow_anonymous",
    "SWITCHBOARD_ALLOW_ANONYMOUS",
    "BOOL",
    Value("false"),
    "With a token key: let clients that send no token in, as anonymous (a \
     bad or expired token is still refused)",
);

/// `--max-connections-per-user`.
pub const MAX_CONNECTIONS_PER_USER: OptionSpec = OptionSpec::one(
    "max_connections_per_user",
    "SWITCHBOARD_MAX_CONNECTIONS_PER_USER",
    "N",
    Value("0"),
    "Most live connections of one user (token `sub`) on this node; further \
     handshakes get 429 `limit` (0: no limit)",
);
