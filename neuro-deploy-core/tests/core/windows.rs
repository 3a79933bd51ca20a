//! Deploy windows: their state at any instant (against a brute-force oracle, across both
//! daylight-saving changes of America/Los_Angeles, over midnight and a month end), the next
//! opening, the policy's gate (deny, allow, deny wins, override, rollback), and bad config.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;
use neuro_deploy_core::config::{WindowConfig, WindowKind};
use neuro_deploy_core::policy::{WindowState, parse_instant, window_state};
use neuro_deploy_core::{Config, DeployTarget, Event, ExitStatus, Fact, ReasonCode, Step, decide};
use proptest::prelude::*;

use crate::policy::{plan, refused};
use crate::support::*;

fn at(text: &str) -> DateTime<Utc> {
    parse_instant(text).expect("an RFC 3339 instant")
}

fn window(kind: WindowKind, schedule: &str, hours: u64, zone: &str) -> WindowConfig {
    WindowConfig {
        reason: format!("{} {schedule}", kind.name()),
        ..WindowConfig::new(kind, schedule, Duration::from_secs(hours * 3600), zone)
    }
}

fn state(windows: &[WindowConfig], now: &str) -> WindowState {
    window_state(windows, at(now)).expect("valid windows")
}

fn opens_at(state: &WindowState) -> Option<&str> {
    match state {
        WindowState::Closed { opens_at, .. } => opens_at.as_deref(),
        _ => None,
    }
}

const WEEKEND_FREEZE: (&str, u64) = ("0 17 * * FRI", 63);
const LA: &str = "America/Los_Angeles";

#[test]
fn a_weekend_freeze_in_los_angeles_follows_its_clock_over_both_daylight_saving_changes() {
    let weekend = [window(
        WindowKind::Deny,
        WEEKEND_FREEZE.0,
        WEEKEND_FREEZE.1,
        LA,
    )];
    // Friday 2026-03-06 17:00 PST is 01:00Z on Saturday; 63 h later (across the spring-forward
    // on Sunday 2026-03-08) is Monday 16:00Z, 09:00 PDT on the wall clock.
    assert!(state(&weekend, "2026-03-07T00:59:59Z").is_open());
    let friday = state(&weekend, "2026-03-07T01:00:00Z");
    assert!(!friday.is_open());
    assert_eq!(opens_at(&friday), Some("2026-03-09T16:00:00Z"));
    assert!(
        friday.summary().contains("2026-03-09 09:00 PDT"),
        "{}",
        friday.summary()
    );
    assert!(!state(&weekend, "2026-03-09T15:59:59Z").is_open());
    assert!(state(&weekend, "2026-03-09T16:00:00Z").is_open());
    // The next Friday is 17:00 PDT: 00:00Z on Saturday, an hour earlier in UTC.
    assert!(state(&weekend, "2026-03-13T23:59:59Z").is_open());
    assert!(!state(&weekend, "2026-03-14T00:00:00Z").is_open());
    // Fall back (Sunday 2026-11-01): Friday 2026-10-30 17:00 PDT = 2026-10-31T00:00Z; 63 h
    // later is 2026-11-02T15:00Z, 07:00 PST on the wall clock.
    let fall = state(&weekend, "2026-11-01T09:30:00Z");
    assert_eq!(opens_at(&fall), Some("2026-11-02T15:00:00Z"));
    assert!(
        fall.summary().contains("2026-11-02 07:00 PST"),
        "{}",
        fall.summary()
    );
    // The Friday after is 17:00 PST again: 01:00Z on Saturday.
    assert!(state(&weekend, "2026-11-07T00:30:00Z").is_open());
    assert!(!state(&weekend, "2026-11-07T01:00:00Z").is_open());
}

#[test]
fn a_start_inside_the_spring_gap_runs_when_the_clock_resumes_and_a_repeated_hour_runs_once() {
    // 02:30 does not exist in Los Angeles on 2026-03-08: the window starts at 03:00 PDT.
    let nightly = [window(WindowKind::Deny, "30 2 * * *", 1, LA)];
    assert!(state(&nightly, "2026-03-08T09:59:00Z").is_open());
    assert!(!state(&nightly, "2026-03-08T10:00:00Z").is_open());
    assert!(state(&nightly, "2026-03-08T11:00:00Z").is_open());
    // 01:30 happens twice on 2026-11-01; a fixed time starts once, at the first (08:30Z).
    let early = [window(WindowKind::Deny, "30 1 * * *", 1, LA)];
    assert!(!state(&early, "2026-11-01T09:00:00Z").is_open());
    assert!(state(&early, "2026-11-01T09:30:00Z").is_open());
    assert!(
        state(&early, "2026-11-01T09:45:00Z").is_open(),
        "no second start at 01:30 PST"
    );
}

