//! A group visit of twenty: synthetic participants (audio with levels and
//! three VP8 simulcast layers each, over real ICE, DTLS and SRTP on
//! loopback) in one room of the media task. Everyone receives everyone
//! else's audio and video, with the loss a user would notice counted.

#![allow(clippy::unwrap_used)]

#[path = "support/synthetic.rs"]
mod synthetic;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use synthetic::{Client, Clip};
use tillit_media::driver::Hub;

const PARTICIPANTS: u32 = 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_participants_each_receive_the_nineteen_others() {
    let hub = Hub::start("127.0.0.1:0".parse().unwrap(), None)
        .await
        .unwrap();
    let room = "demo/group-of-twenty";
    let clips = [Clip::synthetic(0), Clip::synthetic(1), Clip::synthetic(2)];
    let mut clients = Vec::new();
    for n in 1..=PARTICIPANTS {
        clients.push(Client::join(&hub, room, n, 50).await);
    }
    let mut buf = vec![0u8; 2048];
    let mut got = Vec::new();
    let started = Instant::now();
    let measure_from = Duration::from_secs(8);
    let mut measuring = false;
    while started.elapsed() < measure_from + Duration::from_secs(4) {
        let now = Instant::now();
        for c in clients.iter_mut() {
            c.step(&hub, room, now, &mut buf, &mut got).await;
            if now.duration_since(started) > Duration::from_millis(1500) {
                c.send_due(now, &clips);
            }
        }
        if !measuring && started.elapsed() >= measure_from {
            // Connections are up and forwarding has started at keyframes:
            // count from here.
            measuring = true;
            for c in clients.iter_mut() {
                c.received.clear();
            }
        }
        tokio::time::sleep(Duration::from_micros(500)).await;
    }

    let stats = hub.stats().await;
    for c in &clients {
        // One audio and one video stream from each of the others (the
        // receiving side sees the SFU's SSRCs, one per forwarded track).
        let streams: HashMap<u32, (u16, u16, u64)> = c.received.clone();
        assert_eq!(
            streams.len(),
            2 * (PARTICIPANTS as usize - 1),
            "participant {:?} receives {} streams: {stats:?}",
            c.peer,
            streams.len()
        );
        let (mut expected, mut arrived) = (0u64, 0u64);
        for (first, high, count) in streams.values() {
            assert!(*count > 50, "every stream flows: {streams:?}");
            expected += u64::from(high.wrapping_sub(*first)) + 1;
            arrived += count;
        }
        let loss = 1.0 - arrived as f64 / expected as f64;
        assert!(
            loss < 0.05,
            "participant {:?} lost {:.1} %",
            c.peer,
            loss * 100.0
        );
    }
    for c in &clients {
        hub.leave(room.into(), c.peer);
    }
}
