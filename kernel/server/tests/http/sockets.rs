//! The room's WebSockets end with what they stand on: a logout in another
//! tab, a session gone idle, a person made inactive, the visit's end. And
//! a person holds one connection per room: a new one (a reload) replaces
//! the old, so one patient cannot fill a room with sockets.
//!
//! A WebSocket needs a real connection: the kernel serves on a port, as
//! `serve` runs it, and the tests connect with a WebSocket client. Every
//! wait for a close is bounded (10 s) as a failure report, not a speed.

use crate::support::*;
use futures::{SinkExt, StreamExt};
use tillit_domain::Clock;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const OLOF: &str = "19700101-0003";
/// How long a test waits for what should come at once.
const BOUND: Duration = Duration::from_secs(10);

/// The close codes of `tillit_sfu::signal::ServerMessage::close_code`.
const VISIT_ENDED: u16 = 4000;
const REPLACED: u16 = 4001;
const SESSION_ENDED: u16 = 4002;

/// The kernel on a real port, as `serve` runs it; stopped when dropped.
struct Served {
    port: u16,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn serve(app: &TestApp) -> Served {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let state = app.state.clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = app::serve(listener, state, async move {
            let _ = stopped.await;
        })
        .await;
    });
    Served {
        port,
        stop: Some(stop),
    }
}

/// One WebSocket of the room's signalling, as a browser holds it.
struct Socket(tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>);

/// Opens `path`'s WebSocket on the demo tenant as the holder of the session
/// cookie `cookie`, from the portal's own origin; `Err` with the status if
/// the kernel refuses the handshake.
async fn open(port: u16, path: &str, cookie: &str) -> Result<Socket, u16> {
    use tokio_tungstenite::tungstenite::Error;
    let mut req = format!("ws://127.0.0.1:{port}{path}")
        .into_client_request()
        .unwrap();
    let headers = req.headers_mut();
    let host = format!("demo.localhost:{port}");
    headers.insert(header::HOST, host.parse().unwrap());
    headers.insert(header::ORIGIN, format!("http://{host}").parse().unwrap());
    headers.insert(
        header::COOKIE,
        format!("tillit_session={cookie}").parse().unwrap(),
    );
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    match tokio_tungstenite::client_async(req, tcp).await {
        Ok((ws, _)) => Ok(Socket(ws)),
        Err(Error::Http(res)) => Err(res.status().as_u16()),
        Err(e) => panic!("WebSocket handshake to {path}: {e}"),
    }
}

/// What the kernel sent: a message's `type`, or the end.
#[derive(Debug, PartialEq)]
enum Frame {
    Message(serde_json::Value),
    /// A close frame (its code), or the connection dropped (`None`).
    Closed(Option<u16>),
}

impl Socket {
    async fn send(&mut self, msg: &str) {
        self.0.send(Message::text(msg)).await.unwrap();
    }

    /// The next thing the kernel sends, within [`BOUND`].
    async fn next(&mut self) -> Frame {
        loop {
            let frame = tokio::time::timeout(BOUND, self.0.next())
                .await
                .expect("the kernel sent nothing within 10 s");
            return match frame {
                Some(Ok(Message::Text(t))) => Frame::Message(serde_json::from_str(&t).unwrap()),
                Some(Ok(Message::Close(c))) => Frame::Closed(c.map(|c| u16::from(c.code))),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => Frame::Closed(None),
            };
        }
    }

    /// Skips messages until one of type `ty`; panics if the connection
    /// closes first.
    async fn expect(&mut self, ty: &str) -> serde_json::Value {
        loop {
            match self.next().await {
                Frame::Message(m) if m["type"] == ty => return m,
                Frame::Message(_) => continue,
                Frame::Closed(code) => panic!("closed ({code:?}) while waiting for {ty}"),
            }
        }
    }

