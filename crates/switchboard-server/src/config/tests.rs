//! Tests of the server's settings: every option from every source.

use std::path::Path;

use super::*;

fn raw(pairs: &[(OptionSpec, &[&str], Source)]) -> RawOptions {
    let mut raw = RawOptions::default();
    for (option, values, source) in pairs {
        raw.set(
            option,
            values.iter().map(|v| v.to_string()).collect(),
            source.clone(),
        );
    }
    raw
}

#[test]
fn defaults() {
    let c = Config::resolve(&RawOptions::default()).unwrap();
    assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(c.path, "/ws");
    assert_eq!(c.api_key, None);
    assert_eq!(c.allowed_origins, AllowedOrigins::SameHost);
    assert!(c.rooms.allows("anything"));
    assert_eq!(c.max_connections, 100_000);
    assert_eq!(c.max_message_size, 65536);
    assert_eq!(c.ping_interval, Duration::from_secs(25));
    assert_eq!(c.ping_timeout, Duration::from_secs(20));
    assert!(c.compression);
    assert_eq!(c.broadcast_coalesce, Duration::from_millis(20));
    assert_eq!(c.log_level, None);
    assert_eq!(c.resume_buffer_bytes, 1 << 20);
    assert_eq!(c.max_detached_sessions, 10_000);
    assert_eq!(c.detached_budget, 128 << 20);
    assert_eq!(c.max_rooms_per_socket, 1000);
    assert_eq!(c.max_pending_polls, 1000);
    assert_eq!(c.pending_poll_timeout, Duration::from_secs(10));
}

#[test]
fn every_declared_default_parses_and_names_follow_the_key() {
    let _ = Config::default();
    for option in &OPTIONS {
        assert_eq!(
            option.env,
            format!("SWITCHBOARD_{}", option.key.to_uppercase())
        );
        assert!(!option.help().is_empty());
    }
}

#[test]
fn resource_bounds_parse() {
    let c = Config::resolve(&raw(&[
        (RESUME_BUFFER_BYTES, &["64KiB"], Source::Flag),
        (MAX_DETACHED_SESSIONS, &["50"], Source::Env),
        (DETACHED_BUDGET, &["1MiB"], Source::Flag),
        (MAX_ROOMS_PER_SOCKET, &["10"], Source::Flag),
        (MAX_PENDING_POLLS, &["7"], Source::Flag),
        (PENDING_POLL_TIMEOUT, &["2s"], Source::Flag),
    ]))
    .unwrap();
    assert_eq!(c.resume_buffer_bytes, 64 << 10);
    assert_eq!(c.max_detached_sessions, 50);
    assert_eq!(c.detached_budget, 1 << 20);
    assert_eq!(c.max_rooms_per_socket, 10);
    assert_eq!(c.max_pending_polls, 7);
    assert_eq!(c.pending_poll_timeout, Duration::from_secs(2));
    for (option, bad) in [
        (RESUME_BUFFER_BYTES, "0"),
        (MAX_DETACHED_SESSIONS, "0"),
        (DETACHED_BUDGET, "lots"),
        (MAX_ROOMS_PER_SOCKET, "-1"),
        (MAX_PENDING_POLLS, "0"),
        (PENDING_POLL_TIMEOUT, "0s"),
    ] {
        let e = Config::resolve(&raw(&[(option, &[bad], Source::Flag)])).unwrap_err();
        assert!(e.to_string().contains(&option.flag()), "{e}");
    }
}

