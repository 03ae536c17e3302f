//! Bookings: the life of a visit from invitation to its end, and the rules
//! for what clinicians offer (visit types) and show (their profile).
//!
//! A booking moves unconfirmed → confirmed → in progress → finished, or ends
//! cancelled or as a no-show. Who may make each move is part of the rule:
//! the patient confirms; a clinician starts, ends and records a no-show;
//! either may cancel before the visit starts. "Boka nu" creates a booking
//! that is confirmed from the start, as does a tenant that does not ask
//! patients to confirm. Every move not in [`transition`]'s table is refused.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BookingStatus {
    Unconfirmed,
    Confirmed,
    InProgress,
    Finished,
    Cancelled,
    NoShow,
}

impl BookingStatus {
    pub const ALL: [BookingStatus; 6] = [
        Self::Unconfirmed,
        Self::Confirmed,
        Self::InProgress,
        Self::Finished,
        Self::Cancelled,
        Self::NoShow,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unconfirmed => "unconfirmed",
            Self::Confirmed => "confirmed",
            Self::InProgress => "in_progress",
            Self::Finished => "finished",
            Self::Cancelled => "cancelled",
            Self::NoShow => "no_show",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|b| b.as_str() == s)
    }

    /// No move leads out of a terminal status.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Finished | Self::Cancelled | Self::NoShow)
    }

    /// The status a new booking starts in.
    pub fn initial(book_now: bool, tenant_requires_confirmation: bool) -> Self {
        if book_now || !tenant_requires_confirmation {
            Self::Confirmed
        } else {
            Self::Unconfirmed
        }
    }
}

/// What someone does to a booking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BookingAction {
    Confirm,
    Start,
    End,
    Cancel,
    MarkNoShow,
}

impl BookingAction {
    pub const ALL: [BookingAction; 5] = [
        Self::Confirm,
        Self::Start,
        Self::End,
        Self::Cancel,
        Self::MarkNoShow,
    ];
}

/// Who does it, as far as the rules care.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Actor {
    /// The booking's patient.
    Patient,
    /// A clinician who takes part in the booking.
    Clinician,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("cannot {action} a booking that is {from}")]
    NotAllowed {
        from: BookingStatus,
        action: ActionName,
    },
    #[error("only the patient can confirm a booking")]
    OnlyPatientConfirms,
    #[error("only a clinician taking part can {0} a booking")]
    OnlyClinician(ActionName),
}

/// An action as a verb, for messages ("confirm", "start", …).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActionName(BookingAction);

impl fmt::Display for ActionName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.0 {
            BookingAction::Confirm => "confirm",
            BookingAction::Start => "start",
            BookingAction::End => "end",
            BookingAction::Cancel => "cancel",
            BookingAction::MarkNoShow => "record a no-show for",
        })
    }
}

impl fmt::Display for BookingStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Unconfirmed => "unconfirmed",
            Self::Confirmed => "confirmed",
            Self::InProgress => "in-progress",
            Self::Finished => "finished",
            Self::Cancelled => "cancelled",
            Self::NoShow => "no-show",
        })
    }
}

/// The one table of allowed moves.
pub fn transition(
    from: BookingStatus,
    action: BookingAction,
    actor: Actor,
) -> Result<BookingStatus, TransitionError> {
    use BookingAction as A;
    use BookingStatus as S;
    match (action, actor) {
        (A::Confirm, Actor::Clinician) => return Err(TransitionError::OnlyPatientConfirms),
        (A::Start | A::End | A::MarkNoShow, Actor::Patient) => {
            return Err(TransitionError::OnlyClinician(ActionName(action)));
        }
        _ => {}
    }
    let to = match (from, action) {
        (S::Unconfirmed, A::Confirm) => S::Confirmed,
        // An unconfirmed visit cannot be held; "Boka nu" bookings start confirmed.
        (S::Confirmed, A::Start) => S::InProgress,
        (S::InProgress, A::End) => S::Finished,
        (S::Unconfirmed | S::Confirmed, A::Cancel) => S::Cancelled,
        (S::Confirmed, A::MarkNoShow) => S::NoShow,
        _ => {
            return Err(TransitionError::NotAllowed {
                from,
                action: ActionName(action),
            });
        }
    };
    Ok(to)
}

