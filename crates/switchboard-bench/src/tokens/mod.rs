//! Clients that authenticate (PROTOCOL.md section 10).
//!
//! With `--token-hmac-secret SECRET` every client of a workload connects
//! with an HS256 JSON Web Token of its own, as the `token` query parameter
//! of its handshake: client `n` of the run (counted over all shares from
//! 0) is user `user-<n>`, the fan-out publisher is user `publisher`, and
//! every token expires `--token-ttl` seconds after the run starts. A hub
//! spawned for the run (`--spawn-hub`) is started with
//! `--token-hmac-secret SECRET`, so it requires a token of every client; a
//! hub at `--url` simply gets the tokens.
//!
//! Tokens are signed with the `jsonwebtoken` crate, as the server's
//! `token` subcommand signs them, and each share signs its clients' tokens
//! before it connects any of them, so signing is never in a measured
//! window.
//!
//! Files: `mint.rs` (signing), `endpoints.rs` (each client's URL).

mod endpoints;
mod mint;

pub use endpoints::ClientEndpoints;
pub use mint::{Minter, PUBLISHER, client_user};

use std::time::Duration;

use crate::error::Result;

/// How clients authenticate: the options every connection workload takes.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct TokenArgs {
    /// Connect every client with its own HS256 token signed with this
    /// secret (`sub` `user-<n>`), as the `token` query parameter; a hub
    /// started by --spawn-hub gets --token-hmac-secret SECRET, so it
    /// requires tokens (the server wants at least 32 bytes) [default:
    /// anonymous clients]
    #[arg(long, value_name = "SECRET")]
    pub token_hmac_secret: Option<String>,

    /// How long the clients' tokens are valid (`exp`), seconds from the
    /// start of the run
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 3600,
        requires = "token_hmac_secret"
    )]
    pub token_ttl: u64,

    /// Lengthen every token by a claim `pad` of this many bytes, which the
    /// hub ignores: to see what a longer token costs (an identity
    /// provider's RS256 token is often 800 to 1,500 bytes; the minimal
    /// HS256 one here is ~150)
    #[arg(
        long,
        value_name = "BYTES",
        default_value_t = 0,
        requires = "token_hmac_secret"
    )]
    pub token_pad: usize,
}

impl TokenArgs {
    /// The signer of the run's tokens; `None` for anonymous clients.
    pub fn minter(&self) -> Result<Option<Minter>> {
        self.token_hmac_secret
            .as_deref()
            .map(|secret| {
                Minter::new(secret, Duration::from_secs(self.token_ttl))
                    .map(|minter| minter.padded(self.token_pad))
            })
            .transpose()
    }
}
