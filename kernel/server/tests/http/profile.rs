//! "Min profil": a clinician's profile, visit types and profile picture.

use crate::support::*;

/// "Min profil": a clinician fills in the profile, meets every field error,
/// is told what blocks publishing, creates and edits visit types, publishes.
#[tokio::test]
async fn a_clinician_builds_and_publishes_a_profile() {
    for backend in BACKENDS {
        let app = TestApp::new(backend).await;
        let mut karin = app.browser("demo.localhost");
        karin.login(KARIN).await;
        let page = karin.get("/profile").await;
        assert_eq!(page.status, StatusCode::OK, "{backend:?}");
        assert!(page.body.contains("<strong>0%</strong>"));

        // Publishing an empty profile says what is missing and changes nothing.
        let page = karin.post("/profile/publish", &[]).await;
        assert_eq!(page.status, StatusCode::CONFLICT);
        assert!(
            page.body.contains("Fyll i din yrkestitel först")
                && page.body.contains("Skapa minst ett bokningsbart besök")
        );
        assert!(page.body.contains("Din profil är inte publicerad"));

        // Too long: the handbook's 22 and 250 characters.
        let too_long_title = "Legitimerad psykoterapeut";
        let page = karin
            .post(
                "/profile",
                &[
                    ("title", too_long_title),
                    ("introduction", &"x".repeat(251)),
                ],
            )
            .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            page.body.contains("Högst 22 tecken.") && page.body.contains("Högst 250 tecken."),
            "{}",
            page.body
        );
        assert!(
            page.body.contains(&format!("value=\"{too_long_title}\"")),
            "what was typed stays"
        );
        assert!(
            app.state
                .store
                .tenant(TenantId::parse("demo").unwrap())
                .profile(&person_id(&app, KARIN).await)
                .await
                .unwrap()
                .is_none()
        );

        let page = karin
            .post(
                "/profile",
                &[
                    ("title", "Leg. psykolog"),
                    ("introduction", "Jag arbetar med <KBT>."),
                    ("visiting_address", "Storgatan 1, Umeå"),
                ],
            )
            .await;
        assert_eq!(
            (page.status, page.location()),
            (StatusCode::SEE_OTHER, "/profile?done=saved")
        );
        let page = karin.get("/profile?done=saved").await;
        assert!(page.body.contains("Profilen har sparats"));
        assert!(
            page.body
                .contains("Karin Lindblad, <span class=\"job-title\">Leg. psykolog</span>"),
            "the preview"
        );
        assert!(
            page.body.contains("Jag arbetar med &lt;KBT&gt;."),
            "escaped"
        );
        assert!(page.body.contains("<strong>37%</strong>"), "3 of 8 steps");

        // Visit types: every field's error at once, then a valid one.
        let page = karin
            .post(
                "/profile/visit-types",
                &[("title", ""), ("minutes", "4"), ("kind", "video")],
            )
            .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            page.body.contains("Fyll i fältet.")
                && page.body.contains("Ett besök är minst 5 minuter.")
        );
        let page = karin
            .post(
                "/profile/visit-types",
                &[("title", "Återbesök"), ("minutes", "15"), ("kind", "video")],
            )
            .await;
        assert_eq!(page.location(), "/profile?done=type_saved");
        let page = karin.get("/profile").await;
        assert!(page.body.contains("value=\"Återbesök\"") && page.body.contains("value=\"15\""));
        let i = page.body.find("/profile/visit-types/").unwrap() + "/profile/visit-types/".len();
        let type_id = page.body[i..i + page.body[i..].find('"').unwrap()].to_owned();

        // Editing it: a bad length is refused on that form only.
        let page = karin
            .post(
                &format!("/profile/visit-types/{type_id}"),
                &[
                    ("title", "Återbesök"),
                    ("minutes", "en kvart"),
                    ("kind", "video"),
                ],
            )
            .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(page.body.contains("Ange antal minuter med siffror"));
        let page = karin
            .post(
                &format!("/profile/visit-types/{type_id}"),
                &[("title", "Återbesök"), ("minutes", "20"), ("kind", "video")],
            )
            .await;
        assert_eq!(page.location(), "/profile?done=type_saved");

        // Another clinician cannot touch it.
        let mut olof = app.browser("demo.localhost");
        olof.login("19700101-0003").await;
        olof.get("/profile").await;
        let page = olof
            .post(&format!("/profile/visit-types/{type_id}/archive"), &[])
            .await;
        assert_eq!(page.status, StatusCode::NOT_FOUND);

        let page = karin.post("/profile/publish", &[]).await;
        assert_eq!(page.location(), "/profile?done=published");
        let page = karin.get("/profile?done=published").await;
        assert!(
            page.body.contains("Din profil är publicerad")
                && page.body.contains("<strong>62%</strong>")
        );

        // Administrators and patients have no profile page.
        for pnr in [ADA, TOVE] {
            let mut other = app.browser("demo.localhost");
            other.login(pnr).await;
            assert_eq!(other.get("/profile").await.status, StatusCode::FORBIDDEN);
        }
    }
}
/// A file in a multipart form, after the CSRF token as its first field (as
/// the page's form sends it) if there is one.
fn multipart(token: Option<&str>, field: &str, filename: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "tillit-test-boundary-7d9f";
    let mut body = Vec::new();
    if let Some(token) = token {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n{token}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\nContent-Type: image/png\r\n\r\n"
    )
    .as_bytes());
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}
impl Browser<'_> {
    /// Uploads a picture as the profile page's form does, with the token
    /// of the last page.
    async fn upload(&mut self, path: &str, filename: &str, bytes: &[u8]) -> Page {
        let token = self.csrf.clone();
        self.upload_with(path, token.as_deref(), filename, bytes)
            .await
    }

    async fn upload_with(
        &mut self,
        path: &str,
        token: Option<&str>,
        filename: &str,
        bytes: &[u8],
    ) -> Page {
        let (content_type, body) = multipart(token, "picture", filename, bytes);
        let req = self
            .request("POST", path)
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .unwrap();
        self.send(req).await
    }
}
/// A clinician uploads a profile picture: refused without the CSRF token,
/// refused by content when it is not an image, re-encoded to a 400×400
/// JPEG when it is, shown to people of the same tenant only.
#[tokio::test]
async fn profile_pictures_are_checked_reencoded_and_scoped() {
    for backend in BACKENDS {
        let app = TestApp::new(backend).await;
        let mut karin = app.browser("demo.localhost");
        karin.login(KARIN).await;
        karin.get("/profile").await;
        let token = karin.csrf.clone().unwrap();
        let mut png = std::io::Cursor::new(Vec::new());
        image::RgbImage::from_pixel(900, 600, image::Rgb([200, 30, 30]))
            .write_to(&mut png, image::ImageFormat::Png)
            .unwrap();
        let png = png.into_inner();

        assert_eq!(
            karin
                .upload_with("/profile/picture", None, "me.png", &png)
                .await
                .status,
            StatusCode::FORBIDDEN,
            "{backend:?}"
        );
        assert_eq!(
            karin
                .upload_with("/profile/picture", Some("forged"), "me.png", &png)
                .await
                .status,
            StatusCode::FORBIDDEN,
            "{backend:?}"
        );
        let page = karin
            .upload_with(
                "/profile/picture",
                Some(&token),
                "me.png",
                b"<svg onload=alert(1)>",
            )
            .await;
        assert_eq!(page.location(), "/profile?picture=not_an_image#pictures");
        let page = karin.get("/profile?picture=not_an_image").await;
        assert!(page.body.contains("inte en JPEG-, PNG- eller WebP-bild"));
        let page = karin
            .upload_with(
                "/profile/picture",
                Some(&token),
                "huge.png",
                &vec![0x89; 7 * 1024 * 1024],
            )
            .await;
        assert_eq!(page.location(), "/profile?picture=too_large#pictures");

        let page = karin
            .upload_with("/profile/picture", Some(&token), "me.png", &png)
            .await;
        assert_eq!(page.location(), "/profile?done=picture");
        let profile = karin.get("/profile?done=picture").await;
        assert!(
            profile.body.contains("Profilbilden har sparats")
                && profile.body.contains(
                    "<a href=\"#pictures\" data-section=\"pictures\" class=\"complete\">"
                )
        );
        let i = profile.body.find("/people/").unwrap();
        let url = profile.body[i..i + profile.body[i..].find('"').unwrap()].to_owned();
        let picture = karin.get(&url).await;
        assert_eq!(
            (picture.status, picture.header("content-type")),
            (StatusCode::OK, "image/jpeg")
        );
        assert!(picture.header("cache-control").starts_with("private"));
        let raw = app
            .state
            .store
            .tenant(TenantId::parse("demo").unwrap())
            .picture(&person_id(&app, KARIN).await)
            .await
            .unwrap()
            .unwrap()
            .2;
        let stored = image::load_from_memory(&raw).unwrap();
        assert_eq!((stored.width(), stored.height()), (400, 400));

        // A patient of the tenant sees it; nobody else does.
        let mut tove = app.browser("demo.localhost");
        tove.login(TOVE).await;
        assert_eq!(tove.get(&url).await.status, StatusCode::OK);
        assert!(
            app.browser("demo.localhost")
                .get(&url)
                .await
                .location()
                .starts_with("/login?")
        );
        let mut nils = app.browser("norrland.localhost");
        nils.login(NILS).await;
        assert_eq!(nils.get(&url).await.status, StatusCode::NOT_FOUND);
    }
}

