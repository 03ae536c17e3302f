//! The room core over a simulated network: publishers and subscribers
//! behind links with loss, delay and reordering, all on one simulated clock
//! and a seeded random generator, so every run is the same.

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};

use tillit_sfu::{
    Input, Kind, Layer, LayerInfo, Millis, Output, Packet, PeerId, Room, RoomError, Settings,
    TrackId,
};

/// A small deterministic generator (xorshift), so runs repeat exactly.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn chance(&mut self, p: f64) -> bool {
        (self.next() % 1_000_000) as f64 / 1_000_000.0 < p
    }
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }
}

/// A one-way link: delay with jitter (so packets reorder), and loss.
struct Link<T> {
    loss: f64,
    delay: u64,
    jitter: u64,
    queue: Vec<(u64, u64, T)>,
    order: u64,
}

impl<T> Link<T> {
    fn new(loss: f64, delay: u64, jitter: u64) -> Self {
        Self {
            loss,
            delay,
            jitter,
            queue: Vec::new(),
            order: 0,
        }
    }
    fn send(&mut self, now: u64, item: T, rng: &mut Rng) {
        if rng.chance(self.loss) {
            return;
        }
        let at = now + self.delay + rng.below(self.jitter + 1);
        self.order += 1;
        self.queue.push((at, self.order, item));
    }
    fn due(&mut self, now: u64) -> Vec<T> {
        self.queue.sort_by_key(|(at, o, _)| (*at, *o));
        let n = self.queue.iter().take_while(|(at, ..)| *at <= now).count();
        self.queue.drain(..n).map(|(_, _, t)| t).collect()
    }
}

/// What a packet carries in these tests: where it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Tag {
    track: u32,
    layer: u8,
    seq: u16,
}

const VIDEO: TrackId = TrackId(1);
const AUDIO: TrackId = TrackId(2);

fn layers() -> Vec<LayerInfo> {
    vec![
        LayerInfo {
            layer: Layer(0),
            width: 320,
            height: 180,
            bitrate: 150_000,
        },
        LayerInfo {
            layer: Layer(1),
            width: 640,
            height: 360,
            bitrate: 500_000,
        },
        LayerInfo {
            layer: Layer(2),
            width: 1280,
            height: 720,
            bitrate: 1_500_000,
        },
    ]
}

/// A publisher: 30 frames a second in three layers (a keyframe every 2 s or
/// when asked), audio every 20 ms; answers NACKs from what it sent.
struct Publisher {
    seq: BTreeMap<u8, u16>,
    sent: BTreeMap<(u8, u16), Packet<Tag>>,
    keyframe_wanted: BTreeSet<u8>,
    active: BTreeMap<u8, bool>,
    audio_seq: u16,
    audio_level: u8,
    frame: u64,
}

impl Publisher {
    fn new() -> Self {
        Self {
            seq: BTreeMap::new(),
            sent: BTreeMap::new(),
            keyframe_wanted: BTreeSet::new(),
            active: (0..3).map(|l| (l, true)).collect(),
            audio_seq: 0,
            audio_level: 90,
            frame: 0,
        }
    }

    /// The packets to send at `now` (ms).
    fn produce(&mut self, now: u64, with_video: bool) -> Vec<(TrackId, Layer, Packet<Tag>)> {
        let mut out = Vec::new();
        if now.is_multiple_of(20) {
            self.audio_seq = self.audio_seq.wrapping_add(1);
            out.push((
                AUDIO,
                Layer(0),
                Packet {
                    seq: self.audio_seq,
                    timestamp: (now * 48) as u32,
                    marker: false,
                    keyframe: false,
                    audio_level: Some(self.audio_level),
                    size: 80,
                    payload: Tag {
                        track: AUDIO.0,
                        layer: 0,
                        seq: self.audio_seq,
                    },
                },
            ));
        }
        if with_video && now.is_multiple_of(33) {
            self.frame += 1;
            for layer in 0..3u8 {
                if !self.active[&layer] {
                    continue;
                }
                let keyframe = self.frame % 60 == 1 || self.keyframe_wanted.remove(&layer);
                // Packets per frame grow with the layer.
                let count = [1, 2, 4][layer as usize];
                for i in 0..count {
                    let seq = self.seq.entry(layer).or_insert(65_500);
                    *seq = seq.wrapping_add(1);
                    let p = Packet {
                        seq: *seq,
                        timestamp: (now * 90) as u32,
                        marker: i == count - 1,
                        keyframe: keyframe && i == 0,
                        audio_level: None,
                        size: 1_000,
                        payload: Tag {
                            track: VIDEO.0,
                            layer,
                            seq: *seq,
                        },
                    };
                    self.sent.insert((layer, *seq), p.clone());
                    out.push((VIDEO, Layer(layer), p));
                }
            }
        }
        out
    }
}

