//! RFC 6455 framing, the parts a client needs: parsing the hub's frames
//! (never masked) from a byte buffer, and encoding the client's own
//! (always masked). Pure functions over slices: no I/O, no allocation.

/// A continuation of a fragmented message.
pub const OP_CONTINUATION: u8 = 0x0;
/// A text frame.
pub const OP_TEXT: u8 = 0x1;
/// A binary frame.
pub const OP_BINARY: u8 = 0x2;
/// A close frame.
pub const OP_CLOSE: u8 = 0x8;
/// A ping.
pub const OP_PING: u8 = 0x9;
/// A pong.
pub const OP_PONG: u8 = 0xA;

/// The header of one complete frame at the start of a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// Whether this frame ends its message.
    pub fin: bool,
    /// The opcode (`OP_*`).
    pub opcode: u8,
    /// Bytes of header before the payload.
    pub header_len: usize,
    /// Bytes of payload.
    pub payload_len: usize,
}

impl FrameHeader {
    /// Header plus payload: where the next frame starts.
    pub fn total_len(&self) -> usize {
        self.header_len + self.payload_len
    }

    /// The payload's place in the buffer the header was parsed from.
    pub fn payload(&self) -> std::ops::Range<usize> {
        self.header_len..self.total_len()
    }
}

/// What [`parse`] found at the start of a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parsed {
    /// A whole frame, header and payload, is in the buffer.
    Frame(FrameHeader),
    /// More bytes are needed; `needed` is the whole frame's length once
    /// the header is complete (so a caller can grow its buffer).
    Incomplete {
        /// The frame's total length, when known.
        needed: Option<usize>,
    },
    /// Not a frame a server may send.
    Invalid(&'static str),
}

/// Parses the frame at the start of `buf` (sent by a server: unmasked).
pub fn parse(buf: &[u8]) -> Parsed {
    let [b0, b1, ..] = *buf else {
        return Parsed::Incomplete { needed: None };
    };
    if b0 & 0x70 != 0 {
        return Parsed::Invalid("reserved bits set (no extension was negotiated)");
    }
    if b1 & 0x80 != 0 {
        return Parsed::Invalid("a server frame is masked");
    }
    let opcode = b0 & 0x0F;
    let (header_len, payload_len) = match b1 & 0x7F {
        126 => match buf.get(2..4) {
            Some(len) => (4, usize::from(u16::from_be_bytes([len[0], len[1]]))),
            None => return Parsed::Incomplete { needed: None },
        },
        127 => match buf.get(2..10) {
            Some(len) => {
                let mut bytes = [0; 8];
                bytes.copy_from_slice(len);
                match usize::try_from(u64::from_be_bytes(bytes)) {
                    Ok(len) if len <= 1 << 40 => (10, len),
                    _ => return Parsed::Invalid("frame length out of range"),
                }
            }
            None => return Parsed::Incomplete { needed: None },
        },
        len => (2, usize::from(len)),
    };
    let header = FrameHeader {
        fin: b0 & 0x80 != 0,
        opcode,
        header_len,
        payload_len,
    };
    if opcode >= OP_CLOSE && (!header.fin || payload_len > 125) {
        return Parsed::Invalid("fragmented or oversized control frame");
    }
    if !matches!(
        opcode,
        OP_CONTINUATION | OP_TEXT | OP_BINARY | OP_CLOSE | OP_PING | OP_PONG
    ) {
        return Parsed::Invalid("unknown opcode");
    }
    if buf.len() < header.total_len() {
        return Parsed::Incomplete {
            needed: Some(header.total_len()),
        };
    }
    Parsed::Frame(header)
}

/// The status code of a close frame's payload, if it has one.
pub fn close_code(payload: &[u8]) -> Option<u16> {
    match *payload {
        [a, b, ..] => Some(u16::from_be_bytes([a, b])),
        _ => None,
    }
}

