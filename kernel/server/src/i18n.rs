//! Message catalogs: every string a person reads comes from here, never from
//! a template. Swedish is the default; English is the other language.
//!
//! Catalogs are flat TOML files (`locales/sv.toml`, `locales/en.toml`) built
//! into the binary. Messages may hold `{name}` placeholders filled from the
//! template's hash arguments. A test checks that both catalogs have the same
//! keys and that every key a template uses exists.

use std::collections::HashMap;

use crate::values::Language;

#[derive(Debug)]
pub struct Catalogs {
    by_lang: HashMap<Language, HashMap<String, String>>,
}

const SOURCES: [(Language, &str); 2] = [
    (Language::Sv, include_str!("../locales/sv.toml")),
    (Language::En, include_str!("../locales/en.toml")),
];

impl Catalogs {
    /// The built-in catalogs. Panics only if a catalog shipped in the binary is
    /// malformed, which the test suite rules out.
    pub fn builtin() -> Self {
        let by_lang = SOURCES
            .iter()
            .map(|(lang, src)| {
                let table: toml::Table = src.parse().unwrap_or_else(|e: toml::de::Error| {
                    panic!(
                        "locales/{lang}.toml is not valid TOML: {} at {:?}",
                        e.message(),
                        e.span()
                    )
                });
                let mut flat = HashMap::new();
                flatten("", &table, &mut flat);
                (*lang, flat)
            })
            .collect();
        Self { by_lang }
    }

    /// The message for `key`, or the key itself so a missing message is
    /// visible rather than blank.
    pub fn get<'a>(&'a self, lang: Language, key: &'a str) -> &'a str {
        self.by_lang
            .get(&lang)
            .and_then(|m| m.get(key))
            .or_else(|| self.by_lang.get(&Language::Sv).and_then(|m| m.get(key)))
            .map_or(key, String::as_str)
    }

    /// The message with `{name}` placeholders replaced.
    pub fn format(&self, lang: Language, key: &str, args: &[(&str, &str)]) -> String {
        let mut s = self.get(lang, key).to_owned();
        for (k, v) in args {
            s = s.replace(&format!("{{{k}}}"), v);
        }
        s
    }

    /// "mån 23 nov 2026, 14:30–14:45" in Stockholm time, in `lang`.
    pub fn format_span(
        &self,
        lang: Language,
        start: tillit_domain::Timestamp,
        end: tillit_domain::Timestamp,
    ) -> String {
        let (s, e) = (start.to_stockholm(), end.to_stockholm());
        let pick = |key: &str, i: usize| {
            self.get(lang, key)
                .split(',')
                .nth(i)
                .unwrap_or("?")
                .trim()
                .to_owned()
        };
        let weekday = pick(
            "date.weekdays",
            usize::try_from(s.weekday().to_monday_zero_offset()).unwrap_or(0),
        );
        let month = pick("date.months", usize::try_from(s.month() - 1).unwrap_or(0));
        format!(
            "{weekday} {} {month} {}, {:02}:{:02}–{:02}:{:02}",
            s.day(),
            s.year(),
            s.hour(),
            s.minute(),
            e.hour(),
            e.minute()
        )
    }

    pub fn keys(&self, lang: Language) -> Vec<&str> {
        let mut v: Vec<&str> = self
            .by_lang
            .get(&lang)
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default();
        v.sort_unstable();
        v
    }
}

fn flatten(prefix: &str, table: &toml::Table, out: &mut HashMap<String, String>) {
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Table(t) => flatten(&key, t, out),
            toml::Value::String(s) => {
                out.insert(key, s.clone());
            }
            other => {
                out.insert(key, other.to_string());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_languages_have_the_same_messages() {
        let c = Catalogs::builtin();
        assert!(c.keys(Language::Sv).len() > 20);
        assert_eq!(c.keys(Language::Sv), c.keys(Language::En));
    }

    #[test]
    fn dates_are_written_in_stockholm_time_and_the_visitors_language() {
        let c = Catalogs::builtin();
        let start = tillit_domain::Timestamp::from_stockholm("2026-11-23", "14:30").unwrap();
        let end = start.plus(std::time::Duration::from_secs(15 * 60));
        assert_eq!(
            c.format_span(Language::Sv, start, end),
            "mån 23 nov 2026, 14:30–14:45"
        );
        assert_eq!(
            c.format_span(Language::En, start, end),
            "Mon 23 Nov 2026, 14:30–14:45"
        );
    }

    #[test]
    fn placeholders_are_filled() {
        let c = Catalogs::builtin();
        assert_eq!(
            c.format(Language::En, "home.greeting", &[("name", "Anna")]),
            "Welcome, Anna"
        );
        assert_eq!(c.get(Language::Sv, "no.such.key"), "no.such.key");
    }
}
