//! Deploy windows at an instant: whether an environment takes deploys now ([`WindowState`]),
//! and when that changes. Pure: the instant is an argument (the run's `now` fact). The gate that
//! judges a run by them is in `gates.rs`.

use crate::model::rfc3339;
use std::cell::Cell;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use croner::Cron;
use serde::{Deserialize, Serialize};

use crate::config::{WindowConfig, WindowKind};

/// How far ahead the next opening (or closing) is looked for.
const HORIZON_DAYS: i64 = 366;

/// How many boundaries the search crosses before it gives up (a deny window that starts every
/// minute would otherwise be walked minute by minute for a year).
const MAX_STEPS: usize = 20_000;

/// Whether an environment's windows let a deploy in at an instant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum WindowState {
    /// No windows are configured: always open.
    Unrestricted,
    /// Deploys are allowed now.
    Open {
        /// When it next closes (RFC 3339, UTC), within a year.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        closes_at: Option<String>,
        /// That instant in the time zone of the window that closes it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        closes_local: Option<String>,
    },
    /// Deploys are refused now.
    Closed {
        /// Which window keeps it closed, as people read it.
        because: String,
        /// When it next opens (RFC 3339, UTC), when that is found within a year.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        opens_at: Option<String>,
        /// That instant in the time zone of the window responsible.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        opens_local: Option<String>,
    },
}

impl WindowState {
    /// Whether a deploy may go in now.
    pub fn is_open(&self) -> bool {
        !matches!(self, WindowState::Closed { .. })
    }

    /// `open`, `open until …`, `closed until …` for plans and `status`.
    pub fn summary(&self) -> String {
        match self {
            WindowState::Unrestricted => "open (no deploy windows)".to_owned(),
            WindowState::Open {
                closes_at: Some(utc),
                closes_local: Some(local),
            } => format!("open until {local} ({utc})"),
            WindowState::Open { .. } => "open".to_owned(),
            WindowState::Closed {
                because,
                opens_at: Some(utc),
                opens_local: Some(local),
            } => format!("closed until {local} ({utc}): {because}"),
            WindowState::Closed { because, .. } => {
                format!("closed, and no opening was found within a year: {because}")
            }
        }
    }
}

/// One configured window, ready to evaluate.
struct Compiled<'a> {
    config: &'a WindowConfig,
    cron: Cron,
    zone: Tz,
    /// The starts around the instant last asked about: the search below asks about instants
    /// that mostly fall between the same two starts, and a start is a calendar search (a
    /// window on 29 February walks back years), so it is looked up once per gap between starts.
    around: Cell<Option<Around>>,
}

/// The latest start of a window at or before an instant and the first one after it: the same
/// for every instant in between.
#[derive(Clone, Copy)]
struct Around {
    previous: Option<DateTime<Utc>>,
    next: Option<DateTime<Utc>>,
}

impl Around {
    fn holds(&self, at: DateTime<Utc>) -> bool {
        self.previous.is_none_or(|previous| previous <= at)
            && self.next.is_none_or(|next| at < next)
    }
}

impl Compiled<'_> {
    fn around(&self, at: DateTime<Utc>) -> Around {
        if let Some(around) = self.around.get().filter(|around| around.holds(at)) {
            return around;
        }
        let local = at.with_timezone(&self.zone);
        let utc = |start: DateTime<Tz>| start.with_timezone(&Utc);
        let around = Around {
            previous: self
                .cron
                .find_previous_occurrence(&local, true)
                .ok()
                .map(utc),
            next: self.cron.find_next_occurrence(&local, false).ok().map(utc),
        };
        self.around.set(Some(around));
        around
    }

    /// When the occurrence active at `at` started and ends, if one is.
    fn occurrence(&self, at: DateTime<Utc>) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        let start = self.around(at).previous?;
        let end = start + chrono::Duration::from_std(self.config.duration).ok()?;
        (at < end).then_some((start, end))
    }

    /// When the occurrence active at `at` ends, if one is.
    fn active(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.occurrence(at).map(|(_, end)| end)
    }

    /// The first start after `at`.
    fn next_start(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.around(at).next
    }
}

