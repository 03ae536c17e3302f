//! Every route of the portal, walked as every kind of visitor of every
//! tenant, with and without the CSRF token: the answer's class must match
//! the access the route declares (`web::route_table`). A new route without
//! the right checks, or declared with the wrong access, fails here.

use crate::support::*;
use axum::http::Method;
use tillit_domain::Clock;
use tillit_kernel::web::{Access, RouteInfo, route_table};

/// Who is asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Visitor {
    Anonymous,
    Patient,
    Clinician,
    Administrator,
    /// Logged in to another tenant, with that session's cookies sent here
    /// (as a forged or misdirected request would).
    OtherTenant,
}

const VISITORS: [Visitor; 5] = [
    Visitor::Anonymous,
    Visitor::Patient,
    Visitor::Clinician,
    Visitor::Administrator,
    Visitor::OtherTenant,
];

/// One tenant's people, and the ids its paths are filled with.
struct Tenant {
    host: &'static str,
    other_host: &'static str,
    patient: &'static str,
    clinician: &'static str,
    administrator: &'static str,
    other_tenant_user: &'static str,
}

const TENANTS: [Tenant; 2] = [
    Tenant {
        host: "demo.localhost",
        other_host: "norrland.localhost",
        patient: TOVE,
        clinician: KARIN,
        administrator: ADA,
        other_tenant_user: NILS,
    },
    Tenant {
        host: "norrland.localhost",
        other_host: "demo.localhost",
        patient: "19850707-1119",
        clinician: "19900315-4565",
        administrator: NILS,
        other_tenant_user: KARIN,
    },
];

/// The class of answer a visitor must get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Served (or the use case's own answer: not found, invalid, …), never
    /// refused for who is asking, never a server error.
    Served,
    /// Sent to log in (303 to `/login`), or refused outright.
    LogIn,
    /// Refused: 403, or 404 as if it did not exist.
    Refused,
    /// A state-changing request without the CSRF token: 403.
    CsrfRefused,
    /// A provider's webhook with a wrong secret: refused, not served.
    HookRefused,
    /// The FHIR API without a SMART access token: 401, whoever is logged
    /// in to the portal.
    TokenRefused,
}

fn expect(route: &RouteInfo, visitor: Visitor, with_csrf: bool) -> Expect {
    let changes = !matches!(route.method, Method::GET | Method::HEAD);
    if route.access == Access::Hook {
        return Expect::HookRefused;
    }
    if route.access == Access::JournalSystem {
        return Expect::TokenRefused;
    }
    // Another tenant's visitor holds no token this tenant would accept.
    if changes && (!with_csrf || visitor == Visitor::OtherTenant) {
        return Expect::CsrfRefused;
    }
    let logged_in = !matches!(visitor, Visitor::Anonymous | Visitor::OtherTenant);
    match route.access {
        Access::Public => Expect::Served,
        _ if !logged_in => Expect::LogIn,
        Access::User => Expect::Served,
        Access::Patient if visitor == Visitor::Patient => Expect::Served,
        Access::Clinician if visitor == Visitor::Clinician => Expect::Served,
        Access::Administrator if visitor == Visitor::Administrator => Expect::Served,
        _ => Expect::Refused,
    }
}

fn fits(expect: Expect, route: &RouteInfo, page: &Page) -> bool {
    let s = page.status.as_u16();
    let to_login = s == 303 && page.location().starts_with("/login");
    match expect {
        // Logging out ends on the login page: that is being served.
        Expect::Served if route.access == Access::Public => s < 500 && s != 401 && s != 403,
        // Open to everyone logged in, and the use case may then say that
        // this person may not do this (a patient starting a visit, a
        // plugin refusing a role): 403 is its answer, not the route's.
        Expect::Served if route.access == Access::User => s < 500 && s != 401 && !to_login,
        Expect::Served => s < 500 && s != 401 && s != 403 && !to_login,
        // In process, a WebSocket handshake cannot be upgraded, so a socket
        // route may refuse it as a bad request before it looks at the
        // visitor; `tests/video.rs` checks those over real sockets.
        Expect::LogIn if route.path.ends_with("/ws") => to_login || matches!(s, 400 | 401 | 403),
        Expect::LogIn => to_login || s == 401 || s == 403,
        Expect::Refused => s == 403 || s == 404,
        Expect::CsrfRefused => s == 403,
        Expect::HookRefused => (400..500).contains(&s) && s != 405,
        Expect::TokenRefused => s == 401,
    }
}

