//! An in-memory host for plugin unit tests, on native targets only.
//!
//! On native targets every capability of this crate talks to this module
//! instead of the wasm imports, so `cargo test` can call a plugin's hooks
//! directly. It follows the host's documented rules: [`Scope::Caller`]
//! documents belong to the caller and are denied without one, keys are
//! checked ([`crate::storage::is_valid_key`]), write conditions give
//! [`Error::Conflict`], live messages need a visit and JSON. It is not the
//! real host: its limits are fixed and it has no quotas.
//!
//! The state is per thread, and each test runs on its own thread; call
//! [`reset`] to start over within a test.
//!
//! ```
//! use tillit_plugin_sdk::{context, testing, Role};
//!
//! testing::reset();
//! testing::set_caller(Some(testing::caller("p_anna", Role::Clinician, "Anna")));
//! assert_eq!(context::require_caller().map(|c| c.person).as_deref(), Ok("p_anna"));
//! ```

use std::cell::RefCell;
use std::collections::BTreeMap;

use crate::blobs::Blob;
use crate::context::Caller;
use crate::log::Level;
use crate::storage::{Condition, Entry};
use crate::{Error, Participant, PersonRef, Role, Scope, Timestamp, Visit, VisitStatus};

/// The value size limit of [`crate::storage`] here, in bytes.
pub const MAX_VALUE_LEN: usize = 256 * 1024;
/// The blob size limit of [`crate::blobs`] here, in bytes.
pub const MAX_BLOB_SIZE: u64 = 4 * 1024 * 1024;
/// The message size limit of [`crate::live`], in bytes.
pub const MAX_MESSAGE_LEN: usize = 16 * 1024;
/// The most keys one `list` call returns.
pub const MAX_LIST: u32 = 1000;
/// Where the test clock starts: 2026-01-15 09:00 UTC.
pub const START: Timestamp = 1_768_467_600_000;

/// Whose space a document or blob is in.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Owner {
    /// [`Scope::Tenant`].
    Tenant,
    /// [`Scope::Caller`] of this person.
    Person(PersonRef),
}

/// A message sent with [`crate::live`].
#[derive(Debug, Clone, PartialEq)]
pub struct Sent {
    /// `None` for a broadcast.
    pub to: Option<PersonRef>,
    pub message: String,
}

struct State {
    caller: Option<Caller>,
    visit: Option<Visit>,
    config: String,
    now: Timestamp,
    documents: BTreeMap<(Owner, String), Entry>,
    blobs: BTreeMap<(Owner, String), Blob>,
    next_revision: u64,
    next_blob: u64,
    logs: Vec<(Level, String)>,
    sent: Vec<Sent>,
}

impl Default for State {
    fn default() -> Self {
        State {
            caller: None,
            visit: None,
            config: "{}".to_owned(),
            now: START,
            documents: BTreeMap::new(),
            blobs: BTreeMap::new(),
            next_revision: 1,
            next_blob: 1,
            logs: Vec::new(),
            sent: Vec::new(),
        }
    }
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State::default());
}

fn with<R>(f: impl FnOnce(&mut State) -> R) -> R {
    STATE.with(|s| f(&mut s.borrow_mut()))
}

/// Forgets everything: no caller, no visit, `{}` config, empty storage, the
/// clock at [`START`].
pub fn reset() {
    with(|s| *s = State::default());
}

/// A caller speaking Swedish.
pub fn caller(person: &str, role: Role, display_name: &str) -> Caller {
    Caller {
        person: person.to_owned(),
        role,
        display_name: display_name.to_owned(),
        language: "sv".to_owned(),
    }
}

/// A participant of a visit.
pub fn participant(person: &str, role: Role, display_name: &str) -> Participant {
    Participant {
        person: person.to_owned(),
        role,
        display_name: display_name.to_owned(),
    }
}

/// A visit in progress, from [`START`] for half an hour.
pub fn visit(id: &str, participants: Vec<Participant>) -> Visit {
    Visit {
        id: id.to_owned(),
        status: VisitStatus::InProgress,
        starts_at: START,
        ends_at: START + 30 * 60 * 1000,
        participants,
    }
}

/// Sets who is calling.
pub fn set_caller(caller: Option<Caller>) {
    with(|s| s.caller = caller);
}

