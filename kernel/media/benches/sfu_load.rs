//! The SFU under load: synthetic participants sending pre-encoded VP8
//! simulcast clips (ffmpeg, three layers) and Opus-sized audio with audio
//! levels, as real RTP over real ICE, DTLS and SRTP, to the media task on
//! its own thread. First one 20-person group room, then growing numbers of
//! 1:1 visits.
//!
//! Reports forwarded packets per second, per CPU-second of the SFU's thread
//! (the clients' CPU is not counted), CPU per forwarded stream, the delay
//! from a datagram's arrival to the sending of what it caused (measured
//! inside the SFU), and loss as the receivers count it.
//!
//!     cargo xtask bench-video     (encodes the clips, then runs this)
//!
//! Environment: `TILLIT_CLIPS` (the directory with q.ivf, h.ivf, f.ivf),
//! `BENCH_SECONDS` (measured seconds per phase, default 10),
//! `BENCH_PAIRS` (the 1:1 steps, default "10,20,40").

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::RTCConfigurationBuilder;
use rtc::peer_connection::configuration::interceptor_registry::register_default_interceptors;
use rtc::peer_connection::configuration::media_engine::MediaEngine;
use rtc::peer_connection::message::RTCMessage;
use rtc::peer_connection::sdp::RTCSessionDescription;
use rtc::peer_connection::{RTCPeerConnection, RTCPeerConnectionBuilder};
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodingParameters, RTCRtpEncodingParameters, RTCRtpHeaderExtensionCapability, RtpCodecKind,
};
use rtc::sansio::Protocol;
use rtc::shared::{TaggedBytesMut, TransportContext, TransportProtocol};
use tillit_media::driver::{Hub, HubStats, Notice, Participant};
use tillit_media::{add_host_candidate, opus, vp8};
use tillit_sfu::PeerId;

const AUDIO_LEVEL: &str = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";
const MID: &str = "urn:ietf:params:rtp-hdrext:sdes:mid";
const RID: &str = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id";
const MAX_PAYLOAD: usize = 1100;

/// One layer's frames, from an IVF file.
struct Clip {
    frames: Vec<Bytes>,
}

impl Clip {
    fn load(path: &std::path::Path) -> Self {
        let b = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(&b[..4], b"DKIF", "{} is not IVF", path.display());
        let mut i = usize::from(u16::from_le_bytes([b[6], b[7]]));
        let mut frames = Vec::new();
        while i + 12 <= b.len() {
            let n = u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]) as usize;
            frames.push(Bytes::copy_from_slice(&b[i + 12..i + 12 + n]));
            i += 12 + n;
        }
        Self { frames }
    }
}

fn engine(audio_level: bool) -> (MediaEngine, rtc::interceptor::Registry) {
    let mut m = MediaEngine::default();
    m.register_codec(vp8(), RtpCodecKind::Video).unwrap();
    m.register_codec(opus(), RtpCodecKind::Audio).unwrap();
    if audio_level {
        m.register_header_extension(
            RTCRtpHeaderExtensionCapability {
                uri: AUDIO_LEVEL.into(),
            },
            RtpCodecKind::Audio,
            None,
        )
        .unwrap();
    }
    let r = register_default_interceptors(rtc::interceptor::Registry::new(), &mut m).unwrap();
    (m, r)
}

/// The address the synthetic clients use: the machine's own on its
/// default route (Janus, like Firefox, leaves loopback out of ICE).
fn client_ip() -> std::net::IpAddr {
    static IP: std::sync::OnceLock<std::net::IpAddr> = std::sync::OnceLock::new();
    *IP.get_or_init(|| {
        let s = UdpSocket::bind("0.0.0.0:0").unwrap();
        // No packet leaves: connecting a UDP socket only looks up the route.
        s.connect("192.0.2.1:9")
            .or_else(|_| s.connect("10.255.255.1:9"))
            .map(|()| s.local_addr().unwrap().ip())
            .unwrap_or_else(|_| "127.0.0.1".parse().unwrap())
    })
}

/// One peer connection on its own socket, full ICE, like a browser's.
struct Pc {
    pc: RTCPeerConnection,
    sock: UdpSocket,
    local: SocketAddr,
}

