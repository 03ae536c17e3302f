//! The visit room: its page (opened in a window of its own, so the
//! portal's menus never cut the call), the signalling WebSocket that
//! connects a participant's browser to the SFU, and "Testa video".
//!
//! Only participants of the visit, in its tenant, while it is in progress,
//! get in: the WebSocket checks the session, the origin and
//! `tillit_domain::visit::may_enter` before upgrading. Each connection is
//! registered in `crate::sockets` (one per person and room, a newer one
//! replacing the older), and runs until the browser leaves or its lease
//! says it is over: replaced, its session ended, or the visit ended
//! (`visits::end` → `Sockets::visit_ended`, which also ends the SFU's room).

use std::collections::BTreeMap;

use axum::extract::Path;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect};
use serde::Serialize;
use tillit_domain::access::AccessAction;
use tillit_domain::visit::{self, EntryError};
use tillit_domain::{Person, Role};
use tillit_media::driver::{Notice, Participant, RoomKey};
use tillit_sfu::PeerId;
use tillit_sfu::signal::{
    ClientMessage, Connection, ErrorCode, MAX_MESSAGE, ServerMessage, State as SignalState,
};

use crate::http::error::AppError;
use crate::http::extract::{Portal, User};
use crate::http::forms::log_access_all;
use crate::http::render::PageResult;
use crate::http::session::Ctx;
use crate::plugins::Panel;
use crate::routes::visits::participation;
use crate::sockets::{Closed, Lease, Place};
use crate::state::AppState;

/// The SFU room of a visit: tenant and booking, so tenants never meet.
pub fn room_key(tenant: &tillit_domain::TenantId, booking: &str) -> RoomKey {
    format!("{tenant}/{booking}")
}

/// The browser's `RTCConfiguration`: STUN/TURN servers and transport
/// policy, with the browser's field names.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct RtcConfiguration<'a> {
    ice_servers: Vec<RtcIceServer<'a>>,
    ice_transport_policy: &'static str,
}

/// An `RTCIceServer`.
#[derive(Debug, Serialize)]
struct RtcIceServer<'a> {
    urls: &'a [String],
    username: &'a str,
    credential: &'a str,
}

/// The browser's `RTCConfiguration`, as JSON (for a `data-` attribute).
fn ice_servers(state: &AppState) -> String {
    let media = &state.config.media;
    let config = RtcConfiguration {
        ice_servers: media
            .ice_servers
            .iter()
            .map(|s| RtcIceServer {
                urls: &s.urls,
                username: &s.username,
                credential: &s.credential,
            })
            .collect(),
        ice_transport_policy: match media.ice_transport_policy {
            crate::config::IcePolicy::All => "all",
            crate::config::IcePolicy::Relay => "relay",
        },
    };
    serde_json::to_string(&config).unwrap_or_default()
}

/// The texts the room's script shows, in the visitor's language, as JSON
/// (for a `data-` attribute): `{"you": "…", …}`, from the `room` table and
/// `ROOM2_TEXTS` from the `room2` table.
fn room_texts(p: &Portal) -> String {
    let keys = [
        "you",
        "muted",
        "camera_off",
        "poor",
        "lost",
        "reconnecting",
        "ended",
        "left",
        "full",
        "replaced",
        "session_ended",
        "no_devices",
        "speaking",
        "clinician",
        "flowing",
        "connecting",
        "time_left",
        "over_time",
    ];
    let texts: BTreeMap<&str, String> = keys
        .iter()
        .map(|k| ("room", *k))
        .chain(ROOM2_TEXTS.iter().map(|k| ("room2", *k)))
        .map(|(table, k)| {
            let key = format!("{table}.{k}");
            (k, p.state.catalogs.get(p.ctx.lang, &key).to_owned())
        })
        .collect();
    serde_json::to_string(&texts).unwrap_or_default()
}

/// The script's texts from the `room2` table (their names differ from the
/// `room` table's).
const ROOM2_TEXTS: [&str; 4] = ["starts_in", "left_named", "clinician_left", "returned"];

/// The room page's data.
#[derive(Debug, Serialize)]
struct RoomPage<'a> {
    title: &'static str,
    id: &'a str,
    panels: Vec<Panel>,
    heading: &'a str,
    is_clinician: bool,
    /// The viewer's initials, shown in their tile while their camera is off.
    initials: String,
    /// Until the planned start (negative once it has passed); relative, so
    /// the browser's own clock need not be right. A visit may be started
    /// before its planned time.
    starts_in_ms: i64,
    /// Until the planned end, likewise.
    ends_in_ms: i64,
    /// JSON: the browser's `RTCConfiguration`.
    ice_servers: String,
    /// JSON: the script's texts by key.
    texts: String,
}