#[test]
fn cluster_options() {
    let c = Config::resolve(&RawOptions::default()).unwrap();
    assert_eq!(c.cluster, None);
    assert_eq!(c.cluster_prefix, "switchboard");
    assert_eq!(c.cluster_timeout, Duration::from_secs(1));
    let c = Config::resolve(&raw(&[
        (REDIS, &["redis://127.0.0.1:6380/2"], Source::Flag),
        (CLUSTER_PREFIX, &["chat-eu_1"], Source::Env),
        (CLUSTER_TIMEOUT, &["250ms"], Source::Flag),
    ]))
    .unwrap();
    assert_eq!(
        c.cluster,
        Some(ClusterBackend::Redis("redis://127.0.0.1:6380/2".into()))
    );
    assert_eq!(c.cluster_prefix, "chat-eu_1");
    assert_eq!(c.cluster_timeout, Duration::from_millis(250));
    let c = Config::resolve(&raw(&[(
        NATS,
        &["nats://a:4222,nats://b:4222"],
        Source::Flag,
    )]))
    .unwrap();
    assert_eq!(
        c.cluster,
        Some(ClusterBackend::Nats("nats://a:4222,nats://b:4222".into()))
    );
    let error = |pairs: &[(OptionSpec, &[&str], Source)]| {
        Config::resolve(&raw(pairs)).unwrap_err().to_string()
    };
    assert!(
        error(&[
            (REDIS, &["redis://a:1"], Source::Flag),
            (NATS, &["nats://b:2"], Source::Flag)
        ])
        .contains("both set")
    );
    assert!(error(&[(REDIS, &["nats://a:1"], Source::Flag)]).contains("redis://127.0.0.1:PORT"));
    assert!(error(&[(NATS, &["localhost:4222"], Source::Env)]).contains("SWITCHBOARD_NATS"));
    assert!(error(&[(CLUSTER_PREFIX, &["a.b"], Source::Flag)]).contains("letters, digits"));
    assert!(error(&[(CLUSTER_TIMEOUT, &["0s"], Source::Flag)]).contains("--cluster-timeout"));
    assert!(error(&[(BROADCAST_COALESCE, &["2s"], Source::Flag)]).contains("at most 1000ms"));
}

#[test]
fn every_option_parses() {
    let c = Config::resolve(&raw(&[
        (LISTEN, &["0.0.0.0:9000"], Source::Flag),
        (PATH, &["/hub"], Source::Flag),
        (API_KEY, &["s3cret"], Source::Flag),
        (
            ALLOW_ORIGIN,
            &["https://a.example", "http://localhost:3000"],
            Source::Flag,
        ),
        (ROOMS, &["lobby", "team-*"], Source::Flag),
        (MAX_CONNECTIONS, &["10"], Source::Flag),
        (MAX_MESSAGE_SIZE, &["1MiB"], Source::Flag),
        (PING_INTERVAL, &["500ms"], Source::Flag),
        (PING_TIMEOUT, &["2m"], Source::Flag),
        (COMPRESSION, &["false"], Source::Flag),
        (BROADCAST_COALESCE, &["10ms"], Source::Flag),
        (LOG_LEVEL, &["switchboard=debug,warn"], Source::Flag),
    ]))
    .unwrap();
    assert_eq!(c.listen.to_string(), "0.0.0.0:9000");
    assert_eq!(c.path, "/hub");
    assert_eq!(c.api_key.as_deref(), Some("s3cret"));
    assert_eq!(
        c.allowed_origins,
        AllowedOrigins::List(vec![
            "https://a.example".into(),
            "http://localhost:3000".into()
        ])
    );
    assert!(c.rooms.allows("team-a") && c.rooms.allows("lobby") && !c.rooms.allows("x"));
    assert_eq!(c.max_connections, 10);
    assert_eq!(c.max_message_size, 1 << 20);
    assert_eq!(c.ping_interval, Duration::from_millis(500));
    assert_eq!(c.ping_timeout, Duration::from_secs(120));
    assert!(!c.compression);
    assert_eq!(c.broadcast_coalesce, Duration::from_millis(10));
    assert_eq!(c.log_level.as_deref(), Some("switchboard=debug,warn"));
}

#[test]
fn star_origin_means_any() {
    let c = Config::resolve(&raw(&[(
        ALLOW_ORIGIN,
        &["https://a.example", "*"],
        Source::Env,
    )]))
    .unwrap();
    assert_eq!(c.allowed_origins, AllowedOrigins::Any);
}

#[test]
fn errors_name_the_option_and_its_source() {
    let e = Config::resolve(&raw(&[(MAX_CONNECTIONS, &["lots"], Source::Flag)])).unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid value \"lots\" for --max-connections: expected a whole number greater than 0"
    );
    let e = Config::resolve(&raw(&[(PING_INTERVAL, &["25"], Source::Env)])).unwrap_err();
    assert!(e.to_string().starts_with(
        "invalid value \"25\" for --ping-interval (from environment variable SWITCHBOARD_PING_INTERVAL)"
    ));
    let file = Source::File(PathBuf::from("/etc/sb.toml"));
    let e = Config::resolve(&raw(&[(COMPRESSION, &["maybe"], file)])).unwrap_err();
    assert!(e.to_string().contains(
        "for --compression (from key `compression` in /etc/sb.toml): expected true or false"
    ));
}