/// Sets the current visit.
pub fn set_visit(visit: Option<Visit>) {
    with(|s| s.visit = visit);
}

/// Sets the tenant's configuration (a JSON object, defaults included).
pub fn set_config(config: serde_json::Value) {
    with(|s| s.config = config.to_string());
}

/// Sets the clock.
pub fn set_now(now: Timestamp) {
    with(|s| s.now = now);
}

/// Moves the clock forward.
pub fn advance(ms: i64) {
    with(|s| s.now += ms);
}

/// Every line logged so far.
pub fn logs() -> Vec<(Level, String)> {
    with(|s| s.logs.clone())
}

/// Every live message sent so far.
pub fn sent() -> Vec<Sent> {
    with(|s| s.sent.clone())
}

/// The keys stored in `owner`'s space, in order.
pub fn keys_of(owner: &Owner) -> Vec<String> {
    with(|s| {
        s.documents
            .keys()
            .filter(|(o, _)| o == owner)
            .map(|(_, k)| k.clone())
            .collect()
    })
}

/// A document as stored in `owner`'s space, bypassing scopes.
pub fn document(owner: &Owner, key: &str) -> Option<Vec<u8>> {
    with(|s| {
        s.documents
            .get(&(owner.clone(), key.to_owned()))
            .map(|e| e.value.clone())
    })
}

fn owner(s: &State, scope: Scope) -> Result<Owner, Error> {
    match scope {
        Scope::Tenant => Ok(Owner::Tenant),
        Scope::Caller => s
            .caller
            .as_ref()
            .map(|c| Owner::Person(c.person.clone()))
            .ok_or(Error::Denied),
    }
}

fn check_key(key: &str) -> Result<(), Error> {
    if crate::storage::is_valid_key(key) {
        Ok(())
    } else {
        Err(Error::invalid("invalid key"))
    }
}

/// The capabilities' native side: the same functions as the generated
/// imports, on this module's state.
pub(crate) mod imports {
    pub(crate) mod context {
        use super::super::with;
        use crate::Visit;
        use crate::context::Caller;

        pub(crate) fn current_caller() -> Option<Caller> {
            with(|s| s.caller.clone())
        }

        pub(crate) fn current_visit() -> Option<Visit> {
            with(|s| s.visit.clone())
        }

        pub(crate) fn config() -> String {
            with(|s| s.config.clone())
        }
    }

    pub(crate) mod clock {
        use super::super::with;
        use crate::Timestamp;

        pub(crate) fn now() -> Timestamp {
            with(|s| s.now)
        }
    }

    pub(crate) mod log {
        use super::super::with;
        use crate::log::Level;

        pub(crate) fn log(level: Level, message: &str) {
            with(|s| s.logs.push((level, message.to_owned())));
        }
    }

    pub(crate) mod storage {
        use super::super::{MAX_LIST, MAX_VALUE_LEN, check_key, owner, with};
        use crate::storage::{Condition, Entry, Page, Revision};
        use crate::{Error, Scope};

        pub(crate) fn get(scope: Scope, key: &str) -> Result<Option<Entry>, Error> {
            check_key(key)?;
            with(|s| {
                let owner = owner(s, scope)?;
                Ok(s.documents.get(&(owner, key.to_owned())).cloned())
            })
        }

        pub(crate) fn set(
            scope: Scope,
            key: &str,
            value: &[u8],
            condition: Condition,
        ) -> Result<Revision, Error> {
            check_key(key)?;
            if value.len() > MAX_VALUE_LEN {
                return Err(Error::TooLarge);
            }
            with(|s| {
                let id = (owner(s, scope)?, key.to_owned());
                let current = s.documents.get(&id).map(|e| e.revision);
                super::super::holds(condition, current)?;
                let revision = s.next_revision;
                s.next_revision += 1;
                s.documents.insert(
                    id,
                    Entry {
                        value: value.to_vec(),
                        revision,
                        updated_at: s.now,
                    },
                );
                Ok(revision)
            })
        }

