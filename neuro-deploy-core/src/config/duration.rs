//! Durations as people write them (`20s`, `10m`, `1h 30m`, `0`), in the file and on the
//! command line, and as people read them.

use std::time::Duration;

use crate::error::InputError;

/// Parses a duration such as `60s`, `10m`, `1h 30m` or `0`.
pub fn parse_duration(text: &str) -> Result<Duration, InputError> {
    let text = text.trim();
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    humantime::parse_duration(text).map_err(|e| InputError::Duration {
        text: InputError::shown(text),
        why: e.to_string(),
    })
}

/// Prints a configured duration the way [`parse_duration`] reads it (exact: `1m`, `20s`).
pub fn format_duration(d: Duration) -> String {
    if d.is_zero() {
        "0s".to_owned()
    } else {
        humantime::format_duration(d).to_string()
    }
}

/// Prints a measured duration for people, rounded: `2.0s` under a minute, whole seconds above
/// (`1m 3s`), never `2s 28ms 230us 958ns`.
pub fn format_elapsed(d: Duration) -> String {
    if d < Duration::from_secs(60) {
        format!("{:.1}s", d.as_secs_f64())
    } else {
        format_duration(Duration::from_secs(d.as_secs()))
    }
}

/// Serde for `Duration` fields as humantime strings.
pub(super) mod serde {
    use std::time::Duration;

    use ::serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_duration(*d))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(d)?;
        super::parse_duration(&text).map_err(::serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn people_read_rounded_durations() {
        assert_eq!(format_elapsed(Duration::from_nanos(2_028_230_958)), "2.0s");
        assert_eq!(format_elapsed(Duration::from_millis(63_400)), "1m 3s");
        assert_eq!(format_duration(Duration::from_secs(60)), "1m");
        assert_eq!(parse_duration("1m").ok(), Some(Duration::from_secs(60)));
    }
}
