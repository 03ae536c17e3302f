//! Logging in, in a real browser, where what matters is which cookie the
//! browser keeps.

use crate::headless::{Headless, wait_for_text};
use crate::support::*;
use fantoccini::Locator::Id;

/// [2.2] finding 4: a login form left open while the session of another
/// tab expires still logs the person in. The browser posts the form with
/// the expired session cookie; the answer must set the new session and not
/// clear it again in the same response (browsers keep the later header).
#[tokio::test(flavor = "multi_thread")]
async fn a_login_form_left_open_while_another_session_expires_still_logs_in() {
    let app = TestApp::new(Backend::Sqlite).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let state = app.state.clone();
    tokio::spawn(async move {
        let _ = tillit_kernel::app::serve(listener, state, std::future::pending()).await;
    });
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
