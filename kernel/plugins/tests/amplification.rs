//! Views that cost the kernel far more than they cost the plugin
//! (`plugins/hostile/amplify`): templates that multiply their data, view
//! data too big or too deep to parse. The kernel renders views on its own
//! threads and in its own memory, where the plugin's limits do not reach;
//! the host's limits on view data and on rendering must.

#![allow(clippy::unwrap_used)]

mod kit;

use std::time::{Duration, Instant};

use kit::*;
use tillit_plugins::{CallError, Grant, Page, Role, Slot, View, ViewError};
use tillit_store::Backend;

const PAGE: Page<'static> = Page {
    csrf: "tok",
    lang: "sv",
};

/// Enables hostile-amplify for alfa in `mode` with `size`.
fn amplify(kit: &Kit, mode: &str, size: usize) {
    let info = kit.host.plugin("hostile-amplify").unwrap();
    let mut grant = Grant::requested(&info);
    grant.config.insert("mode".into(), mode.into());
    grant.config.insert("size".into(), size.into());
    kit.host
        .enable(&tenant("alfa"), "hostile-amplify", grant)
        .unwrap();
}

async fn panel(kit: &Kit) -> Result<View, CallError> {
    let ctx = as_in_visit("alfa", karin(), Role::Clinician);
    kit.host
        .render_slot(&ctx, "hostile-amplify", &Slot::VisitPanel)
        .await
        .map(|called| called.value.unwrap())
}

async fn kit(adjust: impl FnOnce(&mut tillit_plugins::HostConfig)) -> Kit {
    let kit = Kit::with_config(Backend::Sqlite, adjust).await;
    kit.host.load(&package("hostile-amplify")).unwrap();
    kit
}

/// The most memory this process has held, where Linux says.
fn peak_memory() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib << 10)
}

#[tokio::test]
async fn a_template_that_multiplies_its_data_stops_at_its_html_limit() {
    // Time enough that only the size can stop it.
    let kit = kit(|c| c.limits.view_time = Duration::from_secs(5)).await;
    let limit = kit.host.limits().view_html;
    amplify(&kit, "bomb", 0);
    let view = panel(&kit).await.unwrap();
    // 300 bytes of data, a million times a kilobyte of HTML unbounded.
    assert!(view.data.to_string().len() < 400);
    let before = peak_memory();
    let started = Instant::now();
    let e = view.render(&PAGE).err();
    let took = started.elapsed();
    assert!(
        matches!(e, Some(ViewError::TooLarge { limit: l, .. }) if l == limit),
        "{e:?}"
    );
    assert_eq!(limit, 1 << 20);
    assert!(took < Duration::from_secs(1), "took {took:?}");
    // The kernel kept at most the limit, not the gigabyte.
    if let (Some(before), Some(after)) = (before, peak_memory()) {
        let grew = after.saturating_sub(before);
        assert!(grew < 128 << 20, "peak memory grew by {grew} bytes");
    }
}

#[tokio::test]
async fn a_template_that_loops_without_writing_stops_at_its_time_limit() {
    let kit = kit(|_| {}).await;
    let limit = kit.host.limits().view_time;
    amplify(&kit, "churn", 0);
    let view = panel(&kit).await.unwrap();
    let started = Instant::now();
    let e = view.render(&PAGE).err();
    let took = started.elapsed();
    assert!(
        matches!(e, Some(ViewError::TooSlow { limit: l, .. }) if l == limit),
        "{e:?}"
    );
    assert!(took >= limit, "{took:?}");
    assert!(
        took < 10 * limit,
        "a hundred million iterations ran for {took:?}"
    );
}

#[tokio::test]
async fn view_data_too_big_or_too_deep_is_refused_before_it_is_parsed() {
    // Time enough that only the data's size or depth can stop it: building
    // 256 KiB in the plugin takes a good part of the 50 ms on a loaded
    // machine.
    let kit = kit(|c| c.limits.call_time = Duration::from_secs(5)).await;
    let limits = kit.host.limits().clone();
    let bad_answer = |r: Result<View, CallError>| match r {
        Err(CallError::BadAnswer { reason, .. }) => reason,
        other => panic!("not a bad answer: {other:?}"),
    };

    // Over the size: refused, unparsed (a megabyte of `0,` would take ~20).
    amplify(&kit, "huge", 1 << 20);
    let reason = bad_answer(panel(&kit).await);
    assert!(
        reason.contains(&format!("over the limit of {}", limits.view_data)),
        "{reason}"
    );
    // Just within it: rendered as usual (and stopped at the HTML limit).
    amplify(&kit, "huge", limits.view_data);
    assert!(panel(&kit).await.is_ok());

    // Deeper than the limit, though well within serde_json's own 128.
    amplify(&kit, "deep", 100);
    let reason = bad_answer(panel(&kit).await);
    assert!(reason.contains("nested deeper than 32"), "{reason}");
    amplify(&kit, "deep", limits.view_depth - 1);
    assert!(panel(&kit).await.is_ok());

    // 14 MiB: more than the plugin may pass at once. Not even copied.
    amplify(&kit, "huge", 14 << 20);
    let e = panel(&kit).await.err().unwrap();
    assert!(
        matches!(e, CallError::TooMuchData { limit, .. } if limit == limits.hostcall_fuel()),
        "{e}"
    );
    assert!(limits.hostcall_fuel() < 14 << 20);
}

#[tokio::test]
async fn a_long_template_name_is_cut_in_the_error() {
    // Time enough that only the size can stop it.
    let kit = kit(|c| c.limits.call_time = Duration::from_secs(5)).await;
    let limits = kit.host.limits().clone();
    amplify(&kit, "template", 1 << 20);
    let e = panel(&kit).await.err().unwrap();
    assert!(matches!(e, CallError::BadAnswer { .. }), "{e}");
    let logged = e.to_string();
    assert!(
        logged.len() < limits.text_len + 200,
        "{} bytes",
        logged.len()
    );
    // 24 MiB is over what the plugin may pass at once.
    amplify(&kit, "template", 24 << 20);
    let e = panel(&kit).await.err().unwrap();
    assert!(matches!(e, CallError::TooMuchData { .. }), "{e}");
}