        pub(crate) fn delete(scope: Scope, key: &str, condition: Condition) -> Result<bool, Error> {
            check_key(key)?;
            if condition == Condition::IfAbsent {
                return Err(Error::invalid("delete cannot be if-absent"));
            }
            with(|s| {
                let id = (owner(s, scope)?, key.to_owned());
                let current = s.documents.get(&id).map(|e| e.revision);
                super::super::holds(condition, current)?;
                Ok(s.documents.remove(&id).is_some())
            })
        }

        pub(crate) fn list(
            scope: Scope,
            prefix: &str,
            cursor: Option<&str>,
            limit: u32,
        ) -> Result<Page, Error> {
            if prefix.len() > crate::storage::MAX_KEY_LEN
                || !prefix
                    .bytes()
                    .all(|b| b == b'/' || crate::storage::is_key_byte(b))
            {
                return Err(Error::invalid("invalid prefix"));
            }
            if limit == 0 {
                return Err(Error::invalid("limit must be at least 1"));
            }
            let limit = limit.min(MAX_LIST) as usize;
            with(|s| {
                let owner = owner(s, scope)?;
                let mut keys: Vec<String> = s
                    .documents
                    .keys()
                    .filter(|(o, k)| {
                        *o == owner
                            && k.starts_with(prefix)
                            && cursor.is_none_or(|c| k.as_str() > c)
                    })
                    .map(|(_, k)| k.clone())
                    .take(limit + 1)
                    .collect();
                let more = keys.len() > limit;
                keys.truncate(limit);
                let cursor = if more { keys.last().cloned() } else { None };
                Ok(Page { keys, cursor })
            })
        }
    }

    pub(crate) mod blobs {
        use super::super::{MAX_BLOB_SIZE, owner, with};
        use crate::blobs::{Blob, BlobInfo};
        use crate::{Error, Scope};

        pub(crate) fn max_size() -> u64 {
            MAX_BLOB_SIZE
        }

        pub(crate) fn put(
            scope: Scope,
            content_type: &str,
            data: &[u8],
        ) -> Result<BlobInfo, Error> {
            let valid_type = content_type.split_once('/').is_some_and(|(t, s)| {
                !t.is_empty()
                    && !s.is_empty()
                    && !s.contains('/')
                    && content_type.bytes().all(|b| b.is_ascii_graphic())
            });
            if !valid_type {
                return Err(Error::invalid("content type must be type/subtype"));
            }
            if data.len() as u64 > MAX_BLOB_SIZE {
                return Err(Error::TooLarge);
            }
            with(|s| {
                let owner = owner(s, scope)?;
                let id = format!("b{}", s.next_blob);
                s.next_blob += 1;
                let info = BlobInfo {
                    id: id.clone(),
                    content_type: content_type.to_owned(),
                    size: data.len() as u64,
                    created_at: s.now,
                };
                s.blobs.insert(
                    (owner, id),
                    Blob {
                        info: info.clone(),
                        data: data.to_vec(),
                    },
                );
                Ok(info)
            })
        }

        pub(crate) fn get(scope: Scope, id: &str) -> Result<Blob, Error> {
            with(|s| {
                let owner = owner(s, scope)?;
                s.blobs
                    .get(&(owner, id.to_owned()))
                    .cloned()
                    .ok_or(Error::NotFound)
            })
        }

        pub(crate) fn info(scope: Scope, id: &str) -> Result<BlobInfo, Error> {
            get(scope, id).map(|b| b.info)
        }

        pub(crate) fn delete(scope: Scope, id: &str) -> Result<(), Error> {
            with(|s| {
                let owner = owner(s, scope)?;
                s.blobs
                    .remove(&(owner, id.to_owned()))
                    .map(|_| ())
                    .ok_or(Error::NotFound)
            })
        }
    }

    pub(crate) mod live {
        use super::super::{MAX_MESSAGE_LEN, Sent, with};
        use crate::Error;

        fn deliver(to: Option<&str>, message: &str) -> Result<(), Error> {
            if message.len() > MAX_MESSAGE_LEN {
                return Err(Error::TooLarge);
            }
            if serde_json::from_str::<serde_json::Value>(message).is_err() {
                return Err(Error::invalid("a live message must be JSON"));
            }
            with(|s| {
                let visit = s.visit.as_ref().ok_or(Error::Denied)?;
                if let Some(to) = to {
                    visit.participant(to).ok_or(Error::NotFound)?;
                }
                s.sent.push(Sent {
                    to: to.map(str::to_owned),
                    message: message.to_owned(),
                });
                Ok(())
            })
        }

