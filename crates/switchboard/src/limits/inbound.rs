//! The per-link state of the inbound checks: bad messages and rate-limited
//! messages in a row, and the link's token bucket. A WebSocket connection's
//! task keeps it; a long-polling link keeps it between its requests
//! (`transport/poll_links.rs`). The checks themselves are the connection
//! layer's (`connection/inbound.rs`).

use super::rate::TokenBucket;
use crate::config::HubConfig;

/// Per-link state of the inbound checks.
pub(crate) struct InboundChecks {
    pub(crate) bad_in_row: u32,
    pub(crate) limited_in_row: u32,
    pub(crate) bucket: Option<TokenBucket>,
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