/// The state of `windows` at `now`; a window that does not parse (a configuration that was not
/// validated) is an error naming it.
pub fn window_state(windows: &[WindowConfig], now: DateTime<Utc>) -> Result<WindowState, String> {
    if windows.is_empty() {
        return Ok(WindowState::Unrestricted);
    }
    let compiled = windows
        .iter()
        .map(|config| {
            let cron = config
                .cron()
                .map_err(|why| format!("{}: {why}", config.describe()))?;
            let zone = config.zone()?;
            Ok(Compiled {
                config,
                cron,
                zone,
                around: Cell::new(None),
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let horizon = now + chrono::Duration::days(HORIZON_DAYS);
    Ok(match blocking(&compiled, now) {
        None => {
            let closes = next_change(&compiled, now, horizon, false);
            WindowState::Open {
                closes_at: closes.map(|(at, _)| rfc3339(at)),
                closes_local: closes.map(|(at, zone)| local(at, zone)),
            }
        }
        Some(window) => {
            let opens = next_change(&compiled, now, horizon, true);
            WindowState::Closed {
                because: window,
                opens_at: opens.map(|(at, _)| rfc3339(at)),
                opens_local: opens.map(|(at, zone)| local(at, zone)),
            }
        }
    })
}

/// What keeps deploys out at `at`, or `None` when they may go in.
fn blocking(windows: &[Compiled], at: DateTime<Utc>) -> Option<String> {
    if let Some(deny) = windows
        .iter()
        .find(|w| w.config.kind == WindowKind::Deny && w.active(at).is_some())
    {
        return Some(format!("inside the {}", deny.config.describe()));
    }
    let allows: Vec<&Compiled> = windows
        .iter()
        .filter(|w| w.config.kind == WindowKind::Allow)
        .collect();
    if allows.is_empty() || allows.iter().any(|w| w.active(at).is_some()) {
        return None;
    }
    let named: Vec<String> = allows.iter().map(|w| w.config.describe()).collect();
    Some(format!("outside every allow window: {}", named.join("; ")))
}

/// The first instant in `(now, horizon]` at which deploys may go in (`open`) or are refused
/// (`!open`), with the time zone of the window that decides it. Jumps from boundary to
/// boundary: nothing changes between a window's starts and ends.
fn next_change(
    windows: &[Compiled],
    now: DateTime<Utc>,
    horizon: DateTime<Utc>,
    open: bool,
) -> Option<(DateTime<Utc>, Tz)> {
    let mut at = now;
    for _ in 0..MAX_STEPS {
        if at > horizon {
            return None;
        }
        let denies_end = windows
            .iter()
            .filter(|w| w.config.kind == WindowKind::Deny)
            .filter_map(|w| w.active(at).map(|end| (end, w.zone)))
            .max_by_key(|(end, _)| *end);
        let allows = windows
            .iter()
            .filter(|w| w.config.kind == WindowKind::Allow);
        let allow_end = allows
            .clone()
            .filter_map(|w| w.active(at).map(|end| (end, w.zone)))
            .max_by_key(|(end, _)| *end);
        let allow_configured = allows.clone().next().is_some();
        let is_open = denies_end.is_none() && (!allow_configured || allow_end.is_some());
        if is_open == open && at > now {
            let zone = if open {
                allow_end.map(|(_, zone)| zone)
            } else {
                None
            };
            let zone = zone
                .or_else(|| deciding_zone(windows, at))
                .unwrap_or(Tz::UTC);
            return Some((at, zone));
        }
        // Nothing can change before the next boundary that matters.
        let next = if open {
            match denies_end {
                // Closed by a deny: not before every active deny has ended.
                Some((end, _)) => Some(end),
                // Closed for want of an allow: not before one starts.
                None => allows.filter_map(|w| w.next_start(at)).min(),
            }
        } else {
            let deny_starts = windows
                .iter()
                .filter(|w| w.config.kind == WindowKind::Deny)
                .filter_map(|w| w.next_start(at));
            deny_starts.chain(allow_end.map(|(end, _)| end)).min()
        };
        at = next?;
    }
    None
}

/// The time zone of the window that starts or ends at `at`: the one people will look for.
fn deciding_zone(windows: &[Compiled], at: DateTime<Utc>) -> Option<Tz> {
    windows.iter().find_map(|w| {
        let starts = w.occurrence(at).is_some_and(|(start, _)| start == at);
        let ended = at
            .checked_sub_signed(chrono::Duration::seconds(1))
            .is_some_and(|before| w.active(before).is_some_and(|end| end == at));
        (starts || ended).then_some(w.zone)
    })
}

/// `2026-11-30 08:00 PST` in `zone`.
fn local(at: DateTime<Utc>, zone: Tz) -> String {
    at.with_timezone(&zone)
        .format("%Y-%m-%d %H:%M %Z")
        .to_string()
}
