//! The hostile plugins (`plugins/hostile/`) against the real host and the
//! real database: each misbehaves on purpose, and the host must contain it.

#![allow(clippy::unwrap_used)]

mod kit;

use std::time::Instant;

use kit::*;
use tillit_plugins::{CallError, Event, HttpRequest, Method, PluginError, Role, Slot};
use tillit_store::Backend;

fn get(path: &str) -> HttpRequest {
    HttpRequest::new(Method::Get, path)
}

#[tokio::test]
async fn a_plugin_that_loops_forever_is_stopped_and_the_next_call_works() {
    let kit = Kit::new(Backend::Sqlite).await;
    kit.enable("hostile-spin", &["alfa"]);
    kit.enable("hostile-balloon", &["alfa"]);
    let ctx = as_in_visit("alfa", karin(), Role::Clinician);
    let limit = kit.host.limits().call_time;
    let tick = kit.host.limits().epoch_tick;

    let started = Instant::now();
    let e = kit
        .host
        .handle_http(&ctx, "hostile-spin", get("/spin"))
        .await
        .err()
        .unwrap();
    let took = started.elapsed();
    assert!(matches!(e, CallError::TimedOut { .. }), "{e}");
    assert_eq!(e.status(), 500);
    // Stopped at the first tick after its time was up (the slack is for a
    // loaded machine: two ticks).
    assert!(took >= limit, "{took:?}");
    assert!(took < limit + 3 * tick, "stopped only after {took:?}");

    // Every hook is contained the same way.
    let e = kit
        .host
        .render_slot(&ctx, "hostile-spin", &Slot::VisitPanel)
        .await
        .err()
        .unwrap();
    assert!(matches!(e, CallError::TimedOut { .. }), "{e}");
    let e = kit
        .host
        .handle_event(&ctx, "hostile-spin", &Event::VisitStarted)
        .await
        .err()
        .unwrap();
    assert!(matches!(e, CallError::TimedOut { .. }), "{e}");

    // The same plugin, when it does not loop, and another plugin: fine.
    let ok = kit
        .host
        .handle_http(&ctx, "hostile-spin", get("/ok"))
        .await
        .unwrap();
    assert_eq!(
        (ok.value.status, ok.value.body.as_slice()),
        (200, &b"ok"[..])
    );
    let ok = kit
        .host
        .handle_http(&ctx, "hostile-balloon", get("/ok"))
        .await
        .unwrap();
    assert_eq!(ok.value.status, 200);
}

#[tokio::test]
async fn a_looping_plugin_does_not_hold_up_other_calls_on_the_same_thread() {
    let kit = Kit::new(Backend::Sqlite).await;
    kit.enable("hostile-spin", &["alfa"]);
    let ctx = as_in_visit("alfa", karin(), Role::Clinician);
    // One thread runs both: the spinning call yields at every epoch tick.
    let started = Instant::now();
    let spin = async {
        let r = kit
            .host
            .handle_http(&ctx, "hostile-spin", get("/spin"))
            .await;
        (r.is_err(), started.elapsed())
    };
    let ok = async {
        // Let the spinning call start first.
        tokio::task::yield_now().await;
        let r = kit.host.handle_http(&ctx, "hostile-spin", get("/ok")).await;
        (r.is_ok(), started.elapsed())
    };
    let ((spin_failed, spin_done), (ok_ok, ok_done)) = tokio::join!(spin, ok);
    assert!(spin_failed && ok_ok);
    assert!(
        ok_done < spin_done,
        "the short call waited for the loop: {ok_done:?} vs {spin_done:?}"
    );
}

#[tokio::test]
async fn a_plugin_that_allocates_without_end_traps_at_the_cap() {
    let kit = Kit::with_config(Backend::Sqlite, |c| c.limits.memory = 16 << 20).await;
    kit.enable("hostile-balloon", &["alfa"]);
    let ctx = as_in_visit("alfa", karin(), Role::Clinician);
    let e = kit
        .host
        .handle_http(&ctx, "hostile-balloon", get("/balloon"))
        .await
        .err()
        .unwrap();
    assert!(
        matches!(e, CallError::OutOfMemory { limit, .. } if limit == 16 << 20),
        "{e}"
    );
    let e = kit
        .host
        .render_slot(&ctx, "hostile-balloon", &Slot::VisitPanel)
        .await
        .err()
        .unwrap();
    assert!(matches!(e, CallError::OutOfMemory { .. }), "{e}");
    // A fresh instance from the same plugin works.
    for _ in 0..3 {
        let ok = kit
            .host
            .handle_http(&ctx, "hostile-balloon", get("/ok"))
            .await
            .unwrap();
        assert_eq!(ok.value.status, 200);
    }
}