/// A subscriber: what it received per track, and NACKs for gaps.
#[derive(Default)]
struct Subscriber {
    got: BTreeMap<u32, BTreeMap<u16, Tag>>,
    /// Video as it arrived, in order.
    arrivals: Vec<Tag>,
    highest: BTreeMap<u32, u16>,
    asked: BTreeMap<(u32, u16), (u64, u32)>,
}

impl Subscriber {
    fn receive(&mut self, now: u64, track: TrackId, seq: u16, tag: Tag) {
        self.got.entry(track.0).or_default().insert(seq, tag);
        if track == VIDEO {
            self.arrivals.push(tag);
        }
        let h = self.highest.entry(track.0).or_insert(seq);
        if seq.wrapping_sub(*h) < 0x8000 && seq != *h {
            let mut s = h.wrapping_add(1);
            while s != seq {
                self.asked.entry((track.0, s)).or_insert((now, 0));
                s = s.wrapping_add(1);
            }
            *h = seq;
        }
        self.asked.remove(&(track.0, seq));
    }

    /// Seqs to NACK now: missing for 20 ms, asked again every 50 ms, 5 times.
    fn nacks(&mut self, now: u64) -> Vec<(TrackId, Vec<u16>)> {
        let mut by_track: BTreeMap<u32, Vec<u16>> = BTreeMap::new();
        for ((track, seq), (since, tries)) in self.asked.iter_mut() {
            if *tries < 5 && now >= *since + 20 + 50 * u64::from(*tries) {
                *tries += 1;
                by_track.entry(*track).or_default().push(*seq);
            }
        }
        by_track.into_iter().map(|(t, s)| (TrackId(t), s)).collect()
    }
}

/// Everything on the wire between the room and the peers.
enum Up {
    Rtp(PeerId, TrackId, Layer, Packet<Tag>),
    Nack(PeerId, TrackId, Vec<u16>),
}

struct Net {
    now: u64,
    rng: Rng,
    room: Room<Tag>,
    publishers: BTreeMap<PeerId, Publisher>,
    subscribers: BTreeMap<PeerId, Subscriber>,
    up: BTreeMap<PeerId, Link<Up>>,
    down: BTreeMap<PeerId, Link<(TrackId, u16, Tag)>>,
    outputs: Vec<(u64, Output<Tag>)>,
    loss: f64,
}

impl Net {
    fn new(seed: u64, loss: f64) -> Self {
        Self {
            now: 0,
            rng: Rng(seed),
            room: Room::new(Settings::default(), 50, Millis(0)),
            publishers: BTreeMap::new(),
            subscribers: BTreeMap::new(),
            up: BTreeMap::new(),
            down: BTreeMap::new(),
            outputs: Vec::new(),
            loss,
        }
    }

    fn join(&mut self, peer: PeerId) {
        self.room
            .handle(Millis(self.now), Input::Join { peer })
            .unwrap();
        self.subscribers.insert(peer, Subscriber::default());
        self.up.insert(peer, Link::new(self.loss, 20, 15));
        self.down.insert(peer, Link::new(self.loss, 20, 15));
    }

    fn publish(&mut self, peer: PeerId) {
        self.room
            .handle(
                Millis(self.now),
                Input::Publish {
                    peer,
                    track: VIDEO,
                    kind: Kind::Video,
                    layers: layers(),
                },
            )
            .unwrap();
        self.room
            .handle(
                Millis(self.now),
                Input::Publish {
                    peer,
                    track: AUDIO,
                    kind: Kind::Audio,
                    layers: vec![],
                },
            )
            .unwrap();
        self.publishers.insert(peer, Publisher::new());
    }

    fn input(&mut self, input: Input<Tag>) {
        self.room.handle(Millis(self.now), input).unwrap();
    }

