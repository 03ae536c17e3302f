//! The signalling protocol between a browser and the kernel, over the
//! session's WebSocket: JSON messages, one per frame, and a per-connection
//! state machine that refuses what comes out of order.
//!
//! A connection goes `Connected` → (`join`) → `Joined` → (`offer`) →
//! `Negotiating` → (the kernel's `answer`) → `Live`. While live, either side
//! may renegotiate (the kernel sends an `offer` when tracks come or go; the
//! browser answers), the browser sends ICE candidates and mute changes, and
//! `leave` ends it. The kernel ends it with `ended` (the visit is over),
//! `replaced` (the person opened the room again elsewhere) or
//! `session-ended`, then a close frame whose code says the same
//! ([`ServerMessage::close_code`]); after those the browser does not rejoin. Anything malformed or out of order gets an `error`
//! message with a code and leaves the state as it was: it never closes the
//! room or the process.

use serde::{Deserialize, Serialize};

/// The largest message accepted, in bytes (an SDP with simulcast is ~10 kB).
pub const MAX_MESSAGE: usize = 64 * 1024;

/// What a browser sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum ClientMessage {
    /// Enter the visit's media (the session and the visit id come from the
    /// WebSocket's URL and cookie, never from the message).
    Join {},
    Offer {
        sdp: String,
    },
    Answer {
        sdp: String,
    },
    Candidate {
        candidate: String,
    },
    Mute {
        kind: MediaKind,
        muted: bool,
    },
    /// The size the browser shows a participant's video at, for layer choice.
    Show {
        peer: u32,
        width: u32,
        height: u32,
    },
    Leave {},
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaKind {
    Audio,
    Video,
}

/// What the kernel sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum ServerMessage {
    Joined {
        peer: u32,
    },
    Answer {
        sdp: String,
    },
    Offer {
        sdp: String,
    },
    PeerJoined {
        peer: u32,
        name: String,
        clinician: bool,
    },
    PeerLeft {
        peer: u32,
    },
    Muted {
        peer: u32,
        kind: MediaKind,
        muted: bool,
    },
    Speaker {
        peer: Option<u32>,
    },
    Quality {
        peer: u32,
        poor: bool,
    },
    /// Stop (`active` false) or resume sending the simulcast layer `rid`:
    /// nobody in the room watches it at that size.
    Layer {
        rid: String,
        active: bool,
    },
    /// A plugin's live message for its panel in this room (`message` is
    /// the plugin's JSON text).
    Plugin {
        plugin: String,
        message: String,
    },
    /// Whether media flows between this browser and the SFU.
    Media {
        flowing: bool,
    },
    /// The visit was ended by a clinician: leave, no re-entry.
    Ended,
    /// The same person opened the room again (a reload, another tab or
    /// device): this connection is closed; do not rejoin, or the two
    /// would take turns.
    Replaced,
    /// The session ended (logged out, expired, or the person may no longer
    /// log in): this connection is closed; log in again to return.
    SessionEnded,
    /// The media plane dropped this connection: join again.
    Rejoin,
    Error {
        code: ErrorCode,
        message: String,
    },
}

impl ServerMessage {
    /// The WebSocket close code (private range) and reason the kernel
    /// closes a connection with after this message, for the messages that
    /// end one: a client that missed the message still learns why.
    pub fn close_code(&self) -> Option<(u16, &'static str)> {
        match self {
            ServerMessage::Ended => Some((4000, "the visit has ended")),
            ServerMessage::Replaced => Some((4001, "replaced by a newer connection")),
            ServerMessage::SessionEnded => Some((4002, "the session has ended")),
            _ => None,
        }
    }
}

/// Why a message was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorCode {
    /// Not JSON, not a known message, or a field of the wrong type.
    Malformed,
    TooLarge,
    /// A valid message at the wrong time (an offer before `join`, an
    /// answer when no offer is pending, anything after `leave`).
    OutOfOrder,
    /// The room has no place left.
    Full,
    /// The media plane could not use the session description.
    Refused,
}

/// Where a connection is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Connected,
    Joined,
    /// The browser's offer is with the media plane; an answer will follow.
    Negotiating,
    Live,
    /// The kernel sent an offer and waits for the browser's answer.
    Renegotiating,
    Left,
}

/// One WebSocket connection's protocol state.
#[derive(Debug, Clone)]
pub struct Connection {
    state: State,
}

impl Default for Connection {
    fn default() -> Self {
        Self {
            state: State::Connected,
        }
    }
}

/// A refused message: the reply to send, the state unchanged.
pub type Refusal = ServerMessage;