#[tokio::test]
async fn a_panic_reaches_the_log_and_is_reported_as_the_plugins_failure() {
    let (log, _guard) = LogCapture::start();
    let kit = Kit::new(Backend::Sqlite).await;
    kit.enable("hostile-panics", &["alfa"]);
    let ctx = as_in_visit("alfa", karin(), Role::Clinician);
    let e = kit
        .host
        .handle_http(&ctx, "hostile-panics", get("/panic"))
        .await
        .err()
        .unwrap();
    let CallError::Panicked { plugin, message } = &e else {
        panic!("not reported as a panic: {e}")
    };
    assert_eq!(plugin, "hostile-panics");
    assert!(
        message.contains("hostile-panics: deliberate panic in on_request (/panic)"),
        "{message}"
    );
    assert_eq!(e.status(), 500);
    // The plugin's own line, from the SDK's panic hook, tagged with the
    // plugin and tenant.
    let events = log.events();
    let line = events
        .iter()
        .find(|l| {
            l.target == "tillit_plugins::guest"
                && l.field("message")
                    .is_some_and(|m| m.contains("deliberate panic in on_request"))
        })
        .unwrap_or_else(|| panic!("no plugin log line: {events:#?}"));
    assert_eq!(line.level, tracing::Level::ERROR);
    assert_eq!(line.field("plugin"), Some("hostile-panics"));
    assert_eq!(line.field("tenant"), Some("alfa"));
    // No caller identity in the plugin's log lines.
    let everything = format!("{events:?}");
    assert!(!everything.contains(karin().as_str()));

    // Events and renders panic too; the next call works.
    let e = kit
        .host
        .handle_event(&ctx, "hostile-panics", &Event::VisitStarted)
        .await
        .err()
        .unwrap();
    assert!(matches!(e, CallError::Panicked { .. }), "{e}");
    let e = kit
        .host
        .render_slot(&ctx, "hostile-panics", &Slot::VisitPanel)
        .await
        .err()
        .unwrap();
    assert!(matches!(e, CallError::Panicked { .. }), "{e}");
    let results = kit
        .host
        .dispatch_event(&ctx, &Event::ParticipantJoined(tove()))
        .await;
    assert_eq!(results.len(), 1);
    assert!(matches!(results[0].1, Err(CallError::Panicked { .. })));
    let ok = kit
        .host
        .handle_http(&ctx, "hostile-panics", get("/ok"))
        .await
        .unwrap();
    assert_eq!(ok.value.status, 200);
}

/// Every row of plugin storage: (tenant, plugin, owner, key).
async fn all_documents(kit: &Kit) -> Vec<(String, String, String, String)> {
    use sqlx::Connection;
    let sql = "SELECT tenant_id, plugin_id, owner, key FROM plugin_documents ORDER BY tenant_id, plugin_id, owner, key";
    match kit.db.backend {
        Backend::Sqlite => {
            let mut c = sqlx::SqliteConnection::connect(&kit.db.url).await.unwrap();
            sqlx::query_as(sql).fetch_all(&mut c).await.unwrap()
        }
        Backend::Postgres => {
            let mut c = sqlx::PgConnection::connect(&kit.db.url).await.unwrap();
            sqlx::query_as(sql).fetch_all(&mut c).await.unwrap()
        }
    }
}

