//! The private notes plugin in the real host over the real database: only
//! the clinician who wrote a note ever gets it back.

#![allow(clippy::unwrap_used)]

mod kit;

use kit::*;
use serde_json::json;
use tillit_domain::plugin_data::{Owner, Space};
use tillit_plugins::{CallContext, CallError, HttpRequest, HttpResponse, Method, Page, Role, Slot};

async fn call(
    kit: &Kit,
    ctx: &CallContext,
    request: HttpRequest,
) -> Result<HttpResponse, CallError> {
    kit.host
        .handle_http(ctx, "notes", request)
        .await
        .map(|called| called.value)
}

fn put(text: &str, base_version: u64) -> HttpRequest {
    HttpRequest::new(Method::Put, "/note").with_body(
        "application/json",
        serde_json::to_vec(&json!({ "text": text, "base_version": base_version })).unwrap(),
    )
}

fn get() -> HttpRequest {
    HttpRequest::new(Method::Get, "/note")
}

#[tokio::test]
async fn a_clinicians_note_is_theirs_alone() {
    for backend in BACKENDS {
        let kit = Kit::new(backend).await;
        kit.enable("notes", &["alfa", "beta"]);
        let karin_alfa = as_in_visit("alfa", karin(), Role::Clinician);

        let saved = call(&kit, &karin_alfa, put("Sover bättre <b>nu</b>.", 0))
            .await
            .unwrap();
        assert_eq!(saved.status, 200, "{backend:?}: {:?}", json(&saved.body));
        assert_eq!(saved.header("cache-control"), Some("no-store"));
        let version = json(&saved.body)["version"].as_u64().unwrap();
        assert_eq!(json(&saved.body)["status_text"], "Sparad 10:00");

        // Read back a week later, outside the visit, naming the patient by
        // the reference the plugin knows her by.
        kit.clock
            .advance(std::time::Duration::from_secs(7 * 24 * 3600));
        let tove_ref = kit.host.person_ref(&tenant("alfa"), "notes", &tove());
        let back = call(
            &kit,
            &as_person("alfa", karin(), Role::Clinician),
            get().with_query("patient", &tove_ref),
        )
        .await
        .unwrap();
        assert_eq!(back.status, 200);
        assert_eq!(json(&back.body)["text"], "Sover bättre <b>nu</b>.");
        assert_eq!(json(&back.body)["version"], version);

        // Another clinician in the same visit: an empty note of their own.
        let olof_sees = call(&kit, &as_in_visit("alfa", olof(), Role::Clinician), get())
            .await
            .unwrap();
        assert_eq!(
            (
                json(&olof_sees.body)["text"].clone(),
                json(&olof_sees.body)["version"].clone()
            ),
            (json!(""), json!(0)),
            "{backend:?}"
        );
        // The patient, an administrator: 403 from the plugin.
        for (who, role) in [
            (tove(), Role::Patient),
            (ada(), Role::Administrator),
            (tove(), Role::Guest),
        ] {
            let r = call(&kit, &as_in_visit("alfa", who, role), get())
                .await
                .unwrap();
            assert_eq!(r.status, 403, "{role:?}");
            assert_eq!(json(&r.body)["error"], "clinicians_only");
        }
        // The same clinician (same person id) in another tenant: nothing.
        let beta = call(&kit, &as_in_visit("beta", karin(), Role::Clinician), get())
            .await
            .unwrap();
        assert_eq!(json(&beta.body)["text"], "", "{backend:?}");
        // A tenant without the plugin: not enabled, 404.
        let mut gamma = as_in_visit("alfa", karin(), Role::Clinician);
        gamma.tenant = tenant("gamma");
        let e = call(&kit, &gamma, get()).await.err().unwrap();
        assert_eq!(e.status(), 404);

        // Stored once, in Karin's own space of the notes plugin in alfa.
        let karin_ref = kit.host.person_ref(&tenant("alfa"), "notes", &karin());
        let keys = kit
            .store
            .tenant(tenant("alfa"))
            .plugin_keys(
                &Space {
                    plugin: "notes".into(),
                    owner: Owner::Person(karin_ref),
                },
                "",
                None,
                10,
            )
            .await
            .unwrap();
        assert_eq!(keys, [format!("note/{tove_ref}")]);
        let shared = kit
            .store
            .tenant(tenant("alfa"))
            .plugin_keys(
                &Space {
                    plugin: "notes".into(),
                    owner: Owner::Tenant,
                },
                "",
                None,
                10,
            )
            .await
            .unwrap();
        assert!(shared.is_empty());
    }
}

#[tokio::test]
async fn a_stale_tab_gets_409_and_overwrites_nothing() {
    for backend in BACKENDS {
        let kit = Kit::new(backend).await;
        kit.enable("notes", &["alfa"]);
        let ctx = as_in_visit("alfa", karin(), Role::Clinician);
        let first = call(&kit, &ctx, put("Flik A", 0)).await.unwrap();
        let v1 = json(&first.body)["version"].as_u64().unwrap();
        let second = call(&kit, &ctx, put("Flik A igen", v1)).await.unwrap();
        assert_eq!(second.status, 200);
        let stale = call(&kit, &ctx, put("Flik B", v1)).await.unwrap();
        assert_eq!(stale.status, 409, "{backend:?}");
        assert_eq!(json(&stale.body)["error"], "stale");
        assert_eq!(json(&stale.body)["current"]["text"], "Flik A igen");
        // Creating over an existing note is stale too.
        assert_eq!(call(&kit, &ctx, put("Ny", 0)).await.unwrap().status, 409);
        assert_eq!(
            json(&call(&kit, &ctx, get()).await.unwrap().body)["text"],
            "Flik A igen"
        );
    }
}

#[tokio::test]
async fn the_panel_shows_the_note_to_its_clinician_only() {
    let kit = Kit::new(tillit_store::Backend::Sqlite).await;
    kit.enable("notes", &["alfa"]);
    let karin_ctx = as_in_visit("alfa", karin(), Role::Clinician);
    call(&kit, &karin_ctx, put("<script>alert(1)</script>", 0))
        .await
        .unwrap();

    let called = kit
        .host
        .render_slot(&karin_ctx, "notes", &Slot::VisitPanel)
        .await
        .unwrap();
    let view = called.value.unwrap();
    assert_eq!(view.template, "panel");
    let html = view
        .render(&Page {
            csrf: "tok",
            lang: "sv",
        })
        .unwrap();
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{html}"
    );
    assert!(!html.contains("<script>"));
    assert!(html.contains(r#"action="/plugins/notes/note""#));
    assert!(html.contains("Tove Toll"));
    assert!(html.contains(r#"value="tok""#));

    for (who, role) in [(tove(), Role::Patient), (ada(), Role::Administrator)] {
        let called = kit
            .host
            .render_slot(&as_in_visit("alfa", who, role), "notes", &Slot::VisitPanel)
            .await
            .unwrap();
        assert!(called.value.is_none(), "{role:?}");
    }
    // A slot the manifest does not list: the plugin is not even asked.
    let called = kit
        .host
        .render_slot(&karin_ctx, "notes", &Slot::BetweenVisitsPage)
        .await
        .unwrap();
    assert!(called.value.is_none());
}
