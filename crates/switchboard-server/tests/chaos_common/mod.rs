//! What the chaos test binaries share (`chaos_history`, `chaos_sessions`):
//! real `switchboard` processes clustered over a private backend, with
//! their logs kept for a failure's report (`nodes`); numbered publishers
//! and the tally of what a subscriber received (`feed`); a subscriber over
//! either transport (`subscriber`).
//!
//! A binary includes it with `#[path = "../chaos_common/mod.rs"] mod
//! chaos;` beside `#[path = "../common/mod.rs"] mod common;`, which it
//! uses in turn.

// Each binary uses a part of it.
#![allow(dead_code)]

pub(crate) mod feed;
pub(crate) mod nodes;
pub(crate) mod subscriber;
