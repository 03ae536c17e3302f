//! What every peer connection is built with: codecs, header extensions
//! and the interceptor chain, including our `DeliverRtcp`, which lets
//! keyframe requests through and keeps the downlink estimate.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use rtc::interceptor::{
    Attribute, CongestionControlBuilder, Gcc, Interceptor, Registry, Slot, StreamInfo,
    TaggedPacket, TwccSenderBuilder,
};
use rtc::peer_connection::configuration::interceptor_registry::register_default_interceptors;
use rtc::peer_connection::configuration::media_engine::MediaEngine;
use rtc::rtp_transceiver::rtp_sender::{RTCRtpHeaderExtensionCapability, RtpCodecKind};
use rtc::sansio::Protocol;

use crate::codec::{AUDIO_LEVEL_URI, opus, vp8};
use crate::conn::Leg;
use crate::error::MediaError;

/// Codecs, header extensions and the interceptors (NACK both ways,
/// receiver reports, simulcast stream ids, TWCC feedback on what arrives)
/// every connection uses. On a receiving connection, what we send is
/// numbered transport-wide and the browser's TWCC feedback drives a GCC
/// estimate of its downlink, which `estimate` receives.
pub(crate) fn engine(leg: Leg, estimate: &Estimate) -> Result<(MediaEngine, Registry), MediaError> {
    let e = |e: rtc::shared::error::Error| MediaError::Sdp(e.to_string());
    let mut m = MediaEngine::default();
    m.register_codec(vp8(), RtpCodecKind::Video).map_err(e)?;
    m.register_codec(opus(), RtpCodecKind::Audio).map_err(e)?;
    m.register_header_extension(
        RTCRtpHeaderExtensionCapability {
            uri: AUDIO_LEVEL_URI.to_owned(),
        },
        RtpCodecKind::Audio,
        None,
    )
    .map_err(e)?;
    let deliver = DeliverRtcp {
        estimate: estimate.clone(),
        ..DeliverRtcp::default()
    };
    let registry = Registry::new().with(Slot::from(14_000), deliver);
    let mut registry = register_default_interceptors(registry, &mut m).map_err(e)?;
    if leg == Leg::Subscribe {
        // No pacer: forwarding stays immediate (the room keeps to the
        // estimate by choosing layers, not by queueing).
        registry = registry
            .with(Slot::TwccSender, TwccSenderBuilder::new().build())
            .with(
                Slot::CongestionControl,
                CongestionControlBuilder::new(Gcc::default()).build(),
            );
    }
    Ok((m, registry))
}

/// The latest downlink estimate of a receiving connection, bits per
/// second (0: none yet), written by its interceptor chain.
pub(crate) type Estimate = Arc<AtomicU64>;

/// Lets subscribers' RTCP (keyframe requests) through to the endpoint;
/// the default interceptors have acted on it by then. Keeps the
/// congestion controller's estimate, which rides on the feedback packet
/// that produced it.
#[derive(Default)]
struct DeliverRtcp {
    estimate: Estimate,
    read: VecDeque<TaggedPacket>,
    write: VecDeque<TaggedPacket>,
}

impl Protocol<TaggedPacket, TaggedPacket, ()> for DeliverRtcp {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = rtc::shared::error::Error;
    type Time = Instant;

    fn handle_read(&mut self, mut msg: TaggedPacket) -> Result<(), Self::Error> {
        if matches!(msg.message.packet, rtc::interceptor::Packet::Rtcp(_)) {
            for a in &msg.message.attributes {
                if let Attribute::TargetBitrateChanged { bits_per_second } = a {
                    self.estimate
                        .store(*bits_per_second as u64, Ordering::Relaxed);
                }
            }
            msg.message.add(Attribute::DeliverToApplication);
        }
        self.read.push_back(msg);
        Ok(())
    }
    fn poll_read(&mut self) -> Option<TaggedPacket> {
        self.read.pop_front()
    }
    fn handle_write(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        self.write.push_back(msg);
        Ok(())
    }
    fn poll_write(&mut self) -> Option<TaggedPacket> {
        self.write.pop_front()
    }
    fn handle_timeout(&mut self, _now: Instant) -> Result<(), Self::Error> {
        Ok(())
    }
    fn poll_timeout(&mut self) -> Option<Instant> {
        None
    }
}

impl Interceptor for DeliverRtcp {
    fn bind_local_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_local_stream(&mut self, _info: &StreamInfo) {}
    fn bind_remote_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_remote_stream(&mut self, _info: &StreamInfo) {}
}