    /// Runs the network for `ms` milliseconds.
    fn run(&mut self, ms: u64) {
        for _ in 0..ms {
            self.now += 1;
            let now = self.now;
            // Publishers send.
            let peers: Vec<PeerId> = self.publishers.keys().copied().collect();
            for p in peers {
                let packets = self.publishers.get_mut(&p).unwrap().produce(now, true);
                for (t, l, pkt) in packets {
                    self.up
                        .get_mut(&p)
                        .unwrap()
                        .send(now, Up::Rtp(p, t, l, pkt), &mut self.rng);
                }
            }
            // Subscribers ask for what they miss.
            let subs: Vec<PeerId> = self.subscribers.keys().copied().collect();
            for s in &subs {
                let nacks = self.subscribers.get_mut(s).unwrap().nacks(now);
                for (t, seqs) in nacks {
                    self.up
                        .get_mut(s)
                        .unwrap()
                        .send(now, Up::Nack(*s, t, seqs), &mut self.rng);
                }
            }
            // Arrivals at the room.
            for s in &subs {
                let arrived = self.up.get_mut(s).unwrap().due(now);
                for a in arrived {
                    let input = match a {
                        Up::Rtp(from, track, layer, packet) => Input::Rtp {
                            from,
                            track,
                            layer,
                            packet,
                        },
                        Up::Nack(subscriber, track, seqs) => Input::Nack {
                            subscriber,
                            track,
                            seqs,
                        },
                    };
                    // A peer that left may still have packets in flight.
                    match self.room.handle(Millis(now), input) {
                        Ok(())
                        | Err(RoomError::UnknownTrack(_))
                        | Err(RoomError::UnknownPeer(_)) => {}
                        Err(e) => panic!("{e}"),
                    }
                }
            }
            if self.room.poll_timeout().is_some_and(|t| t.0 <= now) {
                self.room.handle(Millis(now), Input::Tick).unwrap();
            }
            // The room's decisions.
            while let Some(o) = self.room.poll_output() {
                match &o {
                    Output::Forward {
                        to,
                        track,
                        seq,
                        payload,
                        ..
                    } => {
                        if let Some(link) = self.down.get_mut(to) {
                            link.send(now, (*track, *seq, *payload), &mut self.rng);
                        }
                    }
                    Output::RequestKeyframe { from, layer, .. } => {
                        if let Some(p) = self.publishers.get_mut(from) {
                            p.keyframe_wanted.insert(layer.0);
                        }
                    }
                    Output::NackUpstream {
                        from,
                        track,
                        layer,
                        seqs,
                    } => {
                        if let Some(p) = self.publishers.get(from) {
                            let resend: Vec<Packet<Tag>> = seqs
                                .iter()
                                .filter_map(|s| p.sent.get(&(layer.0, *s)).cloned())
                                .collect();
                            for pkt in resend {
                                self.up.get_mut(from).unwrap().send(
                                    now,
                                    Up::Rtp(*from, *track, *layer, pkt),
                                    &mut self.rng,
                                );
                            }
                        }
                    }
                    Output::SetLayerActive {
                        publisher,
                        layer,
                        active,
                        ..
                    } => {
                        if let Some(p) = self.publishers.get_mut(publisher) {
                            p.active.insert(layer.0, *active);
                        }
                    }
                    Output::ActiveSpeaker { .. } => {}
                }
                self.outputs.push((now, o));
            }
            // Arrivals at the subscribers.
            for s in &subs {
                let arrived = self.down.get_mut(s).unwrap().due(now);
                for (track, seq, tag) in arrived {
                    self.subscribers
                        .get_mut(s)
                        .unwrap()
                        .receive(now, track, seq, tag);
                }
            }
        }
    }

    /// The layer of the video packet `peer` received last.
    fn latest_layer(&self, peer: PeerId) -> u8 {
        self.subscribers[&peer].arrivals.last().unwrap().layer
    }

    fn received(&self, peer: PeerId, track: TrackId) -> &BTreeMap<u16, Tag> {
        static EMPTY: BTreeMap<u16, Tag> = BTreeMap::new();
        self.subscribers[&peer].got.get(&track.0).unwrap_or(&EMPTY)
    }
}