        pub(crate) fn broadcast(message: &str) -> Result<(), Error> {
            deliver(None, message)
        }

        pub(crate) fn send(to: &str, message: &str) -> Result<(), Error> {
            deliver(Some(to), message)
        }
    }
}

/// Whether a write `condition` holds for a key at `current` (its revision,
/// `None` if absent).
fn holds(condition: Condition, current: Option<u64>) -> Result<(), Error> {
    match (condition, current) {
        (Condition::Always, _) => Ok(()),
        (Condition::IfAbsent, None) => Ok(()),
        (Condition::IfRevision(want), Some(have)) if want == have => Ok(()),
        _ => Err(Error::Conflict),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{blobs, live, storage};

    #[test]
    fn caller_scope_is_private_to_the_caller() {
        reset();
        set_caller(Some(caller("p_a", Role::Clinician, "A")));
        storage::set(Scope::Caller, "k", b"a's", Condition::Always).ok();
        set_caller(Some(caller("p_b", Role::Clinician, "B")));
        assert_eq!(storage::get(Scope::Caller, "k"), Ok(None));
        assert_eq!(storage::keys(Scope::Caller, "").count(), 0);
        set_caller(None);
        assert_eq!(storage::get(Scope::Caller, "k"), Err(Error::Denied));
        assert_eq!(
            document(&Owner::Person("p_a".into()), "k").as_deref(),
            Some(&b"a's"[..])
        );
    }

    #[test]
    fn conditions_protect_concurrent_writes() {
        reset();
        let first = storage::set(Scope::Tenant, "k", b"1", Condition::IfAbsent);
        assert!(first.is_ok());
        assert_eq!(
            storage::set(Scope::Tenant, "k", b"x", Condition::IfAbsent),
            Err(Error::Conflict)
        );
        let Ok(rev) = first else { return };
        let second = storage::set(Scope::Tenant, "k", b"2", Condition::IfRevision(rev));
        assert!(second.is_ok_and(|r| r > rev));
        assert_eq!(
            storage::set(Scope::Tenant, "k", b"3", Condition::IfRevision(rev)),
            Err(Error::Conflict)
        );
        assert_eq!(
            storage::get(Scope::Tenant, "k").map(|e| e.map(|e| e.value)),
            Ok(Some(b"2".to_vec()))
        );
    }

    #[test]
    fn listing_pages_through_a_prefix() {
        reset();
        for i in 0..250 {
            storage::set(Scope::Tenant, &format!("a/{i:03}"), b"", Condition::Always).ok();
        }
        storage::set(Scope::Tenant, "b/1", b"", Condition::Always).ok();
        let keys: Vec<String> = storage::keys(Scope::Tenant, "a/")
            .collect::<Result<_, _>>()
            .unwrap_or_default();
        assert_eq!(keys.len(), 250);
        assert_eq!(keys.first().map(String::as_str), Some("a/000"));
        assert_eq!(keys.last().map(String::as_str), Some("a/249"));
    }

    #[test]
    fn blobs_and_live_follow_the_rules() {
        reset();
        assert!(matches!(
            blobs::put(Scope::Tenant, "nonsense", b"x"),
            Err(Error::Invalid(_))
        ));
        let info = blobs::put(Scope::Tenant, "text/plain", b"hej");
        let id = info.map(|i| i.id).unwrap_or_default();
        assert_eq!(
            blobs::get(Scope::Tenant, &id).map(|b| b.data),
            Ok(b"hej".to_vec())
        );
        assert_eq!(live::broadcast("{}"), Err(Error::Denied));
        set_visit(Some(visit(
            "v1",
            vec![participant("p_a", Role::Patient, "A")],
        )));
        assert!(matches!(
            live::broadcast("not json"),
            Err(Error::Invalid(_))
        ));
        assert_eq!(live::send("p_x", "{}"), Err(Error::NotFound));
        assert_eq!(live::send("p_a", "{}"), Ok(()));
        assert_eq!(sent().len(), 1);
    }
}