#[test]
fn bad_values_per_option() {
    let bad: &[(OptionSpec, &str)] = &[
        (LISTEN, "localhost"),
        (LISTEN, "127.0.0.1:99999"),
        (PATH, "ws"),
        (PATH, "/"),
        (PATH, "/api/ws"),
        (PATH, "/healthz"),
        (PATH, "/{x}"),
        (API_KEY, ""),
        (API_KEY, "has space"),
        (ALLOW_ORIGIN, "example.com"),
        (ALLOW_ORIGIN, "https://example.com/"),
        (ROOMS, ""),
        (MAX_CONNECTIONS, "0"),
        (MAX_CONNECTIONS, "-3"),
        (MAX_MESSAGE_SIZE, "0"),
        (MAX_MESSAGE_SIZE, "64 parsecs"),
        (PING_INTERVAL, "0s"),
        (PING_TIMEOUT, "soon"),
        (COMPRESSION, "2"),
        (LOG_LEVEL, "loud=[[["),
    ];
    for (option, value) in bad {
        let e = Config::resolve(&raw(&[(*option, &[value], Source::Flag)]))
            .expect_err(&format!("{} {value:?} should be refused", option.flag()));
        assert!(e.to_string().contains(&option.flag()), "{e}");
    }
}

#[test]
fn toml_files() {
    let path = Path::new("sb.toml");
    let file = RawOptions::from_toml(
        r#"
        listen = "127.0.0.1:0"
        rooms = ["a", "b-*"]
        allow_origin = "*"
        max_connections = 7
        max_message_size = "2KiB"
        compression = false
        "#,
        path,
    )
    .unwrap();
    let c = Config::resolve(&file).unwrap();
    assert_eq!(c.listen.port(), 0);
    assert!(c.rooms.allows("b-1") && !c.rooms.allows("c"));
    assert_eq!(c.allowed_origins, AllowedOrigins::Any);
    assert_eq!(c.max_connections, 7);
    assert_eq!(c.max_message_size, 2048);
    assert!(!c.compression);

    let e = RawOptions::from_toml("colour = 1", path).unwrap_err();
    assert!(e.to_string().contains("unknown key `colour`"), "{e}");
    let e = RawOptions::from_toml("listen = [\"a\"]", path).unwrap_err();
    assert!(e.to_string().contains("key `listen`"), "{e}");
    let e = RawOptions::from_toml("rooms = [{ a = 1 }]", path).unwrap_err();
    assert!(e.to_string().contains("key `rooms`"), "{e}");
    let e = RawOptions::from_toml("listen = ", path).unwrap_err();
    assert!(e.to_string().contains("not valid TOML"), "{e}");
    let file = RawOptions::from_toml("max_connections = 1.5", path).unwrap();
    let e = Config::resolve(&file).unwrap_err();
    assert!(
        e.to_string().contains("key `max_connections` in sb.toml"),
        "{e}"
    );
}

