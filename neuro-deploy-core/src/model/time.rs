//! Instants: every time neuro-deploy keeps is a `DateTime<Utc>` and compares as one. Times are
//! read in any RFC 3339 form (an offset such as `+05:00`, fractional seconds) and written in UTC
//! with whole seconds (`2026-11-29T17:00:00Z`), so what a person writes by hand into the
//! ConfigMap counts as the instant it names.

use chrono::{DateTime, SecondsFormat, Utc};

/// RFC 3339 in UTC with whole seconds, as neuro-deploy writes times everywhere.
pub fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Reads an RFC 3339 instant in any offset, fractional seconds included.
pub fn parse_instant(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text.trim())
        .ok()
        .map(|at| at.with_timezone(&Utc))
}

/// Serde for an instant: written as [`rfc3339`], read as [`parse_instant`] reads it.
pub mod serde_instant {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes `at` in UTC, whole seconds.
    pub fn serialize<S: Serializer>(at: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::rfc3339(*at))
    }

    /// Reads any RFC 3339 offset and fractional seconds.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let text = String::deserialize(d)?;
        super::parse_instant(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "`{text}` is not an RFC 3339 time (write it like `2026-11-29T17:00:00Z`)"
            ))
        })
    }
}

/// Serde for an optional instant, like [`serde_instant`].
pub mod serde_optional_instant {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes `at` in UTC, whole seconds, or nothing.
    pub fn serialize<S: Serializer>(at: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match at {
            Some(at) => s.serialize_str(&super::rfc3339(*at)),
            None => s.serialize_none(),
        }
    }

    /// Reads any RFC 3339 offset and fractional seconds, or nothing.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        let text = Option::<String>::deserialize(d)?;
        text.map(|text| {
            super::parse_instant(&text).ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "`{text}` is not an RFC 3339 time (write it like `2026-11-29T17:00:00Z`)"
                ))
            })
        })
        .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::{parse_instant, rfc3339};

    #[test]
    fn any_offset_and_fraction_read_as_the_instant_they_name_and_are_written_in_utc() {
        let offset = parse_instant("2026-12-03T08:58:05+05:00").expect("reads");
        let utc = parse_instant("2026-12-03T03:58:05Z").expect("reads");
        assert_eq!(offset, utc);
        assert_eq!(rfc3339(offset), "2026-12-03T03:58:05Z");
        let fraction = parse_instant("2026-12-03T03:58:05.750-00:00").expect("reads");
        assert!(fraction > utc);
        assert_eq!(rfc3339(fraction), "2026-12-03T03:58:05Z");
        assert_eq!(parse_instant("yesterday"), None);
    }
}
