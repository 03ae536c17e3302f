//! Routing a datagram before its address is known: the ICE username in a
//! STUN binding request names the connection it is for.

/// The local part of a STUN binding request's USERNAME ("ours:theirs").
pub(crate) fn stun_username_local(b: &[u8]) -> Option<String> {
    if b.len() < 20 || b[0] > 3 {
        return None;
    }
    let mut i = 20;
    while i + 4 <= b.len() {
        let t = u16::from_be_bytes([b[i], b[i + 1]]);
        let l = usize::from(u16::from_be_bytes([b[i + 2], b[i + 3]]));
        if t == 0x0006 {
            let s = std::str::from_utf8(b.get(i + 4..i + 4 + l)?).ok()?;
            return s.split(':').next().map(str::to_owned);
        }
        i += 4 + ((l + 3) & !3);
    }
    None
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn stun_usernames_route_before_an_address_is_known() {
        // A binding request with USERNAME "tillit1:abcd".
        let user = b"tillit1:abcd";
        let mut b = vec![0x00, 0x01, 0x00, 0x10, 0x21, 0x12, 0xa4, 0x42];
        b.extend_from_slice(&[0; 12]);
        b.extend_from_slice(&[0x00, 0x06, 0x00, user.len() as u8]);
        b.extend_from_slice(user);
        assert_eq!(stun_username_local(&b).as_deref(), Some("tillit1"));
        assert_eq!(stun_username_local(&[0x80; 40]), None, "RTP is not STUN");
    }
}
