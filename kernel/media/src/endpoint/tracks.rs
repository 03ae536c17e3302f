//! Tracks between connections: a publisher's new stream opens a room
//! track, and each other participant's receiving connection gets a sender
//! for it.

use std::time::Instant;

use rtc::media_stream::MediaStreamTrack;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind,
};
use rtc::rtp_transceiver::{RTCRtpSenderId, RTCRtpTransceiverDirection, RTCRtpTransceiverInit};
use tillit_sfu::{Input, Kind, Layer, LayerInfo, Millis, PeerId, TrackId};

use super::Endpoint;
use crate::codec::{AUDIO_LEVEL_URI, opus, vp8};
use crate::conn::{Conn, Leg, Outgoing};
use crate::error::{MediaError, sdp_error};
use crate::simulcast::{layer_info, layer_of};

impl Endpoint {
    /// A new track from `peer` enters the room; everyone else gets a
    /// sender for it (through a renegotiation).
    pub(super) fn publish(
        &mut self,
        peer: PeerId,
        track: TrackId,
        kind: Kind,
        layers: Vec<LayerInfo>,
        m: Millis,
        now: Instant,
    ) {
        tracing::debug!(peer = peer.0, track = track.0, ?kind, "published");
        self.owners.insert(track, (peer, kind));
        let _ = self.room.handle(
            m,
            Input::Publish {
                peer,
                track,
                kind,
                layers,
            },
        );
        let others: Vec<PeerId> = self
            .conns
            .keys()
            .filter(|(p, l)| *l == Leg::Publish && *p != peer)
            .map(|(p, _)| *p)
            .collect();
        for other in others {
            self.add_outgoing(other, track, peer, kind, now);
        }
    }

    /// Adds a sender for the room's `track` (published by `owner`) on
    /// `peer`'s receiving connection, creating that connection first if
    /// need be.
    pub(super) fn add_outgoing(
        &mut self,
        peer: PeerId,
        track: TrackId,
        owner: PeerId,
        kind: Kind,
        now: Instant,
    ) {
        let key = (peer, Leg::Subscribe);
        if !self.conns.contains_key(&key) {
            match Conn::new(self.local, Leg::Subscribe, now) {
                Ok(c) => {
                    self.conns.insert(key, c);
                }
                Err(e) => {
                    tracing::warn!(peer = peer.0, error = %e, "cannot create a receiving connection");
                    return;
                }
            }
        }
        let added = self.guarded(key, now, |conn| {
            if conn.outgoing.contains_key(&track) {
                return Ok(());
            }
            add_sender(conn, track, owner, kind)
        });
        if let Some(Err(e)) = added {
            tracing::warn!(peer = peer.0, track = track.0, error = %e, "cannot add a sender");
        }
    }
}

/// A stream of `conn` opened (a track, or one simulcast layer of one).
/// Returns the track to publish if the track is new.
pub(super) fn open_track(
    conn: &mut Conn,
    init: &rtc::peer_connection::event::RTCTrackEventInit,
    next_track: &mut u32,
) -> Option<(TrackId, Kind, Vec<LayerInfo>)> {
    let layer = layer_of(init.rid.as_deref());
    if let Some((track, _, _)) = conn.incoming.get(&init.track_id) {
        conn.ssrcs.insert(init.ssrc, (*track, layer));
        return None;
    }
    let mut receiver = conn.pc.rtp_receiver(init.receiver_id)?;
    let kind = match receiver.track().kind() {
        RtpCodecKind::Audio => Kind::Audio,
        _ => Kind::Video,
    };
    let rids: Vec<String> = receiver
        .track()
        .codings()
        .iter()
        .map(|c| c.rtp_coding_parameters.rid.clone())
        .filter(|r| !r.is_empty())
        .collect();
    if kind == Kind::Audio {
        conn.audio_level = receiver
            .get_parameters()
            .rtp_parameters
            .header_extensions
            .iter()
            .find(|h| h.uri == AUDIO_LEVEL_URI)
            .and_then(|h| u8::try_from(h.id).ok());
    }
    let track = TrackId(*next_track);
    *next_track += 1;
    conn.incoming
        .insert(init.track_id.clone(), (track, kind, init.receiver_id));
    conn.ssrcs.insert(init.ssrc, (track, layer));
    let layers = match kind {
        Kind::Audio => vec![],
        Kind::Video if rids.is_empty() => vec![layer_info(Layer(0), 1)],
        Kind::Video => {
            let mut ls: Vec<Layer> = rids.iter().map(|r| layer_of(Some(r))).collect();
            ls.sort();
            ls.dedup();
            let top = ls.last().map_or(0, |l| l.0);
            ls.into_iter()
                .map(|l| layer_info(l, 1 << (top - l.0)))
                .collect()
        }
    };
    Some((track, kind, layers))
}

/// Adds a sender on `conn` for the room's `track`, published by `owner`
/// (the browser groups tracks by stream id: `p<owner>`).
fn add_sender(
    conn: &mut Conn,
    track: TrackId,
    owner: PeerId,
    kind: Kind,
) -> Result<(), MediaError> {
    let ssrc = 0x5100_0000 + track.0;
    let (codec, rtc_kind) = match kind {
        Kind::Audio => (opus().rtp_codec, RtpCodecKind::Audio),
        Kind::Video => (vp8().rtp_codec, RtpCodecKind::Video),
    };
    let id = format!("t{}", track.0);
    let encodings = vec![RTCRtpEncodingParameters {
        rtp_coding_parameters: RTCRtpCodingParameters {
            ssrc: Some(ssrc),
            ..Default::default()
        },
        codec,
        ..Default::default()
    }];
    // Always a transceiver of its own, send-only: `add_track` would reuse
    // the one the participant publishes on, which its browser will not
    // receive on.
    let transceiver = conn
        .pc
        .add_transceiver_from_track(
            MediaStreamTrack::new(
                format!("p{}", owner.0),
                id.clone(),
                id,
                rtc_kind,
                encodings.clone(),
            ),
            Some(RTCRtpTransceiverInit {
                direction: RTCRtpTransceiverDirection::Sendonly,
                streams: vec![],
                send_encodings: encodings,
            }),
        )
        .map_err(sdp_error)?;
    let sender = RTCRtpSenderId::from(transceiver);
    conn.outgoing.insert(track, Outgoing { sender, ssrc, kind });
    conn.needs_offer = true;
    Ok(())
}