impl Pc {
    fn new() -> Self {
        let (m, r) = engine(true);
        let mut pc = RTCPeerConnectionBuilder::new()
            .with_configuration(RTCConfigurationBuilder::new().build())
            .with_media_engine(m)
            .with_interceptor_registry(r)
            .build(Instant::now())
            .unwrap();
        let sock = UdpSocket::bind((client_ip(), 0)).unwrap();
        sock.set_nonblocking(true).unwrap();
        let local = sock.local_addr().unwrap();
        add_host_candidate(&mut pc, local).unwrap();
        Self { pc, sock, local }
    }

    /// Moves the connection along; returns the RTP that arrived as (ssrc, seq).
    fn step(&mut self, now: Instant, buf: &mut [u8], got: &mut Vec<(u32, u16)>) {
        while let Ok((n, from)) = self.sock.recv_from(buf) {
            let _ = self.pc.handle_read(TaggedBytesMut {
                now,
                transport: TransportContext {
                    local_addr: self.local,
                    peer_addr: from,
                    transport_protocol: TransportProtocol::UDP,
                    ecn: None,
                },
                message: BytesMut::from(&buf[..n]),
            });
        }
        if self.pc.poll_timeout().is_some_and(|t| t <= now) {
            let _ = self.pc.handle_timeout(now);
        }
        while self.pc.poll_event().is_some() {}
        while let Some(m) = self.pc.poll_read() {
            if let RTCMessage::RtpPacket(_, p) = m.message {
                got.push((p.header.ssrc, p.header.sequence_number));
            }
        }
        while let Some(w) = self.pc.poll_write() {
            let _ = self.sock.send_to(&w.message, w.transport.peer_addr);
        }
    }
}

/// The extension ids our own offer chose.
fn extmap(sdp: &str, uri: &str) -> u8 {
    sdp.lines()
        .find_map(|l| {
            let rest = l.strip_prefix("a=extmap:")?;
            let (id, u) = rest.split_once(' ')?;
            (u.trim() == uri).then(|| id.split('/').next()?.parse().ok())?
        })
        .unwrap_or_else(|| panic!("the offer has no {uri}"))
}

/// The connection a participant publishes on: audio and three VP8 layers,
/// with its offer made. Returns it with the extension ids and mids its
/// offer chose, and its first SSRC.
fn publishing_pc(n: u32) -> (Pc, (u8, u8, u8), (String, String), u32) {
    let mut publish = Pc::new();
    let base_ssrc = 0x1000_0000 + n * 8;
    publish
        .pc
        .add_track(MediaStreamTrack::new(
            format!("s{n}"),
            format!("a{n}"),
            format!("a{n}"),
            RtpCodecKind::Audio,
            vec![RTCRtpEncodingParameters {
                rtp_coding_parameters: RTCRtpCodingParameters {
                    ssrc: Some(base_ssrc),
                    ..Default::default()
                },
                codec: opus().rtp_codec,
                ..Default::default()
            }],
        ))
        .unwrap();
    let layers = RIDS
        .iter()
        .enumerate()
        .map(|(i, rid)| RTCRtpEncodingParameters {
            rtp_coding_parameters: RTCRtpCodingParameters {
                rid: (*rid).into(),
                ssrc: Some(base_ssrc + 1 + i as u32),
                ..Default::default()
            },
            codec: vp8().rtp_codec,
            ..Default::default()
        })
        .collect();
    publish
        .pc
        .add_track(MediaStreamTrack::new(
            format!("s{n}"),
            format!("v{n}"),
            format!("v{n}"),
            RtpCodecKind::Video,
            layers,
        ))
        .unwrap();
    let offer = publish.pc.create_offer(None).unwrap();
    publish
        .pc
        .set_local_description(Instant::now(), offer.clone())
        .unwrap();
    let ids = (
        extmap(&offer.sdp, AUDIO_LEVEL),
        extmap(&offer.sdp, MID),
        extmap(&offer.sdp, RID),
    );
    let mids: Vec<String> = offer
        .sdp
        .lines()
        .filter_map(|l| l.strip_prefix("a=mid:").map(str::to_owned))
        .collect();
    (publish, ids, (mids[0].clone(), mids[1].clone()), base_ssrc)
}

