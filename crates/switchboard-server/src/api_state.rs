//! What the API handlers share.

use std::sync::Arc;
use std::time::Instant;

use switchboard::Hub;

use crate::keyless::KeylessRules;

/// What the API handlers share.
#[derive(Debug, Clone)]
pub struct ApiState {
    /// The hub.
    pub hub: Hub,
    /// The key every request must carry, if any.
    pub api_key: Option<Arc<str>>,
    /// When the server started, for `uptime_s`.
    pub started: Instant,
    /// What a keyless request must also pass.
    pub keyless: Arc<KeylessRules>,
}