/// `path` with its parameters filled in with things of `tenant`.
fn fill(path: &str, ids: &HashMap<&'static str, String>) -> String {
    path.split('/')
        .map(|seg| {
            if let Some(name) = seg
                .strip_prefix("{*")
                .or_else(|| seg.strip_prefix('{'))
                .and_then(|s| s.strip_suffix('}'))
            {
                ids.get(name).cloned().unwrap_or_else(|| "x".to_owned())
            } else {
                seg.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

async fn visitor<'a>(app: &'a TestApp, t: &Tenant, who: Visitor) -> Browser<'a> {
    let (host, pnr) = match who {
        Visitor::Anonymous => (t.host, None),
        Visitor::Patient => (t.host, Some(t.patient)),
        Visitor::Clinician => (t.host, Some(t.clinician)),
        Visitor::Administrator => (t.host, Some(t.administrator)),
        Visitor::OtherTenant => (t.other_host, Some(t.other_tenant_user)),
    };
    let mut b = app.browser(host);
    match pnr {
        Some(pnr) => {
            b.login(pnr).await;
        }
        None => {
            b.get("/login").await;
        }
    }
    // Every request goes to this tenant, with whatever cookies it holds.
    b.host = t.host.to_owned();
    if who == Visitor::OtherTenant {
        // A token of this tenant's pre-session, as a page would give.
        let mut here = app.browser(t.host);
        here.get("/login").await;
        b.csrf = here.csrf;
    }
    b
}

#[tokio::test]
async fn every_route_answers_each_visitor_as_it_declares() {
    let app = TestApp::new(Backend::Sqlite).await;
    let table = route_table();
    assert!(table.len() > 40, "the route table is incomplete: {table:?}");

    // Things the paths can name: a visit of the demo clinician with the
    // demo patient, people, a visit type.
    let mut karin = app.browser("demo.localhost");
    karin.login(KARIN).await;
    publish_profile(&mut karin).await;
    book_visit(&app, "w1", app.clock.now().plus(HOUR), Vec::new()).await;
    let demo = app.state.store.tenant(TenantId::parse("demo").unwrap());
    let karin_id = person_id(&app, KARIN).await;
    let vt = demo.visit_types_of(&karin_id).await.unwrap().remove(0).id;
    let ids: HashMap<&'static str, String> = HashMap::from([
        ("id", "w1".to_owned()),
        ("theme", "default".to_owned()),
        ("hash", "0000".to_owned()),
        ("path", "site.css".to_owned()),
        ("file", "logo.png".to_owned()),
        ("token", "not-the-token".to_owned()),
    ]);
    let plugin_ids: HashMap<&'static str, String> =
        HashMap::from([("id", "notes".to_owned()), ("path", "note".to_owned())]);
    let people_ids = |person: &tillit_domain::PersonId| {
        HashMap::from([("id", person.to_string()), ("hash", "0000".to_owned())])
    };
    let vt_ids = HashMap::from([("id", vt)]);
    let tove_id = person_id(&app, TOVE).await;

    let mut wrong = Vec::new();
    let mut checked = 0;
    for tenant in &TENANTS {
        for route in &table {
            let path =
                if route.path.starts_with("/plugins/") || route.path.starts_with("/features/") {
                    fill(route.path, &plugin_ids)
                } else if route.path.starts_with("/people/") {
                    fill(route.path, &people_ids(&karin_id))
                } else if route.path.starts_with("/admin/people/") {
                    fill(route.path, &people_ids(&tove_id))
                } else if route.path.starts_with("/profile/visit-types/") {
                    fill(route.path, &vt_ids)
                } else {
                    fill(route.path, &ids)
                };
            for who in VISITORS {
                for with_csrf in [true, false] {
                    if route.method == Method::GET && !with_csrf {
                        continue;
                    }
                    // A fresh login for every request: one may log out or
                    // end a visit, and the next must not depend on it.
                    let mut b = visitor(&app, tenant, who).await;
                    let origin = format!("http://{}", tenant.host);
                    let mut req = b
                        .request(route.method.as_str(), &path)
                        .header("origin", &origin)
                        .header("content-type", "application/x-www-form-urlencoded");
                    if with_csrf && let Some(token) = b.csrf.clone() {
                        req = req.header("x-csrf-token", token);
                    }
                    let page = b.send(req.body(Body::empty()).unwrap()).await;
                    let want = expect(route, who, with_csrf);
                    checked += 1;
                    if !fits(want, route, &page) {
                        wrong.push(format!(
                            "{} {} {path} as {who:?}{}: want {want:?}, got {} {}",
                            tenant.host,
                            route.method,
                            if with_csrf { "" } else { " without CSRF" },
                            page.status,
                            page.location()
                        ));
                    }
                    if page.headers.get("x-content-type-options").is_none() {
                        wrong.push(format!(
                            "{} {} {path} as {who:?}: no security headers",
                            tenant.host, route.method
                        ));
                    }
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {checked}:\n{}",
        wrong.len(),
        wrong.join("\n")
    );

    // What is not declared does not exist, for anyone.
    for who in VISITORS {
        let mut b = visitor(&app, &TENANTS[0], who).await;
        assert_eq!(b.get("/admin/secret").await.status, StatusCode::NOT_FOUND);
    }
}