#[tokio::test]
async fn crafted_keys_are_refused_and_nothing_lands_outside_the_namespace() {
    for backend in BACKENDS {
        let kit = Kit::new(backend).await;
        kit.enable("hostile-escape", &["alfa"]);
        let ctx = as_in_visit("alfa", karin(), Role::Clinician);
        let called = kit
            .host
            .handle_http(
                &ctx,
                "hostile-escape",
                HttpRequest::new(Method::Post, "/escape"),
            )
            .await
            .unwrap();
        assert_eq!(called.value.status, 200);
        let report = json(&called.value.body);
        let entries = report.as_array().unwrap();
        let mut allowed_keys = std::collections::BTreeSet::new();
        for entry in entries {
            let (op, key, outcome) = (
                entry["op"].as_str().unwrap(),
                entry["key"].as_str().unwrap(),
                entry["outcome"].as_str().unwrap(),
            );
            match (op, entry["allowed"].as_bool()) {
                (_, Some(false)) => assert_eq!(outcome, "invalid", "{backend:?} {op} {key:?}"),
                ("set" | "get", Some(true)) => {
                    assert_eq!(outcome, "ok", "{backend:?} {op} {key:?}");
                    allowed_keys.insert(key.to_owned());
                }
                // Deleting with a revision that does not exist.
                ("delete", Some(true)) => assert_eq!(outcome, "conflict", "{key:?}"),
                ("list", _) => {
                    let expected = if ["../", "/", "..", "", "caller/", "tenant/"].contains(&key) {
                        "ok"
                    } else {
                        "invalid"
                    };
                    assert_eq!(outcome, expected, "{backend:?} list {key:?}");
                }
                ("list-cursor", _) => assert_eq!(outcome, "invalid"),
                other => panic!("unexpected report entry {other:?}: {entry}"),
            }
        }

        // In the database: only the valid keys, only in this plugin's
        // space in this tenant, in its tenant space and Karin's own.
        let karin_ref = kit
            .host
            .person_ref(&tenant("alfa"), "hostile-escape", &karin());
        let rows = all_documents(&kit).await;
        assert!(!rows.is_empty());
        for (t, plugin, owner, key) in &rows {
            assert_eq!(
                (t.as_str(), plugin.as_str()),
                ("alfa", "hostile-escape"),
                "{key}"
            );
            assert!(owner.is_empty() || *owner == karin_ref, "{owner}");
            assert!(tillit_domain::plugin_data::is_valid_key(key), "{key:?}");
        }
        let mut stored: Vec<&str> = rows.iter().map(|r| r.3.as_str()).collect();
        stored.sort();
        stored.dedup();
        // The report cuts long keys for display; compare the short ones.
        let short: Vec<&str> = allowed_keys
            .iter()
            .map(String::as_str)
            .filter(|k| k.len() < 80)
            .collect();
        let stored_short: Vec<&str> = stored.iter().copied().filter(|k| k.len() < 80).collect();
        assert_eq!(stored_short, short, "{backend:?}");
        assert_eq!(
            rows.len(),
            2 * (short.len() + 1),
            "both scopes, plus the 256-byte key"
        );
    }
}

