//! RTP sequence numbers: 16 bits that wrap.

/// Whether `a` comes after `b`, across the wrap (RFC 3550 style).
pub fn seq_newer(a: u16, b: u16) -> bool {
    a != b && a.wrapping_sub(b) < 0x8000
}

/// Turns wrapping 16-bit sequence numbers into a growing count.
#[derive(Debug, Default)]
pub struct SeqUnwrapper {
    last: Option<i64>,
}

impl SeqUnwrapper {
    pub fn unwrap(&mut self, seq: u16) -> i64 {
        let n = match self.last {
            None => i64::from(seq),
            Some(last) => {
                let delta = i64::from(seq.wrapping_sub(last as u16) as i16);
                last + delta
            }
        };
        if self.last.is_none_or(|l| n > l) {
            self.last = Some(n);
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_numbers_unwrap_across_the_wrap_and_reordering() {
        let mut u = SeqUnwrapper::default();
        assert_eq!(u.unwrap(65_534), 65_534);
        assert_eq!(u.unwrap(65_535), 65_535);
        assert_eq!(u.unwrap(1), 65_537);
        assert_eq!(u.unwrap(0), 65_536, "a late packet keeps its place");
        assert_eq!(u.unwrap(2), 65_538);
        assert!(seq_newer(1, 65_535) && !seq_newer(65_535, 1) && !seq_newer(5, 5));
    }
}
