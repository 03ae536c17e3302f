//! The kernel's handle on the media task: the [`Hub`], and the commands it
//! sends the task.

use std::net::SocketAddr;

use tillit_sfu::PeerId;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};

use super::task::Task;
use super::{HubStats, Notice, Participant};
use crate::{MediaError, MediaKind};

/// A room's key: tenant and visit, so two tenants never share a room.
pub type RoomKey = String;

/// What the hub asks of the media task.
pub(super) enum Command {
    Join {
        room: RoomKey,
        cap: usize,
        who: Participant,
        notices: mpsc::UnboundedSender<Notice>,
        reply: oneshot::Sender<Result<PeerId, MediaError>>,
    },
    Offer {
        room: RoomKey,
        peer: PeerId,
        sdp: String,
        reply: oneshot::Sender<Result<String, MediaError>>,
    },
    Answer {
        room: RoomKey,
        peer: PeerId,
        sdp: String,
        reply: oneshot::Sender<Result<(), MediaError>>,
    },
    Mute {
        room: RoomKey,
        peer: PeerId,
        kind: MediaKind,
        muted: bool,
    },
    Show {
        room: RoomKey,
        peer: PeerId,
        of: PeerId,
        width: u32,
        height: u32,
    },
    Leave {
        room: RoomKey,
        peer: PeerId,
    },
    End {
        room: RoomKey,
    },
    Stats {
        reply: oneshot::Sender<HubStats>,
    },
}

/// The kernel's handle on the media task. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Hub {
    tx: mpsc::UnboundedSender<Command>,
    local: SocketAddr,
}

impl Hub {
    /// Binds `listen` and starts the media task. `announce` is the address
    /// put in ICE candidates (the public one, if `listen` is a wildcard).
    pub async fn start(
        listen: SocketAddr,
        announce: Option<std::net::IpAddr>,
    ) -> std::io::Result<Self> {
        let sock = UdpSocket::bind(listen).await?;
        let mut local = sock.local_addr()?;
        if let Some(ip) = announce {
            local.set_ip(ip);
        }
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(Task::new(sock, local).run(rx));
        Ok(Self { tx, local })
    }

    /// The address browsers send media to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    async fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Command) -> Option<T> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(make(reply)).ok()?;
        rx.await.ok()
    }

    /// Enters `room` (created on first use, at most `cap` participants).
    /// The participant's notices arrive on the returned channel, starting
    /// with everyone already there.
    pub async fn join(
        &self,
        room: RoomKey,
        cap: usize,
        who: Participant,
    ) -> Result<(PeerId, mpsc::UnboundedReceiver<Notice>), MediaError> {
        let (notices, rx) = mpsc::unbounded_channel();
        let peer = self
            .ask(|reply| Command::Join {
                room,
                cap,
                who,
                notices,
                reply,
            })
            .await
            .ok_or(MediaError::Stopped)??;
        Ok((peer, rx))
    }

    /// The participant's offer (first, renegotiation or ICE restart); returns the answer.
    pub async fn offer(
        &self,
        room: RoomKey,
        peer: PeerId,
        sdp: String,
    ) -> Result<String, MediaError> {
        self.ask(|reply| Command::Offer {
            room,
            peer,
            sdp,
            reply,
        })
        .await
        .ok_or(MediaError::Stopped)?
    }

    /// The answer to a [`Notice::Offer`].
    pub async fn answer(&self, room: RoomKey, peer: PeerId, sdp: String) -> Result<(), MediaError> {
        self.ask(|reply| Command::Answer {
            room,
            peer,
            sdp,
            reply,
        })
        .await
        .ok_or(MediaError::Stopped)?
    }

    pub fn mute(&self, room: RoomKey, peer: PeerId, kind: MediaKind, muted: bool) {
        let _ = self.tx.send(Command::Mute {
            room,
            peer,
            kind,
            muted,
        });
    }

    /// `peer` shows `of`'s video at this size (0×0: not at all).
    pub fn show(&self, room: RoomKey, peer: PeerId, of: PeerId, width: u32, height: u32) {
        let _ = self.tx.send(Command::Show {
            room,
            peer,
            of,
            width,
            height,
        });
    }

    pub fn leave(&self, room: RoomKey, peer: PeerId) {
        let _ = self.tx.send(Command::Leave { room, peer });
    }

    /// Closes the room for everyone (the visit ended).
    pub fn end(&self, room: RoomKey) {
        let _ = self.tx.send(Command::End { room });
    }

    pub async fn stats(&self) -> HubStats {
        self.ask(|reply| Command::Stats { reply })
            .await
            .unwrap_or_default()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn who(name: &str) -> Participant {
        Participant {
            name: name.into(),
            initials: name[..1].into(),
            clinician: false,
        }
    }

    #[tokio::test]
    async fn a_room_holds_its_cap_tells_who_comes_and_goes_and_ends_for_everyone() {
        let hub = Hub::start("127.0.0.1:0".parse().unwrap(), None)
            .await
            .unwrap();
        let room = "demo/v1".to_owned();
        let (a, mut a_rx) = hub.join(room.clone(), 2, who("Anna")).await.unwrap();
        let (b, mut b_rx) = hub.join(room.clone(), 2, who("Bo")).await.unwrap();
        assert!(matches!(
            hub.join(room.clone(), 2, who("Cia")).await,
            Err(MediaError::Full)
        ));
        // Each hears of the other, by the name given.
        assert_eq!(
            a_rx.recv().await,
            Some(Notice::PeerJoined {
                peer: b,
                who: who("Bo")
            })
        );
        assert_eq!(
            b_rx.recv().await,
            Some(Notice::PeerJoined {
                peer: a,
                who: who("Anna")
            })
        );
        // Another tenant's room with the same visit id is another room.
        let (_, _other) = hub.join("norrland/v1".into(), 2, who("Cia")).await.unwrap();
        assert_eq!(hub.stats().await.rooms, 2);

        hub.leave(room.clone(), b);
        assert_eq!(a_rx.recv().await, Some(Notice::PeerLeft { peer: b }));
        let (_, _c_rx) = hub.join(room.clone(), 2, who("Cia")).await.unwrap();
        // An offer that is not a session description is refused, nothing changes.
        assert!(matches!(
            hub.offer(room.clone(), a, "v=0\r\nnonsense".into()).await,
            Err(MediaError::Sdp(_))
        ));
        hub.end(room.clone());
        loop {
            match a_rx.recv().await {
                Some(Notice::Ended) => break,
                Some(_) => continue,
                None => panic!("the room closed without saying so"),
            }
        }
        assert_eq!(hub.stats().await.rooms, 1, "only norrland's is left");
    }
}