/// What a visit type is: a one-to-one video visit or a group video visit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VisitKind {
    Video,
    GroupVideo,
}

impl VisitKind {
    pub const ALL: [VisitKind; 2] = [Self::Video, Self::GroupVideo];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Video => "video",
            Self::GroupVideo => "group_video",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A bookable visit type ("Bokningsbart besök"), validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitTypeSpec {
    pub title: String,
    pub description: String,
    pub minutes: u32,
    pub kind: VisitKind,
}

/// Which field of a form is wrong, and how. The web layer maps each to a
/// message in the visitor's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldError {
    Required,
    TooLong { max: usize },
    TooShort { min: u32 },
    TooLarge { max: u32 },
    NotANumber,
    Invalid,
}

pub type FieldErrors = Vec<(&'static str, FieldError)>;

impl VisitTypeSpec {
    pub const TITLE_MAX: usize = 60;
    pub const DESCRIPTION_MAX: usize = 500;
    /// The handbook: "Minimitiden för ett besök är 5 minuter."
    pub const MIN_MINUTES: u32 = 5;
    pub const MAX_MINUTES: u32 = 8 * 60;

    /// Validates every field and reports every problem at once.
    pub fn parse(
        title: &str,
        description: &str,
        minutes: &str,
        kind: &str,
    ) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let title = text_field("title", title, true, Self::TITLE_MAX, &mut errors);
        let description = text_field(
            "description",
            description,
            false,
            Self::DESCRIPTION_MAX,
            &mut errors,
        );
        let minutes_text = minutes.trim().trim_end_matches("min").trim();
        let minutes = match minutes_text.parse::<u32>() {
            _ if minutes_text.is_empty() => {
                errors.push(("minutes", FieldError::Required));
                0
            }
            Ok(m) if m < Self::MIN_MINUTES => {
                errors.push((
                    "minutes",
                    FieldError::TooShort {
                        min: Self::MIN_MINUTES,
                    },
                ));
                m
            }
            Ok(m) if m > Self::MAX_MINUTES => {
                errors.push((
                    "minutes",
                    FieldError::TooLarge {
                        max: Self::MAX_MINUTES,
                    },
                ));
                m
            }
            Ok(m) => m,
            Err(_) => {
                errors.push(("minutes", FieldError::NotANumber));
                0
            }
        };
        let kind = VisitKind::parse(kind).unwrap_or_else(|| {
            errors.push(("kind", FieldError::Required));
            VisitKind::Video
        });
        if errors.is_empty() {
            Ok(Self {
                title,
                description,
                minutes,
                kind,
            })
        } else {
            Err(errors)
        }
    }
}

/// Trims, checks length in characters and rejects control characters
/// (other than line breaks); records problems under `field`.
fn text_field(
    field: &'static str,
    value: &str,
    required: bool,
    max: usize,
    errors: &mut FieldErrors,
) -> String {
    let v = value.trim();
    if v.is_empty() && required {
        errors.push((field, FieldError::Required));
    } else if v.chars().count() > max {
        errors.push((field, FieldError::TooLong { max }));
    } else if v
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        errors.push((field, FieldError::Invalid));
    }
    v.replace("\r\n", "\n")
}

/// The clinician's profile ("Min profil") as the clinician edits it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileText {
    /// Shown to patients after the clinician's name, e.g. "Leg. psykolog".
    pub title: String,
    pub introduction: String,
    pub way_of_working: String,
    pub first_visit: String,
    pub visiting_address: String,
    /// The clinician's unit (enhet), by which colleagues find them.
    pub unit: String,
}