/// `/visits/{id}/room`: the call itself. Before the start and after the
/// end, back to the visit page, which says why.
pub async fn show(p: Portal, User(me): User, Path(id): Path<String>) -> PageResult {
    let (booking, role) = participation(&p, &me.person, &id).await?;
    let now = p.state.clock.now();
    if visit::may_enter(&booking, role, now, 0, usize::MAX).is_err() {
        return Ok(Redirect::to(&format!("/visits/{id}")).into_response());
    }
    let panels = crate::plugins::room_panels(&p.state, &p.ctx, &me.person, &booking).await?;
    let page = RoomPage {
        title: "room.title",
        id: &booking.id,
        panels,
        heading: &booking.title,
        is_clinician: role == visit::Role::Clinician,
        initials: me.person.initials(),
        starts_in_ms: booking.starts_at.millis() - now.millis(),
        ends_in_ms: booking.ends_at().millis() - now.millis(),
        ice_servers: ice_servers(&p.state),
        texts: room_texts(&p),
    };
    Ok(p.page("room", page)?.into_response())
}

/// The "Testa video" page's data.
#[derive(Debug, Serialize)]
struct VideoTestPage {
    title: &'static str,
    /// JSON: the browser's `RTCConfiguration`.
    ice_servers: String,
    /// JSON: the script's texts by key.
    texts: String,
}

/// "Testa video": camera preview, microphone level, a test sound, and a
/// real connection to the SFU (a room of one's own) that reports whether
/// media flows.
pub async fn test_page(p: Portal, _: User) -> PageResult {
    let page = VideoTestPage {
        title: "video_test.title",
        ice_servers: ice_servers(&p.state),
        texts: room_texts(&p),
    };
    Ok(p.page("video_test", page)?.into_response())
}

/// A WebSocket may only be opened by the portal's own pages: browsers
/// send `Origin` on every WebSocket, and cookies ride along cross-site, so
/// without this check another site could join a visit as its visitor.
fn same_origin(headers: &HeaderMap) -> Result<(), AppError> {
    match crate::http::session::same_origin(headers) {
        Some(true) => Ok(()),
        Some(false) => Err(AppError::Csrf("a WebSocket from another origin")),
        None => Err(AppError::Csrf("a WebSocket without an origin")),
    }
}

