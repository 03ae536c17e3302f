//! Plugins' storage on both backends: spaces kept apart, atomic conditional
//! writes, revisions that never repeat, listing in byte order with a
//! cursor, and quotas.

// Helpers here are test code too: a panic is the failure report.
#![allow(clippy::unwrap_used)]

use tillit_domain::plugin_data::{BlobPut, Condition, Deleted, Owner, Space, Usage, Written};
use tillit_domain::{TenantId, Timestamp};
use tillit_store::testing::TestDb;
use tillit_store::{Backend, Store, TenantStore};

const BACKENDS: [Backend; 2] = [Backend::Sqlite, Backend::Postgres];
const T0: Timestamp = Timestamp(1_800_000_000_000);
const QUOTA: u64 = 1 << 20;

fn tenant(s: &str) -> TenantId {
    TenantId::parse(s).unwrap()
}

async fn store(db: &TestDb) -> Store {
    let store = db.store().await;
    for t in ["alfa", "beta"] {
        store.register_tenant(&tenant(t), T0).await.unwrap();
    }
    store
}

/// The plugin's space shared in the tenant.
fn shared(plugin: &str) -> Space {
    Space {
        plugin: plugin.to_owned(),
        owner: Owner::Tenant,
    }
}

/// The plugin's space private to one person, by their reference.
fn private(plugin: &str, person: &str) -> Space {
    Space {
        plugin: plugin.to_owned(),
        owner: Owner::Person(person.to_owned()),
    }
}

#[tokio::test]
async fn documents_stay_in_their_tenant_plugin_and_owner() {
    for backend in BACKENDS {
        let db = TestDb::new(backend);
        let store = store(&db).await;
        let alfa = store.tenant(tenant("alfa"));
        let mine = private("notes", "p_karin");
        let w = alfa
            .set_plugin_document(
                &mine,
                "note/p_tove",
                b"secret",
                Condition::Always,
                QUOTA,
                T0,
            )
            .await
            .unwrap();
        assert!(matches!(w, Written::Revision(_)), "{backend:?}: {w:?}");
        let doc = alfa
            .plugin_document(&mine, "note/p_tove")
            .await
            .unwrap()
            .unwrap();
        assert_eq!((doc.value.as_slice(), doc.updated_at), (&b"secret"[..], T0));

        // Same key, any other owner, plugin or tenant: nothing there.
        let beta = store.tenant(tenant("beta"));
        for (t, sp) in [
            (&alfa, private("notes", "p_olof")),
            (&alfa, shared("notes")),
            (&alfa, private("chat", "p_karin")),
            (&beta, mine),
        ] {
            assert_eq!(
                t.plugin_document(&sp, "note/p_tove").await.unwrap(),
                None,
                "{backend:?} {sp:?}"
            );
            assert!(t.plugin_keys(&sp, "", None, 100).await.unwrap().is_empty());
        }
    }
}

#[tokio::test]
async fn conditional_writes_and_revisions_that_never_repeat() {
    for backend in BACKENDS {
        let db = TestDb::new(backend);
        let store = store(&db).await;
        let alfa = store.tenant(tenant("alfa"));
        let sp = shared("notes");
        let set = |value: &'static [u8], c| alfa.set_plugin_document(&sp, "k", value, c, QUOTA, T0);

        let Written::Revision(r1) = set(b"1", Condition::IfAbsent).await.unwrap() else {
            panic!("{backend:?}: create failed")
        };
        assert_eq!(
            set(b"x", Condition::IfAbsent).await.unwrap(),
            Written::Conflict
        );
        let Written::Revision(r2) = set(b"2", Condition::IfRevision(r1)).await.unwrap() else {
            panic!("{backend:?}: update failed")
        };
        assert!(r2 > r1);
        // A stale revision changes nothing.
        assert_eq!(
            set(b"3", Condition::IfRevision(r1)).await.unwrap(),
            Written::Conflict
        );
        assert_eq!(
            set(b"3", Condition::IfRevision(u64::MAX)).await.unwrap(),
            Written::Conflict
        );
        assert_eq!(
            alfa.plugin_document(&sp, "k").await.unwrap().unwrap().value,
            b"2"
        );

        assert_eq!(
            alfa.delete_plugin_document(&sp, "k", Condition::IfRevision(r1))
                .await
                .unwrap(),
            Deleted::Conflict
        );
        assert_eq!(
            alfa.delete_plugin_document(&sp, "k", Condition::IfRevision(r2))
                .await
                .unwrap(),
            Deleted::Done(true)
        );
        assert_eq!(
            alfa.delete_plugin_document(&sp, "k", Condition::Always)
                .await
                .unwrap(),
            Deleted::Done(false)
        );
        // Created again, the key gets a revision no stale client holds.
        let Written::Revision(r3) = set(b"4", Condition::IfAbsent).await.unwrap() else {
            panic!("{backend:?}: re-create failed")
        };
        assert!(r3 > r2, "{backend:?}: {r3} after {r2}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_creates_have_one_winner() {
    for backend in BACKENDS {
        let db = TestDb::new(backend);
        let store = store(&db).await;
        let mut tasks = Vec::new();
        for i in 0..20u8 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                store
                    .tenant(tenant("alfa"))
                    .set_plugin_document(
                        &shared("todo"),
                        "list",
                        &[i],
                        Condition::IfAbsent,
                        QUOTA,
                        T0,
                    )
                    .await
                    .unwrap()
            }));
        }
        let mut won = 0;
        for t in tasks {
            match t.await.unwrap() {
                Written::Revision(_) => won += 1,
                Written::Conflict => {}
                other => panic!("{backend:?}: {other:?}"),
            }
        }
        assert_eq!(won, 1, "{backend:?}");
    }
}