fn refuse(code: ErrorCode, message: impl Into<String>) -> Refusal {
    ServerMessage::Error {
        code,
        message: message.into(),
    }
}

impl Connection {
    pub fn state(&self) -> State {
        self.state
    }

    /// Parses and checks one frame from the browser. On success the message
    /// is for the kernel to act on and the state has moved; on refusal the
    /// error is for the browser and nothing changed.
    pub fn receive(&mut self, frame: &str) -> Result<ClientMessage, Refusal> {
        if frame.len() > MAX_MESSAGE {
            return Err(refuse(
                ErrorCode::TooLarge,
                format!("messages are at most {MAX_MESSAGE} bytes"),
            ));
        }
        let msg: ClientMessage = serde_json::from_str(frame)
            .map_err(|e| refuse(ErrorCode::Malformed, format!("not a valid message: {e}")))?;
        use ClientMessage as C;
        use State as S;
        let next = match (self.state, &msg) {
            (S::Left, _) => return Err(refuse(ErrorCode::OutOfOrder, "the connection has left")),
            (S::Connected, C::Join {}) => S::Joined,
            (S::Connected, _) => return Err(refuse(ErrorCode::OutOfOrder, "join first")),
            (_, C::Join {}) => return Err(refuse(ErrorCode::OutOfOrder, "already joined")),
            (S::Joined, C::Offer { .. }) => S::Negotiating,
            (S::Live, C::Offer { .. }) => S::Negotiating,
            (S::Renegotiating, C::Answer { .. }) => S::Live,
            (_, C::Answer { .. }) => {
                return Err(refuse(
                    ErrorCode::OutOfOrder,
                    "no offer is waiting for an answer",
                ));
            }
            (S::Negotiating | S::Renegotiating, C::Offer { .. }) => {
                return Err(refuse(
                    ErrorCode::OutOfOrder,
                    "a negotiation is already under way",
                ));
            }
            (S::Joined, C::Mute { .. } | C::Show { .. }) => {
                return Err(refuse(ErrorCode::OutOfOrder, "send an offer first"));
            }
            (_, C::Leave {}) => S::Left,
            (s, C::Candidate { .. } | C::Mute { .. } | C::Show { .. }) => s,
        };
        if let C::Offer { sdp } | C::Answer { sdp } = &msg
            && !sdp.starts_with("v=0")
        {
            return Err(refuse(
                ErrorCode::Malformed,
                "sdp: expected a session description (v=0 …)",
            ));
        }
        self.state = next;
        Ok(msg)
    }

    /// Records what the kernel sends, moving the state where it must.
    /// The media plane refused the browser's offer: back to where the
    /// connection was, so the browser may try again.
    pub fn negotiation_failed(&mut self, was_live: bool) {
        if self.state == State::Negotiating {
            self.state = if was_live { State::Live } else { State::Joined };
        }
    }