#[test]
fn edge_options() {
    let c = Config::resolve(&RawOptions::default()).unwrap();
    assert_eq!(c.http_header_timeout, Duration::from_secs(10));
    assert_eq!(c.http_idle_timeout, Duration::from_secs(5));
    assert_eq!(c.http_max_pending, 1024);
    assert_eq!(c.max_connections_per_address, 1000);
    assert_eq!(c.handshake_rate_per_address, 100);
    assert_eq!(c.handshake_burst_per_address, 200);
    assert!(c.exempt_loopback);
    assert!(c.trusted_proxies.is_empty());
    assert_eq!(c.max_tracked_addresses, 65_536);
    assert_eq!(c.public_origin, None);
    assert!(c.allowed_hosts.is_empty());
    let c = Config::resolve(&raw(&[
        (HTTP_HEADER_TIMEOUT, &["2s"], Source::Flag),
        (HTTP_IDLE_TIMEOUT, &["500ms"], Source::Flag),
        (HTTP_MAX_PENDING, &["64"], Source::Env),
        (MAX_CONNECTIONS_PER_ADDRESS, &["0"], Source::Flag),
        (HANDSHAKE_RATE_PER_ADDRESS, &["5"], Source::Flag),
        (HANDSHAKE_BURST_PER_ADDRESS, &["7"], Source::Flag),
        (EXEMPT_LOOPBACK, &["false"], Source::Flag),
        (TRUSTED_PROXY, &["127.0.0.1", "10.0.0.0/8"], Source::Flag),
        (MAX_TRACKED_ADDRESSES, &["9"], Source::Flag),
        (PUBLIC_ORIGIN, &["https://chat.example.com"], Source::Flag),
        (ALLOW_HOST, &["Chat.Example.com"], Source::Flag),
    ]))
    .unwrap();
    assert_eq!(c.http_header_timeout, Duration::from_secs(2));
    assert_eq!(c.http_idle_timeout, Duration::from_millis(500));
    assert_eq!(c.http_max_pending, 64);
    assert_eq!(c.max_connections_per_address, 0);
    assert_eq!(c.handshake_rate_per_address, 5);
    assert_eq!(c.handshake_burst_per_address, 7);
    assert!(!c.exempt_loopback);
    assert_eq!(c.trusted_proxies.len(), 2);
    assert_eq!(c.max_tracked_addresses, 9);
    assert_eq!(c.public_origin.as_deref(), Some("https://chat.example.com"));
    assert_eq!(c.allowed_hosts, ["chat.example.com"]);
    for (option, value) in [
        (HTTP_HEADER_TIMEOUT, "0s"),
        (HTTP_MAX_PENDING, "0"),
        (MAX_CONNECTIONS_PER_ADDRESS, "-1"),
        (HANDSHAKE_BURST_PER_ADDRESS, "0"),
        (TRUSTED_PROXY, "10.0.0.0/40"),
        (TRUSTED_PROXY, "proxy.local"),
        (PUBLIC_ORIGIN, "*"),
        (PUBLIC_ORIGIN, "chat.example.com"),
        (ALLOW_HOST, "a b"),
        (MAX_TRACKED_ADDRESSES, "0"),
    ] {
        let e = Config::resolve(&raw(&[(option, &[value], Source::Flag)]))
            .expect_err(&format!("{} {value:?} should be refused", option.flag()));
        assert!(e.to_string().contains(&option.flag()), "{e}");
    }
}

#[test]
fn higher_sources_win() {
    let file = raw(&[
        (MAX_CONNECTIONS, &["1"], Source::File("f".into())),
        (PATH, &["/file"], Source::File("f".into())),
    ]);
    let cli = raw(&[(MAX_CONNECTIONS, &["2"], Source::Env)]);
    let c = Config::resolve(&file.overlay(cli)).unwrap();
    assert_eq!(c.max_connections, 2);
    assert_eq!(c.path, "/file");
}

// ---- The hub's own options (issue 17): defaults, every source, refusals.

#[test]
fn hub_option_defaults() {
    let c = Config::resolve(&RawOptions::default()).unwrap();
    assert_eq!(c.write_timeout, Duration::from_secs(10));
    assert_eq!(c.send_queue_capacity, 1024);
    assert_eq!(c.inbound_queue_capacity, 64);
    assert_eq!(c.message_rate_per_socket, None);
    assert_eq!(c.max_bad_messages, 10);
    assert_eq!(c.shutdown_timeout, Duration::from_secs(10));
    assert_eq!(c.resume_buffer_messages, 1000);
    assert_eq!(c.poll_timeout, Duration::from_secs(25));
    // The hub's own defaults, which the server's declared ones repeat.
    let hub = switchboard::HubConfig::default();
    assert_eq!(c.write_timeout, hub.write_timeout);
    assert_eq!(c.send_queue_capacity, hub.send_queue_capacity);
    assert_eq!(c.inbound_queue_capacity, hub.inbound_queue_capacity);
    assert_eq!(c.message_rate_per_socket, hub.rate_limit);
    assert_eq!(c.max_bad_messages, hub.max_bad_messages);
    assert_eq!(c.shutdown_timeout, hub.shutdown_timeout);
    assert_eq!(c.resume_buffer_messages, hub.resume_buffer);
    assert_eq!(c.poll_timeout, hub.poll_timeout);
}

