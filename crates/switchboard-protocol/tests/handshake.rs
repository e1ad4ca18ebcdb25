//! Properties of the handshake parsers, checked on every test run: the
//! invariants of the `handshake_query` and `poll_open_body` fuzz targets
//! (`fuzz/fuzz_targets/`), over a few thousand generated inputs each, plus
//! a model of the query's meaning for queries that need no decoding.

use proptest::collection::vec;
use proptest::prelude::*;
use switchboard_protocol::{
    Codec, HandshakeError, HandshakeQuery, MAX_SESSION_TOKEN_LEN, ResumeRequest, parse_open_body,
};

/// The longest refusal message: quoted input is cut to about 200 bytes.
const MAX_MESSAGE_LEN: usize = 300;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 1_000,
        ..ProptestConfig::default()
    }
}

fn codec() -> impl Strategy<Value = Codec> {
    prop_oneof![Just(Codec::Json), Just(Codec::MsgPack)]
}

/// Any text of at most `MAX_SESSION_TOKEN_LEN` bytes.
fn session_token() -> impl Strategy<Value = String> {
    any::<String>().prop_map(|mut token| {
        while token.len() > MAX_SESSION_TOKEN_LEN {
            token.pop();
        }
        token
    })
}

fn handshake_query() -> impl Strategy<Value = HandshakeQuery> {
    (
        codec(),
        proptest::option::of(any::<String>()),
        proptest::option::of(session_token()),
        proptest::option::of(any::<u64>()),
        proptest::option::of(session_token()),
    )
        .prop_map(|(codec, token, resume, last, sid)| HandshakeQuery {
            codec,
            token,
            resume,
            last,
            sid,
        })
}

/// One `name=value` pair made of characters that form-decoding leaves as
/// they are, so that a model can say what it means.
fn plain_pair() -> impl Strategy<Value = (String, String)> {
    let name = prop_oneof![
        Just("codec"),
        Just("token"),
        Just("resume"),
        Just("last"),
        Just("sid"),
        Just("other"),
    ];
    let value = prop_oneof![
        Just("json".to_owned()),
        Just("msgpack".to_owned()),
        any::<u64>().prop_map(|n| n.to_string()),
        "-?[0-9]{0,21}",
        "[A-Za-z0-9_-]{0,140}",
    ];
    (name, value).prop_map(|(name, value)| (name.to_owned(), value))
}

/// What a query of plain pairs means: each known parameter is checked,
/// the last of each counts.
fn model(pairs: &[(String, String)]) -> Result<HandshakeQuery, ()> {
    let mut query = HandshakeQuery::default();
    for (name, value) in pairs {
        match name.as_str() {
            "codec" => {
                query.codec = match value.as_str() {
                    "json" => Codec::Json,
                    "msgpack" => Codec::MsgPack,
                    _ => return Err(()),
                }
            }
            "token" => query.token = Some(value.clone()),
            "resume" | "sid" if value.len() > MAX_SESSION_TOKEN_LEN => return Err(()),
            "resume" => query.resume = Some(value.clone()),
            "sid" => query.sid = Some(value.clone()),
            "last" => query.last = Some(value.parse().map_err(|_| ())?),
            _ => {}
        }
    }
    Ok(query)
}

/// The fuzz target's checks of any parse result.
fn check_query(text: &str) -> Result<(), TestCaseError> {
    match HandshakeQuery::parse(text) {
        Ok(parsed) => {
            for token in [&parsed.resume, &parsed.sid].into_iter().flatten() {
                prop_assert!(token.len() <= MAX_SESSION_TOKEN_LEN);
            }
            let again = HandshakeQuery::parse(&parsed.to_query_string());
            prop_assert_eq!(again, Ok(parsed.clone()));
            let padded = format!("x=1&{text}&y=%FF&codecs=xml");
            prop_assert_eq!(HandshakeQuery::parse(&padded), Ok(parsed));
        }
        Err(error) => {
            prop_assert!(error.to_string().len() <= MAX_MESSAGE_LEN, "{}", error);
            let more = format!("{text}&codec=json");
            prop_assert!(HandshakeQuery::parse(&more).is_err());
        }
    }
    Ok(())
}

