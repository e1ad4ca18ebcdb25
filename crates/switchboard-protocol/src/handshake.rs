//! What a client says when it opens a link (PROTOCOL.md sections 1, 5 and
//! 6): the query parameters of a WebSocket upgrade or long-polling request,
//! and the body of a long-polling open (`POST P/poll`).
//!
//! ```
//! use switchboard_protocol::{Codec, HandshakeQuery, ResumeRequest, parse_open_body};
//!
//! let query = HandshakeQuery::parse("codec=msgpack&resume=abc&last=7").unwrap();
//! assert_eq!(query.codec, Codec::MsgPack);
//! assert_eq!(query.resume(), Some(("abc", 7)));
//!
//! // An empty open body asks for a new session; this one for a resume.
//! assert_eq!(parse_open_body(Codec::Json, b"").unwrap(), None);
//! let body = br#"{"resume":"abc","last":7}"#;
//! let resume = parse_open_body(Codec::Json, body).unwrap().unwrap();
//! assert_eq!(resume, ResumeRequest { resume: "abc".into(), last: 7 });
//! assert_eq!(resume.encode(Codec::Json), &body[..]);
//! ```

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::codec::Codec;
use crate::error::detail;

/// The longest `resume` or `sid` value accepted, in bytes (after
/// percent-decoding). Hubs issue session tokens of 32 characters (192
/// random bits in URL-safe base64; PROTOCOL.md asks for at least 128 bits),
/// so a longer value names no session: it is refused with
/// [`HandshakeError::SessionTokenTooLong`] before it is looked up, kept or
/// passed on. The margin leaves room for tokens of up to 768 bits.
pub const MAX_SESSION_TOKEN_LEN: usize = 128;

/// The deepest nesting of MessagePack arrays and maps in an open body, as
/// the MessagePack codec and serde_json allow (127 levels). rmp-serde's own
/// default (1,024) is deep enough to overflow a 2 MiB thread stack in an
/// unoptimized build.
const MAX_BODY_DEPTH: usize = 128;

/// Why a handshake's query or a long-polling open body was refused. The
/// hub answers `400` with its `Display` text, which quotes at most a few
/// hundred bytes of the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandshakeError {
    /// The `codec` parameter names no codec (the value, cut to 200 bytes).
    #[error("unknown codec `{0}` (expected `json` or `msgpack`)")]
    UnknownCodec(String),
    /// The `last` parameter is not a non-negative integer that fits in 64
    /// bits (the value quoted and escaped as a Rust string, then cut to 200
    /// bytes: escapes can make it several times longer than the value).
    #[error("`last` must be a non-negative integer, not {0}")]
    InvalidLast(String),
    /// A `resume` or `sid` value is longer than [`MAX_SESSION_TOKEN_LEN`].
    #[error(
        "`{parameter}` is {len} bytes long, longer than any session token (at most {max} bytes)",
        max = MAX_SESSION_TOKEN_LEN
    )]
    SessionTokenTooLong {
        /// The parameter or body field: `resume` or `sid`.
        parameter: &'static str,
        /// Its length in bytes.
        len: usize,
    },
    /// The open body is neither empty nor a resume request in the codec
    /// (the decoder's message, cut to 200 bytes).
    #[error("the body must be empty or {{\"resume\": token, \"last\": n}}: {0}")]
    InvalidOpenBody(String),
}

/// The query parameters of a WebSocket upgrade or a long-polling request
/// (PROTOCOL.md sections 1 and 6). Unknown parameters are ignored; of a
/// parameter given twice, the last counts (each is checked).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HandshakeQuery {
    /// `codec=json` (the default) or `codec=msgpack`.
    pub codec: Codec,
    /// `token=`: handed to the application's authentication hook, as given.
    pub token: Option<String>,
    /// `resume=`: the session to resume (with `last`).
    pub resume: Option<String>,
    /// `last=`: how many counted messages the resuming client received.
    pub last: Option<u64>,
    /// `sid=`: the long-polling session a `GET`, `POST` or `DELETE` is for.
    pub sid: Option<String>,
}