/// A synthetic participant: publishes audio and three video layers,
/// receives everyone else's on a second connection, as the room page does.
struct Client {
    peer: PeerId,
    publish: Pc,
    receive: Option<Pc>,
    notices: tokio::sync::mpsc::UnboundedReceiver<Notice>,
    ids: (u8, u8, u8),
    mids: (String, String),
    seq: [u16; 4],
    frame: usize,
    next_video: Instant,
    next_audio: Instant,
    /// Per received SSRC: (first seq, highest seq, packets).
    received: HashMap<u32, (u16, u16, u64)>,
    base_ssrc: u32,
}

const RIDS: [&str; 3] = ["q", "h", "f"];

impl Client {
    async fn join(hub: &Hub, room: &str, n: u32, cap: usize) -> Self {
        let (peer, notices) = hub
            .join(
                room.into(),
                cap,
                Participant {
                    name: format!("Load {n}"),
                    initials: "LL".into(),
                    clinician: n.is_multiple_of(2),
                },
            )
            .await
            .unwrap();
        let (mut publish, ids, mids, base_ssrc) = publishing_pc(n);
        let offer = publish.pc.local_description().unwrap();
        let answer = hub.offer(room.into(), peer, offer.sdp).await.unwrap();
        publish
            .pc
            .set_remote_description(
                Instant::now(),
                RTCSessionDescription::answer(answer).unwrap(),
            )
            .unwrap();
        let now = Instant::now();
        Self {
            peer,
            publish,
            receive: None,
            notices,
            ids,
            mids,
            seq: [0; 4],
            frame: 0,
            next_video: now,
            next_audio: now,
            received: HashMap::new(),
            base_ssrc,
        }
    }

    fn send(
        &mut self,
        kind: usize,
        ssrc: u32,
        ts: u32,
        marker: bool,
        ext: &[(u8, Bytes)],
        payload: Bytes,
    ) {
        self.seq[kind] = self.seq[kind].wrapping_add(1);
        let mut header = rtc::rtp::header::Header {
            version: 2,
            payload_type: if kind == 0 { 111 } else { 96 },
            sequence_number: self.seq[kind],
            timestamp: ts,
            marker,
            ssrc,
            ..Default::default()
        };
        for (id, v) in ext {
            header.set_extension(*id, v.clone()).unwrap();
        }
        let Some(sender) = self.publish.pc.get_senders().nth(usize::from(kind > 0)) else {
            return;
        };
        if let Some(mut s) = self.publish.pc.rtp_sender(sender) {
            let _ = s.write_rtp(Instant::now(), rtc::rtp::packet::Packet { header, payload });
        }
    }

    /// Sends what is due: a video frame in every layer at 30/s, audio at 50/s.
    fn send_due(&mut self, now: Instant, clips: &[Clip; 3]) {
        if now >= self.next_audio {
            self.next_audio += Duration::from_millis(20);
            let level = 30 + (self.base_ssrc % 50) as u8;
            let ts = self.seq[0] as u32 * 960;
            // Only extensions negotiated for audio: the sender refuses others.
            let ext = [(self.ids.0, Bytes::from(vec![0x80 | level]))];
            self.send(
                0,
                self.base_ssrc,
                ts,
                false,
                &ext,
                Bytes::from(vec![0xfc; 90]),
            );
        }
        if now >= self.next_video {
            self.next_video += Duration::from_millis(33);
            let ts = (self.frame as u32).wrapping_mul(3000);
            for (l, clip) in clips.iter().enumerate() {
                let frame = clip.frames[self.frame % clip.frames.len()].clone();
                let chunks: Vec<&[u8]> = frame.chunks(MAX_PAYLOAD).collect();
                for (i, chunk) in chunks.iter().enumerate() {
                    let mut p = Vec::with_capacity(chunk.len() + 1);
                    p.push(if i == 0 { 0x10 } else { 0x00 });
                    p.extend_from_slice(chunk);
                    let ext = [
                        (self.ids.1, Bytes::from(self.mids.1.clone())),
                        (self.ids.2, Bytes::from(RIDS[l])),
                    ];
                    self.send(
                        1 + l,
                        self.base_ssrc + 1 + l as u32,
                        ts,
                        i + 1 == chunks.len(),
                        &ext,
                        Bytes::from(p),
                    );
                }
            }
            self.frame += 1;
        }
    }