#[test]
fn a_window_over_midnight_and_a_month_end_and_one_on_the_last_day_of_each_month() {
    let new_year = [window(WindowKind::Deny, "0 22 31 * *", 4, "UTC")];
    assert!(!state(&new_year, "2026-12-31T23:30:00Z").is_open());
    let late = state(&new_year, "2027-01-01T01:59:59Z");
    assert_eq!(opens_at(&late), Some("2027-01-01T02:00:00Z"));
    assert!(state(&new_year, "2027-01-01T02:00:00Z").is_open());
    // November has no 31st: nothing starts on its last evening.
    assert!(state(&new_year, "2026-11-30T23:00:00Z").is_open());
    // Allowed only on the month's last day, from 20:00 for 6 h (so into the next month).
    let month_end = [window(WindowKind::Allow, "0 20 L * *", 6, "UTC")];
    assert!(!state(&month_end, "2026-11-30T19:59:00Z").is_open());
    assert!(state(&month_end, "2026-11-30T20:00:00Z").is_open());
    assert!(state(&month_end, "2026-12-01T01:59:00Z").is_open());
    let after = state(&month_end, "2026-12-01T02:00:00Z");
    assert_eq!(opens_at(&after), Some("2026-12-31T20:00:00Z"));
}

#[test]
fn deny_wins_over_allow_and_any_allow_means_one_must_be_active() {
    let business = window(WindowKind::Allow, "0 9 * * MON-FRI", 8, "UTC");
    let lunch = window(WindowKind::Deny, "0 12 * * *", 1, "UTC");
    let windows = [business, lunch];
    // Monday 2026-11-30.
    assert!(state(&windows, "2026-11-30T10:00:00Z").is_open());
    let noon = state(&windows, "2026-11-30T12:30:00Z");
    assert!(!noon.is_open(), "deny wins over allow");
    assert_eq!(opens_at(&noon), Some("2026-11-30T13:00:00Z"));
    let evening = state(&windows, "2026-11-30T18:00:00Z");
    assert!(!evening.is_open(), "outside every allow window");
    assert_eq!(opens_at(&evening), Some("2026-12-01T09:00:00Z"));
    // Friday evening: the next opening is Monday morning.
    let friday = state(&windows, "2026-12-04T17:00:00Z");
    assert_eq!(opens_at(&friday), Some("2026-12-07T09:00:00Z"));
    match state(&windows, "2026-11-30T10:00:00Z") {
        WindowState::Open { closes_at, .. } => {
            assert_eq!(closes_at.as_deref(), Some("2026-11-30T12:00:00Z"));
        }
        other => panic!("expected open, got {other:?}"),
    }
    assert_eq!(
        state(&[], "2026-11-30T10:00:00Z"),
        WindowState::Unrestricted
    );
}

// ---- the gate in the policy ----

fn production_with(windows: Vec<WindowConfig>) -> Config {
    let mut config = config();
    let production = environment(&mut config, "production");
    production.windows = windows;
    let dev = environment(&mut config, "dev");
    dev.windows = vec![window(
        WindowKind::Deny,
        WEEKEND_FREEZE.0,
        WEEKEND_FREEZE.1,
        LA,
    )];
    config
}

/// A promotion of v1.4.0 with every other gate open, decided at `now`.
fn promotion_at(now: &str) -> neuro_deploy_core::Facts {
    let mut facts = known(app("v1.3.0"));
    facts.source_workloads = Fact::Known(app("v1.4.0"));
    facts.target_image = Fact::Known(Some(image("v1.4.0")));
    facts.now = Fact::Known(instant(now));
    facts
}

