//! WCAG 2.1 AA, checked by a machine: axe-core (installed by `cargo xtask
//! test` from `tests/support/a11y/package-lock.json`) runs in Chromium on
//! every page a person can reach, as each kind of visitor, in both themes
//! (the demo tenant's default, norrland's fjord) and both languages, with
//! the account menu open. Pages are found the way a person finds them, by
//! following the links from the start page, plus the few that are reached
//! from a form or a message; every page route of `web::route_table` must be
//! among them, so a new page cannot escape the check.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::headless::{Headless, open_account_menu, submit_login};
use crate::support::*;
use axum::http::Method;
use fantoccini::Locator::{Css, Id};
use tillit_domain::Clock;
use tillit_kernel::web::{Access, route_table};

/// The rules of WCAG 2.0 and 2.1, levels A and AA.
const TAGS: &str = "['wcag2a','wcag2aa','wcag21a','wcag21aa']";

/// Routes that are not pages: what a page loads or calls, never a place a
/// person goes to.
const NOT_PAGES: [&str; 8] = [
    // A redirect to the e-ID provider.
    "/login/oidc/{id}",
    "/visits/{id}/ws",
    "/visits/{id}/status",
    "/video-test/ws",
    "/plugins/{id}/{*path}",
    "/people/{id}/picture/{hash}",
    "/assets/{theme}/{hash}/{*path}",
    "/brand/{hash}/{file}",
];

/// The most pages followed per visitor and language: the portal has far
/// fewer; a crawl that grows past it is following a loop.
const MOST_PAGES: usize = 60;

#[derive(Clone)]
struct Visitor {
    host: &'static str,
    /// None: not logged in.
    pnr: Option<&'static str>,
    /// Pages reached from a form, an SMS or an e-mail rather than a link.
    extra: Vec<String>,
    /// In Firefox ESR rather than Chromium: patients use either.
    firefox: bool,
}

fn axe_source() -> String {
    let path = repo("kernel/server/tests/support/a11y/node_modules/axe-core/axe.min.js");
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; `cargo xtask test` installs axe-core (npm ci in its folder)",
            path.display()
        )
    })
}

/// axe's violations on the page shown, one line each.
async fn violations(c: &fantoccini::Client, axe: &str) -> Vec<String> {
    // WebDriver's scripts are not the page's, so the CSP does not stop them.
    c.execute(&format!("{axe}\nreturn true;"), vec![])
        .await
        .unwrap();
    let found = c
        .execute_async(
            &format!(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, {{ runOnly: {{ type: 'tag', values: {TAGS} }} }})
                   .then(r => done(r.violations.map(v =>
                      v.id + ' (' + v.impact + '): ' + v.help + ' at ' +
                      v.nodes.slice(0, 3).map(n => n.target.join(' ') + ' – ' +
                        (n.failureSummary || '').replace(/\\s+/g, ' ')).join(' | '))),
                     e => done(['axe failed: ' + e]));"
            ),
            vec![],
        )
        .await
        .unwrap();
    found
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

/// Same-site links on the page that lead to pages.
async fn links(c: &fantoccini::Client) -> Vec<String> {
    let found = c
        .execute(
            "return [...document.querySelectorAll('a[href]')]
               .filter(a => a.origin === location.origin)
               .map(a => a.pathname + a.search);",
            vec![],
        )
        .await
        .unwrap();
    found
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .filter(|p| !NOT_PAGES.iter().any(|route| matches(route, p)))
        .map(str::to_owned)
        .collect()
}

/// Whether `path` (without its query) is one of `route`'s.
fn matches(route: &str, path: &str) -> bool {
    let path = path.split('?').next().unwrap_or(path);
    let (mut r, mut p) = (route.split('/'), path.split('/'));
    loop {
        match (r.next(), p.next()) {
            (None, None) => return true,
            (Some(seg), Some(_)) if seg.starts_with("{*") => return true,
            (Some(seg), Some(got)) if seg.starts_with('{') && !got.is_empty() => {}
            (Some(seg), Some(got)) if seg == got => {}
            _ => return false,
        }
    }
}

