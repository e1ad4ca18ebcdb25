//! The reconnect schedule: the pure function, and the reconnect loop in
//! paused time.

use std::time::Duration;

use switchboard_client::client::{self, ClientBackoff, ClientDisconnect, Event, State};
use tokio::net::TcpListener;

#[test]
fn ceilings_double_from_one_second_to_thirty() {
    let backoff = ClientBackoff::default();
    assert_eq!(backoff.initial, Duration::from_secs(1));
    assert_eq!(backoff.max, Duration::from_secs(30));
    assert!(backoff.jitter);
    let ceilings: Vec<u64> = (1..=9)
        .map(|n| backoff.ceiling(n).as_millis() as u64)
        .collect();
    assert_eq!(
        ceilings,
        [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000]
    );
    // No overflow far out.
    assert_eq!(backoff.ceiling(1_000), Duration::from_secs(30));
    assert_eq!(backoff.ceiling(u32::MAX), Duration::from_secs(30));
}

#[test]
fn full_jitter_spans_zero_to_the_ceiling() {
    let backoff = ClientBackoff::default();
    assert_eq!(backoff.delay_with(3, 0.0), Duration::ZERO);
    assert_eq!(backoff.delay_with(3, 0.5), Duration::from_secs(2));
    assert_eq!(backoff.delay_with(3, 1.0), Duration::from_secs(4));
    for attempt in 1..=12 {
        for _ in 0..50 {
            let delay = backoff.delay(attempt);
            assert!(delay <= backoff.ceiling(attempt), "{delay:?} at {attempt}");
        }
    }
    let fixed = ClientBackoff {
        jitter: false,
        ..ClientBackoff::default()
    };
    assert_eq!(fixed.delay_with(2, 0.1), Duration::from_secs(2));
}

/// The reconnect loop waits the schedule's delays (jitter off) between
/// attempts, in paused time, and gives up after `max_attempts`.
#[tokio::test(start_paused = true)]
async fn reconnect_loop_follows_the_schedule() {
    // A port with nothing listening: every dial is refused at once.
    let addr = {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        l.local_addr().unwrap()
    };
    let client = client::connect(&format!("ws://{addr}/ws"))
        .jitter(false)
        .max_attempts(Some(5))
        .build()
        .unwrap();
    let mut events = client.events();
    let start = tokio::time::Instant::now();
    let mut delays = Vec::new();
    let mut at = Vec::new();
    let reason = loop {
        match events.recv().await.unwrap() {
            Event::Reconnecting { attempt, delay } => {
                assert_eq!(attempt as usize, delays.len() + 1);
                delays.push(delay.as_secs());
                at.push(start.elapsed());
            }
            Event::Disconnected {
                reason,
                will_reconnect: false,
            } => break reason,
            _ => {}
        }
    };
    assert_eq!(delays, [1, 2, 4, 8, 16]);
    // Each attempt starts only after the previous delay has passed.
    for (i, pair) in at.windows(2).enumerate() {
        assert!(
            pair[1] - pair[0] >= Duration::from_secs(delays[i]),
            "attempt {} came too early: {at:?}",
            i + 2
        );
    }
    assert!(
        matches!(reason, ClientDisconnect::GaveUp { attempts: 5, .. }),
        "{reason:?}"
    );
    assert!(matches!(&*client.state().borrow(), State::Closed(_)));
}
