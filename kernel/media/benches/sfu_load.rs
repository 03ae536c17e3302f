//! The SFU under load: synthetic participants sending pre-encoded VP8
//! simulcast clips (ffmpeg, three layers) and Opus-sized audio with audio
//! levels, as real RTP over real ICE, DTLS and SRTP, to the media task on
//! its own thread. First one 20-person group room, then growing numbers of
//! 1:1 visits. Like the room page, Tillit's participants stop sending a
//! layer the SFU says nobody watches; Janus's send all three, as a browser
//! on Janus would. The clients live in `tests/support/synthetic.rs`,
//! shared with the group-room test.
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
use std::time::{Duration, Instant};

use rtc::peer_connection::sdp::RTCSessionDescription;
use tillit_media::driver::{Hub, HubStats};
use tillit_sfu::PeerId;

#[path = "../tests/support/synthetic.rs"]
mod synthetic;
use synthetic::*;

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
                // Janus never asks a publisher to stop a layer, so a
                // browser on Janus sends all three.
                paused: [false; 3],
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
