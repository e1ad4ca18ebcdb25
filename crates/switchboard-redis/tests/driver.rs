//! The Redis driver against a private `redis-server` on a free port.

use std::time::{Duration, Instant};

use bytes::Bytes;
use switchboard::adapter::{Driver, DriverError, DriverLink};
use switchboard_redis::RedisDriver;
use switchboard_testkit::{Backend, BackendServer};

/// Bound on waiting for any one event.
const WAIT: Duration = Duration::from_secs(5);

fn channels(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| n.to_string()).collect()
}

async fn connect(driver: &RedisDriver, names: &[&str]) -> DriverLink {
    tokio::time::timeout(WAIT, driver.connect(&channels(names)))
        .await
        .expect("connect hung")
        .expect("connect failed")
}

async fn next(link: &mut DriverLink) -> Option<Bytes> {
    tokio::time::timeout(WAIT, link.incoming.recv())
        .await
        .expect("no message (nor close) within the wait")
}

#[tokio::test]
async fn delivers_payloads_byte_exact_on_every_channel() {
    let Some(server) = BackendServer::start(Backend::Redis).await else {
        return;
    };
    let driver = RedisDriver::new(&server.url()).unwrap();
    assert_eq!(driver.name(), "redis");
    let mut subscriber = connect(&driver, &["sb:a", "sb:b"]).await;
    let other = connect(&driver, &["sb:unrelated"]).await;

    let binary = Bytes::from_static(&[0x00, 0xff, 0xfe, 0x80, b'\n', 0xc3, 0x28, 0x00]);
    let text = Bytes::from_static("héllo, wörld".as_bytes());
    other
        .publisher
        .publish("sb:a", binary.clone())
        .await
        .unwrap();
    other.publisher.publish("sb:b", text.clone()).await.unwrap();
    // Not subscribed: must not arrive.
    other
        .publisher
        .publish("sb:elsewhere", Bytes::from_static(b"nope"))
        .await
        .unwrap();
    // The subscriber's own publishes arrive too.
    subscriber
        .publisher
        .publish("sb:a", Bytes::new())
        .await
        .unwrap();

    assert_eq!(next(&mut subscriber).await.unwrap(), binary);
    assert_eq!(next(&mut subscriber).await.unwrap(), text);
    assert_eq!(next(&mut subscriber).await.unwrap(), Bytes::new());
    assert!(subscriber.incoming.try_recv().is_err());
}