/// `/visits/{id}/ws`: signalling for one participant of one visit. The
/// origin is checked before the login, so a WebSocket from another site is
/// refused as such.
pub async fn socket(
    p: Portal,
    user: Result<User, AppError>,
    Path(id): Path<String>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> PageResult {
    same_origin(&headers)?;
    let User(me) = user?;
    let (booking, role) = participation(&p, &me.person, &id).await?;
    visit::may_enter(&booking, role, p.state.clock.now(), 0, usize::MAX).map_err(|e| match e {
        EntryError::NotOpen | EntryError::NotStarted => {
            AppError::Conflict("the visit has not been started")
        }
        EntryError::Closed => AppError::Conflict("the visit is over"),
        EntryError::Full(_) => AppError::Conflict("the visit is full"),
    })?;
    if role == visit::Role::Clinician {
        // Clinicians in the room see the patients' names: a group visit's
        // every patient.
        let store = p.store();
        let mut ids: Vec<tillit_domain::PersonId> = store
            .group_patients(&booking.id)
            .await?
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        if ids.is_empty() {
            ids.push(booking.patient.clone());
        }
        let mut patients = Vec::with_capacity(ids.len());
        for id in &ids {
            if let Some(patient) = store.person(id).await? {
                patients.push(patient);
            }
        }
        log_access_all(&p, &me.person, &patients, AccessAction::Read, "visit room").await?;
    }
    let Portal { state, ctx } = p;
    let me = me.person;
    let lease = lease(&state, &ctx, &me, Place::Visit(booking.id.clone()))?;
    let session = Session {
        room: room_key(&ctx.tenant.id, &booking.id),
        cap: ctx.tenant.booking.max_participants,
        viewer: me.role,
        who: participant(&me),
        person: me.id.clone(),
    };
    tracing::info!(tenant = %ctx.tenant.id, booking = %booking.id, person = %me.id, "joins the visit room");
    let tenant = ctx.tenant.id.clone();
    Ok(ws
        .max_message_size(MAX_MESSAGE)
        .on_upgrade(move |socket| async move {
            use tillit_plugins::Event;
            crate::plugins::dispatch_presence(
                &state,
                &tenant,
                &booking,
                Event::ParticipantJoined(me.id.clone()),
            );
            session.run(state.clone(), socket, lease).await;
            crate::plugins::dispatch_presence(
                &state,
                &tenant,
                &booking,
                Event::ParticipantLeft(me.id),
            );
        })
        .into_response())
}

/// `/video-test/ws`: the same signalling, in a room of one.
pub async fn test_socket(
    p: Portal,
    user: Result<User, AppError>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> PageResult {
    same_origin(&headers)?;
    let User(me) = user?;
    let me = &me.person;
    let lease = lease(&p.state, &p.ctx, me, Place::VideoTest)?;
    let session = Session {
        room: format!("{}/test/{}", p.ctx.tenant.id, uuid::Uuid::new_v4()),
        cap: 1,
        viewer: me.role,
        who: participant(me),
        person: me.id.clone(),
    };
    let state = p.state;
    Ok(ws
        .max_message_size(MAX_MESSAGE)
        .on_upgrade(move |socket| session.run(state, socket, lease))
        .into_response())
}

/// Registers the connection `me` is opening to `place` under the request's
/// session: an earlier one of theirs there closes.
fn lease(state: &AppState, ctx: &Ctx, me: &Person, place: Place) -> Result<Lease, AppError> {
    let session = ctx.session_hash.as_deref().ok_or(AppError::LoginRequired)?;
    Ok(state.sockets.open(&ctx.tenant.id, &me.id, place, session))
}

fn participant(p: &Person) -> Participant {
    Participant {
        name: p.full_name(),
        initials: p.initials(),
        clinician: p.role == Role::Clinician,
    }
}

/// How long a closing connection waits for the browser to take its last
/// message and close frame.
const GOODBYE_WITHIN: std::time::Duration = std::time::Duration::from_secs(5);

/// One participant's signalling connection.
struct Session {
    room: RoomKey,
    cap: usize,
    viewer: Role,
    who: Participant,
    person: tillit_domain::PersonId,
}

impl Session {
    /// How `who` is shown to this viewer: patients see other patients by
    /// initials only.
    fn shown(&self, who: &Participant) -> String {
        if self.viewer == Role::Patient && !who.clinician {
            who.initials.clone()
        } else {
            who.name.clone()
        }
    }

    async fn run(self, state: AppState, mut socket: WebSocket, mut lease: Lease) {
        let hub = state.media.clone();
        // A reload: the connection this one replaces leaves the room first,
        // so the person never holds two places in it.
        lease.replaced_gone().await;
        // Why the kernel ends the connection, when it does: the message to
        // send last, if not sent yet, and the close code and reason.
        let mut last_word: Option<ServerMessage> = None;
        let mut close: Option<(u16, &'static str)> = None;
        let mut conn = Connection::default();
        let mut me: Option<PeerId> = None;
        let mut notices: Option<tokio::sync::mpsc::UnboundedReceiver<Notice>> = None;
        // An offer of the SFU's that must wait for a negotiation to finish.
        let mut pending_offer: Option<String> = None;
        // Plugins' live messages for this room and person.
        let (live_tx, mut live) = tokio::sync::mpsc::unbounded_channel();
        let live_token = state.live.join(&self.room, self.person.clone(), live_tx);
        loop {
            let next_notice = async {
                match notices.as_mut() {
                    Some(rx) => rx.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                frame = socket.recv() => {
                    let text = match frame {
                        Some(Ok(Message::Text(t))) => t,
                        Some(Ok(Message::Binary(_))) => {
                            let _ = send(&mut socket, &mut conn, ServerMessage::Error {
                                code: ErrorCode::Malformed,
                                message: "messages are JSON text".into(),
                            }).await;
                            continue;
                        }
                        Some(Ok(_)) => continue,
                        Some(Err(_)) | None => break,
                    };
                    let before = conn.state();
                    let msg = match conn.receive(text.as_str()) {
                        Ok(m) => m,
                        Err(refusal) => {
                            if send(&mut socket, &mut conn, refusal).await.is_err() {
                                break;
                            }
                            continue;
                        }
                    };
                    let reply = match (msg, me) {
                        (ClientMessage::Join {}, _) => {
                            match hub.join(self.room.clone(), self.cap, self.who.clone()).await {
                                Ok((peer, rx)) => {
                                    me = Some(peer);
                                    notices = Some(rx);
                                    Some(ServerMessage::Joined { peer: peer.0 })
                                }
                                Err(e) => {
                                    let _ = send(&mut socket, &mut conn, ServerMessage::Error {
                                        code: ErrorCode::Full,
                                        message: e.to_string(),
                                    }).await;
                                    break;
                                }
                            }
                        }
                        (ClientMessage::Offer { sdp }, Some(peer)) => {
                            match hub.offer(self.room.clone(), peer, sdp).await {
                                Ok(answer) => Some(ServerMessage::Answer { sdp: answer }),
                                Err(e) => {
                                    conn.negotiation_failed(before == SignalState::Live);
                                    Some(ServerMessage::Error {
                                        code: ErrorCode::Refused,
                                        message: e.to_string(),
                                    })
                                }
                            }
                        }
                        (ClientMessage::Answer { sdp }, Some(peer)) => {
                            match hub.answer(self.room.clone(), peer, sdp).await {
                                Ok(()) => None,
                                Err(e) => Some(ServerMessage::Error {
                                    code: ErrorCode::Refused,
                                    message: e.to_string(),
                                }),
                            }
                        }
                        (ClientMessage::Mute { kind, muted }, Some(peer)) => {
                            hub.mute(self.room.clone(), peer, kind, muted);
                            None
                        }
                        (ClientMessage::Show { peer: of, width, height }, Some(peer)) => {
                            hub.show(self.room.clone(), peer, PeerId(of), width, height);
                            None
                        }
                        // The SFU is ICE-lite: the browser's candidates show
                        // up as the sources of its STUN checks.
                        (ClientMessage::Candidate { .. }, _) => None,
                        (ClientMessage::Leave {}, _) => break,
                        (_, None) => None,
                    };
                    if let Some(reply) = reply
                        && send(&mut socket, &mut conn, reply).await.is_err()
                    {
                        break;
                    }
                }
                why = &mut lease.closed => {
                    let msg = match why {
                        Ok(Closed::Replaced) => ServerMessage::Replaced,
                        Ok(Closed::SessionEnded) => ServerMessage::SessionEnded,
                        Ok(Closed::VisitEnded) => ServerMessage::Ended,
                        // The registry itself is gone: the kernel stops.
                        Err(_) => break,
                    };
                    close = msg.close_code();
                    last_word = Some(msg);
                    break;
                }
                Some((plugin, message)) = live.recv() => {
                    if send(&mut socket, &mut conn, ServerMessage::Plugin { plugin, message }).await.is_err() {
                        break;
                    }
                }
                notice = next_notice => {
                    let Some(notice) = notice else { break };
                    let msg = match notice {
                        Notice::PeerJoined { peer, who } => Some(ServerMessage::PeerJoined {
                            peer: peer.0,
                            name: self.shown(&who),
                            clinician: who.clinician,
                        }),
                        Notice::PeerLeft { peer } => Some(ServerMessage::PeerLeft { peer: peer.0 }),
                        Notice::Offer { sdp } => {
                            pending_offer = Some(sdp);
                            None
                        }
                        Notice::Quality { peer, poor } => Some(ServerMessage::Quality { peer: peer.0, poor }),
                        Notice::Muted { peer, kind, muted } => Some(ServerMessage::Muted { peer: peer.0, kind, muted }),
                        Notice::Speaker { peer } => Some(ServerMessage::Speaker { peer: peer.map(|p| p.0) }),
                        Notice::Layer { rid, active } => Some(ServerMessage::Layer { rid: rid.into(), active }),
                        Notice::Connected => Some(ServerMessage::Media { flowing: true }),
                        Notice::Disconnected => Some(ServerMessage::Media { flowing: false }),
                        Notice::Ended => Some(ServerMessage::Ended),
                        Notice::Failed => Some(ServerMessage::Rejoin),
                    };
                    let last = matches!(msg, Some(ServerMessage::Ended | ServerMessage::Rejoin));
                    let ends = msg.as_ref().and_then(ServerMessage::close_code);
                    if let Some(msg) = msg
                        && send(&mut socket, &mut conn, msg).await.is_err()
                    {
                        break;
                    }
                    if last {
                        close = ends;
                        me = None;
                        break;
                    }
                }
            }
            // The SFU's offer goes out once no negotiation is under way.
            if conn.state() == SignalState::Live
                && let Some(sdp) = pending_offer.take()
                && send(&mut socket, &mut conn, ServerMessage::Offer { sdp })
                    .await
                    .is_err()
            {
                break;
            }
        }
        state.live.leave(&self.room, live_token);
        if let Some(peer) = me {
            hub.leave(self.room.clone(), peer);
        }
        // Out of the SFU (the leave is queued before anything a successor
        // sends it): a connection that replaces this one may enter now,
        // however slowly this browser reads what follows.
        drop(lease);
        let frame = close.map(|(code, reason)| CloseFrame {
            code,
            reason: reason.into(),
        });
        let goodbye = async {
            if let Some(msg) = last_word {
                let _ = send(&mut socket, &mut conn, msg).await;
            }
            let _ = socket.send(Message::Close(frame)).await;
        };
        let _ = tokio::time::timeout(GOODBYE_WITHIN, goodbye).await;
    }
}

async fn send(
    socket: &mut WebSocket,
    conn: &mut Connection,
    msg: ServerMessage,
) -> Result<(), axum::Error> {
    conn.send(&msg);
    let text = serde_json::to_string(&msg).unwrap_or_default();
    socket.send(Message::Text(text.into())).await
}