impl HandshakeQuery {
    /// Parses a URL query (the part after `?`, form-urlencoded; `""` when
    /// there is none). Names and values are percent-decoded, `+` is a
    /// space, and bytes that are not UTF-8 become U+FFFD.
    pub fn parse(query: &str) -> Result<Self, HandshakeError> {
        let mut parsed = HandshakeQuery::default();
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            match &*key {
                "codec" => {
                    parsed.codec = Codec::from_query_value(&value)
                        .map_err(|_| HandshakeError::UnknownCodec(detail(&value)))?;
                }
                "token" => parsed.token = Some(value.into_owned()),
                "resume" => parsed.resume = Some(session_token("resume", value.into_owned())?),
                "sid" => parsed.sid = Some(session_token("sid", value.into_owned())?),
                "last" => {
                    let last = value
                        .parse()
                        .map_err(|_| HandshakeError::InvalidLast(detail(format!("{value:?}"))))?;
                    parsed.last = Some(last);
                }
                _ => {}
            }
        }
        Ok(parsed)
    }

    /// The session to resume and the client's count, when both are given.
    pub fn resume(&self) -> Option<(&str, u64)> {
        Some((self.resume.as_deref()?, self.last?))
    }

    /// The query that [`HandshakeQuery::parse`] reads back as `self`:
    /// `codec` always, then each parameter that is set, form-urlencoded.
    pub fn to_query_string(&self) -> String {
        let mut out = form_urlencoded::Serializer::new(String::new());
        out.append_pair("codec", self.codec.as_str());
        if let Some(token) = &self.token {
            out.append_pair("token", token);
        }
        if let Some(resume) = &self.resume {
            out.append_pair("resume", resume);
        }
        if let Some(last) = self.last {
            out.append_pair("last", &last.to_string());
        }
        if let Some(sid) = &self.sid {
            out.append_pair("sid", sid);
        }
        out.finish()
    }
}

/// The body of a long-polling open that resumes a session (PROTOCOL.md
/// section 6): `{"resume": "<session>", "last": n}`, or the same map in
/// MessagePack. Other fields are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResumeRequest {
    /// The session to resume.
    pub resume: String,
    /// How many counted messages the client received.
    pub last: u64,
}

impl ResumeRequest {
    /// The open body asking for this resume, in `codec`:
    /// [`parse_open_body`] reads it back as `self`.
    pub fn encode(&self, codec: Codec) -> Bytes {
        // A struct of a string and an integer always serializes: the empty
        // fallback (a new session) is never taken.
        codec.encode_value(self).unwrap_or_default()
    }
}

/// Parses the body of `POST P/poll` without `sid`, in the codec of the
/// request's query: `None` for an empty body (only ASCII whitespace counts
/// as empty), asking for a new session, or the session to resume.
///
/// As serde reads structs, a JSON array or MessagePack array
/// `[resume, last]` is accepted too, and MessagePack bytes after the first
/// value are ignored (JSON allows only whitespace there).
pub fn parse_open_body(codec: Codec, body: &[u8]) -> Result<Option<ResumeRequest>, HandshakeError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let invalid = |e: &dyn std::fmt::Display| HandshakeError::InvalidOpenBody(detail(e));
    let request: ResumeRequest = match codec {
        Codec::Json => serde_json::from_slice(body).map_err(|e| invalid(&e))?,
        Codec::MsgPack => {
            let mut decoder = rmp_serde::Deserializer::from_read_ref(body);
            decoder.set_max_depth(MAX_BODY_DEPTH);
            ResumeRequest::deserialize(&mut decoder).map_err(|e| invalid(&e))?
        }
    };
    session_token("resume", request.resume.as_str())?;
    Ok(Some(request))
}