impl ProfileText {
    /// The handbook's limits: yrkestitel 22 characters, introduktion 250.
    pub const TITLE_MAX: usize = 22;
    pub const INTRODUCTION_MAX: usize = 250;
    pub const LONG_TEXT_MAX: usize = 2000;
    pub const ADDRESS_MAX: usize = 200;
    pub const UNIT_MAX: usize = 80;

    pub fn parse(
        title: &str,
        introduction: &str,
        way_of_working: &str,
        first_visit: &str,
        visiting_address: &str,
        unit: &str,
    ) -> Result<Self, FieldErrors> {
        let mut e = FieldErrors::new();
        let p = Self {
            title: text_field("title", title, false, Self::TITLE_MAX, &mut e),
            introduction: text_field(
                "introduction",
                introduction,
                false,
                Self::INTRODUCTION_MAX,
                &mut e,
            ),
            way_of_working: text_field(
                "way_of_working",
                way_of_working,
                false,
                Self::LONG_TEXT_MAX,
                &mut e,
            ),
            first_visit: text_field(
                "first_visit",
                first_visit,
                false,
                Self::LONG_TEXT_MAX,
                &mut e,
            ),
            visiting_address: text_field(
                "visiting_address",
                visiting_address,
                false,
                Self::ADDRESS_MAX,
                &mut e,
            ),
            unit: text_field("unit", unit, false, Self::UNIT_MAX, &mut e),
        };
        if e.is_empty() { Ok(p) } else { Err(e) }
    }
}

/// What a profile has, for its completion and for publishing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ProfileFacts {
    pub has_title: bool,
    pub has_introduction: bool,
    pub has_way_of_working: bool,
    pub has_first_visit: bool,
    pub has_picture: bool,
    pub has_visiting_address: bool,
    pub visit_types: usize,
    pub published: bool,
}

/// Why a profile cannot be published yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PublishBlocker {
    /// Patients see the title after the clinician's name.
    MissingTitle,
    /// Nothing to invite patients to.
    NoVisitType,
}

/// Whether patients see a profile and can be booked with its clinician.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Visibility {
    /// Published, with everything publishing requires.
    Published,
    /// Published ("Aktivera bokningsfunktion" is on), but something
    /// publishing requires has been removed since (the yrkestitel, the last
    /// bookable visit): not visible and not bookable until it is back.
    Incomplete(Vec<PublishBlocker>),
    /// Not published.
    NotPublished,
}

impl ProfileFacts {
    /// Whether the profile is visible and bookable: published, and still
    /// meeting what publishing requires. The one rule for the profile page
    /// and for booking.
    pub fn visibility(&self) -> Visibility {
        if !self.published {
            return Visibility::NotPublished;
        }
        let blockers = self.publish_blockers();
        if blockers.is_empty() {
            Visibility::Published
        } else {
            Visibility::Incomplete(blockers)
        }
    }

    /// The eight steps of "Min profil", in percent done. Publishing counts
    /// only while the profile is visible.
    pub fn completion_percent(&self) -> u8 {
        let done = [
            self.has_title,
            self.has_introduction,
            self.has_way_of_working,
            self.has_first_visit,
            self.has_picture,
            self.has_visiting_address,
            self.visit_types > 0,
            self.visibility() == Visibility::Published,
        ]
        .iter()
        .filter(|d| **d)
        .count();
        u8::try_from(done * 100 / 8).unwrap_or(100)
    }

    /// What stands between this profile and "Aktivera bokningsfunktion".
    pub fn publish_blockers(&self) -> Vec<PublishBlocker> {
        let mut b = Vec::new();
        if !self.has_title {
            b.push(PublishBlocker::MissingTitle);
        }
        if self.visit_types == 0 {
            b.push(PublishBlocker::NoVisitType);
        }
        b
    }
}

/// A Swedish mobile number, normalised to `+467XXXXXXXX`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct MobileNumber(String);

