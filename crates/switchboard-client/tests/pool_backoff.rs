//! The reconnect backoff schedule, as a pure function and in virtual time.

use std::time::Duration;

use switchboard_client::pool::PoolBackoff;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn the_schedule_doubles_up_to_the_maximum() {
    let backoff = PoolBackoff {
        initial: ms(100),
        max: ms(1_000),
        jitter: 0.5,
    };
    // With no randomness drawn, each step is the full exponential delay.
    let steps: Vec<Duration> = (1..=7).map(|n| backoff.delay_with(n, 0.0)).collect();
    assert_eq!(
        steps,
        [
            ms(100),
            ms(200),
            ms(400),
            ms(800),
            ms(1_000),
            ms(1_000),
            ms(1_000)
        ]
    );
    // Very large attempt numbers neither overflow nor exceed the maximum.
    assert_eq!(backoff.delay_with(u32::MAX, 0.0), ms(1_000));
}

#[test]
fn jitter_takes_at_most_its_fraction_of_each_step() {
    let backoff = PoolBackoff {
        initial: ms(100),
        max: ms(1_000),
        jitter: 0.5,
    };
    assert_eq!(backoff.delay_with(3, 0.999_999).as_millis(), 200);
    assert_eq!(backoff.delay_with(3, 0.5), ms(300));
    for attempt in 1..20 {
        let full = backoff.delay_with(attempt, 0.0);
        for _ in 0..50 {
            let delay = backoff.delay(attempt);
            assert!(delay <= full && delay >= full / 2, "{attempt}: {delay:?}");
        }
    }
    let none = PoolBackoff {
        jitter: 0.0,
        ..backoff
    };
    assert_eq!(none.delay(4), ms(800));
}

/// The reconnect loop itself under paused time: a refused loopback
/// connection fails at once, so only the backoff sleeps move the clock.
#[tokio::test(start_paused = true)]
async fn the_reconnect_loop_follows_the_schedule_in_virtual_time() {
    use switchboard_client::pool::{ConnectionOptions, Pool, PoolEvent};

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    drop(listener);
    let (pool, mut events) = Pool::new();
    let options = ConnectionOptions::new()
        .backoff(PoolBackoff {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(8),
            jitter: 0.0,
        })
        .max_attempts(Some(5));
    let start = tokio::time::Instant::now();
    pool.add_with("dead", &url, options).unwrap();
    let mut schedule = Vec::new();
    loop {
        match events.recv().await.unwrap() {
            PoolEvent::Reconnecting {
                attempt,
                delay,
                error,
                ..
            } => {
                assert!(error.contains("connect failed"), "{error}");
                schedule.push((attempt, delay.as_secs(), start.elapsed().as_secs()));
            }
            PoolEvent::Removed { .. } => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    // (attempt, delay, when it was announced): 1 + 2 + 4 + 8 seconds of
    // waits before the fifth retry, and the sixth failure gives up.
    assert_eq!(
        schedule,
        [(1, 1, 0), (2, 2, 1), (3, 4, 3), (4, 8, 7), (5, 8, 15)]
    );
    assert_eq!(start.elapsed().as_secs(), 23);
}