/// The fuzz target's checks of any open body, in both codecs.
fn check_body(body: &[u8]) -> Result<(), TestCaseError> {
    let blank = body.iter().all(u8::is_ascii_whitespace);
    for codec in [Codec::Json, Codec::MsgPack] {
        match parse_open_body(codec, body) {
            Ok(None) => prop_assert!(blank),
            Ok(Some(request)) => {
                prop_assert!(!blank);
                prop_assert!(request.resume.len() <= MAX_SESSION_TOKEN_LEN);
                let again = parse_open_body(codec, &request.encode(codec));
                prop_assert_eq!(again, Ok(Some(request)));
            }
            Err(error) => {
                prop_assert!(!blank);
                prop_assert!(error.to_string().len() <= MAX_MESSAGE_LEN, "{}", error);
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn a_query_reencodes_to_itself(query in handshake_query()) {
        let text = query.to_query_string();
        prop_assert_eq!(HandshakeQuery::parse(&text), Ok(query));
        check_query(&text)?;
    }

    #[test]
    fn a_plain_query_means_what_the_model_says(pairs in vec(plain_pair(), 0..8)) {
        let text = pairs
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("&");
        let parsed = HandshakeQuery::parse(&text);
        prop_assert_eq!(parsed.clone().map_err(|_| ()), model(&pairs), "{}", text);
        check_query(&text)?;
    }

    #[test]
    fn any_query_text_holds_the_invariants(text in any::<String>()) {
        check_query(&text)?;
    }

    #[test]
    fn any_query_of_pairs_holds_the_invariants(
        pairs in vec(("(codec|token|resume|last|sid|%73id|x)", "[%+&=0-9A-Fa-z\u{e9}]{0,20}"), 0..6)
    ) {
        let text = pairs
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("&");
        check_query(&text)?;
    }

    #[test]
    fn a_resume_request_reencodes_to_itself(
        codec in codec(),
        resume in session_token(),
        last in any::<u64>(),
    ) {
        let request = ResumeRequest { resume, last };
        let body = request.encode(codec);
        prop_assert_eq!(parse_open_body(codec, &body), Ok(Some(request)));
        check_body(&body)?;
    }

    #[test]
    fn an_over_long_resume_is_refused_in_either_codec(
        codec in codec(),
        resume in "[A-Za-z0-9_-]{129,400}",
        last in any::<u64>(),
    ) {
        let len = resume.len();
        let body = ResumeRequest { resume, last }.encode(codec);
        prop_assert_eq!(
            parse_open_body(codec, &body),
            Err(HandshakeError::SessionTokenTooLong { parameter: "resume", len })
        );
    }

    #[test]
    fn a_json_body_with_other_fields_is_a_resume(
        resume in session_token(),
        last in any::<u64>(),
        other in any::<String>(),
        value in any::<Option<i64>>(),
    ) {
        let mut object = serde_json::Map::new();
        object.insert(other, serde_json::json!(value));
        object.insert("resume".into(), resume.clone().into());
        object.insert("last".into(), last.into());
        let body = serde_json::to_vec(&object).unwrap();
        prop_assert_eq!(
            parse_open_body(Codec::Json, &body),
            Ok(Some(ResumeRequest { resume, last }))
        );
    }

    #[test]
    fn any_body_holds_the_invariants(body in vec(any::<u8>(), 0..200)) {
        check_body(&body)?;
    }

    #[test]
    fn any_mutated_body_holds_the_invariants(
        codec in codec(),
        resume in session_token(),
        last in any::<u64>(),
        edits in vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let mut body = ResumeRequest { resume, last }.encode(codec).to_vec();
        for (at, byte) in edits {
            let at = at.index(body.len());
            body[at] = byte;
        }
        check_body(&body)?;
    }
}