impl MobileNumber {
    /// Accepts `+46 70-123 45 67`, `0046701234567` and `070-123 45 67`.
    pub fn parse(input: &str) -> Option<Self> {
        let compact: String = input
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '(' | ')'))
            .collect();
        let national = if let Some(rest) = compact.strip_prefix("+46") {
            rest.to_owned()
        } else if let Some(rest) = compact.strip_prefix("0046") {
            rest.to_owned()
        } else if let Some(rest) = compact.strip_prefix('0') {
            rest.to_owned()
        } else {
            return None;
        };
        let national = national.strip_prefix('0').unwrap_or(&national);
        let ok = national.len() == 9
            && national.starts_with('7')
            && national.chars().all(|c| c.is_ascii_digit());
        ok.then(|| Self(format!("+46{national}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for MobileNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MobileNumber(<redacted>)")
    }
}

/// A stored visit type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitType {
    pub id: String,
    pub clinician: crate::PersonId,
    pub spec: VisitTypeSpec,
}

/// A stored profile.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profile {
    pub text: ProfileText,
    pub published_at: Option<crate::Timestamp>,
}

/// A stored booking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Booking {
    pub id: String,
    /// The responsible clinician.
    pub clinician: crate::PersonId,
    pub patient: crate::PersonId,
    pub visit_type_id: String,
    /// Copied from the visit type when booked.
    pub title: String,
    pub minutes: u32,
    pub kind: VisitKind,
    pub starts_at: crate::Timestamp,
    pub status: BookingStatus,
    /// Shown to the patient after login only.
    pub message: String,
}

impl Booking {
    pub fn ends_at(&self) -> crate::Timestamp {
        self.starts_at
            .plus(std::time::Duration::from_secs(u64::from(self.minutes) * 60))
    }
}

/// A time a clinician is taken by one of their active bookings (not yet
/// finished or cancelled): what a journal system sees of their calendar.
/// Names no patient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusyTime {
    /// The booking that takes it.
    pub booking: String,
    pub clinician: crate::PersonId,
    pub start: crate::Timestamp,
    pub end: crate::Timestamp,
}

/// A booking with the names a list shows: the patient's for clinicians, the
/// clinician's (and job title) for patients.
#[derive(Debug, Clone)]
pub struct BookingListItem {
    pub booking: Booking,
    /// The patient the row shows: the booking's (first) patient, or, in a
    /// patient's own list, that patient (one of a group visit's).
    pub patient_id: crate::PersonId,
    pub patient_name: String,
    /// For the access-log entry of showing this booking.
    pub patient_personnummer: crate::Personnummer,
    /// A colleague in a test visit is not a patient.
    pub patient_role: crate::Role,
    /// A removed patient is named in no list (the FAQ: "visas inte i listor
    /// för någon i plattformen"); see [`BookingListItem::patient_shown`].
    pub patient_status: crate::PersonStatus,
    pub clinician_name: String,
    pub clinician_title: String,
    /// The shown patient's answer, in a group visit.
    pub attendance: Option<crate::group::Attendance>,
}

impl BookingListItem {
    /// The patient's name as a list may show it: `None` once the patient is
    /// removed (shown as "Borttagen patient"), as a removed person appears
    /// in nobody's lists.
    pub fn patient_shown(&self) -> Option<&str> {
        (self.patient_status != crate::PersonStatus::Removed).then_some(self.patient_name.as_str())
    }
}

/// A clinician as colleagues find them: by name, unit and job title.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Colleague {
    pub id: crate::PersonId,
    pub name: String,
    /// The profile's yrkestitel, e.g. "Sjuksköterska".
    pub title: String,
    pub unit: String,
}

impl Colleague {
    /// Whether a search for `q` (any word of it, ignoring case) finds this
    /// colleague by name, unit or title.
    pub fn matches(&self, q: &str) -> bool {
        let hay = format!("{} {} {}", self.name, self.unit, self.title).to_lowercase();
        q.split_whitespace()
            .all(|w| hay.contains(&w.to_lowercase()))
    }
}