    async fn step(
        &mut self,
        hub: &Hub,
        room: &str,
        now: Instant,
        buf: &mut [u8],
        got: &mut Vec<(u32, u16)>,
    ) {
        while let Ok(n) = self.notices.try_recv() {
            if let Notice::Offer { sdp } = n {
                let r = self.receive.get_or_insert_with(Pc::new);
                r.pc.set_remote_description(now, RTCSessionDescription::offer(sdp).unwrap())
                    .unwrap();
                let answer = r.pc.create_answer(None).unwrap();
                r.pc.set_local_description(now, answer.clone()).unwrap();
                hub.answer(room.into(), self.peer, answer.sdp)
                    .await
                    .unwrap();
            }
        }
        self.publish.step(now, buf, got);
        got.clear();
        if let Some(r) = self.receive.as_mut() {
            r.step(now, buf, got);
            for (ssrc, seq) in got.drain(..) {
                let e = self.received.entry(ssrc).or_insert((seq, seq, 0));
                if seq.wrapping_sub(e.1) < 0x8000 {
                    e.1 = seq;
                }
                e.2 += 1;
            }
        }
    }
}

/// CPU seconds a thread has used (utime + stime, from /proc).
fn thread_cpu(tid: u32) -> f64 {
    let s = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).unwrap();
    let after = &s[s.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = after.split(' ').collect();
    let ticks: u64 = f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap();
    ticks as f64 / 100.0
}

/// The media task on a thread of its own, so its CPU can be read alone.
fn start_sfu() -> (Hub, u32) {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("tillit-sfu".into())
        .spawn(move || {
            let tid: u32 = std::fs::read_link("/proc/thread-self")
                .unwrap()
                .file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let hub = Hub::start("127.0.0.1:0".parse().unwrap(), None)
                    .await
                    .unwrap();
                tx.send((hub, tid)).unwrap();
                std::future::pending::<()>().await;
            });
        })
        .unwrap();
    rx.recv().unwrap()
}

struct Phase {
    name: String,
    clients: usize,
    streams: usize,
}

struct Report {
    delivered_per_s: f64,
    received_per_s: f64,
    forwarded_per_s: f64,
    cpu_share: f64,
    per_core: f64,
    cpu_per_stream_pct: f64,
    p50_us: f64,
    p99_us: f64,
    loss_pct: f64,
}