#[test]
fn an_active_deny_window_refuses_naming_it_and_when_it_opens_and_an_override_goes_through() {
    let config = production_with(vec![window(
        WindowKind::Deny,
        WEEKEND_FREEZE.0,
        WEEKEND_FREEZE.1,
        LA,
    )]);
    // Saturday 2026-11-28 12:00 PST.
    let facts = promotion_at("2026-11-28T20:00:00Z");
    let message = refused(
        decide(&promote("v1.4.0"), &config, &facts),
        ReasonCode::OutsideDeployWindow,
    );
    for needed in [
        "deny window \"deny 0 17 * * FRI\"",
        "`0 17 * * FRI` for 63h",
        LA,
        "2026-11-30 08:00 PST",
        "2026-11-30T16:00:00Z",
        "--override-window --reason",
    ] {
        assert!(message.contains(needed), "`{needed}` missing: {message}");
    }
    assert_eq!(
        ReasonCode::OutsideDeployWindow.exit_code(),
        ExitStatus::Refused
    );
    // An override lets it through, and the plan carries why.
    let mut overridden = facts.clone();
    overridden
        .overrides
        .insert("override-window".into(), "hotfix for incident 42".into());
    let plan = plan(decide(&promote("v1.4.0"), &config, &overridden));
    let note = plan.notes.overridden().expect("the override is recorded");
    assert!(
        note.contains("hotfix for incident 42") && note.contains("closed until"),
        "{note}"
    );
    assert!(matches!(
        plan.steps()[0].step,
        Step::GateDeployWindow { .. }
    ));
    // Monday 08:00 PST it is open, and nothing is recorded.
    let plan = crate::policy::plan(decide(
        &promote("v1.4.0"),
        &config,
        &promotion_at("2026-11-30T16:00:00Z"),
    ));
    assert_eq!(plan.notes.overridden(), None);
    assert!(
        plan.steps()[0].reason.contains("open"),
        "{}",
        plan.steps()[0].reason
    );
}

#[test]
fn every_writing_event_is_held_by_a_closed_window_but_a_rollback_goes_and_says_so() {
    let config = production_with(Vec::new());
    let saturday = "2026-11-28T20:00:00Z";
    let mut facts = known(app("v1.3.0"));
    facts.target_image = Fact::Known(Some(image(SHORT)));
    facts.now = Fact::Known(instant(saturday));
    for event in [
        merged("main"),
        deploy(SHORT, DeployTarget::Environment("dev".into())),
        deploy(SHORT, DeployTarget::Namespace("dev".into())),
    ] {
        refused(
            decide(&event, &config, &facts),
            ReasonCode::OutsideDeployWindow,
        );
    }
    let facts = rollback_facts(saturday);
    let plan = plan(decide(
        &Event::Rollback {
            env: "dev".into(),
            skip_queue_gate: None,
        },
        &config,
        &facts,
    ));
    let note = plan
        .notes
        .overridden()
        .expect("a rollback inside a deny window is recorded");
    assert!(note.contains("never blocked"), "{note}");
    // Offline (no instant known), the plan says it is checked at run time.
    let mut offline = neuro_deploy_core::Facts::unknown();
    offline.now = Fact::Unknown;
    let plan = crate::policy::plan(decide(&merged("main"), &config, &offline));
    assert!(
        plan.steps()[0].reason.contains("checked at run time"),
        "{}",
        plan.steps()[0].reason
    );
}

#[test]
fn bad_schedules_durations_and_zones_name_their_key() {
    let file = |window: &str| dev_config_with(&format!("[[environments.windows]]\n{window}"));
    let cases = [
        (
            "kind = \"deny\"\nschedule = \"0 25 * * *\"\nduration = \"1h\"",
            "environments[0].windows[0].schedule",
        ),
        (
            "kind = \"deny\"\nschedule = \"0 17 * *\"\nduration = \"1h\"",
            "environments[0].windows[0].schedule",
        ),
        (
            "kind = \"deny\"\nschedule = \"0 0 30 2 *\"\nduration = \"1h\"",
            "environments[0].windows[0].schedule",
        ),
        (
            "kind = \"deny\"\nschedule = \"0 17 * * FRI\"\nduration = \"0s\"",
            "environments[0].windows[0].duration",
        ),
        (
            "kind = \"deny\"\nschedule = \"0 17 * * FRI\"\nduration = \"soon\"",
            "environments[0].windows[0].duration",
        ),
        (
            "kind = \"deny\"\nschedule = \"0 17 * * FRI\"\nduration = \"1h\"\ntimezone = \"Mars/Olympus\"",
            "environments[0].windows[0].timezone",
        ),
        (
            "kind = \"sometimes\"\nschedule = \"0 17 * * FRI\"\nduration = \"1h\"",
            "environments[0].windows[0].kind",
        ),
    ];
    for (window, key) in cases {
        let error = Config::from_toml(&file(window), "neuro-deploy.toml")
            .expect_err(window)
            .to_string();
        assert!(error.contains(key), "`{key}` missing: {error}");
    }
    let good = Config::from_toml(
        &file("kind = \"deny\"\nschedule = \"0 17 * * FRI\"\nduration = \"63h\"\ntimezone = \"America/Los_Angeles\"\nreason = \"weekend freeze\""),
        "neuro-deploy.toml",
    )
    .expect("a valid window");
    assert_eq!(good.environments[0].windows[0].timezone, LA);
}

