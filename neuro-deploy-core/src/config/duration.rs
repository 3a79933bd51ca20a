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

/// Prints a configured duration the way people write it and [`parse_duration`] reads it
/// (exact: `1m`, `20s`, `24h`, `1h 30m`; hours are the largest unit, so never `1day`).
pub fn format_duration(d: Duration) -> String {
    if d.is_zero() {
        return "0s".to_owned();
    }
    let secs = d.as_secs();
    let parts = [
        (secs / 3600, "h"),
        (secs % 3600 / 60, "m"),
        (secs % 60, "s"),
        (u64::from(d.subsec_millis()), "ms"),
    ];
    let written: Vec<String> = parts
        .iter()
        .filter(|(count, _)| *count > 0)
        .map(|(count, unit)| format!("{count}{unit}"))
        .collect();
    if written.is_empty() {
        // Under a millisecond: humantime's own spelling (`250us`) reads back exactly.
        humantime::format_duration(d).to_string()
    } else {
        written.join(" ")
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
        assert_eq!(format_duration(Duration::from_secs(86_400)), "24h");
        assert_eq!(format_duration(Duration::from_secs(5_430)), "1h 30m 30s");
        for text in ["24h", "1h 30m 30s", "1s 500ms", "36h 1s"] {
            let parsed = parse_duration(text).ok();
            assert_eq!(parsed.map(format_duration).as_deref(), Some(text));
        }
        assert_eq!(parse_duration("1m").ok(), Some(Duration::from_secs(60)));
    }
}