async fn run_phase(
    hub: &Hub,
    tid: u32,
    rooms: Vec<(String, u32)>,
    clips: &[Clip; 3],
    seconds: u64,
    phase: &Phase,
) -> Report {
    let mut clients: Vec<(String, Client)> = Vec::new();
    let mut n = 0;
    for (room, size) in &rooms {
        for _ in 0..*size {
            n += 1;
            clients.push((room.clone(), Client::join(hub, room, n, 50).await));
        }
    }
    let mut buf = vec![0u8; 2048];
    let mut got = Vec::new();
    let warmup = Duration::from_secs(5);
    let started = Instant::now();
    let mut measure: Option<(Instant, f64, HubStats)> = None;
    loop {
        let now = Instant::now();
        for (room, c) in clients.iter_mut() {
            c.step(hub, room, now, &mut buf, &mut got).await;
            if now.duration_since(started) > Duration::from_millis(1500) {
                c.send_due(now, clips);
            }
        }
        let elapsed = now.duration_since(started);
        if measure.is_none() && elapsed >= warmup {
            for (_, c) in clients.iter_mut() {
                c.received.clear();
            }
            measure = Some((now, thread_cpu(tid), hub.stats().await));
        }
        if elapsed >= warmup + Duration::from_secs(seconds) {
            break;
        }
        tokio::time::sleep(Duration::from_micros(500)).await;
    }
    let (t0, cpu0, s0) = measure.unwrap();
    let wall = t0.elapsed().as_secs_f64();
    let cpu = thread_cpu(tid) - cpu0;
    let s1 = hub.stats().await;
    let forwarded = (s1.forwarded - s0.forwarded) as f64;
    let mut delay = s1.delay.clone();
    delay.subtract(&s0.delay);
    let (mut expected, mut got_n) = (0u64, 0u64);
    let wall_end = t0.elapsed().as_secs_f64();
    for (_, c) in &clients {
        for (first, high, count) in c.received.values() {
            expected += u64::from(high.wrapping_sub(*first)) + 1;
            got_n += count;
        }
    }
    for (room, c) in &clients {
        hub.leave(room.clone(), c.peer);
    }
    let cpu_share = cpu / wall;
    Report {
        delivered_per_s: got_n as f64 / wall_end,
        received_per_s: (s1.datagrams_in - s0.datagrams_in) as f64 / wall,
        forwarded_per_s: forwarded / wall,
        cpu_share,
        per_core: forwarded / cpu.max(1e-9),
        cpu_per_stream_pct: 100.0 * cpu_share / phase.streams.max(1) as f64,
        p50_us: delay
            .percentile(0.5)
            .map_or(f64::NAN, |d| d.as_micros() as f64),
        p99_us: delay
            .percentile(0.99)
            .map_or(f64::NAN, |d| d.as_micros() as f64),
        loss_pct: 100.0 * (1.0 - got_n as f64 / expected.max(1) as f64).max(0.0),
    }
}

// ---------------------------------------------------------------------
// Janus (Debian's janus, VideoRoom plugin) under the same load, through
// its HTTP API: each client publishes on one handle and subscribes to
// every other publisher on a second, as Tillit's browsers do.

struct Janus {
    child: std::process::Child,
    pid: u32,
    base: String,
    http: reqwest::Client,
    _dir: std::path::PathBuf,
}

impl Janus {
    fn start() -> Self {
        let dir = std::env::temp_dir().join(format!("tillit-janus-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let lib = ["/usr/lib/x86_64-linux-gnu/janus", "/usr/lib/janus"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .expect("janus plugins not found");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        std::fs::write(
            dir.join("janus.jcfg"),
            format!(
                "general: {{ configs_folder = \"{d}\", plugins_folder = \"{lib}/plugins\", \
                 transports_folder = \"{lib}/transports\", events_folder = \"{lib}/events\", \
                 loggers_folder = \"{lib}/loggers\", debug_level = 4 }}\n\
                 plugins: {{ disable = \"libjanus_audiobridge.so,libjanus_echotest.so,libjanus_nosip.so,\
                 libjanus_recordplay.so,libjanus_sip.so,libjanus_streaming.so,libjanus_textroom.so,\
                 libjanus_videocall.so,libjanus_voicemail.so,libjanus_lua.so,libjanus_duktape.so\" }}\n\
                 transports: {{ disable = \"libjanus_websockets.so,libjanus_mqtt.so,libjanus_nanomsg.so,\
                 libjanus_pfunix.so,libjanus_rabbitmq.so\" }}\n\
                 events: {{ broadcast = false }}\n\
                 loggers: {{ disable = \"libjanus_jsonlog.so\" }}\n\
                 media: {{ rtp_port_range = \"40000-60000\" }}\n\
                 nat: {{ ice_ignore_list = \"vmnet\" }}\n",
                d = dir.display()
            ),
        )
        .unwrap();
        std::fs::write(
            dir.join("janus.transport.http.jcfg"),
            format!(
                "general: {{ json = \"compact\", base_path = \"/janus\", http = true, port = {port}, ip = \"127.0.0.1\" }}\n\
                 admin: {{ admin_http = false }}\n"
            ),
        )
        .unwrap();
        std::fs::write(dir.join("janus.plugin.videoroom.jcfg"), "general: { }\n").unwrap();
        let child = std::process::Command::new("janus")
            .arg("-C")
            .arg(dir.join("janus.jcfg"))
            .arg("-F")
            .arg(&dir)
            .stdout(std::fs::File::create(dir.join("janus.log")).unwrap())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("janus");
        let pid = child.id();
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "janus did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Self {
            child,
            pid,
            base: format!("http://127.0.0.1:{port}/janus"),
            http: reqwest::Client::new(),
            _dir: dir,
        }
    }

