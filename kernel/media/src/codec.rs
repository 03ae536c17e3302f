//! The codecs the media plane negotiates (VP8 and Opus), and what it
//! reads from their payloads.

use rtc::peer_connection::configuration::media_engine::{MIME_TYPE_OPUS, MIME_TYPE_VP8};
use rtc::rtp_transceiver::rtp_sender::{RTCPFeedback, RTCRtpCodec, RTCRtpCodecParameters};

/// The video codec the media plane negotiates (VP8, payload type 96),
/// with NACK, PLI and FIR feedback.
pub fn vp8() -> RTCRtpCodecParameters {
    let fb = |typ: &str, parameter: &str| RTCPFeedback {
        typ: typ.to_owned(),
        parameter: parameter.to_owned(),
    };
    RTCRtpCodecParameters {
        rtp_codec: RTCRtpCodec {
            mime_type: MIME_TYPE_VP8.to_owned(),
            clock_rate: 90_000,
            channels: 0,
            sdp_fmtp_line: String::new(),
            rtcp_feedback: vec![fb("nack", ""), fb("nack", "pli"), fb("ccm", "fir")],
        },
        payload_type: 96,
    }
}

/// The audio codec (Opus, payload type 111, in-band FEC).
pub fn opus() -> RTCRtpCodecParameters {
    RTCRtpCodecParameters {
        rtp_codec: RTCRtpCodec {
            mime_type: MIME_TYPE_OPUS.to_owned(),
            clock_rate: 48_000,
            channels: 2,
            sdp_fmtp_line: "minptime=10;useinbandfec=1".to_owned(),
            rtcp_feedback: vec![],
        },
        payload_type: 111,
    }
}

/// The RTP header extension that carries Opus audio levels (RFC 6464).
pub(crate) const AUDIO_LEVEL_URI: &str = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";

/// Whether a VP8 RTP payload starts a keyframe (RFC 7741: the payload
/// descriptor's S bit and partition 0, then the P bit of the frame header).
pub fn vp8_keyframe(payload: &[u8]) -> bool {
    let Some(&first) = payload.first() else {
        return false;
    };
    let start = first & 0x10 != 0 && first & 0x0f == 0;
    let mut i = 1;
    if first & 0x80 != 0 {
        let Some(&x) = payload.get(i) else {
            return false;
        };
        i += 1;
        if x & 0x80 != 0 {
            // PictureID: one or two bytes.
            i += if payload.get(i).is_some_and(|b| b & 0x80 != 0) {
                2
            } else {
                1
            };
        }
        if x & 0x40 != 0 {
            i += 1;
        }
        if x & 0x30 != 0 {
            i += 1;
        }
    }
    start && payload.get(i).is_some_and(|b| b & 0x01 == 0)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn vp8_keyframes_are_recognised() {
        // S=1, PID=0, no extensions; frame header P=0: a keyframe.
        assert!(vp8_keyframe(&[0x10, 0x00, 0x9d, 0x01, 0x2a]));
        // P=1: an interframe.
        assert!(!vp8_keyframe(&[0x10, 0x01]));
        // Not the start of a partition.
        assert!(!vp8_keyframe(&[0x00, 0x00]));
        // Extended: X=1 with a two-byte PictureID, then the header.
        assert!(vp8_keyframe(&[0x90, 0x80, 0x81, 0x23, 0x00]));
        assert!(!vp8_keyframe(&[]));
    }
}