/// `value`, unless it is longer than any session token.
fn session_token<T: AsRef<str>>(parameter: &'static str, value: T) -> Result<T, HandshakeError> {
    let len = value.as_ref().len();
    if len > MAX_SESSION_TOKEN_LEN {
        return Err(HandshakeError::SessionTokenTooLong { parameter, len });
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(query: &str) -> Result<HandshakeQuery, HandshakeError> {
        HandshakeQuery::parse(query)
    }

    #[test]
    fn an_empty_query_is_every_default() {
        assert_eq!(parse(""), Ok(HandshakeQuery::default()));
        assert_eq!(parse("").unwrap().codec, Codec::Json);
    }

    #[test]
    fn every_parameter_is_read_and_unknown_ones_ignored() {
        let query = parse("codec=msgpack&token=a%20b&resume=s1&last=42&sid=p-_9&x=1&flag").unwrap();
        assert_eq!(
            query,
            HandshakeQuery {
                codec: Codec::MsgPack,
                token: Some("a b".into()),
                resume: Some("s1".into()),
                last: Some(42),
                sid: Some("p-_9".into()),
            }
        );
        assert_eq!(query.resume(), Some(("s1", 42)));
    }

    #[test]
    fn names_and_values_are_form_decoded_and_the_last_one_counts() {
        let query = parse("%63odec=msgpack&token=a+b%2B&codec=json&last=1&last=2").unwrap();
        assert_eq!(query.codec, Codec::Json);
        assert_eq!(query.token.as_deref(), Some("a b+"));
        assert_eq!(query.last, Some(2));
        assert_eq!(
            parse("token=%FF").unwrap().token.as_deref(),
            Some("\u{fffd}")
        );
    }

    #[test]
    fn resume_needs_both_parameters() {
        assert_eq!(parse("resume=s").unwrap().resume(), None);
        assert_eq!(parse("last=3").unwrap().resume(), None);
    }

    #[test]
    fn a_bad_codec_is_refused_with_its_value() {
        let err = parse("codec=xml").unwrap_err();
        assert_eq!(err, HandshakeError::UnknownCodec("xml".into()));
        assert_eq!(
            err.to_string(),
            "unknown codec `xml` (expected `json` or `msgpack`)"
        );
        // Checked even when a later `codec` is good.
        assert!(parse("codec=JSON&codec=json").is_err());
    }

    #[test]
    fn last_is_a_u64_as_rust_reads_one() {
        assert_eq!(parse("last=0").unwrap().last, Some(0));
        assert_eq!(parse("last=%2B7").unwrap().last, Some(7));
        assert_eq!(parse("last=007").unwrap().last, Some(7));
        assert_eq!(
            parse("last=18446744073709551615").unwrap().last,
            Some(u64::MAX)
        );
        for bad in ["-1", "1.5", "", "18446744073709551616", "x", " 1"] {
            let query = format!("last={}", bad.replace(' ', "%20"));
            assert_eq!(
                parse(&query),
                Err(HandshakeError::InvalidLast(format!("{bad:?}"))),
                "{query}"
            );
        }
        assert_eq!(
            parse("last=-1").unwrap_err().to_string(),
            "`last` must be a non-negative integer, not \"-1\""
        );
    }

    #[test]
    fn quoted_input_is_cut() {
        let long = "9".repeat(10_000);
        let message = parse(&format!("last=x{long}")).unwrap_err().to_string();
        assert!(message.len() < 300, "{} bytes", message.len());
        let message = parse(&format!("codec={long}")).unwrap_err().to_string();
        assert!(message.len() < 300, "{} bytes", message.len());
        // Found by the `handshake_query` fuzz target: escaping control
        // characters made a 200-byte value 1,200 bytes long.
        let escaped = "\x1b".repeat(200);
        let message = parse(&format!("last={escaped}")).unwrap_err().to_string();
        assert!(message.len() < 300, "{} bytes", message.len());
        assert!(message.starts_with(r#"`last` must be a non-negative integer, not "\u{1b}"#));
    }

    #[test]
    fn session_tokens_longer_than_any_issued_are_refused() {
        let longest = "A".repeat(MAX_SESSION_TOKEN_LEN);
        let query = parse(&format!("resume={longest}&sid={longest}&last=0")).unwrap();
        assert_eq!(query.resume(), Some((longest.as_str(), 0)));
        assert_eq!(query.sid.as_deref(), Some(longest.as_str()));
        for parameter in ["resume", "sid"] {
            let err = parse(&format!("{parameter}={longest}A")).unwrap_err();
            assert_eq!(
                err,
                HandshakeError::SessionTokenTooLong {
                    parameter,
                    len: MAX_SESSION_TOKEN_LEN + 1
                }
            );
            assert_eq!(
                err.to_string(),
                format!(
                    "`{parameter}` is 129 bytes long, longer than any session token (at most 128 bytes)"
                )
            );
        }
        // Measured after decoding: `%41` is one byte.
        assert!(parse(&format!("sid={}", "%41".repeat(MAX_SESSION_TOKEN_LEN))).is_ok());
        // The authentication token is the application's: any length.
        assert!(parse(&format!("token={}", "t".repeat(10_000))).is_ok());
    }

    #[test]
    fn a_query_reencodes_to_itself() {
        let query = HandshakeQuery {
            codec: Codec::MsgPack,
            token: Some("a b&c=d+é%".into()),
            resume: Some("\u{fffd}".into()),
            last: Some(u64::MAX),
            sid: Some(String::new()),
        };
        assert_eq!(parse(&query.to_query_string()), Ok(query));
        let default = HandshakeQuery::default();
        assert_eq!(default.to_query_string(), "codec=json");
        assert_eq!(parse(&default.to_query_string()), Ok(default));
    }

    #[test]
    fn an_empty_or_blank_body_opens_a_new_session() {
        for codec in [Codec::Json, Codec::MsgPack] {
            for body in [&b""[..], b" ", b"\r\n\t \x0c"] {
                assert_eq!(parse_open_body(codec, body), Ok(None), "{codec} {body:?}");
            }
        }
    }

    #[test]
    fn a_resume_body_is_read_in_either_codec() {
        let want = ResumeRequest {
            resume: "s1".into(),
            last: 3,
        };
        for body in [
            &br#"{"resume":"s1","last":3}"#[..],
            br#" {"last":3,"other":[1,{"x":null}],"resume":"s1"} "#,
            br#"["s1",3]"#,
        ] {
            assert_eq!(parse_open_body(Codec::Json, body), Ok(Some(want.clone())));
        }
        let packed = b"\x82\xa6resume\xa2s1\xa4last\x03";
        assert_eq!(
            parse_open_body(Codec::MsgPack, packed),
            Ok(Some(want.clone()))
        );
        assert_eq!(want.encode(Codec::MsgPack), &packed[..]);
        assert_eq!(
            parse_open_body(Codec::MsgPack, b"\x92\xa2s1\x03"),
            Ok(Some(want.clone()))
        );
        for codec in [Codec::Json, Codec::MsgPack] {
            assert_eq!(
                parse_open_body(codec, &want.encode(codec)),
                Ok(Some(want.clone()))
            );
        }
    }

    #[test]
    fn a_bad_body_is_refused_with_the_decoders_reason() {
        for body in [
            &br#"{"resume":"s1"}"#[..],
            br#"{"resume":"s1","last":-1}"#,
            br#"{"resume":1,"last":1}"#,
            br#"{"resume":"s1","last":1} x"#,
            b"null",
            b"[",
        ] {
            let err = parse_open_body(Codec::Json, body).unwrap_err();
            assert!(matches!(err, HandshakeError::InvalidOpenBody(_)), "{err:?}");
        }
        assert_eq!(
            parse_open_body(Codec::Json, br#"{"resume":"s1"}"#)
                .unwrap_err()
                .to_string(),
            "the body must be empty or {\"resume\": token, \"last\": n}: missing field `last` at line 1 column 15"
        );
        // A JSON body with the MessagePack codec, and the other way round.
        assert!(parse_open_body(Codec::MsgPack, br#"{"resume":"s1","last":1}"#).is_err());
        assert!(parse_open_body(Codec::Json, b"\x82\xa6resume\xa2s1\xa4last\x03").is_err());
        let long = format!(r#"{{"resume":"s1","last":"{}"}}"#, "9".repeat(10_000));
        let message = parse_open_body(Codec::Json, long.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(message.len() < 300, "{} bytes", message.len());
    }

    #[test]
    fn an_over_long_resume_in_the_body_is_refused() {
        let longest = "A".repeat(MAX_SESSION_TOKEN_LEN);
        let ok = ResumeRequest {
            resume: longest.clone(),
            last: 0,
        };
        let too_long = ResumeRequest {
            resume: format!("{longest}A"),
            last: 0,
        };
        for codec in [Codec::Json, Codec::MsgPack] {
            assert_eq!(
                parse_open_body(codec, &ok.encode(codec)),
                Ok(Some(ok.clone()))
            );
            assert_eq!(
                parse_open_body(codec, &too_long.encode(codec)),
                Err(HandshakeError::SessionTokenTooLong {
                    parameter: "resume",
                    len: MAX_SESSION_TOKEN_LEN + 1
                })
            );
        }
    }

    /// `{"resume":"x","last":1,"j":[[[…nil…]]]}` with `depth` nested arrays.
    fn deep_msgpack_body(depth: usize) -> Vec<u8> {
        let mut body = b"\x83\xa6resume\xa1x\xa4last\x01\xa1j".to_vec();
        body.extend(std::iter::repeat_n(0x91, depth));
        body.push(0xc0);
        body
    }

    /// Regression: rmp-serde skipped an unknown field's value recursively,
    /// up to 1,024 levels, which overflowed a 2 MiB stack (a tokio worker's)
    /// in a debug build: a 1 KB `POST P/poll?codec=msgpack` aborted the hub.
    #[test]
    fn deep_msgpack_bodies_are_refused_within_a_worker_stack() {
        let outcome = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(|| {
                let shallow = parse_open_body(Codec::MsgPack, &deep_msgpack_body(100));
                let deep = parse_open_body(Codec::MsgPack, &deep_msgpack_body(1_000));
                (shallow, deep)
            })
            .unwrap()
            .join()
            .unwrap();
        assert!(matches!(outcome.0, Ok(Some(_))), "{:?}", outcome.0);
        assert_eq!(
            outcome.1,
            Err(HandshakeError::InvalidOpenBody(
                "depth limit exceeded".into()
            ))
        );
        // serde_json skips an unknown field's value without recursing: any
        // depth fits the same stack, and is accepted as before.
        let deep_json = format!(
            r#"{{"resume":"x","last":1,"j":{}{}}}"#,
            "[".repeat(10_000),
            "]".repeat(10_000)
        );
        let json = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || parse_open_body(Codec::Json, deep_json.as_bytes()))
            .unwrap()
            .join()
            .unwrap();
        assert!(matches!(json, Ok(Some(_))), "{json:?}");
    }
}