    async fn post(&self, path: &str, mut body: serde_json::Value) -> serde_json::Value {
        body["transaction"] = format!("t{}", rand_u32()).into();
        self.http
            .post(format!("{}{path}", self.base))
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn session(&self) -> u64 {
        let r = self.post("", serde_json::json!({"janus": "create"})).await;
        r["data"]["id"].as_u64().unwrap()
    }

    async fn attach(&self, session: u64) -> u64 {
        let r = self
            .post(
                &format!("/{session}"),
                serde_json::json!({"janus": "attach", "plugin": "janus.plugin.videoroom"}),
            )
            .await;
        r["data"]["id"].as_u64().unwrap()
    }

    /// Sends a plugin message and waits for its event (long poll).
    async fn message(
        &self,
        session: u64,
        handle: u64,
        body: serde_json::Value,
        jsep: Option<serde_json::Value>,
    ) -> serde_json::Value {
        let mut m = serde_json::json!({"janus": "message", "body": body});
        if let Some(j) = jsep {
            m["jsep"] = j;
        }
        let r = self.post(&format!("/{session}/{handle}"), m).await;
        if r["janus"] == "success" {
            return r;
        }
        loop {
            let ev: serde_json::Value = self
                .http
                .get(format!("{}/{session}?maxev=1", self.base))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let ev = if ev.is_array() { ev[0].clone() } else { ev };
            if ev["janus"] == "event" && ev["sender"].as_u64() == Some(handle) {
                return ev;
            }
        }
    }

    fn cpu(&self) -> f64 {
        let s = std::fs::read_to_string(format!("/proc/{}/stat", self.pid)).unwrap();
        let after = &s[s.rfind(')').unwrap() + 2..];
        let f: Vec<&str> = after.split(' ').collect();
        (f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()) as f64 / 100.0
    }
}

impl Drop for Janus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::env::var_os("BENCH_KEEP_JANUS_LOG").is_none() {
            let _ = std::fs::remove_dir_all(&self._dir);
        }
    }
}

fn rand_u32() -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(1);
    N.fetch_add(1, Ordering::Relaxed)
}

/// A participant on Janus: the same media as [`Client`].
struct JanusClient {
    inner: Client,
    session: u64,
    feed: u64,
}

/// Creates a room on Janus and its publishers, each with its offer answered.
async fn janus_publish(j: &Janus, room: u64, size: u32, first: u32) -> Vec<JanusClient> {
    let s = j.session().await;
    let h = j.attach(s).await;
    j.message(
        s,
        h,
        serde_json::json!({"request": "create", "room": room, "publishers": 50,
            "videocodec": "vp8", "audiocodec": "opus", "audiolevel_ext": true, "bitrate": 0}),
        None,
    )
    .await;
    let mut clients = Vec::new();
    for n in first..first + size {
        let session = j.session().await;
        let handle = j.attach(session).await;
        let (mut publish, ids, mids, base_ssrc) = publishing_pc(n);
        let offer = publish.pc.local_description().unwrap().sdp;
        let ev = j
            .message(
                session,
                handle,
                serde_json::json!({"request": "joinandconfigure", "room": room, "ptype": "publisher",
                    "display": format!("Load {n}"), "audio": true, "video": true}),
                Some(serde_json::json!({"type": "offer", "sdp": offer})),
            )
            .await;
        let feed = ev["plugindata"]["data"]["id"].as_u64().expect("joined");
        let answer = ev["jsep"]["sdp"].as_str().unwrap().to_owned();
        publish
            .pc
            .set_remote_description(
                Instant::now(),
                RTCSessionDescription::answer(answer).unwrap(),
            )
            .unwrap();
        let (tx, notices) = tokio::sync::mpsc::unbounded_channel();
        drop(tx);
        let now = Instant::now();
        clients.push(JanusClient {
            inner: Client {
                peer: PeerId(n),
                publish,
                receive: None,
                notices,
                ids,
                mids,
                seq: [0; 4],
                frame: 0,
                next_video: now,
                next_audio: now,
                received: HashMap::new(),
                base_ssrc,
            },
            session,
            feed,
        });
    }
    clients
}

