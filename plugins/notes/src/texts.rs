//! What the notes plugin says, in Swedish (the default) and English.

use serde::Serialize;
use tillit_plugin_sdk::context::Lang;

/// Every text of the panel and the API's messages in one language.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Texts {
    pub heading: &'static str,
    pub privacy: &'static str,
    /// Before a patient's name: "Anteckning om Tove".
    pub about: &'static str,
    pub save: &'static str,
    pub copy: &'static str,
    pub copied: &'static str,
    /// Before the time: "Sparad 10:42".
    pub saved: &'static str,
    pub not_saved: &'static str,
    pub no_patients: &'static str,
    #[serde(skip)]
    pub clinicians_only: &'static str,
    #[serde(skip)]
    pub stale: &'static str,
    #[serde(skip)]
    pub bad_request: &'static str,
    #[serde(skip)]
    pub bad_text: &'static str,
    #[serde(skip)]
    pub patient_required: &'static str,
    #[serde(skip)]
    pub not_a_patient: &'static str,
    #[serde(skip)]
    too_long: &'static str,
}

const SV: Texts = Texts {
    heading: "Privata anteckningar",
    privacy: "Bara du ser dina anteckningar. De finns kvar till nästa besök med samma patient.",
    about: "Anteckning om",
    save: "Spara",
    copy: "Kopiera",
    copied: "Kopierad",
    saved: "Sparad",
    not_saved: "Inte sparad",
    no_patients: "Besöket har ingen patient att anteckna om.",
    clinicians_only: "Bara behandlare kan skriva privata anteckningar.",
    stale: "Anteckningen har sparats från en annan flik eller ett annat fönster. Kopiera din text, ladda om och för in den igen.",
    bad_request: "Anteckningen kunde inte läsas",
    bad_text: "Anteckningen innehåller tecken som inte kan sparas.",
    patient_required: "Ange vilken patient anteckningen gäller.",
    not_a_patient: "Personen är inte patient i det här besöket.",
    too_long: "Anteckningen är för lång: högst {max} tecken.",
};

const EN: Texts = Texts {
    heading: "Private notes",
    privacy: "Only you can see your notes. They are kept for your next visit with the same patient.",
    about: "Note about",
    save: "Save",
    copy: "Copy",
    copied: "Copied",
    saved: "Saved",
    not_saved: "Not saved",
    no_patients: "This visit has no patient to take notes about.",
    clinicians_only: "Only clinicians can write private notes.",
    stale: "The note was saved from another tab or window. Copy your text, reload and paste it again.",
    bad_request: "The note could not be read",
    bad_text: "The note contains characters that cannot be saved.",
    patient_required: "Say which patient the note is about.",
    not_a_patient: "That person is not a patient in this visit.",
    too_long: "The note is too long: at most {max} characters.",
};

impl Texts {
    pub fn of(lang: Lang) -> &'static Texts {
        match lang {
            Lang::Sv => &SV,
            Lang::En => &EN,
        }
    }

    pub fn too_long(&self, max_chars: usize) -> String {
        self.too_long.replace("{max}", &max_chars.to_string())
    }
}