/// Of the sequence range a subscriber saw, the share it has.
fn completeness(got: &BTreeMap<u16, Tag>) -> f64 {
    // Sequence numbers are contiguous output numbers; count across the wrap.
    let mut seqs: Vec<u16> = got.keys().copied().collect();
    seqs.sort_unstable();
    let span = if seqs.len() < 2 {
        return 1.0;
    } else {
        // The largest gap between neighbours (cyclically) is outside the range.
        let mut max_gap = 0u32;
        for w in seqs.windows(2) {
            max_gap = max_gap.max(u32::from(w[1] - w[0]));
        }
        let wrap_gap = u32::from(seqs[0]) + 65_536 - u32::from(*seqs.last().unwrap());
        if wrap_gap > max_gap {
            u32::from(*seqs.last().unwrap() - seqs[0]) + 1
        } else {
            65_536 - max_gap + 1
        }
    };
    got.len() as f64 / f64::from(span)
}

const A: PeerId = PeerId(1);
const B: PeerId = PeerId(2);
const C: PeerId = PeerId(3);

#[test]
fn forwarding_recovers_from_loss_delay_and_reordering_with_nacks() {
    let mut net = Net::new(0x5eed, 0.05);
    for p in [A, B, C] {
        net.join(p);
    }
    net.publish(A);
    net.input(Input::Show {
        subscriber: B,
        track: VIDEO,
        width: 1280,
        height: 720,
    });
    net.input(Input::Show {
        subscriber: C,
        track: VIDEO,
        width: 320,
        height: 180,
    });
    net.run(6_000);

    // B shows it large: the top layer; C small: the bottom one.
    let b = net.received(B, VIDEO);
    let c = net.received(C, VIDEO);
    assert!(b.len() > 500, "B got {} video packets", b.len());
    let arrivals = &net.subscribers[&B].arrivals;
    let b_layers: BTreeSet<u8> = arrivals[arrivals.len() / 4..]
        .iter()
        .map(|t| t.layer)
        .collect();
    assert_eq!(b_layers, BTreeSet::from([2]), "B settles on the top layer");
    assert!(
        c.values().all(|t| t.layer == 0),
        "C only ever gets the bottom layer"
    );
    // 5 % loss each way, yet after NACKs nearly everything arrived.
    for (who, got) in [("B video", b), ("C video", c)] {
        let share = completeness(got);
        assert!(share > 0.995, "{who}: {:.2} % arrived", share * 100.0);
    }
    // Audio is not resent upstream (Opus conceals loss; a late packet is
    // useless), but what the room lost towards B it resends from its buffer.
    let audio = completeness(net.received(B, AUDIO));
    assert!(audio > 0.93, "B audio: {:.2} % arrived", audio * 100.0);
    // The middle layer, which nobody watches, was paused at the publisher.
    assert!(net.outputs.iter().any(|(_, o)| matches!(
        o,
        Output::SetLayerActive {
            layer: Layer(1),
            active: false,
            ..
        }
    )));
    assert!(!net.publishers[&A].active[&1]);
    // Loss upstream was recovered by asking the publisher again.
    assert!(
        net.outputs
            .iter()
            .any(|(_, o)| matches!(o, Output::NackUpstream { .. }))
    );
}

#[test]
fn layers_switch_at_keyframes_with_continuous_numbering() {
    let mut net = Net::new(7, 0.0);
    for p in [A, B] {
        net.join(p);
    }
    net.publish(A);
    net.input(Input::Show {
        subscriber: B,
        track: VIDEO,
        width: 1280,
        height: 720,
    });
    // B's congestion controller reports plenty: the layer fits the size.
    net.input(Input::Bandwidth {
        subscriber: B,
        bps: 5_000_000,
    });
    net.run(3_000);
    assert_eq!(net.latest_layer(B), 2);

    // B's bandwidth falls: down to a layer that fits (the layers here
    // carry 240, 480 and 960 kbit/s, as the room measures them).
    net.input(Input::Bandwidth {
        subscriber: B,
        bps: 400_000,
    });
    net.run(3_000);
    let after = net.received(B, VIDEO);
    assert_eq!(
        net.latest_layer(B),
        0,
        "400 kbit/s fits the bottom layer only"
    );
    // One stream for B: no gap in its numbering across the switch.
    assert!(
        (completeness(after) - 1.0).abs() < f64::EPSILON,
        "no loss, no gap"
    );
    // Switching waited for a keyframe of the new layer, asked for once.
    let requests: Vec<_> = net
        .outputs
        .iter()
        .filter(|(t, o)| {
            *t > 3_000
                && matches!(
                    o,
                    Output::RequestKeyframe {
                        layer: Layer(0),
                        ..
                    }
                )
        })
        .collect();
    assert_eq!(requests.len(), 1, "{requests:?}");

    // Bandwidth recovers: back up.
    net.input(Input::Bandwidth {
        subscriber: B,
        bps: 5_000_000,
    });
    net.run(2_000);
    assert_eq!(net.latest_layer(B), 2);

    // Not shown at all: nothing forwarded, every layer paused.
    net.input(Input::Show {
        subscriber: B,
        track: VIDEO,
        width: 0,
        height: 0,
    });
    let count = net.received(B, VIDEO).len();
    net.run(1_000);
    assert!(
        net.received(B, VIDEO).len() <= count + 8,
        "only packets in flight arrive"
    );
    assert!(net.publishers[&A].active.values().all(|a| !a));
}