/// Every participant of one room subscribes to every other, on one
/// handle each.
async fn janus_subscribe(j: &Janus, room: u64, clients: &mut [JanusClient]) {
    let feeds: Vec<u64> = clients.iter().map(|c| c.feed).collect();
    for c in clients.iter_mut() {
        let handle = j.attach(c.session).await;
        let streams: Vec<serde_json::Value> = feeds
            .iter()
            .filter(|f| **f != c.feed)
            .map(|f| serde_json::json!({"feed": f}))
            .collect();
        let ev = j
            .message(
                c.session,
                handle,
                serde_json::json!({"request": "join", "room": room, "ptype": "subscriber", "streams": streams}),
                None,
            )
            .await;
        let offer = ev["jsep"]["sdp"]
            .as_str()
            .unwrap_or_else(|| panic!("no subscriber offer: {ev}"))
            .to_owned();
        let mut r = Pc::new();
        r.pc.set_remote_description(
            Instant::now(),
            RTCSessionDescription::offer(offer.clone()).unwrap(),
        )
        .unwrap();
        let answer = r.pc.create_answer(None).unwrap();
        r.pc.set_local_description(Instant::now(), answer.clone())
            .unwrap();
        j.message(
            c.session,
            handle,
            serde_json::json!({"request": "start"}),
            Some(serde_json::json!({"type": "answer", "sdp": answer.sdp})),
        )
        .await;
        // Subscribers stay on Janus' default layer, which with these RIDs
        // (q, h, f) is the lowest, as Tillit's default (nobody says how
        // large they show the video): both forward the same streams.
        c.inner.receive = Some(r);
    }
}