/// [2.2] finding 3: decoding a picture does not run on the async workers
/// but in the kernel's pool for heavy work, a few at a time. With every
/// slot of that pool taken, an upload waits (however long it is given)
/// instead of decoding on the worker; once a slot frees, it is done.
#[tokio::test]
async fn pictures_are_decoded_in_the_pool_for_heavy_work() {
    let app = TestApp::new(Backend::Sqlite).await;
    let mut karin = app.browser("demo.localhost");
    karin.login(KARIN).await;
    karin.get("/profile").await;
    let mut png = std::io::Cursor::new(Vec::new());
    image::RgbImage::from_pixel(600, 600, image::Rgb([20, 90, 160]))
        .write_to(&mut png, image::ImageFormat::Png)
        .unwrap();
    let png = png.into_inner();
    let to = "/profile/picture";

    // Every slot busy with a job that waits to be let go.
    let cpu = &app.state.cpu;
    let mut gates = Vec::new();
    let mut busy = Vec::new();
    for _ in 0..cpu.slots() {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        gates.push(tx);
        let pool = cpu.clone();
        busy.push(tokio::spawn(
            async move { pool.run(move || rx.recv()).await },
        ));
    }
    tokio::task::yield_now().await;

    let upload = karin.upload(to, "me.png", &png);
    tokio::pin!(upload);
    // Two seconds is ample for a 600×600 picture; it must not be done.
    let early = tokio::time::timeout(Duration::from_secs(2), &mut upload).await;
    assert!(
        early.is_err(),
        "the picture was processed while every slot was busy: not in the pool"
    );
    drop(gates);
    let page = upload.await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    for b in busy {
        b.await.unwrap().unwrap().unwrap_err();
    }
}