/// A delay-based estimate cannot rise above what is sent, so after a fall
/// the room lifts the cap by itself after a while and tries the wanted
/// layer again; a probe that fails makes the next wait twice as long.
#[test]
fn a_bandwidth_cap_is_lifted_to_probe_and_backs_off_when_the_probe_fails() {
    let mut net = Net::new(13, 0.0);
    for p in [A, B] {
        net.join(p);
    }
    net.publish(A);
    net.input(Input::Show {
        subscriber: B,
        track: VIDEO,
        width: 1280,
        height: 720,
    });
    net.input(Input::Bandwidth {
        subscriber: B,
        bps: 2_000_000,
    });
    net.run(3_000);
    assert_eq!(net.latest_layer(B), 2);
    net.input(Input::Bandwidth {
        subscriber: B,
        bps: 300_000,
    });
    net.run(3_000);
    assert_eq!(net.latest_layer(B), 0, "capped after the fall");
    // No fall for `bandwidth_hold` (8 s): the cap is lifted, layer 2 again.
    net.run(6_000);
    assert_eq!(net.latest_layer(B), 2, "the cap was lifted to probe");
    // The probe congests the path: the estimate falls again at once.
    net.input(Input::Bandwidth {
        subscriber: B,
        bps: 280_000,
    });
    net.run(3_000);
    assert_eq!(net.latest_layer(B), 0);
    // The next wait is twice as long: still capped after 10 s, lifted by 17 s.
    net.run(7_000);
    assert_eq!(net.latest_layer(B), 0, "backed off");
    net.run(7_500);
    assert_eq!(net.latest_layer(B), 2, "probed again after the longer wait");
    // An estimate that rises while capped raises the cap at once.
    net.input(Input::Bandwidth {
        subscriber: B,
        bps: 250_000,
    });
    net.run(2_000);
    assert_eq!(net.latest_layer(B), 0);
    net.input(Input::Bandwidth {
        subscriber: B,
        bps: 600_000,
    });
    net.run(2_000);
    assert_eq!(net.latest_layer(B), 1, "480 kbit/s fits 600");
}

#[test]
fn keyframe_requests_are_relayed_with_a_rate_limit() {
    let mut net = Net::new(11, 0.0);
    for p in [A, B] {
        net.join(p);
    }
    net.publish(A);
    net.run(500);
    let before = net.outputs.len();
    // A decoder asking ten times in 100 ms costs the publisher one keyframe.
    for _ in 0..10 {
        net.input(Input::KeyframeRequest {
            subscriber: B,
            track: VIDEO,
        });
        net.run(10);
    }
    let requests = net.outputs[before..]
        .iter()
        .filter(|(_, o)| matches!(o, Output::RequestKeyframe { .. }))
        .count();
    assert_eq!(requests, 1);
}

