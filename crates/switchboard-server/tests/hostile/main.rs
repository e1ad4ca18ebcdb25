//! The hostile suite: each attack of issue 15 ("Safe to put on the
//! internet"), run against the real `switchboard` binary over real sockets,
//! asserting the bound that stops it: the server's memory growth, the
//! refusal a client sees, and that a normal client is still served (a
//! handshake, a join and a relayed round trip within a stated latency)
//! while the attack goes on.
//!
//! One test binary; one module per kind of attack. Every test starts its
//! own server on a free port and measures that process's RSS.

#[path = "../common/mod.rs"]
mod common;
mod support;

// Resource bounds of the hub (issue 15, points 1-4, 7-9).
mod control_flood;
mod detached_sessions;
mod poll_flood;
mod rooms_per_socket;
mod wire_checks;
// The HTTP edge (issue 15: attacks 5, 6, 10 and per-address limits).
mod address_limits;
mod cors;
mod keyless_api;
mod slowloris;

/// The probe itself works against an unattacked server, and a server at
/// rest does not grow.
#[tokio::test]
async fn a_normal_client_is_served_at_rest() {
    let target = support::AttackedServer::start(&[]).await;
    for _ in 0..10 {
        target.assert_served().await;
    }
    target.assert_growth_below("ten normal round trips", 2 * 1024);
}