#[tokio::test]
async fn a_snooping_plugin_reads_nobody_elses_data() {
    for backend in BACKENDS {
        let kit = Kit::new(backend).await;
        kit.enable("hostile-snoop", &["alfa", "beta"]);
        kit.enable("notes", &["alfa"]);
        let secret = format!("SECRET-{}", uuid::Uuid::new_v4().simple());

        // Karin seeds the secret in alfa, and writes a note with it.
        let karin_alfa = as_in_visit("alfa", karin(), Role::Clinician);
        let seeded = kit
            .host
            .handle_http(
                &karin_alfa,
                "hostile-snoop",
                HttpRequest::new(Method::Put, "/secret").with_body("text/plain", secret.clone()),
            )
            .await
            .unwrap();
        assert_eq!(seeded.value.status, 200, "{backend:?}");
        let blob = json(&seeded.value.body)["blob"]
            .as_str()
            .unwrap()
            .to_owned();
        let note = serde_json::json!({ "text": secret, "base_version": 0 });
        let saved = kit
            .host
            .handle_http(
                &karin_alfa,
                "notes",
                HttpRequest::new(Method::Put, "/note")
                    .with_body("application/json", serde_json::to_vec(&note).unwrap()),
            )
            .await
            .unwrap();
        assert_eq!(saved.value.status, 200);

        let karin_ref = kit
            .host
            .person_ref(&tenant("alfa"), "hostile-snoop", &karin());
        let karin_notes_ref = kit.host.person_ref(&tenant("alfa"), "notes", &karin());
        let tove_notes_ref = kit.host.person_ref(&tenant("alfa"), "notes", &tove());
        let snoop = |t: &str| {
            get("/snoop")
                .with_query("key", "secret")
                .with_query("key", &format!("secret/{karin_ref}"))
                .with_query("key", &format!("note/{tove_notes_ref}"))
                .with_query("ref", &karin_ref)
                .with_query("ref", &karin_notes_ref)
                .with_query("blob", &blob)
                .with_query("to", &karin_ref)
                .with_query(
                    "to",
                    &kit.host.person_ref(&tenant(t), "hostile-snoop", &ada()),
                )
        };

        // Olof, in the same tenant: not Karin's private documents or blob.
        // Her tenant-scope copy is shared in the tenant by design (the
        // plugin decides who reads its tenant scope), so that is the only
        // place the secret may show.
        let olof_alfa = as_in_visit("alfa", olof(), Role::Clinician);
        let called = kit
            .host
            .handle_http(&olof_alfa, "hostile-snoop", snoop("alfa"))
            .await
            .unwrap();
        let found = json(&called.value.body);
        assert!(
            !found["caller"].to_string().contains(&secret),
            "{backend:?}: {found}"
        );
        assert_eq!(found["caller"]["blobs"][&blob], "Error::NotFound");
        assert!(found["tenant"]["all"].to_string().contains(&secret));
        assert!(!found["tenant"]["blobs"].to_string().contains(&secret));
        // Another plugin's (notes') keys are not in this plugin's space.
        assert_eq!(
            found["caller"]["guessed"][format!("note/{tove_notes_ref}")],
            serde_json::Value::Null
        );
        assert_eq!(
            found["tenant"]["guessed"][format!("note/{tove_notes_ref}")],
            serde_json::Value::Null
        );
        // Live messages reach participants of the visit only.
        assert_eq!(found["live"][&karin_ref], "Ok(())");
        assert_eq!(
            found["live"][kit
                .host
                .person_ref(&tenant("alfa"), "hostile-snoop", &ada())],
            "Err(Error::NotFound)"
        );
        assert_eq!(called.live.len(), 1);
        assert_eq!(called.live[0].to.as_ref(), Some(&karin()));
        assert_eq!(called.live[0].plugin, "hostile-snoop");

        // Karin herself in another tenant (same person id): nothing at all.
        let karin_beta = as_in_visit("beta", karin(), Role::Clinician);
        let called = kit
            .host
            .handle_http(&karin_beta, "hostile-snoop", snoop("beta"))
            .await
            .unwrap();
        let found = json(&called.value.body);
        assert!(!found.to_string().contains(&secret), "{backend:?}: {found}");
        assert_ne!(
            found["caller"],
            serde_json::json!(karin_ref),
            "references differ per tenant"
        );
        // Her reference from alfa names nobody in beta's visit.
        assert_eq!(found["live"][&karin_ref], "Err(Error::NotFound)");

        // In the database, the secret is in the snoop plugin's rows in alfa
        // and in Karin's notes, nowhere else.
        for (t, plugin, owner, key) in all_documents(&kit).await {
            assert_eq!(t, "alfa");
            match plugin.as_str() {
                "hostile-snoop" => assert!(owner.is_empty() || owner == karin_ref, "{owner} {key}"),
                "notes" => assert_eq!(owner, karin_notes_ref),
                other => panic!("a row of {other}"),
            }
        }
    }
}

#[tokio::test]
async fn without_a_caller_there_is_no_private_space() {
    let kit = Kit::new(Backend::Sqlite).await;
    kit.enable("hostile-snoop", &["alfa"]);
    // A call without a caller (as for events): the caller scope is denied.
    let mut ctx = as_in_visit("alfa", karin(), Role::Clinician);
    ctx.caller = None;
    let called = kit
        .host
        .handle_http(&ctx, "hostile-snoop", get("/snoop"))
        .await
        .unwrap();
    let found = json(&called.value.body);
    assert_eq!(found["caller"]["all"]["(list failed)"], "Error::Denied");
    assert_eq!(found["caller"]["guessed"]["secret"], "Error::Denied");
}