#[test]
fn peers_join_and_leave_and_bad_input_changes_nothing() {
    let mut net = Net::new(3, 0.02);
    for p in [A, B] {
        net.join(p);
    }
    net.publish(A);
    net.run(1_000);
    // C joins late: it receives the tracks already published.
    net.join(C);
    net.run(2_000);
    assert!(!net.received(C, VIDEO).is_empty() && !net.received(C, AUDIO).is_empty());
    // C's first video packet came from a keyframe (decodable from the start).
    let first_c = net
        .outputs
        .iter()
        .find_map(|(_, o)| match o {
            Output::Forward {
                to, track, payload, ..
            } if *to == C && *track == VIDEO => Some(*payload),
            _ => None,
        })
        .unwrap();
    let p = &net.publishers[&A].sent[&(first_c.layer, first_c.seq)];
    assert!(p.keyframe, "C starts at a keyframe");

    // B leaves: nothing more is forwarded to B.
    net.input(Input::Leave { peer: B });
    net.subscribers.remove(&B);
    let mark = net.outputs.len();
    net.run(500);
    assert!(
        !net.outputs[mark..]
            .iter()
            .any(|(_, o)| matches!(o, Output::Forward { to, .. } if *to == B))
    );

    // Bad input is refused and changes nothing.
    let now = Millis(net.now);
    assert_eq!(
        net.room.handle(now, Input::Join { peer: A }),
        Err(RoomError::DuplicatePeer(A))
    );
    assert_eq!(
        net.room.handle(
            now,
            Input::Show {
                subscriber: C,
                track: TrackId(99),
                width: 1,
                height: 1
            }
        ),
        Err(RoomError::UnknownTrack(TrackId(99)))
    );
    let stolen = Packet {
        seq: 1,
        timestamp: 0,
        marker: true,
        keyframe: true,
        audio_level: None,
        size: 1,
        payload: Tag {
            track: 1,
            layer: 0,
            seq: 1,
        },
    };
    assert_eq!(
        net.room.handle(
            now,
            Input::Rtp {
                from: C,
                track: VIDEO,
                layer: Layer(0),
                packet: stolen
            }
        ),
        Err(RoomError::NotOwner(VIDEO)),
        "a peer cannot inject packets into another's track"
    );

    // The publisher leaves: its tracks go with it.
    net.input(Input::Leave { peer: A });
    net.publishers.remove(&A);
    let mark = net.outputs.len();
    net.run(500);
    assert!(
        !net.outputs[mark..]
            .iter()
            .any(|(_, o)| matches!(o, Output::Forward { .. }))
    );
    assert_eq!(net.room.participants(), 1);
}

#[test]
fn a_room_holds_its_cap_and_no_more() {
    let mut room: Room<Tag> = Room::new(Settings::default(), 20, Millis(0));
    for i in 0..20 {
        room.handle(Millis(0), Input::Join { peer: PeerId(i) })
            .unwrap();
    }
    assert_eq!(
        room.handle(Millis(0), Input::Join { peer: PeerId(20) }),
        Err(RoomError::Full(20))
    );
    assert_eq!(room.participants(), 20);
}

#[test]
fn the_active_speaker_is_the_loudest_participant() {
    let mut net = Net::new(5, 0.0);
    for p in [A, B, C] {
        net.join(p);
    }
    net.publish(A);
    // B publishes audio only.
    net.input(Input::Publish {
        peer: B,
        track: TrackId(3),
        kind: Kind::Audio,
        layers: vec![],
    });
    net.publishers.get_mut(&A).unwrap().audio_level = 30; // A talks
    net.run(1_000);
    let last = |net: &Net| {
        net.outputs.iter().rev().find_map(|(_, o)| match o {
            Output::ActiveSpeaker { peer } => Some(*peer),
            _ => None,
        })
    };
    assert_eq!(last(&net), Some(Some(A)));
    // A falls silent and B (through its own audio) speaks: B is named.
    net.publishers.get_mut(&A).unwrap().audio_level = 127;
    for i in 0..50u16 {
        net.run(20);
        let pkt = Packet {
            seq: i,
            timestamp: u32::from(i) * 960,
            marker: false,
            keyframe: false,
            audio_level: Some(20),
            size: 80,
            payload: Tag {
                track: 3,
                layer: 0,
                seq: i,
            },
        };
        net.input(Input::Rtp {
            from: B,
            track: TrackId(3),
            layer: Layer(0),
            packet: pkt,
        });
    }
    assert_eq!(last(&net), Some(Some(B)));
}