// ---- properties ----

/// Whether a window whose schedule starts at a whole minute is active at `t`, by walking every
/// minute of `(t - duration, t]` and asking whether the schedule matches it there: the
/// definition, independent of the search the implementation does.
fn active_by_brute_force(window: &WindowConfig, t: DateTime<Utc>) -> bool {
    let cron = window.cron().expect("schedule");
    let zone: Tz = window.zone().expect("zone");
    let minute = Utc
        .timestamp_opt(t.timestamp() - t.timestamp().rem_euclid(60), 0)
        .single()
        .expect("instant");
    let duration = chrono::Duration::from_std(window.duration).expect("duration");
    let mut start = minute;
    while start > t - duration {
        if cron
            .is_time_matching(&start.with_timezone(&zone))
            .expect("match")
        {
            return true;
        }
        start -= chrono::Duration::minutes(1);
    }
    false
}

fn any_window(kind: WindowKind) -> impl Strategy<Value = WindowConfig> {
    // Hours outside 01:00–03:59, where a fixed time can fall into a daylight-saving gap or
    // repeat (covered by the tests above); minutes, weekdays and durations anywhere.
    let hour = prop_oneof![Just(0u32), 4u32..24];
    let weekday = prop_oneof![Just("*".to_owned()), (0u32..7).prop_map(|d| d.to_string())];
    let zone = prop_oneof![
        Just("UTC"),
        Just(LA),
        Just("Europe/Berlin"),
        Just("Asia/Kolkata")
    ];
    (0u32..60, hour, weekday, 1u64..(72 * 60), zone).prop_map(
        move |(minute, hour, weekday, minutes, zone)| {
            WindowConfig::new(
                kind,
                &format!("{minute} {hour} * * {weekday}"),
                Duration::from_secs(minutes * 60),
                zone,
            )
        },
    )
}

fn any_instant() -> impl Strategy<Value = DateTime<Utc>> {
    // 2026-01-01 .. 2028-01-01, to the second.
    (1_767_225_600i64..1_830_297_600)
        .prop_map(|s| Utc.timestamp_opt(s, 0).single().expect("instant"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn a_window_is_active_exactly_when_a_start_lies_within_its_duration_before(
        deny in any_window(WindowKind::Deny),
        t in any_instant(),
    ) {
        let open = window_state(std::slice::from_ref(&deny), t).expect("valid").is_open();
        prop_assert_eq!(!open, active_by_brute_force(&deny, t), "{:?} at {}", deny, t);
    }

    #[test]
    fn the_next_opening_is_open_and_nothing_before_it_is(
        deny in any_window(WindowKind::Deny),
        allow in any_window(WindowKind::Allow),
        with_allow in any::<bool>(),
        t in any_instant(),
    ) {
        let mut windows = vec![deny];
        if with_allow {
            windows.push(allow);
        }
        let open_at = |at: DateTime<Utc>| window_state(&windows, at).expect("valid").is_open();
        match window_state(&windows, t).expect("valid") {
            WindowState::Closed { opens_at: Some(opens), .. } => {
                let opens = at(&opens);
                prop_assert!(opens > t);
                prop_assert!(open_at(opens), "open at {}", opens);
                prop_assert!(!open_at(opens - chrono::Duration::seconds(1)));
                for k in 1..8 {
                    let between = t + (opens - t) * k / 8;
                    prop_assert!(!open_at(between), "closed at {} before {}", between, opens);
                }
            }
            WindowState::Open { closes_at: Some(closes), .. } => {
                let closes = at(&closes);
                prop_assert!(closes > t);
                prop_assert!(!open_at(closes), "closed at {}", closes);
                prop_assert!(open_at(closes - chrono::Duration::seconds(1)));
            }
            // A deny as long as its period never ends: closed all along.
            WindowState::Closed { opens_at: None, .. } => {
                for day in 1..15 {
                    prop_assert!(!open_at(t + chrono::Duration::hours(day * 23)));
                }
            }
            other => prop_assert!(false, "a daily or weekly deny closes within a year: {:?}", other),
        }
    }
}