#[tokio::test]
async fn limits_come_back_as_errors_with_their_status() {
    let kit = Kit::with_config(Backend::Sqlite, |c| {
        c.limits.request_body = 4096;
        c.limits.value_size = 1024;
        c.limits.blob_size = 512;
        c.limits.quotas.storage = 3000;
    })
    .await;
    kit.enable("hostile-snoop", &["alfa"]);
    let ctx = as_in_visit("alfa", karin(), Role::Clinician);
    let seed =
        |n: usize| HttpRequest::new(Method::Put, "/secret").with_body("text/plain", vec![b'x'; n]);
    let status =
        |r: Result<tillit_plugins::Called<tillit_plugins::HttpResponse>, CallError>| match r {
            Ok(c) => c.value.status,
            Err(e) => e.status(),
        };
    // The document fits, the blob does not (blobs.max-size).
    let r = kit.host.handle_http(&ctx, "hostile-snoop", seed(600)).await;
    assert!(matches!(
        &r,
        Err(CallError::Returned {
            error: tillit_plugins::PluginError::TooLarge,
            ..
        })
    ));
    assert_eq!(status(r), 413);
    // The document is over the value size.
    assert_eq!(
        status(
            kit.host
                .handle_http(&ctx, "hostile-snoop", seed(2000))
                .await
        ),
        413
    );
    // The body is over what the host passes on: the plugin is not called.
    let r = kit
        .host
        .handle_http(&ctx, "hostile-snoop", seed(5000))
        .await;
    assert!(matches!(r, Err(CallError::BodyTooLarge { .. })));
    // Within every limit.
    assert_eq!(
        status(kit.host.handle_http(&ctx, "hostile-snoop", seed(400)).await),
        200
    );
    // Each seed writes two documents of ~400 bytes: the (tenant, plugin)
    // quota of 3000 bytes runs out after a few people.
    let mut statuses = Vec::new();
    for person in 0..4u8 {
        let someone = tillit_domain::PersonId::new(format!("person-{person}"));
        let ctx = as_in_visit("alfa", someone, Role::Patient);
        statuses.push(status(
            kit.host.handle_http(&ctx, "hostile-snoop", seed(400)).await,
        ));
    }
    assert_eq!(statuses, [200, 200, 507, 507]);
    // Routes the manifest does not declare never reach the plugin.
    let r = kit
        .host
        .handle_http(&ctx, "hostile-snoop", get("/secret"))
        .await;
    assert!(
        matches!(&r, Err(CallError::MethodNotAllowed { allow, .. }) if allow == &[Method::Put])
    );
    assert_eq!(status(r), 405);
    assert_eq!(
        status(
            kit.host
                .handle_http(&ctx, "hostile-snoop", get("/admin"))
                .await
        ),
        404
    );
}

#[tokio::test]
async fn a_storage_loop_is_stopped_at_its_budget_of_host_calls_or_its_wall_clock_time() {
    // The plugin's own time barely grows: nearly all of it is in storage.
    let kit = Kit::new(Backend::Sqlite).await;
    kit.enable("hostile-hostcalls", &["alfa"]);
    let ctx = as_in_visit("alfa", karin(), Role::Clinician);
    let limits = kit.host.limits().clone();
    let e = kit
        .host
        .handle_http(&ctx, "hostile-hostcalls", get("/loop"))
        .await
        .err()
        .unwrap();
    assert!(
        matches!(e, CallError::TooManyHostCalls { limit, .. } if limit == limits.host_calls),
        "{e}"
    );
    assert_eq!(e.status(), 500);

    // With operations to spare, the wall-clock time stops it.
    let wall = std::time::Duration::from_millis(200);
    let kit = Kit::with_config(Backend::Sqlite, |c| {
        c.limits.call_wall_time = wall;
        c.limits.host_calls = u32::MAX;
        c.limits.host_bytes = u64::MAX;
    })
    .await;
    kit.enable("hostile-hostcalls", &["alfa"]);
    let started = Instant::now();
    let e = kit
        .host
        .handle_http(&ctx, "hostile-hostcalls", get("/loop"))
        .await
        .err()
        .unwrap();
    let took = started.elapsed();
    assert!(
        matches!(e, CallError::DeadlineExceeded { limit, .. } if limit == wall),
        "{e}"
    );
    assert!(took >= wall, "{took:?}");
    assert!(took < 10 * wall, "stopped only after {took:?}");
    let ok = kit
        .host
        .handle_http(&ctx, "hostile-hostcalls", get("/ok"))
        .await
        .unwrap();
    assert_eq!(ok.value.status, 200);
}