/// Speech comes in bursts: a participant whose loud packets are a sixth of
/// each second, between quiet ones (a noise floor above the threshold), is
/// named speaker; one with a single click per second, or a steady hum, is
/// not.
#[test]
fn bursts_of_speech_count_and_clicks_and_hum_do_not() {
    let mut room: Room<Tag> = Room::new(Settings::default(), 10, Millis(0));
    let (talker, clicker, hum) = (PeerId(1), PeerId(2), PeerId(3));
    for (i, p) in [talker, clicker, hum].into_iter().enumerate() {
        room.handle(Millis(0), Input::Join { peer: p }).unwrap();
        room.handle(
            Millis(0),
            Input::Publish {
                peer: p,
                track: TrackId(10 + i as u32),
                kind: Kind::Audio,
                layers: vec![],
            },
        )
        .unwrap();
    }
    let mut named = Vec::new();
    for n in 0..150u16 {
        let now = Millis(u64::from(n) * 20);
        let level = |p: PeerId| match p {
            // 8 loud packets in every 50, the rest at 90 -dBov.
            p if p == talker => {
                if n % 50 < 8 {
                    20
                } else {
                    90
                }
            }
            p if p == clicker => {
                if n % 50 == 0 {
                    5
                } else {
                    90
                }
            }
            _ => 65,
        };
        for (i, p) in [talker, clicker, hum].into_iter().enumerate() {
            let packet = Packet {
                seq: n,
                timestamp: u32::from(n) * 960,
                marker: false,
                keyframe: false,
                audio_level: Some(level(p)),
                size: 80,
                payload: Tag {
                    track: 10 + i as u32,
                    layer: 0,
                    seq: n,
                },
            };
            room.handle(
                now,
                Input::Rtp {
                    from: p,
                    track: TrackId(10 + i as u32),
                    layer: Layer(0),
                    packet,
                },
            )
            .unwrap();
        }
        room.handle(now, Input::Tick).unwrap();
        while let Some(o) = room.poll_output() {
            if let Output::ActiveSpeaker { peer } = o {
                named.push(peer);
            }
        }
    }
    assert_eq!(named, vec![Some(talker)]);
}

/// A browser short of CPU stops sending its top layer: the subscriber who
/// watched it moves to the best layer still flowing, and back up when the
/// top layer returns, always at a keyframe.
#[test]
fn a_stopped_layer_is_replaced_by_one_that_flows() {
    let (publisher, viewer, track) = (PeerId(1), PeerId(2), TrackId(1));
    let mut room: Room<(u8, u16)> = Room::new(Settings::default(), 4, Millis(0));
    room.handle(Millis(0), Input::Join { peer: publisher })
        .unwrap();
    room.handle(Millis(0), Input::Join { peer: viewer })
        .unwrap();
    room.handle(
        Millis(0),
        Input::Publish {
            peer: publisher,
            track,
            kind: Kind::Video,
            layers: layers(),
        },
    )
    .unwrap();
    room.handle(
        Millis(0),
        Input::Show {
            subscriber: viewer,
            track,
            width: 1280,
            height: 720,
        },
    )
    .unwrap();
    let mut seqs = [0u16; 3];
    // Which layer the viewer received in each 100 ms.
    let mut received: Vec<BTreeSet<u8>> = Vec::new();
    for step in 0..90u64 {
        let now = Millis(step * 100);
        // The top layer stops between 3 s and 6 s.
        let sending: &[u8] = if (30..60).contains(&step) {
            &[0, 1]
        } else {
            &[0, 1, 2]
        };
        for &l in sending {
            let seq = &mut seqs[usize::from(l)];
            *seq = seq.wrapping_add(1);
            let packet = Packet {
                seq: *seq,
                timestamp: u32::try_from(step).unwrap() * 9000,
                marker: true,
                // A keyframe every half second.
                keyframe: step % 5 == 0,
                audio_level: None,
                size: 1000,
                payload: (l, *seq),
            };
            room.handle(
                now,
                Input::Rtp {
                    from: publisher,
                    track,
                    layer: Layer(l),
                    packet,
                },
            )
            .unwrap();
        }
        room.handle(now, Input::Tick).unwrap();
        let mut got = BTreeSet::new();
        while let Some(out) = room.poll_output() {
            if let Output::Forward {
                to,
                payload: (l, _),
                ..
            } = out
            {
                assert_eq!(to, viewer);
                got.insert(l);
            }
        }
        received.push(got);
    }
    assert_eq!(received[20], BTreeSet::from([2]), "the top layer first");
    assert!(
        received[45..60].iter().all(|g| *g == BTreeSet::from([1])),
        "the next layer down while the top is stopped: {:?}",
        &received[30..60]
    );
    assert!(
        received[75..].iter().all(|g| *g == BTreeSet::from([2])),
        "back to the top when it returns: {:?}",
        &received[60..]
    );
}