/// Logs in on `host` as a person does; a patient's first login shows the
/// terms, which are checked and accepted.
async fn log_in(
    c: &fantoccini::Client,
    base: &str,
    pnr: &str,
    axe: &str,
    found: &mut BTreeMap<String, Vec<String>>,
) {
    submit_login(c, base, pnr).await;
    c.wait().for_element(Id("main")).await.unwrap();
    if c.current_url().await.unwrap().path() == "/terms" {
        check(c, &format!("{base}/terms"), axe, found).await;
        c.find(Css("form[action='/terms'] button[type=submit]"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }
    c.wait().for_element(Id("greeting")).await.unwrap();
}

/// Runs axe on the page shown (with the account menu open, so that its
/// contents are checked too) and files what it found under `label`.
async fn check(
    c: &fantoccini::Client,
    label: &str,
    axe: &str,
    found: &mut BTreeMap<String, Vec<String>>,
) {
    if c.find(Id("account")).await.is_ok() {
        open_account_menu(c).await;
    }
    let v = violations(c, axe).await;
    if !v.is_empty() {
        found.insert(label.to_owned(), v);
    }
}

/// Follows every link from `start` and `extra` breadth first, checking each
/// page once; returns the paths shown.
async fn crawl(
    c: &fantoccini::Client,
    base: &str,
    extra: &[String],
    axe: &str,
    found: &mut BTreeMap<String, Vec<String>>,
) -> BTreeSet<String> {
    let mut queue: VecDeque<String> = std::iter::once("/".to_owned())
        .chain(extra.iter().cloned())
        .collect();
    let mut seen = BTreeSet::new();
    while let Some(path) = queue.pop_front() {
        if !seen.insert(path.clone()) {
            continue;
        }
        assert!(seen.len() <= MOST_PAGES, "more than {MOST_PAGES}: {seen:?}");
        c.goto(&format!("{base}{path}")).await.unwrap();
        c.wait().for_element(Css("main")).await.unwrap();
        let shown = c.current_url().await.unwrap();
        let lang = c
            .find(Css("html"))
            .await
            .unwrap()
            .attr("lang")
            .await
            .unwrap()
            .unwrap_or_default();
        let engine = c
            .execute(
                "return navigator.userAgent.includes('Firefox') ? ' Firefox' : '';",
                vec![],
            )
            .await
            .unwrap();
        let engine = engine.as_str().unwrap_or_default();
        check(c, &format!("{base}{path} [{lang}]{engine}"), axe, found).await;
        seen.insert(shown.path().to_owned());
        for link in links(c).await {
            if !seen.contains(&link) {
                queue.push_back(link);
            }
        }
    }
    seen
}

/// Switches the interface to `lang` with the language button, as a person
/// does (in the account menu once logged in).
async fn switch_language(c: &fantoccini::Client, base: &str, lang: &str) {
    c.goto(&format!("{base}/")).await.unwrap();
    if c.find(Id("account")).await.is_ok() {
        open_account_menu(c).await;
    }
    c.find(Css(&format!("form.lang button[value={lang}]")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .for_element(Css(&format!("html[lang={lang}]")))
        .await
        .unwrap();
}

/// Publishes the clinician's profile and books them two visits with the
/// patient: one about to start, one tomorrow. Returns their ids.
async fn visits(app: &TestApp, host: &str, people: (&str, &str, &str)) -> Vec<String> {
    let mut patient = app.browser(host);
    patient.login(people.2).await;
    let mut clinician = app.browser(host);
    clinician.login(people.1).await;
    publish_profile(&mut clinician).await;
    let now = app.clock.now();
    let mut ids = vec![];
    for (id, starts_at) in [
        (format!("{}-soon", people.0), now.plus(10 * MINUTE)),
        (format!("{}-tomorrow", people.0), now.plus(24 * HOUR)),
    ] {
        book_visit_in(app, people, &id, starts_at, vec![]).await;
        ids.push(id);
    }
    ids
}

#[tokio::test(flavor = "multi_thread")]
async fn every_page_meets_wcag_2_1_aa_for_every_visitor_theme_and_language() {
    let app = TestApp::new(Backend::Sqlite).await;
    let axe = axe_source();
    let demo_visits = visits(&app, "demo.localhost", ("demo", KARIN, TOVE)).await;
    let north_visits = visits(
        &app,
        "norrland.localhost",
        ("norrland", "19900315-4565", "19850707-1119"),
    )
    .await;

    let port = serve(&app).await;

    let by_visit = |ids: &[String], rest: &[&str]| -> Vec<String> {
        ids.iter()
            .flat_map(|id| {
                rest.iter()
                    .map(move |r| r.replace("{id}", id))
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    let visitors = [
        ("demo.localhost", &demo_visits, KARIN, TOVE, ADA),
        (
            "norrland.localhost",
            &north_visits,
            "19900315-4565",
            "19850707-1119",
            NILS,
        ),
    ]
    .into_iter()
    .flat_map(|(host, ids, clinician, patient, admin)| {
        [
            Visitor {
                host,
                pnr: None,
                // The login page, and as it says an e-ID login failed.
                extra: vec![
                    "/login".into(),
                    "/login/oidc/callback?code=x&state=y".into(),
                ],
                firefox: false,
            },
            Visitor {
                host,
                pnr: Some(patient),
                extra: [
                    by_visit(ids, &["/visits/{id}", "/visits/{id}/room"]),
                    vec!["/terms".into()],
                ]
                .concat(),
                firefox: false,
            },
            Visitor {
                host,
                pnr: Some(clinician),
                extra: [
                    by_visit(
                        ids,
                        &[
                            "/visits/{id}",
                            "/visits/{id}/room",
                            "/visits/{id}/end",
                            "/bookings/{id}/time",
                        ],
                    ),
                    // The error page: no such page, a feature without one.
                    vec!["/no-such-page".into(), "/features/notes".into()],
                ]
                .concat(),
                firefox: false,
            },
            Visitor {
                host,
                pnr: Some(admin),
                extra: vec![],
                firefox: false,
            },
        ]
    })
    .collect::<Vec<_>>();
    // The patient's pages once more, in Firefox ESR.
    let patient = &visitors[1];
    let visitors = [
        &visitors[..],
        &[Visitor {
            host: patient.host,
            pnr: patient.pnr,
            extra: patient.extra.clone(),
            firefox: true,
        }],
    ]
    .concat();

    let mut found = BTreeMap::new();
    let mut shown = BTreeSet::new();
    for v in &visitors {
        let browser = if v.firefox {
            Headless::firefox_with_fake_media().await
        } else {
            Headless::with_fake_media().await
        };
        let c = &browser.client;
        c.set_window_size(1280, 900).await.unwrap();
        let base = format!("http://{}:{port}", v.host);
        if let Some(pnr) = v.pnr {
            log_in(c, &base, pnr, &axe, &mut found).await;
        } else {
            // A refused personnummer: the form with its error.
            submit_login(c, &base, "12345").await;
            c.wait()
                .for_element(Css("[aria-invalid=true]"))
                .await
                .unwrap();
            check(c, &format!("{base}/login (refused)"), &axe, &mut found).await;
        }
        for lang in ["sv", "en"] {
            if lang == "en" {
                switch_language(c, &base, "en").await;
            }
            shown.extend(crawl(c, &base, &v.extra, &axe, &mut found).await);
        }
        let _ = c.clone().close().await;
    }

    // Every page of the route table was checked.
    let missed: Vec<&str> = route_table()
        .into_iter()
        .filter(|r| r.method == Method::GET && r.access != Access::Hook)
        // The FHIR API answers systems in JSON: it has no pages.
        .filter(|r| !r.path.starts_with("/fhir/"))
        .map(|r| r.path)
        .filter(|p| !NOT_PAGES.contains(p))
        .filter(|route| !shown.iter().any(|p| matches(route, p)))
        .collect();
    let violations = found
        .iter()
        .map(|(page, v)| format!("{page}\n  {}", v.join("\n  ")))
        .collect::<Vec<_>>();
    assert!(
        missed.is_empty() && found.is_empty(),
        "pages never checked: {missed:?} (checked: {shown:?})\n\
         WCAG 2.1 AA violations on {} pages:\n{}",
        found.len(),
        violations.join("\n")
    );
}