/// The new options as flags, parsed by the real command line.
#[test]
fn hub_options_as_flags() {
    let matches = crate::cli::command()
        .try_get_matches_from([
            "switchboard",
            "--write-timeout",
            "3s",
            "--send-queue-capacity",
            "16",
            "--inbound-queue-capacity",
            "8",
            "--message-rate-per-socket",
            "5",
            "--message-burst-per-socket",
            "20",
            "--max-bad-messages",
            "3",
            "--shutdown-timeout",
            "1500ms",
            "--resume-buffer-messages",
            "0",
            "--poll-timeout",
            "2s",
        ])
        .unwrap();
    let c = Config::from_matches(&matches).unwrap();
    assert_eq!(c.write_timeout, Duration::from_secs(3));
    assert_eq!(c.send_queue_capacity, 16);
    assert_eq!(c.inbound_queue_capacity, 8);
    assert_eq!(
        c.message_rate_per_socket,
        Some(RateLimit {
            per_second: 5,
            burst: 20
        })
    );
    assert_eq!(c.max_bad_messages, 3);
    assert_eq!(c.shutdown_timeout, Duration::from_millis(1500));
    assert_eq!(c.resume_buffer_messages, 0);
    assert_eq!(c.poll_timeout, Duration::from_secs(2));
}

/// The new options as keys of a config file (numbers as TOML integers or
/// strings alike).
#[test]
fn hub_options_as_toml_keys() {
    let file = RawOptions::from_toml(
        r#"
        write_timeout = "750ms"
        send_queue_capacity = 32
        inbound_queue_capacity = "4"
        message_rate_per_socket = 50
        max_bad_messages = 1
        shutdown_timeout = "30s"
        resume_buffer_messages = 250
        poll_timeout = "40s"
        "#,
        Path::new("sb.toml"),
    )
    .unwrap();
    let c = Config::resolve(&file).unwrap();
    assert_eq!(c.write_timeout, Duration::from_millis(750));
    assert_eq!(c.send_queue_capacity, 32);
    assert_eq!(c.inbound_queue_capacity, 4);
    // Without a burst, one second's worth.
    assert_eq!(
        c.message_rate_per_socket,
        Some(RateLimit {
            per_second: 50,
            burst: 50
        })
    );
    assert_eq!(c.max_bad_messages, 1);
    assert_eq!(c.shutdown_timeout, Duration::from_secs(30));
    assert_eq!(c.resume_buffer_messages, 250);
    assert_eq!(c.poll_timeout, Duration::from_secs(40));
    let file = RawOptions::from_toml("message_burst_per_socket = 7", Path::new("sb.toml")).unwrap();
    // A burst without a rate limits nothing.
    assert_eq!(
        Config::resolve(&file).unwrap().message_rate_per_socket,
        None
    );
}

/// The environment is read by clap (the binary tests set it); here, that a
/// value from it is parsed alike and its errors name the variable.
#[test]
fn hub_options_from_the_environment() {
    let c = Config::resolve(&raw(&[
        (WRITE_TIMEOUT, &["1s"], Source::Env),
        (SEND_QUEUE_CAPACITY, &["2"], Source::Env),
        (INBOUND_QUEUE_CAPACITY, &["1"], Source::Env),
        (MESSAGE_RATE_PER_SOCKET, &["0"], Source::Env),
        (MESSAGE_BURST_PER_SOCKET, &["3"], Source::Env),
        (MAX_BAD_MESSAGES, &["99"], Source::Env),
        (SHUTDOWN_TIMEOUT, &["1m"], Source::Env),
        (RESUME_BUFFER_MESSAGES, &["4294967295"], Source::Env),
        (POLL_TIMEOUT, &["44s"], Source::Env),
    ]))
    .unwrap();
    assert_eq!(c.write_timeout, Duration::from_secs(1));
    assert_eq!(c.send_queue_capacity, 2);
    assert_eq!(c.inbound_queue_capacity, 1);
    assert_eq!(c.message_rate_per_socket, None);
    assert_eq!(c.max_bad_messages, 99);
    assert_eq!(c.shutdown_timeout, Duration::from_secs(60));
    assert_eq!(c.resume_buffer_messages, u32::MAX as usize);
    assert_eq!(c.poll_timeout, Duration::from_secs(44));
    let e = Config::resolve(&raw(&[(SEND_QUEUE_CAPACITY, &["0"], Source::Env)])).unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid value \"0\" for --send-queue-capacity (from environment variable \
         SWITCHBOARD_SEND_QUEUE_CAPACITY): expected a whole number greater than 0"
    );
}