/// Who a new booking is for.
#[derive(Debug, Clone)]
pub enum BookingFor {
    /// Someone already in the tenant, by id.
    Existing(crate::PersonId),
    /// A patient given by personnummer and name: created if new, else
    /// matched by the rule of [`crate::invitee`].
    Patient {
        person: crate::people::NewPerson,
        phone: MobileNumber,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use BookingAction as A;
    use BookingStatus as S;

    /// Every status × action × actor, against the rules written out by hand.
    #[test]
    fn the_state_machine_exhaustively() {
        let allowed = [
            (S::Unconfirmed, A::Confirm, Actor::Patient, S::Confirmed),
            (S::Unconfirmed, A::Cancel, Actor::Patient, S::Cancelled),
            (S::Unconfirmed, A::Cancel, Actor::Clinician, S::Cancelled),
            (S::Confirmed, A::Cancel, Actor::Patient, S::Cancelled),
            (S::Confirmed, A::Cancel, Actor::Clinician, S::Cancelled),
            (S::Confirmed, A::Start, Actor::Clinician, S::InProgress),
            (S::Confirmed, A::MarkNoShow, Actor::Clinician, S::NoShow),
            (S::InProgress, A::End, Actor::Clinician, S::Finished),
        ];
        let mut checked = 0;
        for from in S::ALL {
            for action in A::ALL {
                for actor in [Actor::Patient, Actor::Clinician] {
                    let want = allowed
                        .iter()
                        .find(|(f, a, who, _)| (*f, *a, *who) == (from, action, actor))
                        .map(|t| t.3);
                    let got = transition(from, action, actor);
                    match want {
                        Some(to) => assert_eq!(got, Ok(to), "{from:?} {action:?} by {actor:?}"),
                        None => assert!(
                            got.is_err(),
                            "{from:?} {action:?} by {actor:?} should be refused, got {got:?}"
                        ),
                    }
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, 6 * 5 * 2);
        for s in S::ALL.into_iter().filter(|s| s.is_terminal()) {
            assert!(
                A::ALL
                    .iter()
                    .all(|a| transition(s, *a, Actor::Clinician).is_err()
                        && transition(s, *a, Actor::Patient).is_err())
            );
        }
    }

    #[test]
    fn refusals_say_why() {
        assert_eq!(
            transition(S::Unconfirmed, A::Confirm, Actor::Clinician),
            Err(TransitionError::OnlyPatientConfirms)
        );
        assert_eq!(
            transition(S::Unconfirmed, A::Start, Actor::Clinician)
                .unwrap_err()
                .to_string(),
            "cannot start a booking that is unconfirmed"
        );
        assert_eq!(
            transition(S::Confirmed, A::Start, Actor::Patient)
                .unwrap_err()
                .to_string(),
            "only a clinician taking part can start a booking"
        );
    }

    #[test]
    fn initial_status() {
        assert_eq!(S::initial(false, true), S::Unconfirmed);
        assert_eq!(
            S::initial(true, true),
            S::Confirmed,
            "Boka nu needs no confirmation"
        );
        assert_eq!(S::initial(false, false), S::Confirmed);
        for s in S::ALL {
            assert_eq!(S::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn visit_types_are_validated_field_by_field() {
        let ok = VisitTypeSpec::parse(" Återbesök ", "Uppföljning", "15min", "video").unwrap();
        assert_eq!(
            (ok.title.as_str(), ok.minutes, ok.kind),
            ("Återbesök", 15, VisitKind::Video)
        );
        let errors = VisitTypeSpec::parse("", &"x".repeat(501), "4", "phone").unwrap_err();
        assert_eq!(
            errors,
            vec![
                ("title", FieldError::Required),
                ("description", FieldError::TooLong { max: 500 }),
                ("minutes", FieldError::TooShort { min: 5 }),
                ("kind", FieldError::Required),
            ]
        );
        assert_eq!(
            VisitTypeSpec::parse("A", "", "en timme", "video").unwrap_err(),
            vec![("minutes", FieldError::NotANumber)]
        );
        assert_eq!(
            VisitTypeSpec::parse("A", "", "481", "video").unwrap_err(),
            vec![("minutes", FieldError::TooLarge { max: 480 })]
        );
        assert!(VisitTypeSpec::parse("A", "", "5", "group_video").is_ok());
    }

    #[test]
    fn profile_limits_come_from_the_handbook() {
        assert!(ProfileText::parse(&"x".repeat(22), &"y".repeat(250), "", "", "", "").is_ok());
        let e = ProfileText::parse(&"x".repeat(23), &"y".repeat(251), "", "", "", "").unwrap_err();
        assert_eq!(
            e,
            vec![
                ("title", FieldError::TooLong { max: 22 }),
                ("introduction", FieldError::TooLong { max: 250 })
            ]
        );
        // Characters, not bytes: 22 Swedish letters fit.
        assert!(ProfileText::parse(&"å".repeat(22), "", "", "", "", "").is_ok());
    }

    #[test]
    fn completion_and_publishing() {
        let mut f = ProfileFacts::default();
        assert_eq!(f.completion_percent(), 0);
        assert_eq!(
            f.publish_blockers(),
            vec![PublishBlocker::MissingTitle, PublishBlocker::NoVisitType]
        );
        f.has_title = true;
        f.visit_types = 2;
        assert!(f.publish_blockers().is_empty());
        assert_eq!(f.completion_percent(), 25);
        f = ProfileFacts {
            has_title: true,
            has_introduction: true,
            has_way_of_working: true,
            has_first_visit: true,
            has_picture: true,
            has_visiting_address: true,
            visit_types: 1,
            published: true,
        };
        assert_eq!(f.completion_percent(), 100);
    }

    #[test]
    fn a_published_profile_that_lost_what_publishing_requires_is_not_visible() {
        let complete = ProfileFacts {
            has_title: true,
            visit_types: 1,
            published: true,
            ..ProfileFacts::default()
        };
        assert_eq!(complete.visibility(), Visibility::Published);
        assert_eq!(
            ProfileFacts {
                published: false,
                ..complete
            }
            .visibility(),
            Visibility::NotPublished
        );
        // Its last visit type and its yrkestitel removed after publishing.
        let emptied = ProfileFacts {
            has_title: false,
            visit_types: 0,
            ..complete
        };
        assert_eq!(
            emptied.visibility(),
            Visibility::Incomplete(vec![
                PublishBlocker::MissingTitle,
                PublishBlocker::NoVisitType
            ])
        );
        assert_eq!(emptied.completion_percent(), 0, "not counted as published");
        // Back when what was missing is.
        assert_eq!(
            ProfileFacts {
                has_title: true,
                visit_types: 2,
                ..emptied
            }
            .visibility(),
            Visibility::Published
        );
    }

    #[test]
    fn mobile_numbers() {
        for ok in [
            "+46701234567",
            "+46 70-123 45 67",
            "0046701234567",
            "070-123 45 67",
            "+46 (0)70 123 45 67",
        ] {
            assert_eq!(
                MobileNumber::parse(ok)
                    .map(|m| m.as_str().to_owned())
                    .as_deref(),
                Some("+46701234567"),
                "{ok}"
            );
        }
        for bad in [
            "",
            "0701234",
            "+4670123456789",
            "+4681234567",
            "+4570123456",
            "070-ABC",
            "08-123 456 78",
        ] {
            assert!(MobileNumber::parse(bad).is_none(), "{bad}");
        }
        assert!(!format!("{:?}", MobileNumber::parse("0701234567").unwrap()).contains("123"));
    }
}
