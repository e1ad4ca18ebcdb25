//! The NATS driver against a private nats-server (real sockets).

use std::time::Duration;

use bytes::Bytes;
use switchboard::adapter::{Driver, DriverError, DriverLink};
use switchboard_nats::NatsDriver;
use switchboard_testkit::{Backend, BackendServer};
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(5);

fn channels(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| (*s).to_owned()).collect()
}

async fn connect(driver: &NatsDriver, names: &[&str]) -> DriverLink {
    timeout(WAIT, driver.connect(&channels(names)))
        .await
        .expect("connect timed out")
        .expect("connect failed")
}

async fn next(link: &mut DriverLink) -> Bytes {
    timeout(WAIT, link.incoming.recv())
        .await
        .expect("no message within 5 s")
        .expect("incoming closed")
}

#[tokio::test]
async fn delivers_payloads_byte_exact_on_every_channel() {
    let Some(server) = BackendServer::start(Backend::Nats).await else {
        return;
    };
    let driver = NatsDriver::new(&server.url()).unwrap();
    assert_eq!(driver.name(), "nats");
    let all = "switchboard.all";
    let node = "switchboard.node.AbC-12_x";
    let mut receiver = connect(&driver, &[all, node]).await;
    let sender = connect(&driver, &[]).await;

    let binary = Bytes::from_static(&[0, 159, 146, 150, 255, b'\n', b' ', 0xC3]);
    sender.publisher.publish(all, binary.clone()).await.unwrap();
    sender
        .publisher
        .publish(node, Bytes::from_static(b"to the node"))
        .await
        .unwrap();
    sender.publisher.publish(node, Bytes::new()).await.unwrap();
    // Not subscribed: must not arrive.
    sender
        .publisher
        .publish("switchboard.node.other", Bytes::from_static(b"x"))
        .await
        .unwrap();

    let mut got = vec![
        next(&mut receiver).await,
        next(&mut receiver).await,
        next(&mut receiver).await,
    ];
    got.sort();
    let mut want = vec![binary, Bytes::from_static(b"to the node"), Bytes::new()];
    want.sort();
    assert_eq!(got, want);

    // The subscriber's own publishes come back too, and a channel that is
    // not a plain subject (wildcards, spaces) is usable and exact.
    let odd = "odd chan.*";
    let mut odd_link = connect(&driver, &[odd]).await;
    receiver
        .publisher
        .publish(all, Bytes::from_static(b"echo"))
        .await
        .unwrap();
    assert_eq!(next(&mut receiver).await, Bytes::from_static(b"echo"));
    odd_link
        .publisher
        .publish(odd, Bytes::from_static(b"odd"))
        .await
        .unwrap();
    odd_link
        .publisher
        .publish("odd chan.x", Bytes::from_static(b"not for the wildcard"))
        .await
        .unwrap();
    odd_link
        .publisher
        .publish(odd, Bytes::from_static(b"odd2"))
        .await
        .unwrap();
    assert_eq!(next(&mut odd_link).await, Bytes::from_static(b"odd"));
    assert_eq!(next(&mut odd_link).await, Bytes::from_static(b"odd2"));
}

#[tokio::test]
async fn outage_ends_the_link_and_a_new_connect_works_after_restart() {
    let Some(mut server) = BackendServer::start(Backend::Nats).await else {
        return;
    };
    let driver = NatsDriver::new(&server.url()).unwrap();
    let chan = "switchboard.all";
    let mut link = connect(&driver, &[chan]).await;
    link.publisher
        .publish(chan, Bytes::from_static(b"before"))
        .await
        .unwrap();
    assert_eq!(next(&mut link).await, Bytes::from_static(b"before"));

    server.stop().await;
    let end = timeout(WAIT, link.incoming.recv())
        .await
        .expect("incoming did not close within 5 s of the outage");
    assert!(end.is_none(), "unexpected message {end:?}");
    let err = link
        .publisher
        .publish(chan, Bytes::from_static(b"lost"))
        .await
        .unwrap_err();
    assert!(matches!(err, DriverError::Unreachable(_)), "{err:?}");

    // While the server is down, connect fails in bounded time.
    let down = timeout(Duration::from_secs(4), driver.connect(&channels(&[chan])))
        .await
        .expect("connect while down did not fail within 4 s");
    assert!(matches!(down, Err(DriverError::Unreachable(_))), "{down:?}");

    server.restart().await;
    // The old link stays dead after the server is back.
    let err = link
        .publisher
        .publish(chan, Bytes::from_static(b"old"))
        .await
        .unwrap_err();
    assert!(matches!(err, DriverError::Unreachable(_)), "{err:?}");

    let mut fresh = connect(&driver, &[chan]).await;
    let other = connect(&driver, &[]).await;
    other
        .publisher
        .publish(chan, Bytes::from_static(b"after"))
        .await
        .unwrap();
    assert_eq!(next(&mut fresh).await, Bytes::from_static(b"after"));
}

#[tokio::test]
async fn connect_to_a_silent_server_fails_in_bounded_time() {
    // Accepts TCP connections (the kernel does) but never speaks NATS.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("nats://{}", silent.local_addr().unwrap());
    let driver = NatsDriver::new(&url).unwrap();
    let result = timeout(Duration::from_secs(4), driver.connect(&channels(&["a.b"])))
        .await
        .expect("connect to a silent server did not fail within 4 s");
    assert!(
        matches!(result, Err(DriverError::Unreachable(_))),
        "{result:?}"
    );
}

#[test]
fn a_bad_url_is_a_config_error() {
    for bad in [
        "not a url",
        "redis://127.0.0.1:1",
        "nats://127.0.0.1:1,,nats://h:2",
    ] {
        let err = NatsDriver::new(bad).unwrap_err();
        assert!(matches!(err, DriverError::Config(_)), "{bad:?}: {err:?}");
    }
    assert!(NatsDriver::new("nats://u:p@127.0.0.1:1,nats://127.0.0.1:2").is_ok());
}

#[tokio::test]
async fn credentials_in_the_url_are_accepted() {
    let Some(server) = BackendServer::start(Backend::Nats).await else {
        return;
    };
    // The test server has no authentication, so any credentials pass.
    let url = server.url().replace("nats://", "nats://user:pass@");
    let mut link = connect(&NatsDriver::new(&url).unwrap(), &["a.b"]).await;
    link.publisher
        .publish("a.b", Bytes::from_static(b"ok"))
        .await
        .unwrap();
    assert_eq!(next(&mut link).await, Bytes::from_static(b"ok"));
}
