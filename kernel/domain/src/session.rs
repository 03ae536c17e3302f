//! The lifetime of a login.
//!
//! A session ends when the person has done nothing for the tenant's idle
//! timeout (two hours by default, as the FAQ tells users) or, however active,
//! when its absolute lifetime has passed since login. The kernel records the
//! last activity only every [`SessionPolicy::TOUCH_INTERVAL`], so an active
//! person does not cause a database write on every request; the idle check is
//! therefore at most that much generous.

use crate::time::Timestamp;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    pub idle_timeout: Duration,
    pub absolute_lifetime: Duration,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self {
            idle_timeout: Duration::from_secs(2 * 3600),
            absolute_lifetime: Duration::from_secs(12 * 3600),
        }
    }
}

/// When a session began and when its holder was last seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionTimes {
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SessionExpired {
    #[error("logged out after a period of inactivity")]
    Idle,
    #[error("the session reached its maximum lifetime")]
    Absolute,
}

/// What to do with a session on a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionCheck {
    /// Valid; nothing to record.
    Valid,
    /// Valid; record `now` as the last activity.
    ValidTouch,
}

impl SessionPolicy {
    pub const TOUCH_INTERVAL: Duration = Duration::from_secs(60);

    pub fn check(&self, t: SessionTimes, now: Timestamp) -> Result<SessionCheck, SessionExpired> {
        if now >= t.created_at.plus(self.absolute_lifetime) {
            return Err(SessionExpired::Absolute);
        }
        if now >= t.last_seen_at.plus(self.idle_timeout) {
            return Err(SessionExpired::Idle);
        }
        if now.since(t.last_seen_at) >= Self::TOUCH_INTERVAL {
            Ok(SessionCheck::ValidTouch)
        } else {
            Ok(SessionCheck::Valid)
        }
    }

    /// The latest moment the session could still be valid, for the cookie's
    /// and the row's expiry.
    pub fn expires_at(&self, t: SessionTimes) -> Timestamp {
        t.last_seen_at
            .plus(self.idle_timeout)
            .min(t.created_at.plus(self.absolute_lifetime))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(60);

    fn policy() -> SessionPolicy {
        SessionPolicy {
            idle_timeout: 120 * MIN,
            absolute_lifetime: 480 * MIN,
        }
    }

    #[test]
    fn idle_timeout() {
        let t0 = Timestamp(0);
        let t = SessionTimes {
            created_at: t0,
            last_seen_at: t0,
        };
        assert_eq!(
            policy().check(t, t0.plus(119 * MIN)),
            Ok(SessionCheck::ValidTouch)
        );
        assert_eq!(
            policy().check(t, t0.plus(120 * MIN)),
            Err(SessionExpired::Idle)
        );
    }

    #[test]
    fn activity_keeps_it_alive_until_the_absolute_lifetime() {
        let t0 = Timestamp(0);
        let t = SessionTimes {
            created_at: t0,
            last_seen_at: t0.plus(470 * MIN),
        };
        assert_eq!(
            policy().check(t, t0.plus(479 * MIN)),
            Ok(SessionCheck::ValidTouch)
        );
        assert_eq!(
            policy().check(t, t0.plus(480 * MIN)),
            Err(SessionExpired::Absolute)
        );
        assert_eq!(policy().expires_at(t), t0.plus(480 * MIN));
    }

    #[test]
    fn touches_at_most_once_a_minute() {
        let t0 = Timestamp(0);
        let t = SessionTimes {
            created_at: t0,
            last_seen_at: t0,
        };
        assert_eq!(
            policy().check(t, t0.plus(Duration::from_secs(59))),
            Ok(SessionCheck::Valid)
        );
        assert_eq!(
            policy().check(t, t0.plus(MIN)),
            Ok(SessionCheck::ValidTouch)
        );
    }
}

/// The e-ID login a session came from: the tenant's method, and the
/// provider's subject (a pseudonym, never used to identify the person) and
/// session id, by which the provider may end it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderLogin {
    pub method: String,
    pub subject: String,
    pub session: Option<String>,
}

/// A stored session and the person it belongs to, as the data layer returns it.
#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub person: crate::Person,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    /// The login method it came from, for an e-ID login.
    pub login_method: Option<String>,
}

impl SessionRecord {
    pub fn times(&self) -> SessionTimes {
        SessionTimes {
            created_at: self.created_at,
            last_seen_at: self.last_seen_at,
        }
    }
}