/// [2.4] defect 7: a profile whose last visit type and yrkestitel were
/// removed after publishing no longer says "publicerad": it says it is not
/// visible and what is missing, and nobody can be booked with it, until
/// what publishing requires is back.
#[tokio::test]
async fn a_profile_that_lost_what_publishing_requires_is_not_published() {
    for backend in BACKENDS {
        let app = TestApp::new(backend).await;
        let mut karin = app.browser("demo.localhost");
        karin.login(KARIN).await;
        publish_profile(&mut karin).await;
        let page = karin.get("/profile").await;
        assert!(
            page.body.contains("Din profil är publicerad"),
            "{backend:?}"
        );
        let i = page.body.find("/profile/visit-types/").unwrap() + "/profile/visit-types/".len();
        let type_id = page.body[i..i + page.body[i..].find('"').unwrap()].to_owned();

        // The last visit type and the yrkestitel go.
        let page = karin
            .post(&format!("/profile/visit-types/{type_id}/archive"), &[])
            .await;
        assert_eq!(page.location(), "/profile?done=type_removed");
        let page = karin.post("/profile", &[("title", "")]).await;
        assert_eq!(page.location(), "/profile?done=saved");

        let page = karin.get("/profile").await;
        let state = &page.body[page.body.find("id=\"published-state\"").unwrap()..];
        let state = &state[..state.find("</p>").unwrap()];
        assert!(
            !state.contains("Din profil är publicerad")
                && state.contains("syns inte för patienter"),
            "{backend:?}: {state}"
        );
        assert!(
            page.body.contains("Fyll i din yrkestitel först")
                && page.body.contains("Skapa minst ett bokningsbart besök"),
            "what is missing is said"
        );
        assert!(
            page.body
                .contains("<span class=\"tally\">inte synlig</span>"),
            "the menu says so too"
        );
        // Nobody can be booked with her meanwhile.
        let page = karin.get("/bookings/new").await;
        assert!(page.body.contains("id=\"not-published\""), "{backend:?}");
        let page = karin.post("/bookings", &[("who", "new")]).await;
        assert_eq!(page.status, StatusCode::CONFLICT);

        // With both back, the profile is visible again.
        karin.get("/profile").await;
        karin.post("/profile", &[("title", "Leg. psykolog")]).await;
        karin
            .post(
                "/profile/visit-types",
                &[("title", "Samtal"), ("minutes", "30"), ("kind", "video")],
            )
            .await;
        let page = karin.get("/profile").await;
        assert!(
            page.body.contains("Din profil är publicerad"),
            "{backend:?}"
        );
        assert!(
            !karin
                .get("/bookings/new")
                .await
                .body
                .contains("id=\"not-published\"")
        );
    }
}