#[tokio::test]
async fn a_tenant_flooding_the_host_leaves_the_other_tenants_their_instances() {
    // A pool of 32 (a quarter of the default, so the flood is light enough
    // to run beside other tests), shared out as by default.
    let kit = Kit::with_config(Backend::Sqlite, |c| {
        c.limits.concurrent_calls = 32;
        c.limits.tenant_calls = 8;
        c.limits.plugin_calls = 4;
    })
    .await;
    kit.enable("hostile-spin", &["alfa", "beta"]);
    kit.enable("hostile-hostcalls", &["alfa", "beta"]);
    let limits = kit.host.limits().clone();
    let alfa = as_in_visit("alfa", karin(), Role::Clinician);
    let beta = as_in_visit("beta", karin(), Role::Clinician);
    // As many calls as the pool has instances, of each of two plugins, all
    // at once: calls that run long (the spin to its time limit, the loop
    // to its budget of storage operations).
    let flood = (0..limits.concurrent_calls).flat_map(|_| {
        [
            kit.host.handle_http(&alfa, "hostile-spin", get("/spin")),
            kit.host
                .handle_http(&alfa, "hostile-hostcalls", get("/loop")),
        ]
    });
    let flood = futures::future::join_all(flood);
    // Meanwhile, beta's calls to the same plugins are served.
    let served = async {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let mut results = Vec::new();
        for _ in 0..20 {
            for plugin in ["hostile-spin", "hostile-hostcalls"] {
                results.push(kit.host.handle_http(&beta, plugin, get("/ok")).await);
            }
        }
        results
    };
    let (flooded, served) = tokio::join!(flood, served);
    for r in &served {
        assert!(
            matches!(r, Ok(c) if c.value.status == 200),
            "beta's call failed while alfa flooded: {:?}",
            r.as_ref().err()
        );
    }
    // Alfa's own calls ran to their limits or waited for its share; none
    // found the pool empty.
    for r in &flooded {
        match r {
            Err(
                CallError::TimedOut { .. }
                | CallError::TooManyHostCalls { .. }
                | CallError::DeadlineExceeded { .. }
                | CallError::Busy { .. },
            ) => {}
            other => panic!("{:?}", other.as_ref().err()),
        }
    }
}