/// Appends one complete client frame (FIN set) to `out`: header, then
/// `payload` masked with `mask`.
pub fn encode(out: &mut Vec<u8>, opcode: u8, payload: &[u8], mask: [u8; 4]) {
    out.push(0x80 | opcode);
    let len = payload.len();
    if len < 126 {
        out.push(0x80 | len as u8);
    } else if let Ok(len) = u16::try_from(len) {
        out.push(0x80 | 126);
        out.extend_from_slice(&len.to_be_bytes());
    } else {
        out.push(0x80 | 127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    out.extend_from_slice(&mask);
    out.extend(payload.iter().zip(mask.iter().cycle()).map(|(b, m)| b ^ m));
}

/// Appends a close frame with `code` and no reason.
pub fn encode_close(out: &mut Vec<u8>, code: u16, mask: [u8; 4]) {
    encode(out, OP_CLOSE, &code.to_be_bytes(), mask);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server_frame(opcode: u8, fin: bool, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![if fin { 0x80 } else { 0 } | opcode];
        match payload.len() {
            len @ 0..126 => out.push(len as u8),
            len @ 126..65536 => {
                out.push(126);
                out.extend_from_slice(&(len as u16).to_be_bytes());
            }
            len => {
                out.push(127);
                out.extend_from_slice(&(len as u64).to_be_bytes());
            }
        }
        out.extend_from_slice(payload);
        out
    }

    #[test]
    fn parses_many_frames_from_one_buffer() {
        let mut buf = server_frame(OP_TEXT, true, b"{\"a\":1}");
        buf.extend(server_frame(OP_PING, true, b"p"));
        buf.extend(server_frame(OP_TEXT, true, &[b'x'; 300]));
        buf.extend(server_frame(OP_TEXT, true, &[b'y'; 70_000]));
        let mut at = 0;
        let mut seen = Vec::new();
        while let Parsed::Frame(header) = parse(&buf[at..]) {
            let payload = &buf[at..][header.payload()];
            seen.push((header.opcode, payload.len(), payload[0]));
            at += header.total_len();
        }
        assert_eq!(at, buf.len());
        assert_eq!(
            seen,
            [
                (OP_TEXT, 7, b'{'),
                (OP_PING, 1, b'p'),
                (OP_TEXT, 300, b'x'),
                (OP_TEXT, 70_000, b'y')
            ]
        );
    }

    #[test]
    fn incomplete_frames_say_what_they_need() {
        let frame = server_frame(OP_TEXT, true, &[b'x'; 300]);
        assert_eq!(parse(&frame[..1]), Parsed::Incomplete { needed: None });
        assert_eq!(parse(&frame[..3]), Parsed::Incomplete { needed: None });
        assert_eq!(
            parse(&frame[..100]),
            Parsed::Incomplete { needed: Some(304) }
        );
        assert!(matches!(parse(&frame), Parsed::Frame(h) if h.total_len() == 304));
    }

    #[test]
    fn refuses_what_a_server_may_not_send() {
        assert!(matches!(
            parse(&[0x81, 0x81, 0, 0, 0, 0, b'x']),
            Parsed::Invalid(_)
        ));
        assert!(matches!(parse(&[0xC1, 0x00]), Parsed::Invalid(_)));
        assert!(matches!(parse(&[0x09, 0x00]), Parsed::Invalid(_)));
        assert!(matches!(parse(&[0x83, 0x00]), Parsed::Invalid(_)));
    }

    #[test]
    fn fragments_and_close_codes() {
        let frame = server_frame(OP_TEXT, false, b"ab");
        assert!(matches!(parse(&frame), Parsed::Frame(h) if !h.fin && h.opcode == OP_TEXT));
        let close = server_frame(OP_CLOSE, true, &[0x0F, 0xA1, b'x']);
        let Parsed::Frame(header) = parse(&close) else {
            panic!("a close frame")
        };
        assert_eq!(close_code(&close[header.payload()]), Some(4001));
        assert_eq!(close_code(&[]), None);
    }

    #[test]
    fn encodes_masked_client_frames() {
        let mask = [1, 2, 3, 4];
        for len in [0usize, 5, 125, 126, 65_535, 65_536] {
            let payload: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let mut out = Vec::new();
            encode(&mut out, OP_TEXT, &payload, mask);
            assert_eq!(out[0], 0x81);
            assert_eq!(out[1] & 0x80, 0x80, "masked");
            // Unmask it the way a server would.
            let mut unmasked = out.clone();
            unmasked[1] &= 0x7F;
            let header_len = match len {
                0..126 => 2,
                126..65536 => 4,
                _ => 10,
            };
            unmasked.drain(header_len..header_len + 4);
            for (i, b) in unmasked[header_len..].iter_mut().enumerate() {
                *b ^= mask[i % 4];
            }
            let Parsed::Frame(header) = parse(&unmasked) else {
                panic!("parses back at {len}")
            };
            assert_eq!(&unmasked[header.payload()], &payload[..]);
        }
        let mut close = Vec::new();
        encode_close(&mut close, 1000, [0; 4]);
        assert_eq!(close, [0x88, 0x82, 0, 0, 0, 0, 0x03, 0xE8]);
    }
}