#[tokio::test]
async fn outage_closes_the_link_and_a_new_connect_recovers() {
    let Some(mut server) = BackendServer::start(Backend::Redis).await else {
        return;
    };
    let driver = RedisDriver::new(&server.url()).unwrap();
    let mut link = connect(&driver, &["sb:outage"]).await;
    link.publisher
        .publish("sb:outage", Bytes::from_static(b"before"))
        .await
        .unwrap();
    assert_eq!(
        next(&mut link).await.unwrap(),
        Bytes::from_static(b"before")
    );

    server.stop().await;

    // The subscriber notices the loss and closes `incoming`.
    assert_eq!(next(&mut link).await, None, "incoming must close on loss");
    let result = tokio::time::timeout(
        WAIT,
        link.publisher
            .publish("sb:outage", Bytes::from_static(b"lost")),
    )
    .await
    .expect("publish hung while down");
    assert!(
        matches!(result, Err(DriverError::Unreachable(_))),
        "{result:?}"
    );

    // Connecting while down fails, in bounded time.
    let started = Instant::now();
    let result = tokio::time::timeout(WAIT, driver.connect(&channels(&["sb:outage"])))
        .await
        .expect("connect hung while down");
    assert!(
        matches!(result, Err(DriverError::Unreachable(_))),
        "{result:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(4));

    server.restart().await;

    let mut link = connect(&driver, &["sb:outage"]).await;
    link.publisher
        .publish("sb:outage", Bytes::from_static(b"after"))
        .await
        .unwrap();
    assert_eq!(next(&mut link).await.unwrap(), Bytes::from_static(b"after"));
}

/// A plain redis-rs connection to the test server, for admin commands.
async fn admin(server: &BackendServer) -> redis::aio::MultiplexedConnection {
    redis::Client::open(server.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

#[tokio::test]
async fn losing_the_subscriber_connection_fails_the_whole_link() {
    let Some(server) = BackendServer::start(Backend::Redis).await else {
        return;
    };
    let driver = RedisDriver::new(&server.url()).unwrap();
    let mut link = connect(&driver, &["sb:kill"]).await;
    let mut admin = admin(&server).await;
    let killed: i64 = redis::cmd("CLIENT")
        .arg(&["KILL", "TYPE", "pubsub"])
        .query_async(&mut admin)
        .await
        .unwrap();
    assert_eq!(killed, 1);

    assert_eq!(next(&mut link).await, None, "incoming must close");
    // The publishing connection is still up, but the link is dead as a whole.
    let result = link
        .publisher
        .publish("sb:kill", Bytes::from_static(b"x"))
        .await;
    assert!(
        matches!(result, Err(DriverError::Unreachable(_))),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_slow_consumer_loses_nothing() {
    let Some(server) = BackendServer::start(Backend::Redis).await else {
        return;
    };
    let driver = RedisDriver::new(&server.url()).unwrap();
    let mut link = connect(&driver, &["sb:slow"]).await;
    // More than the incoming channel holds, published before any is read.
    let count = 5_000u32;
    for i in 0..count {
        link.publisher
            .publish("sb:slow", Bytes::copy_from_slice(&i.to_be_bytes()))
            .await
            .unwrap();
    }
    for i in 0..count {
        let payload = next(&mut link).await.expect("link closed");
        assert_eq!(payload.as_ref(), i.to_be_bytes(), "message {i}");
    }
}

#[tokio::test]
async fn dropping_the_link_unsubscribes() {
    let Some(server) = BackendServer::start(Backend::Redis).await else {
        return;
    };
    let driver = RedisDriver::new(&server.url()).unwrap();
    let link = connect(&driver, &["sb:drop"]).await;
    let mut admin = admin(&server).await;
    let subscribers = async |admin: &mut redis::aio::MultiplexedConnection| {
        let (_, count): (String, i64) = redis::cmd("PUBSUB")
            .arg(&["NUMSUB", "sb:drop"])
            .query_async(admin)
            .await
            .unwrap();
        count
    };
    assert_eq!(subscribers(&mut admin).await, 1);
    drop(link);
    // The server learns of the closed socket asynchronously: poll it, bounded.
    tokio::time::timeout(WAIT, async {
        while subscribers(&mut admin).await != 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the subscriber connection outlived its link");
}

#[tokio::test]
async fn connect_to_an_unresponsive_server_times_out() {
    // A listener that accepts (via the backlog) but never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("redis://{}", listener.local_addr().unwrap());
    let driver = RedisDriver::new(&url).unwrap();
    let result = tokio::time::timeout(WAIT, driver.connect(&channels(&["sb:x"])))
        .await
        .expect("connect to a silent server must time out by itself");
    assert!(
        matches!(result, Err(DriverError::Unreachable(_))),
        "{result:?}"
    );
}

#[test]
fn bad_urls_are_config_errors() {
    for url in [
        "not a url",
        "http://127.0.0.1:1",
        "redis://127.0.0.1:1/notadb",
        "",
    ] {
        let result = RedisDriver::new(url);
        assert!(
            matches!(result, Err(DriverError::Config(_))),
            "{url}: {result:?}"
        );
    }
    let result = RedisDriver::new("rediss://127.0.0.1:1");
    let Err(DriverError::Config(why)) = result else {
        panic!("rediss:// must be a Config error: {result:?}");
    };
    assert!(why.contains("TLS"), "{why}");
    // Parsing never connects: port 1 is not listening.
    assert!(RedisDriver::new("redis://user:secret@127.0.0.1:1/2").is_ok());
}

#[test]
fn debug_does_not_leak_the_password() {
    let driver = RedisDriver::new("redis://user:secret@127.0.0.1:1").unwrap();
    let debug = format!("{driver:?}");
    assert!(!debug.contains("secret"), "{debug}");
    assert!(debug.contains("127.0.0.1:1"), "{debug}");
}
