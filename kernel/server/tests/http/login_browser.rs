//! Logging in, in a real browser, where what matters is which cookie the
//! browser keeps.

use crate::headless::{Headless, wait_for_text};
use crate::support::*;
use fantoccini::Locator::{Css, Id};

/// [2.2] finding 4: a login form left open while the session of another
/// tab expires still logs the person in. The browser posts the form with
/// the expired session cookie; the answer must set the new session and not
/// clear it again in the same response (browsers keep the later header).
#[tokio::test(flavor = "multi_thread")]
async fn a_login_form_left_open_while_another_session_expires_still_logs_in() {
    let app = TestApp::new(Backend::Sqlite).await;
    let port = serve(&app).await;
    let chrome = Headless::start().await;
    let c = &chrome.client;

    // The login page, in this tab.
    c.goto(&format!("http://demo.localhost:{port}/login"))
        .await
        .unwrap();
    c.wait().for_element(Id("personnummer")).await.unwrap();
    // Meanwhile, "another tab" logs in with the same cookies …
    let status = c
        .execute_async(
            r#"const done = arguments[arguments.length - 1];
               const token = document.querySelector('input[name=_csrf]').value;
               const body = new URLSearchParams({personnummer: '19811218-9876', _csrf: token});
               fetch('/login/test', {method: 'POST', body, redirect: 'manual'})
                 .then(r => done(r.type + ' ' + document.cookie), e => done('error ' + e));"#,
            vec![],
        )
        .await
        .unwrap();
    assert!(
        status
            .as_str()
            .unwrap_or_default()
            .starts_with("opaqueredirect"),
        "{status}"
    );
    // … and that session expires (the demo tenant's idle timeout is 2 h).
    app.clock.advance(3 * HOUR);

    // This tab's form, still open, is sent.
    c.find(Id("personnummer"))
        .await
        .unwrap()
        .send_keys("19811218-9876")
        .await
        .unwrap();
    c.find(Id("login-submit"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_text(c, "#greeting", "Karin").await;
    // And still logged in on the next page.
    c.goto(&format!("http://demo.localhost:{port}/bookings"))
        .await
        .unwrap();
    wait_for_text(c, "h1", "").await;
    assert!(
        c.current_url()
            .await
            .unwrap()
            .path()
            .starts_with("/bookings"),
        "sent to the login page again"
    );
    let _ = c.clone().close().await;
}

/// [2.4] defect 10: one's initials open one's own menu (the FAQ: "klicka på
/// din bokstav" → Min profil, or Logga ut), they do not log out.
#[tokio::test(flavor = "multi_thread")]
async fn clicking_ones_initials_opens_ones_menu_and_does_not_log_out() {
    let app = TestApp::new(Backend::Sqlite).await;
    let port = serve(&app).await;
    let chrome = Headless::start().await;
    let c = &chrome.client;
    crate::headless::login(c, port, KARIN).await;
    c.find(Css("#account-toggle .initials"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let menu = c.find(Css(".account-menu")).await.unwrap();
    assert!(menu.is_displayed().await.unwrap());
    let my_details = c.find(Id("my-details")).await.unwrap();
    assert!(my_details.is_displayed().await.unwrap());
    assert!(
        c.find(Id("logout"))
            .await
            .unwrap()
            .is_displayed()
            .await
            .unwrap()
    );
    my_details.click().await.unwrap();
    wait_for_text(c, "h1", "Mina uppgifter").await;
    assert_eq!(c.current_url().await.unwrap().path(), "/me");
}

/// The menu on a phone (patients are told to use theirs): at 360–430 px
/// the page never scrolls sideways and the menu keeps to one row, in both
/// themes, for a patient and for a clinician (who has the most links).
#[tokio::test(flavor = "multi_thread")]
async fn the_menu_fits_a_phone_in_both_themes() {
    let app = TestApp::new(Backend::Sqlite).await;
    let port = serve(&app).await;
    for (host, pnr) in [
        ("demo.localhost", TOVE),
        ("demo.localhost", KARIN),
        ("norrland.localhost", "19850707-1119"),
        ("norrland.localhost", "19900315-4565"),
    ] {
        app.browser(host).login(pnr).await;
        let chrome = Headless::start().await;
        let c = &chrome.client;
        crate::headless::submit_login(c, &format!("http://{host}:{port}"), pnr).await;
        c.wait().for_element(Id("greeting")).await.unwrap();
        for (width, height) in [(360, 740), (390, 844), (430, 932), (844, 390)] {
            c.set_window_size(width, height).await.unwrap();
            let layout = c
                .execute(
                    "const tops = [...document.querySelectorAll('nav.menu a')]
                       .map(a => Math.round(a.getBoundingClientRect().top));
                     const nav = document.querySelector('nav.menu').getBoundingClientRect();
                     const main = document.querySelector('main').getBoundingClientRect();
                     return [document.documentElement.scrollWidth, window.innerWidth,
                             new Set(tops).size, nav.bottom <= main.top,
                             Math.round(main.width)];",
                    vec![],
                )
                .await
                .unwrap();
            if width == 390 {
                crate::headless::screenshot(c, &format!("menu-phone-{host}-{pnr}")).await;
            }
            let (scroll, inner, rows) = (&layout[0], &layout[1], &layout[2]);
            assert!(
                scroll.as_u64() <= inner.as_u64(),
                "{host} {pnr} at {width}×{height}: the page is {scroll} px wide in a {inner} px window"
            );
            if layout[3] == true {
                // A menu above the page keeps to one row.
                assert_eq!(
                    rows.as_u64(),
                    Some(1),
                    "{host} {pnr} at {width}×{height}: the menu wraps onto {rows} rows"
                );
            } else {
                // A menu beside the page leaves the page most of the width.
                let main = layout[4].as_u64().unwrap();
                assert!(
                    main * 10 >= u64::from(width) * 6,
                    "{host} {pnr} at {width}×{height}: the page has {main} px beside the menu"
                );
            }
        }
        let _ = c.clone().close().await;
    }
}