    /// Joins the room, as the page does as soon as its socket opens.
    async fn join(&mut self) {
        self.send(r#"{"type":"join"}"#).await;
        self.expect("joined").await;
    }

    /// Waits until the kernel closes the connection; returns the types of
    /// the messages before, and the close code.
    async fn closed(&mut self) -> (Vec<String>, Option<u16>) {
        let mut before = Vec::new();
        loop {
            match self.next().await {
                Frame::Message(m) => before.push(m["type"].as_str().unwrap_or("").to_owned()),
                Frame::Closed(code) => return (before, code),
            }
        }
    }
}

/// Visit `v1`: Karin's, with Tove and Olof (an invited colleague), five
/// minutes ahead, started by Karin; the three logged in.
async fn started_visit(app: &TestApp) -> (Browser<'_>, Browser<'_>, Browser<'_>) {
    let mut karin = app.browser("demo.localhost");
    karin.login(KARIN).await;
    publish_profile(&mut karin).await;
    let mut tove = app.browser("demo.localhost");
    tove.login(TOVE).await;
    let mut olof = app.browser("demo.localhost");
    olof.login(OLOF).await;
    let olof_id = person_id(app, OLOF).await;
    book_visit(app, "v1", app.clock.now().plus(5 * MINUTE), vec![olof_id]).await;
    karin.get("/visits/v1").await;
    let page = karin.post("/visits/v1/start", &[]).await;
    assert_eq!(page.location(), "/visits/v1", "{}", page.body);
    (karin, tove, olof)
}

fn cookie(b: &Browser<'_>) -> String {
    b.session_cookie().expect("logged in").clone()
}

#[tokio::test]
async fn logging_out_in_another_tab_closes_the_room_at_once() {
    for backend in BACKENDS {
        let app = TestApp::new(backend).await;
        let (karin, mut tove, _) = started_visit(&app).await;
        let served = serve(&app).await;
        let mut k = open(served.port, "/visits/v1/ws", &cookie(&karin))
            .await
            .unwrap();
        k.join().await;
        let tove_cookie = cookie(&tove);
        let mut t = open(served.port, "/visits/v1/ws", &tove_cookie)
            .await
            .unwrap();
        t.join().await;
        k.expect("peer-joined").await;

        // Another tab of Tove's logs out.
        tove.get("/").await;
        let out = tove.post("/logout", &[]).await;
        assert_eq!(out.location(), "/login?ended=logout");
        let (before, code) = t.closed().await;
        assert_eq!(code, Some(SESSION_ENDED), "{backend:?}: after {before:?}");
        assert!(before.contains(&"session-ended".to_owned()), "{before:?}");
        // Her media left the room: Karin, still there, sees her go.
        k.expect("peer-left").await;
        // And the old cookie opens nothing.
        assert!(
            open(served.port, "/visits/v1/ws", &tove_cookie)
                .await
                .is_err()
        );
    }
}

#[tokio::test]
async fn a_session_that_goes_idle_closes_its_room() {
    for backend in BACKENDS {
        let app = TestApp::with(backend, |c| {
            c.server.session_check =
                tillit_kernel::values::ConfigDuration(Duration::from_millis(100));
        })
        .await;
        let (_, mut tove, _) = started_visit(&app).await;
        let served = serve(&app).await;
        let mut t = open(served.port, "/visits/v1/ws", &cookie(&tove))
            .await
            .unwrap();
        t.join().await;
        // The demo tenant's idle timeout is two hours; nothing else happens.
        app.clock.advance(2 * HOUR + MINUTE);
        let (before, code) = t.closed().await;
        assert_eq!(code, Some(SESSION_ENDED), "{backend:?}: after {before:?}");
        let me = tove.get("/me").await;
        assert!(
            me.location().starts_with("/login"),
            "the session itself is over too: {}",
            me.location()
        );
    }
}

#[tokio::test]
async fn an_administrator_making_a_person_inactive_closes_their_room() {
    for backend in BACKENDS {
        let app = TestApp::new(backend).await;
        let (karin, tove, _) = started_visit(&app).await;
        let served = serve(&app).await;
        let mut k = open(served.port, "/visits/v1/ws", &cookie(&karin))
            .await
            .unwrap();
        k.join().await;
        let mut t = open(served.port, "/visits/v1/ws", &cookie(&tove))
            .await
            .unwrap();
        t.join().await;

        let mut ada = app.browser("demo.localhost");
        ada.login(ADA).await;
        ada.get("/admin/people").await;
        let tove_id = person_id(&app, TOVE).await;
        let page = ada
            .post(
                &format!("/admin/people/{tove_id}/status"),
                &[("status", "inactive")],
            )
            .await;
        assert_eq!(page.location(), "/admin/people?done=status");
        let (before, code) = t.closed().await;
        assert_eq!(code, Some(SESSION_ENDED), "{backend:?}: after {before:?}");
        k.expect("peer-left").await;
    }
}

#[tokio::test]
async fn ending_the_visit_closes_every_socket_of_its_room() {
    for backend in BACKENDS {
        let app = TestApp::new(backend).await;
        let (mut karin, tove, olof) = started_visit(&app).await;
        let served = serve(&app).await;
        let mut k = open(served.port, "/visits/v1/ws", &cookie(&karin))
            .await
            .unwrap();
        k.join().await;
        let mut t = open(served.port, "/visits/v1/ws", &cookie(&tove))
            .await
            .unwrap();
        t.join().await;
        // Olof's page has its socket but has not joined yet (the browser
        // still asks for the camera).
        let mut o = open(served.port, "/visits/v1/ws", &cookie(&olof))
            .await
            .unwrap();

        karin.get("/visits/v1").await;
        let page = karin.post("/visits/v1/end", &[("confirmed", "1")]).await;
        assert_eq!(page.location(), "/visits/v1");
        for (who, socket) in [("Karin", &mut k), ("Tove", &mut t), ("Olof", &mut o)] {
            let (before, code) = socket.closed().await;
            assert_eq!(
                code,
                Some(VISIT_ENDED),
                "{backend:?}: {who}'s socket, after {before:?}"
            );
        }
        assert_eq!(
            app.state.media.stats().await.rooms,
            0,
            "the SFU's room is gone"
        );
    }
}

#[tokio::test]
async fn fifty_sockets_of_one_patient_take_one_place_and_the_clinician_gets_in() {
    for backend in BACKENDS {
        let app = TestApp::new(backend).await;
        let (karin, tove, _) = started_visit(&app).await;
        let served = serve(&app).await;
        let tove_cookie = cookie(&tove);
        // The room holds 50 (the demo tenant's cap). Each socket joins as a
        // page would, without waiting for the one before.
        let mut sockets = Vec::new();
        for _ in 0..50 {
            let mut s = open(served.port, "/visits/v1/ws", &tove_cookie)
                .await
                .unwrap();
            s.send(r#"{"type":"join"}"#).await;
            sockets.push(s);
        }
        let mut newest = sockets.pop().unwrap();
        for (i, s) in sockets.iter_mut().enumerate() {
            let (before, code) = s.closed().await;
            assert_eq!(
                code,
                Some(REPLACED),
                "{backend:?}: socket {i}, after {before:?}"
            );
            assert!(before.contains(&"replaced".to_owned()), "{before:?}");
        }
        newest.expect("joined").await;

        let mut k = open(served.port, "/visits/v1/ws", &cookie(&karin))
            .await
            .unwrap();
        k.join().await;
        let tove_seen = k.expect("peer-joined").await;
        assert_eq!(tove_seen["name"], "Tove Toll");
        newest.expect("peer-joined").await;
        let stats = app.state.media.stats().await;
        assert_eq!((stats.rooms, stats.peers), (1, 2), "{backend:?}");
        assert_eq!(app.state.sockets.len(), 2, "{backend:?}");
    }
}

#[tokio::test]
async fn a_second_video_test_of_the_same_person_replaces_the_first() {
    for backend in BACKENDS {
        let app = TestApp::new(backend).await;
        let mut tove = app.browser("demo.localhost");
        tove.login(TOVE).await;
        let mut karin = app.browser("demo.localhost");
        karin.login(KARIN).await;
        let served = serve(&app).await;
        let mut first = open(served.port, "/video-test/ws", &cookie(&tove))
            .await
            .unwrap();
        first.join().await;
        // Someone else's test is their own.
        let mut karins = open(served.port, "/video-test/ws", &cookie(&karin))
            .await
            .unwrap();
        karins.join().await;

        let mut second = open(served.port, "/video-test/ws", &cookie(&tove))
            .await
            .unwrap();
        let (before, code) = first.closed().await;
        assert_eq!(code, Some(REPLACED), "{backend:?}: after {before:?}");
        second.join().await;
        let stats = app.state.media.stats().await;
        assert_eq!((stats.rooms, stats.peers), (2, 2), "{backend:?}");
    }
}