/// [2.4] defect 11, in a browser: a refused upload shows the picture's
/// error on the profile page, and the address bar shows the profile page
/// with no CSRF token in it (the form once carried the token in its URL,
/// `/profile/picture?_csrf=…`, and the refusal was shown there). Too large
/// a picture is told before it is sent.
#[tokio::test(flavor = "multi_thread")]
async fn a_refused_picture_is_told_on_its_field_with_no_token_in_the_address() {
    use crate::headless::{Headless, login, screenshot, wait_for_text};
    use fantoccini::Locator::Id;

    let app = TestApp::new(Backend::Sqlite).await;
    let dir = std::env::temp_dir().join(format!("tillit-upload-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let not_a_picture = dir.join("not-a-picture.png");
    std::fs::write(&not_a_picture, b"<svg onload=alert(1)>").unwrap();
    let huge = dir.join("huge.jpg");
    std::fs::write(&huge, vec![0xFF; 6 * 1024 * 1024]).unwrap();

    let port = serve(&app).await;
    let chrome = Headless::start().await;
    let c = &chrome.client;
    login(c, port, KARIN).await;
    c.goto(&format!("http://demo.localhost:{port}/profile#pictures"))
        .await
        .unwrap();
    wait_for_text(c, "#pictures h2", "Profilbild").await;
    c.find(Id("picture"))
        .await
        .unwrap()
        .send_keys(not_a_picture.to_str().unwrap())
        .await
        .unwrap();
    c.find(Id("upload-picture"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_text(c, "#picture-error", "inte en JPEG-, PNG- eller WebP-bild").await;
    screenshot(c, "picture-refused").await;
    let url = c.current_url().await.unwrap();
    assert_eq!(url.path(), "/profile", "{url}");
    assert!(
        !url.as_str().contains("_csrf"),
        "the token is in the address: {url}"
    );
    let field = c.find(Id("picture")).await.unwrap();
    assert_eq!(
        field.attr("aria-invalid").await.unwrap().as_deref(),
        Some("true")
    );

    // Too large: said at once, and nothing is sent.
    field.send_keys(huge.to_str().unwrap()).await.unwrap();
    c.find(Id("upload-picture"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_text(c, "#picture-error", "större än 5 MB").await;
    let after = c.current_url().await.unwrap();
    assert_eq!(after, url, "the form was sent");
    let _ = c.clone().close().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// "Min profil" is no longer one long page with a checklist that looks
/// like links: a menu of the handbook's sections, each a real link with how
/// far it is done, shows one section at a time, beside the sections on a
/// desktop and above them on a phone, with nothing wider than the screen.
#[tokio::test(flavor = "multi_thread")]
async fn min_profil_has_a_menu_of_its_sections_on_a_desktop_and_a_phone() {
    use crate::headless::{Headless, login, screenshot, wait_for_text};
    use fantoccini::Locator::{Css, Id};

    let app = TestApp::new(Backend::Sqlite).await;
    let port = serve(&app).await;
    let chrome = Headless::start().await;
    let c = &chrome.client;
    login(c, port, KARIN).await;
    for (width, height) in [(1280, 900), (390, 844)] {
        c.set_window_size(width, height).await.unwrap();
        c.goto(&format!("http://demo.localhost:{port}/profile"))
            .await
            .unwrap();
        let menu = wait_for_text(c, "#section-menu", "Bokningsbara besök").await;
        screenshot(c, &format!("profile-{width}")).await;
        for section in [
            "Konsultation",
            "Profilbild",
            "Förhandsgranska",
            "Aktivera bokningsfunktion",
        ] {
            assert!(menu.contains(section), "{width}: {section} not in {menu:?}");
        }
        let shown = |c: &fantoccini::Client| {
            let c = c.clone();
            async move {
                let mut shown = Vec::new();
                for s in c.find_all(Css(".profile-section")).await.unwrap() {
                    if s.is_displayed().await.unwrap() {
                        shown.push(s.attr("id").await.unwrap().unwrap_or_default());
                    }
                }
                shown
            }
        };
        assert_eq!(shown(c).await, ["consultation"], "{width}");

        // A section chosen from the menu is the one shown.
        let link = c
            .find(Css("#section-menu a[href='#visit-types']"))
            .await
            .unwrap();
        link.click().await.unwrap();
        wait_for_text(c, "#section-menu a[aria-current]", "Bokningsbara besök").await;
        assert_eq!(shown(c).await, ["visit-types"], "{width}");
        assert!(
            c.find(Id("new-title"))
                .await
                .unwrap()
                .is_displayed()
                .await
                .unwrap()
        );
        screenshot(c, &format!("profile-menu-{width}")).await;

        // Beside or above, and nothing of the page's own wider than the
        // window (the site's header is the layout's).
        let layout = c
            .execute(
                "const m = document.getElementById('section-menu').getBoundingClientRect();
                 const s = document.getElementById('visit-types').getBoundingClientRect();
                 const wide = Array.from(document.querySelectorAll('main *'))
                   .filter(e => e.getBoundingClientRect().right > window.innerWidth)
                   .map(e => e.tagName + '#' + e.id);
                 return [m.right <= s.left, m.bottom <= s.top, wide];",
                vec![],
            )
            .await
            .unwrap();
        let (beside, above) = (layout[0].as_bool().unwrap(), layout[1].as_bool().unwrap());
        if width > 800 {
            assert!(beside, "the menu is beside the sections on a desktop");
        } else {
            assert!(above, "the menu is above the sections on a phone");
        }
        assert_eq!(
            layout[2],
            serde_json::json!([]),
            "{width}: wider than the window"
        );
    }
    let _ = c.clone().close().await;
}