#[tokio::test]
async fn keys_list_in_byte_order_by_prefix_and_cursor() {
    for backend in BACKENDS {
        let db = TestDb::new(backend);
        let store = store(&db).await;
        let alfa = store.tenant(tenant("alfa"));
        let sp = shared("chat");
        // Upper case sorts before lower case by bytes (not in a locale's
        // collation), and "a/" keys must not leak into prefix "a.".
        for key in ["a/b", "a/B", "a/a", "a.x", "a/_", "b/1", "a", "a/b/c"] {
            alfa.set_plugin_document(&sp, key, b"", Condition::Always, QUOTA, T0)
                .await
                .unwrap();
        }
        let all = alfa.plugin_keys(&sp, "", None, 100).await.unwrap();
        assert_eq!(
            all,
            ["a", "a.x", "a/B", "a/_", "a/a", "a/b", "a/b/c", "b/1"],
            "{backend:?}"
        );
        let a = alfa.plugin_keys(&sp, "a/", None, 100).await.unwrap();
        assert_eq!(a, ["a/B", "a/_", "a/a", "a/b", "a/b/c"], "{backend:?}");
        let page = alfa.plugin_keys(&sp, "a/", None, 2).await.unwrap();
        assert_eq!(page, ["a/B", "a/_"]);
        let next = alfa.plugin_keys(&sp, "a/", Some("a/_"), 2).await.unwrap();
        assert_eq!(next, ["a/a", "a/b"]);
        let last = alfa.plugin_keys(&sp, "a/", Some("a/b"), 2).await.unwrap();
        assert_eq!(last, ["a/b/c"]);
        // A cursor outside the prefix does not move the listing outside it.
        let outside = alfa.plugin_keys(&sp, "a/", Some("0"), 100).await.unwrap();
        assert_eq!(outside, a);
        assert!(
            alfa.plugin_keys(&sp, "c", None, 100)
                .await
                .unwrap()
                .is_empty()
        );
    }
}

#[tokio::test]
async fn quotas_count_documents_and_blobs_per_tenant_and_plugin() {
    for backend in BACKENDS {
        let db = TestDb::new(backend);
        let store = store(&db).await;
        let alfa = store.tenant(tenant("alfa"));
        let sp = private("docs", "p_1");
        let quota = 100;
        // key (1 byte) + 60 bytes.
        let w = alfa
            .set_plugin_document(&sp, "a", &[0; 60], Condition::Always, quota, T0)
            .await
            .unwrap();
        assert!(matches!(w, Written::Revision(_)));
        let over = alfa
            .set_plugin_document(&sp, "b", &[0; 60], Condition::Always, quota, T0)
            .await
            .unwrap();
        assert_eq!(over, Written::QuotaExceeded, "{backend:?}");
        // Shrinking is always allowed, and frees space.
        let shrink = alfa
            .set_plugin_document(&sp, "a", &[0; 9], Condition::Always, quota, T0)
            .await
            .unwrap();
        assert!(matches!(shrink, Written::Revision(_)));
        assert_eq!(
            alfa.plugin_usage("docs").await.unwrap(),
            Usage {
                document_bytes: 10,
                blob_bytes: 0
            }
        );
        let fits = alfa
            .set_plugin_document(&sp, "b", &[0; 60], Condition::Always, quota, T0)
            .await
            .unwrap();
        assert!(
            matches!(fits, Written::Revision(_)),
            "{backend:?}: {fits:?}"
        );
        alfa.delete_plugin_document(&sp, "b", Condition::Always)
            .await
            .unwrap();
        assert_eq!(alfa.plugin_usage("docs").await.unwrap().document_bytes, 10);

        // Blobs have their own quota; another owner in the same plugin
        // shares it, another tenant does not.
        async fn put(t: &TenantStore<'_>, owner: &str, id: &str) -> BlobPut {
            t.put_plugin_blob(
                &private("docs", owner),
                id,
                "application/pdf",
                &[7; 40],
                100,
                T0,
            )
            .await
            .unwrap()
        }
        assert!(matches!(put(&alfa, "p_1", "b1").await, BlobPut::Stored(_)));
        assert!(matches!(put(&alfa, "p_2", "b2").await, BlobPut::Stored(_)));
        assert_eq!(
            put(&alfa, "p_3", "b3").await,
            BlobPut::QuotaExceeded,
            "{backend:?}"
        );
        let beta = store.tenant(tenant("beta"));
        assert!(matches!(put(&beta, "p_3", "b3").await, BlobPut::Stored(_)));
        assert_eq!(alfa.plugin_usage("docs").await.unwrap().blob_bytes, 80);
        assert!(
            alfa.plugin_blob_info(&private("docs", "p_1"), "b3")
                .await
                .unwrap()
                .is_none()
        );

        let (info, data) = alfa
            .plugin_blob(&private("docs", "p_1"), "b1")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (info.content_type.as_str(), info.size, data.len()),
            ("application/pdf", 40, 40)
        );
        assert!(
            alfa.plugin_blob(&private("docs", "p_2"), "b1")
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            !alfa
                .delete_plugin_blob(&private("docs", "p_2"), "b1")
                .await
                .unwrap()
        );
        assert!(
            alfa.delete_plugin_blob(&private("docs", "p_1"), "b1")
                .await
                .unwrap()
        );
        assert_eq!(alfa.plugin_usage("docs").await.unwrap().blob_bytes, 40);
        assert!(matches!(put(&alfa, "p_3", "b3").await, BlobPut::Stored(_)));
    }
}