    pub fn send(&mut self, msg: &ServerMessage) {
        match (self.state, msg) {
            (State::Negotiating, ServerMessage::Answer { .. }) => self.state = State::Live,
            (State::Live, ServerMessage::Offer { .. }) => self.state = State::Renegotiating,
            (
                _,
                ServerMessage::Ended
                | ServerMessage::Replaced
                | ServerMessage::SessionEnded
                | ServerMessage::Rejoin,
            ) => self.state = State::Left,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SDP: &str = r#"{"type":"offer","sdp":"v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n"}"#;

    #[test]
    fn a_connection_joins_negotiates_and_goes_live() {
        let mut c = Connection::default();
        assert_eq!(c.receive(r#"{"type":"join"}"#), Ok(ClientMessage::Join {}));
        assert!(matches!(c.receive(SDP), Ok(ClientMessage::Offer { .. })));
        assert_eq!(c.state(), State::Negotiating);
        c.send(&ServerMessage::Answer { sdp: "v=0".into() });
        assert_eq!(c.state(), State::Live);
        c.receive(r#"{"type":"candidate","candidate":"candidate:1 1 udp 1 1.2.3.4 5 typ host"}"#)
            .unwrap();
        c.receive(r#"{"type":"mute","kind":"audio","muted":true}"#)
            .unwrap();
        // The kernel renegotiates; the browser answers.
        c.send(&ServerMessage::Offer { sdp: "v=0".into() });
        assert_eq!(c.state(), State::Renegotiating);
        c.receive(r#"{"type":"answer","sdp":"v=0\r\n"}"#).unwrap();
        assert_eq!(c.state(), State::Live);
        c.receive(r#"{"type":"leave"}"#).unwrap();
        assert_eq!(c.state(), State::Left);
    }

    #[test]
    fn out_of_order_and_malformed_messages_are_refused_and_change_nothing() {
        let mut c = Connection::default();
        let code = |r: Result<ClientMessage, Refusal>| match r {
            Err(ServerMessage::Error { code, .. }) => code,
            other => panic!("expected a refusal, got {other:?}"),
        };
        assert_eq!(code(c.receive(SDP)), ErrorCode::OutOfOrder);
        assert_eq!(c.state(), State::Connected);
        for bad in [
            "",
            "null",
            "{",
            r#"{"type":"dance"}"#,
            r#"{"type":"offer"}"#,
            r#"{"type":"offer","sdp":5}"#,
            r#"{"type":"join","room":"someone-elses"}"#,
        ] {
            assert_eq!(code(c.receive(bad)), ErrorCode::Malformed, "{bad}");
            assert_eq!(c.state(), State::Connected);
        }
        c.receive(r#"{"type":"join"}"#).unwrap();
        assert_eq!(code(c.receive(r#"{"type":"join"}"#)), ErrorCode::OutOfOrder);
        assert_eq!(
            code(c.receive(r#"{"type":"answer","sdp":"v=0"}"#)),
            ErrorCode::OutOfOrder
        );
        assert_eq!(
            code(c.receive(r#"{"type":"offer","sdp":"hello"}"#)),
            ErrorCode::Malformed
        );
        assert_eq!(c.state(), State::Joined);
        let huge = format!(
            r#"{{"type":"offer","sdp":"v=0{}"}}"#,
            "a".repeat(MAX_MESSAGE)
        );
        assert_eq!(code(c.receive(&huge)), ErrorCode::TooLarge);
        c.receive(SDP).unwrap();
        assert_eq!(
            code(c.receive(SDP)),
            ErrorCode::OutOfOrder,
            "one negotiation at a time"
        );
        c.receive(r#"{"type":"leave"}"#).unwrap();
        assert_eq!(code(c.receive(r#"{"type":"join"}"#)), ErrorCode::OutOfOrder);
    }

    #[test]
    fn no_input_makes_it_panic() {
        // Every prefix of valid messages, and bytes of every value, in
        // every state: each is either taken or refused.
        let frames = [
            r#"{"type":"join"}"#,
            SDP,
            r#"{"type":"answer","sdp":"v=0"}"#,
            r#"{"type":"candidate","candidate":"x"}"#,
            r#"{"type":"mute","kind":"video","muted":false}"#,
            r#"{"type":"show","peer":2,"width":640,"height":360}"#,
            r#"{"type":"leave"}"#,
        ];
        for start in 0..frames.len() {
            let mut c = Connection::default();
            for f in frames.iter().cycle().skip(start).take(30) {
                for cut in 0..f.len() {
                    if f.is_char_boundary(cut) {
                        let _ = c.receive(&f[..cut]);
                    }
                }
                let _ = c.receive(f);
                c.send(&ServerMessage::Answer { sdp: "v=0".into() });
            }
        }
        let mut c = Connection::default();
        for b in 0u8..=255 {
            let _ = c.receive(&String::from_utf8_lossy(&[b, b'{', b]));
        }
    }

    #[test]
    fn server_messages_are_json_with_a_type() {
        let m = ServerMessage::PeerJoined {
            peer: 3,
            name: "K. L.".into(),
            clinician: false,
        };
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            r#"{"type":"peer-joined","peer":3,"name":"K. L.","clinician":false}"#
        );
    }

    /// The page stops for good on these three (`room.js`), and a client
    /// that reads only the close frame learns the same.
    #[test]
    fn the_messages_that_end_a_connection_come_with_their_close_codes() {
        for (m, json, code) in [
            (ServerMessage::Ended, r#"{"type":"ended"}"#, 4000),
            (ServerMessage::Replaced, r#"{"type":"replaced"}"#, 4001),
            (
                ServerMessage::SessionEnded,
                r#"{"type":"session-ended"}"#,
                4002,
            ),
        ] {
            assert_eq!(serde_json::to_string(&m).unwrap(), json);
            assert_eq!(m.close_code().map(|c| c.0), Some(code));
            let mut c = Connection::default();
            c.receive(r#"{"type":"join"}"#).unwrap();
            c.send(&m);
            assert_eq!(c.state(), State::Left, "{json}");
        }
        assert_eq!(ServerMessage::Rejoin.close_code(), None, "the page rejoins");
    }
}
