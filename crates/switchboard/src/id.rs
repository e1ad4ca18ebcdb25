//! Random identifiers: public socket ids and secret session tokens.

use rand::RngCore;

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Encodes bytes as unpadded URL-safe base64 (`[A-Za-z0-9_-]`).
fn base64url(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let chars = chunk.len() + 1;
        for i in 0..chars {
            let index = (n >> (18 - 6 * i)) & 63;
            out.push(char::from(ALPHABET[index as usize]));
        }
    }
    out
}

/// A new public socket id: 96 random bits, 16 URL-safe characters.
///
/// Random rather than sequential so ids stay unique across every node of a
/// cluster without coordination.
pub(crate) fn new_socket_id() -> String {
    let mut bytes = [0u8; 12];
    rand::rng().fill_bytes(&mut bytes);
    base64url(&bytes)
}

/// A new secret session token: 192 random bits from a CSPRNG, 32 URL-safe
/// characters.
pub(crate) fn new_session_token() -> String {
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    base64url(&bytes)
}

/// Whether `token` can be a session token of [`new_session_token`]: 32
/// URL-safe characters (anything else is not asked of the cluster).
pub(crate) fn is_session_token(token: &str) -> bool {
    token.len() == 32 && token.bytes().all(|b| ALPHABET.contains(&b))
}

/// A new history epoch (PROTOCOL.md section 11): 48 random bits, 8
/// URL-safe characters; a room's history gets one when it begins.
pub(crate) fn new_epoch() -> String {
    let mut bytes = [0u8; 6];
    rand::rng().fill_bytes(&mut bytes);
    base64url(&bytes)
}

/// The id of one operation of a cluster (PROTOCOL.md section 11): the
/// node that made it and its number there. The frames an operation queues
/// carry it, so that a session moving to another node while the operation
/// reaches both can tell it was delivered already.
///
/// A message of a history room is named by its room, epoch and offset
/// instead: every node numbers it the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct OpId {
    /// The making node's random tag (or, for a kept message, a hash of its
    /// room and epoch).
    pub node: u64,
    /// The operation's number on that node (or the kept message's offset).
    pub seq: u64,
}

impl OpId {
    /// The id of a history room's message: its room, epoch and offset.
    pub(crate) fn kept(room: &str, epoch: &str, offset: u64) -> Self {
        // FNV-1a, fixed for good: every node, of any build, must name the
        // message alike.
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in room.bytes().chain([0]).chain(epoch.bytes()) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
        Self {
            node: hash,
            seq: offset,
        }
    }
}

/// A node's random tag for the ids of its operations ([`OpId::node`]).
pub(crate) fn new_node_tag() -> u64 {
    rand::rng().next_u64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_matches_known_vectors() {
        assert_eq!(base64url(b""), "");
        assert_eq!(base64url(b"f"), "Zg");
        assert_eq!(base64url(b"fo"), "Zm8");
        assert_eq!(base64url(b"foo"), "Zm9v");
        assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
    }

    #[test]
    fn tokens_are_url_safe_and_distinct() {
        let a = new_session_token();
        let b = new_session_token();
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
        assert_eq!(new_socket_id().len(), 16);
    }
}
