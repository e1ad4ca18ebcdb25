//! The per-link state of the inbound checks: bad messages and rate-limited
//! messages in a row, and the link's token bucket. A WebSocket connection's
//! task keeps it; a long-polling link keeps it between its requests
//! ([`crate::connection::poll_links`]). The checks themselves are in
//! [`crate::connection::inbound`].

use super::rate_limit::TokenBucket;
use crate::config::HubConfig;

/// Per-link state of the inbound checks.
pub(crate) struct InboundChecks {
    pub(super) bad_in_row: u32,
    pub(super) limited_in_row: u32,
    pub(super) bucket: Option<TokenBucket>,
}

impl InboundChecks {
    pub(crate) fn new(config: &HubConfig) -> Self {
        Self {
            bad_in_row: 0,
            limited_in_row: 0,
            bucket: config.rate_limit.map(TokenBucket::new),
        }
    }
}