async fn run_janus(j: &Janus, clips: &[Clip; 3], seconds: u64, rooms: Vec<u32>) -> (f64, f64) {
    let mut by_room: Vec<(u64, Vec<JanusClient>)> = Vec::new();
    let mut first = 1;
    for (i, size) in rooms.iter().enumerate() {
        let room = 9000 + i as u64;
        by_room.push((room, janus_publish(j, room, *size, first).await));
        first += size;
    }
    {
        let mut clients: Vec<&mut JanusClient> =
            by_room.iter_mut().flat_map(|(_, c)| c.iter_mut()).collect();
        // Janus offers a feed to subscribers once its publisher's connection
        // is up: connect and start sending first.
        let mut buf = vec![0u8; 2048];
        let mut got = Vec::new();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(3) {
            let now = Instant::now();
            for c in clients.iter_mut() {
                c.inner.publish.step(now, &mut buf, &mut got);
                got.clear();
                if now.duration_since(started) > Duration::from_millis(1500) {
                    c.inner.send_due(now, clips);
                }
            }
            tokio::time::sleep(Duration::from_micros(500)).await;
        }
    }
    for (room, clients) in by_room.iter_mut() {
        janus_subscribe(j, *room, clients).await;
    }
    let mut clients: Vec<JanusClient> = by_room.into_iter().flat_map(|(_, c)| c).collect();
    let mut buf = vec![0u8; 2048];
    let mut got = Vec::new();
    let started = Instant::now();
    let mut measure: Option<(Instant, f64)> = None;
    loop {
        let now = Instant::now();
        for c in clients.iter_mut() {
            let c = &mut c.inner;
            c.publish.step(now, &mut buf, &mut got);
            got.clear();
            if let Some(r) = c.receive.as_mut() {
                r.step(now, &mut buf, &mut got);
                for (ssrc, seq) in got.drain(..) {
                    let e = c.received.entry(ssrc).or_insert((seq, seq, 0));
                    if seq.wrapping_sub(e.1) < 0x8000 {
                        e.1 = seq;
                    }
                    e.2 += 1;
                }
            }
            if now.duration_since(started) > Duration::from_millis(1500) {
                c.send_due(now, clips);
            }
        }
        let elapsed = now.duration_since(started);
        if measure.is_none() && elapsed >= Duration::from_secs(5) {
            for c in clients.iter_mut() {
                c.inner.received.clear();
            }
            measure = Some((now, j.cpu()));
        }
        if elapsed >= Duration::from_secs(5 + seconds) {
            break;
        }
        tokio::time::sleep(Duration::from_micros(500)).await;
    }
    let (t0, cpu0) = measure.unwrap();
    let wall = t0.elapsed().as_secs_f64();
    let cpu = j.cpu() - cpu0;
    let received: u64 = clients
        .iter()
        .flat_map(|c| c.inner.received.values())
        .map(|(_, _, n)| *n)
        .sum();
    (received as f64 / wall, cpu / wall)
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --all-targets` runs bench
    // targets without it, and then there is nothing to do.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let clips_dir =
        std::env::var("TILLIT_CLIPS").expect("TILLIT_CLIPS: run `cargo xtask bench-video`");
    let dir = std::path::Path::new(&clips_dir);
    let clips = [
        Clip::load(&dir.join("q.ivf")),
        Clip::load(&dir.join("h.ivf")),
        Clip::load(&dir.join("f.ivf")),
    ];
    let seconds: u64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let pairs: Vec<u32> = std::env::var("BENCH_PAIRS")
        .unwrap_or_else(|_| "10,20,40".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (hub, tid) = start_sfu();
    println!(
        "| load | clients | forwarded streams | datagrams in/s | forwarded pkt/s | SFU CPU (of one core) | pkt/s per core | CPU per stream | delay p50 | delay p99 | loss |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    let mut phases: Vec<(Phase, Vec<(String, u32)>)> = vec![(
        Phase {
            name: "one 20-person room".into(),
            clients: 20,
            // Each of 20 receives 19 others' audio and video.
            streams: 20 * 19 * 2,
        },
        vec![("bench/group".into(), 20)],
    )];
    for p in pairs {
        phases.push((
            Phase {
                name: format!("{p} 1:1 visits"),
                clients: 2 * p as usize,
                streams: 2 * p as usize * 2,
            },
            (0..p).map(|i| (format!("bench/pair{i}"), 2)).collect(),
        ));
    }
    let mut ours = Vec::new();
    for (phase, rooms) in &phases {
        let r = rt.block_on(run_phase(&hub, tid, rooms.clone(), &clips, seconds, phase));
        println!(
            "| {} | {} | {} | {:.0} | {:.0} | {:.0} % | {:.0} | {:.3} % | {:.0} µs | {:.0} µs | {:.2} % |",
            phase.name,
            phase.clients,
            phase.streams,
            r.received_per_s,
            r.forwarded_per_s,
            100.0 * r.cpu_share,
            r.per_core,
            r.cpu_per_stream_pct,
            r.p50_us,
            r.p99_us,
            r.loss_pct
        );
        ours.push(r);
        std::thread::sleep(Duration::from_secs(1));
    }
    if std::env::var("BENCH_JANUS").as_deref() == Ok("0") {
        return;
    }
    println!();
    println!("Same load on Janus (VideoRoom), same run:");
    println!();
    println!(
        "| load | Tillit: delivered pkt/s | Tillit: SFU CPU | Janus: delivered pkt/s | Janus: CPU | Janus CPU per packet ÷ Tillit's |"
    );
    println!("|---|---|---|---|---|---|");
    for ((phase, rooms), r) in phases.iter().zip(&ours) {
        let janus = Janus::start();
        let sizes: Vec<u32> = rooms.iter().map(|(_, n)| *n).collect();
        let (delivered, cpu) = rt.block_on(run_janus(&janus, &clips, seconds, sizes));
        let ratio = (cpu / delivered.max(1.0)) / (r.cpu_share / r.delivered_per_s.max(1.0));
        println!(
            "| {} | {:.0} | {:.0} % | {:.0} | {:.0} % | {:.2} |",
            phase.name,
            r.delivered_per_s,
            100.0 * r.cpu_share,
            delivered,
            100.0 * cpu,
            ratio
        );
        drop(janus);
        std::thread::sleep(Duration::from_secs(1));
    }
}
