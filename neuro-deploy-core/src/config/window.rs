//! `[[environments.windows]]`: when an environment takes deploys. Argo CD's semantics: an
//! active `deny` window refuses; when any `allow` window is configured, one of them must be
//! active; deny wins over allow. Schedules are cron (minute hour day-of-month month
//! day-of-week, parsed by `croner`) in an IANA time zone (`chrono-tz`); a window lasts
//! `duration` of elapsed time from each start, so across a daylight-saving change its
//! wall-clock end moves by the hour the clocks moved.

use std::time::Duration;

use chrono::{TimeZone, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};
use serde::{Deserialize, Serialize};

use super::duration;

/// Whether a window lets deploys in or keeps them out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowKind {
    /// Deploys are allowed while it is active (and, once any is configured, only then).
    Allow,
    /// Deploys are refused while it is active.
    Deny,
}

impl WindowKind {
    /// The word written in the file.
    pub fn name(self) -> &'static str {
        match self {
            WindowKind::Allow => "allow",
            WindowKind::Deny => "deny",
        }
    }
}

/// One `[[environments.windows]]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowConfig {
    /// `allow` or `deny`.
    pub kind: WindowKind,
    /// When it starts: cron with five fields (`0 17 * * FRI`).
    pub schedule: String,
    /// How long it lasts from each start (elapsed time).
    #[serde(with = "duration::serde")]
    pub duration: Duration,
    /// The IANA time zone the schedule is read in (default `UTC`).
    #[serde(default = "WindowConfig::default_timezone")]
    pub timezone: String,
    /// Why it exists, shown in every refusal.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
}

impl WindowConfig {
    fn default_timezone() -> String {
        "UTC".to_owned()
    }

    /// A window of `kind` starting at `schedule` for `duration`, in `timezone`.
    pub fn new(kind: WindowKind, schedule: &str, duration: Duration, timezone: &str) -> Self {
        WindowConfig {
            kind,
            schedule: schedule.to_owned(),
            duration,
            timezone: timezone.to_owned(),
            reason: String::new(),
        }
    }

    /// The schedule, parsed: five fields, no seconds, no year.
    pub fn cron(&self) -> Result<Cron, String> {
        CronParser::builder()
            .seconds(Seconds::Disallowed)
            .year(Year::Disallowed)
            .build()
            .parse(&self.schedule)
            .map_err(|e| e.to_string())
    }

    /// The time zone, looked up in the IANA database.
    pub fn zone(&self) -> Result<Tz, String> {
        self.timezone
            .parse::<Tz>()
            .map_err(|_| format!("`{}` is not an IANA time zone name", self.timezone))
    }

    /// How people read it in a refusal: `deny window "weekend freeze" (0 17 * * FRI for 63h,
    /// America/Los_Angeles)`.
    pub fn describe(&self) -> String {
        let name = if self.reason.is_empty() {
            String::new()
        } else {
            format!(" \"{}\"", self.reason)
        };
        // `63h` as written, not `2days 15h`.
        let seconds = self.duration.as_secs();
        let length = if seconds.is_multiple_of(3600) && self.duration.subsec_nanos() == 0 {
            format!("{}h", seconds / 3600)
        } else {
            duration::format_duration(self.duration)
        };
        format!(
            "{} window{name} (`{}` for {length}, {})",
            self.kind.name(),
            self.schedule,
            self.timezone
        )
    }

    /// What is wrong with it, as `(key under the window, problem)`.
    pub(super) fn problems(&self) -> Vec<(&'static str, String)> {
        let mut problems = Vec::new();
        match self.cron() {
            Err(why) => problems.push((
                "schedule",
                format!(
                    "`{}` is not a cron schedule ({why}); write five fields, minute hour day-of-month month day-of-week, e.g. `0 17 * * FRI`",
                    self.schedule
                ),
            )),
            Ok(cron) => {
                let from = Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0).single();
                let matches = from.is_some_and(|from| {
                    (0..8).any(|year| {
                        let start = from + chrono::Duration::days(366 * year);
                        cron.find_next_occurrence(&start, true).is_ok()
                    })
                });
                if !matches {
                    problems.push((
                        "schedule",
                        format!(
                            "`{}` never starts (no date matches it); check the day of month and month",
                            self.schedule
                        ),
                    ));
                }
            }
        }
        if self.duration.is_zero() {
            problems.push(("duration", "must be longer than 0s, e.g. `8h`".to_owned()));
        }
        if let Err(why) = self.zone() {
            problems.push((
                "timezone",
                format!("{why}; write one such as `America/Los_Angeles`, `Europe/Berlin` or `UTC`"),
            ));
        }
        problems
    }
}