#[tokio::test]
async fn what_a_plugin_says_is_cut_before_it_reaches_a_log_or_a_response() {
    let (log, _guard) = LogCapture::start();
    let kit = Kit::with_config(Backend::Sqlite, time_is_not_the_limit).await;
    kit.enable("hostile-loud", &["alfa"]);
    let ctx = as_in_visit("alfa", karin(), Role::Clinician);
    let limits = kit.host.limits().clone();
    let loud = |path: &str, bytes: usize| get(path).with_query("bytes", &bytes.to_string());
    let fits = |text: &str| {
        assert!(text.len() <= limits.text_len + 3, "{} bytes", text.len());
        assert!(!text.contains('\n'), "a raw newline: {text:.200}");
    };

    // `internal`: for the log (by whoever made the call), cut.
    let e = kit
        .host
        .handle_http(&ctx, "hostile-loud", loud("/internal", 4 << 20))
        .await
        .err()
        .unwrap();
    let CallError::Internal { reason, .. } = &e else {
        panic!("{e}")
    };
    fits(reason);
    assert!(
        reason.contains("\\nERROR tillit: forged line"),
        "{reason:.200}"
    );
    assert_eq!(e.status(), 500);

    // `invalid`: for the person, cut. The kernel answers with its text.
    let e = kit
        .host
        .handle_http(&ctx, "hostile-loud", loud("/invalid", 4 << 20))
        .await
        .err()
        .unwrap();
    let CallError::Returned {
        error: error @ PluginError::Invalid(reason),
        ..
    } = &e
    else {
        panic!("{e}")
    };
    fits(reason);
    assert_eq!(error.status(), 400);
    assert!(error.to_string().len() < limits.text_len + 64);

    // A log line: cut, and its newlines escaped.
    let ok = kit
        .host
        .handle_http(&ctx, "hostile-loud", loud("/log", 4 << 20))
        .await
        .unwrap();
    assert_eq!(ok.value.status, 200);

    // 24 MiB: more than the plugin may pass at once; never copied.
    let e = kit
        .host
        .handle_http(&ctx, "hostile-loud", loud("/internal", 24 << 20))
        .await
        .err()
        .unwrap();
    assert!(
        matches!(e, CallError::TooMuchData { limit, .. } if limit == limits.hostcall_fuel()),
        "{e}"
    );

    // In the log: the plugin's own line, cut; and nothing of the host's
    // about the failed calls, which their caller logs, once.
    let events = log.events();
    let guest: Vec<_> = events
        .iter()
        .filter(|l| l.target == "tillit_plugins::guest")
        .collect();
    assert_eq!(guest.len(), 1, "{guest:#?}");
    fits(guest[0].field("message").unwrap());
    let host: Vec<_> = events
        .iter()
        .filter(|l| l.target.starts_with("tillit_plugins") && l.target != "tillit_plugins::guest")
        .collect();
    assert!(host.is_empty(), "the host logged failures: {host:.300?}");
}

#[tokio::test]
async fn response_headers_are_bounded_before_they_are_copied() {
    let kit = Kit::with_config(Backend::Sqlite, time_is_not_the_limit).await;
    kit.enable("hostile-loud", &["alfa"]);
    let ctx = as_in_visit("alfa", karin(), Role::Clinician);
    let limits = kit.host.limits().clone();
    let headers = |count: usize, bytes: usize| {
        get("/headers")
            .with_query("count", &count.to_string())
            .with_query("bytes", &bytes.to_string())
    };
    let reason =
        |r: Result<tillit_plugins::Called<tillit_plugins::HttpResponse>, CallError>| match r {
            Err(CallError::BadAnswer { reason, .. }) => reason,
            other => panic!("{:?}", other.map(|c| c.value.headers.len())),
        };
    // Within the limits: kept.
    let ok = kit
        .host
        .handle_http(&ctx, "hostile-loud", headers(2, 100))
        .await
        .unwrap();
    assert_eq!(ok.value.headers.len(), 2);
    // Too many.
    let r = kit
        .host
        .handle_http(
            &ctx,
            "hostile-loud",
            headers(limits.response_headers + 1, 16),
        )
        .await;
    assert!(reason(r).contains("33 headers"));
    // Too long.
    let r = kit
        .host
        .handle_http(&ctx, "hostile-loud", headers(1, limits.response_header_len))
        .await;
    assert!(reason(r).contains("a header \"etag\""));
    // 64 headers pointing at one 16 MiB string: the first copy is already
    // over what the plugin may pass at once, so none is made (wasmtime's
    // default would have copied 128 MiB before stopping).
    let e = kit
        .host
        .handle_http(
            &ctx,
            "hostile-loud",
            headers(64, 16 << 20).with_query("alias", "1"),
        )
        .await
        .err()
        .unwrap();
    assert!(
        matches!(e, CallError::TooMuchData { limit, .. } if limit == limits.hostcall_fuel()),
        "{e}"
    );
    assert!(limits.hostcall_fuel() < 16 << 20);
}

/// For tests of size limits: a plugin writing megabytes may, on a loaded
/// machine, take longer than the default 50 ms of its own time (the epoch
/// ticks in wall time), and would then be stopped for time before the size
/// limit under test is reached.
fn time_is_not_the_limit(config: &mut tillit_plugins::HostConfig) {
    config.limits.call_time = std::time::Duration::from_secs(10);
    config.limits.call_wall_time = std::time::Duration::from_secs(20);
}
