//! Inviting a patient by personnummer who is already on file: what an
//! invitation may do to the patient's record.
//!
//! The invite form (and an EHR booking over FHIR) names a patient by
//! personnummer, name and mobile number. When the personnummer is new, the
//! patient is created with those. When it is on file, the record wins:
//!
//! - a name that differs from the one on file is refused, without saying
//!   what is on file (a personnummer does not tell a clinician whose it is);
//! - a different mobile number replaces the one on file (where the patient's
//!   SMS go) only when the clinician chose to, and that is logged;
//! - a removed patient is made active again only when the clinician chose
//!   to, and that is logged;
//! - an inactive patient, or a member of staff, cannot be invited at all.

use crate::booking::MobileNumber;
use crate::people::{NewPerson, Person, PersonName, PersonStatus, Role};

/// What the person inviting chose to do to a record on file, when asked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OnFileChoices {
    /// Make a removed patient active again.
    pub reactivate: bool,
    /// Replace the mobile number on file with the one given.
    pub replace_phone: bool,
}

/// What an invitation does to a patient on file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnFile {
    /// Book them, making them active again and/or saving the number given.
    Use { reactivate: bool, set_phone: bool },
    /// The name given is not the one on file.
    NameDiffers,
    /// Booking needs a choice the command did not make: the patient is
    /// removed, or another mobile number is on file. Both are reported at
    /// once, so the person inviting answers in one go.
    NeedsChoice { removed: bool, other_phone: bool },
    /// The patient is inactive here and cannot be invited.
    Inactive,
    /// The personnummer belongs to a member of staff.
    NotAPatient,
}

/// The rule for inviting `given` (with mobile number `phone`) whose
/// personnummer belongs to `on_file`, whose mobile number on file is
/// `phone_on_file`.
pub fn invite_on_file(
    on_file: &Person,
    phone_on_file: Option<&str>,
    given: &NewPerson,
    phone: &MobileNumber,
    choices: OnFileChoices,
) -> OnFile {
    if on_file.role != Role::Patient {
        return OnFile::NotAPatient;
    }
    if on_file.status == PersonStatus::Inactive {
        return OnFile::Inactive;
    }
    if !same_name(&on_file.given_name, &given.given_name)
        || !same_name(&on_file.family_name, &given.family_name)
    {
        return OnFile::NameDiffers;
    }
    let removed = on_file.status == PersonStatus::Removed;
    let other_phone = phone_on_file.is_some_and(|p| p != phone.as_str());
    if (removed && !choices.reactivate) || (other_phone && !choices.replace_phone) {
        return OnFile::NeedsChoice {
            removed,
            other_phone,
        };
    }
    OnFile::Use {
        reactivate: removed,
        set_phone: phone_on_file != Some(phone.as_str()),
    }
}