#[test]
fn hub_options_refuse_what_means_nothing() {
    for (option, value, reason) in [
        (WRITE_TIMEOUT, "0s", "greater than 0"),
        (WRITE_TIMEOUT, "10", "unit is missing"),
        (SEND_QUEUE_CAPACITY, "0", "greater than 0"),
        (INBOUND_QUEUE_CAPACITY, "0", "greater than 0"),
        (MESSAGE_RATE_PER_SOCKET, "-1", "0 or more"),
        (MESSAGE_RATE_PER_SOCKET, "1.5", "0 or more"),
        (MESSAGE_BURST_PER_SOCKET, "0", "greater than 0"),
        (MAX_BAD_MESSAGES, "0", "greater than 0"),
        (SHUTDOWN_TIMEOUT, "0", "greater than 0"),
        (
            RESUME_BUFFER_MESSAGES,
            "-1",
            "from 0 (resume off) to 4294967295",
        ),
        (RESUME_BUFFER_MESSAGES, "4294967296", "to 4294967295"),
        (POLL_TIMEOUT, "0ms", "greater than 0"),
        (
            POLL_TIMEOUT,
            "45s",
            "shorter than --ping-interval plus --ping-timeout (45s)",
        ),
    ] {
        let e = Config::resolve(&raw(&[(option, &[value], Source::Flag)]))
            .expect_err(&format!("{} {value:?} should be refused", option.flag()));
        let e = e.to_string();
        assert!(e.contains(&format!("for {}:", option.flag())), "{e}");
        assert!(e.contains(reason), "{e}");
    }
}

#[test]
fn the_poll_timeout_stays_inside_the_heartbeat_window() {
    let short = [
        (PING_INTERVAL, &["2s"][..], Source::Flag),
        (PING_TIMEOUT, &["2s"][..], Source::Flag),
    ];
    // Unset, it is half the window when 25 s does not fit in it.
    assert_eq!(
        Config::resolve(&raw(&short)).unwrap().poll_timeout,
        Duration::from_secs(2)
    );
    // Set, it must fit, whichever source set the ping options.
    let file = Source::File(PathBuf::from("sb.toml"));
    let e = Config::resolve(&raw(&[
        short[0].clone(),
        short[1].clone(),
        (POLL_TIMEOUT, &["5s"], file),
    ]))
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid value \"5s\" for --poll-timeout (from key `poll_timeout` in sb.toml): \
         it must be shorter than --ping-interval plus --ping-timeout (4s): clients take \
         a longer silence for a dead link"
    );
    let c = Config::resolve(&raw(&[
        short[0].clone(),
        short[1].clone(),
        (POLL_TIMEOUT, &["3900ms"], Source::Flag),
    ]))
    .unwrap();
    assert_eq!(c.poll_timeout, Duration::from_millis(3900));
}

#[test]
fn token_options_parse_and_are_checked() {
    let secret = "a shared secret of at least 32 bytes";
    let c = Config::resolve(&raw(&[
        (TOKEN_HMAC_SECRET, &[secret], Source::Env),
        (TOKEN_ISSUER, &["https://auth.example"], Source::Flag),
        (ALLOW_ANONYMOUS, &["true"], Source::Flag),
    ]))
    .unwrap();
    let tokens = c.tokens.expect("token settings");
    assert_eq!(tokens.key, TokenKey::HmacSecret(secret.into()));
    assert_eq!(tokens.issuer.as_deref(), Some("https://auth.example"));
    assert_eq!(tokens.audience, None);
    assert!(tokens.allow_anonymous);
    assert!(
        !format!("{:?}", tokens.key).contains(secret),
        "the secret is not logged"
    );
    assert!(
        Config::resolve(&RawOptions::default())
            .unwrap()
            .tokens
            .is_none()
    );

    let refused = |pairs: &[(OptionSpec, &[&str], Source)], words: &str| {
        let error = Config::resolve(&raw(pairs)).unwrap_err().to_string();
        assert!(error.contains(words), "{error}");
    };
    refused(
        &[(TOKEN_HMAC_SECRET, &["short"], Source::Flag)],
        "at least 32 bytes",
    );
    refused(
        &[
            (TOKEN_HMAC_SECRET, &[secret], Source::Flag),
            (TOKEN_JWKS_URL, &["https://auth.example/jwks"], Source::Flag),
        ],
        "give one of",
    );
    refused(
        &[(ALLOW_ANONYMOUS, &["true"], Source::Flag)],
        "need a token key",
    );
    refused(
        &[(TOKEN_AUDIENCE, &["app"], Source::Flag)],
        "need a token key",
    );
    refused(
        &[(TOKEN_PUBLIC_KEY, &["/nonexistent/key.pem"], Source::Flag)],
        "cannot read the key file",
    );
    refused(&[(TOKEN_JWKS_URL, &["ftp://x"], Source::Flag)], "https://");
}
