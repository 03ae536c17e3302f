//! Personal data in logs.
//!
//! Values that identify a person (personnummer, names, phone numbers) are
//! wrapped so that `Debug` and `Display` print a placeholder. A log line that
//! formats one by accident shows `<redacted>`, never the value.

use std::fmt;

/// Wraps a value so that formatting it never reveals it.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Redacted<T>(pub T);

impl<T> Redacted<T> {
    /// The wrapped value, for code that must use it (never for logging).
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Redacted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl<T> fmt::Display for Redacted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatting_never_shows_the_value() {
        let r = Redacted("Anna Andersson".to_owned());
        assert_eq!(format!("{r}"), "<redacted>");
        assert_eq!(format!("{r:?}"), "<redacted>");
        assert_eq!(r.expose(), "Anna Andersson");
    }
}