/// Whether two names are the same as a person would read them: ignoring
/// case and runs of white space.
pub fn same_name(a: &PersonName, b: &PersonName) -> bool {
    let words = |n: &PersonName| -> Vec<String> {
        n.as_str()
            .split_whitespace()
            .map(str::to_lowercase)
            .collect()
    };
    words(a) == words(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{PersonId, Personnummer, TenantId};

    fn on_file(status: PersonStatus, role: Role) -> Person {
        Person {
            id: PersonId::new("p1"),
            tenant: TenantId::parse("demo").unwrap(),
            role,
            status,
            personnummer: Personnummer::parse("20000229-2381").unwrap(),
            given_name: PersonName::parse("Tove").unwrap(),
            family_name: PersonName::parse("Svensson Berg").unwrap(),
            hsa_id: None,
        }
    }

    fn given(given_name: &str, family: &str) -> NewPerson {
        NewPerson {
            role: Role::Patient,
            personnummer: Personnummer::parse("20000229-2381").unwrap(),
            given_name: PersonName::parse(given_name).unwrap(),
            family_name: PersonName::parse(family).unwrap(),
            hsa_id: None,
        }
    }

    const ON_FILE: &str = "+46701234567";

    fn phone(s: &str) -> MobileNumber {
        MobileNumber::parse(s).unwrap()
    }

    #[test]
    fn the_same_patient_and_number_is_simply_booked() {
        let p = on_file(PersonStatus::Active, Role::Patient);
        let got = invite_on_file(
            &p,
            Some(ON_FILE),
            &given("tove", "Svensson  berg"),
            &phone("070-123 45 67"),
            OnFileChoices::default(),
        );
        assert_eq!(
            got,
            OnFile::Use {
                reactivate: false,
                set_phone: false
            }
        );
    }

    #[test]
    fn a_number_is_saved_for_a_patient_who_has_none() {
        let p = on_file(PersonStatus::Active, Role::Patient);
        let got = invite_on_file(
            &p,
            None,
            &given("Tove", "Svensson Berg"),
            &phone("0701234567"),
            OnFileChoices::default(),
        );
        assert_eq!(
            got,
            OnFile::Use {
                reactivate: false,
                set_phone: true
            }
        );
    }

    #[test]
    fn another_number_replaces_the_one_on_file_only_when_chosen() {
        let p = on_file(PersonStatus::Active, Role::Patient);
        let other = phone("0739999999");
        let who = given("Tove", "Svensson Berg");
        assert_eq!(
            invite_on_file(&p, Some(ON_FILE), &who, &other, OnFileChoices::default()),
            OnFile::NeedsChoice {
                removed: false,
                other_phone: true
            }
        );
        let replace = OnFileChoices {
            replace_phone: true,
            ..OnFileChoices::default()
        };
        assert_eq!(
            invite_on_file(&p, Some(ON_FILE), &who, &other, replace),
            OnFile::Use {
                reactivate: false,
                set_phone: true
            }
        );
    }

    #[test]
    fn a_removed_patient_comes_back_only_when_chosen_and_both_questions_come_at_once() {
        let p = on_file(PersonStatus::Removed, Role::Patient);
        let who = given("Tove", "Svensson Berg");
        let other = phone("0739999999");
        assert_eq!(
            invite_on_file(&p, Some(ON_FILE), &who, &other, OnFileChoices::default()),
            OnFile::NeedsChoice {
                removed: true,
                other_phone: true
            }
        );
        let only_reactivate = OnFileChoices {
            reactivate: true,
            replace_phone: false,
        };
        assert!(matches!(
            invite_on_file(&p, Some(ON_FILE), &who, &other, only_reactivate),
            OnFile::NeedsChoice { .. }
        ));
        let both = OnFileChoices {
            reactivate: true,
            replace_phone: true,
        };
        assert_eq!(
            invite_on_file(&p, Some(ON_FILE), &who, &other, both),
            OnFile::Use {
                reactivate: true,
                set_phone: true
            }
        );
    }

    #[test]
    fn another_name_is_refused_whatever_was_chosen() {
        let p = on_file(PersonStatus::Active, Role::Patient);
        let all = OnFileChoices {
            reactivate: true,
            replace_phone: true,
        };
        for (g, f) in [
            ("Olof", "Svensson Berg"),
            ("Tove", "Svensson"),
            ("Tove", "Berg Svensson"),
        ] {
            assert_eq!(
                invite_on_file(&p, Some(ON_FILE), &given(g, f), &phone(ON_FILE), all),
                OnFile::NameDiffers,
                "{g} {f}"
            );
        }
    }

    #[test]
    fn inactive_patients_and_staff_cannot_be_invited() {
        let who = given("Tove", "Svensson Berg");
        let all = OnFileChoices {
            reactivate: true,
            replace_phone: true,
        };
        let inactive = on_file(PersonStatus::Inactive, Role::Patient);
        assert_eq!(
            invite_on_file(&inactive, None, &who, &phone(ON_FILE), all),
            OnFile::Inactive
        );
        let staff = on_file(PersonStatus::Active, Role::Clinician);
        assert_eq!(
            invite_on_file(&staff, None, &who, &phone(ON_FILE), all),
            OnFile::NotAPatient
        );
    }
}
