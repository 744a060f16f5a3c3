//! A schedule's `schedule` and `timeZone` as times: 5-field cron read in an IANA zone, or
//! `@every DURATION`. No clock: every function is given the instant it counts from.
//!
//! DST as Kubernetes CronJob handles it: cron fields match wall-clock times, a wall-clock
//! time the zone skips (spring forward) does not run, and one it repeats (fall back) runs
//! once, at its first occurrence.

use std::time::Duration;

use chrono::{DateTime, LocalResult, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use croner::parser::{CronParser, Seconds, Year};
use croner::Cron;

/// `@every` shorter than this would only load the cluster with overlapping runs.
pub const MIN_EVERY: Duration = Duration::from_secs(10);

/// How many wall-clock matches are looked at for one next time; a pattern that matches
/// none in that many (e.g. `0 0 30 2 *`, February 30th) has no next time.
const MAX_STEPS: usize = 10_000;

#[derive(Debug, Clone)]
pub enum ScheduleExpr {
    Cron {
        cron: Box<Cron>,
        zone: Tz,
    },
    /// Every `seconds`, aligned on the Unix epoch, so that the times (and the runs' names)
    /// are the same whenever the operator computes them.
    Every {
        seconds: i64,
    },
}

/// What is wrong with `schedule` or `timeZone`, naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExprError {
    #[error("invalid schedule {given:?}: {problem}")]
    Schedule { given: String, problem: String },
    #[error("unknown time zone {0:?}: an IANA name such as Europe/Berlin or America/New_York")]
    TimeZone(String),
}

impl ScheduleExpr {
    pub fn parse(schedule: &str, time_zone: &str) -> Result<ScheduleExpr, ExprError> {
        let zone: Tz = time_zone.parse().map_err(|_| ExprError::TimeZone(time_zone.to_string()))?;
        let bad = |problem: String| ExprError::Schedule { given: schedule.to_string(), problem };
        let trimmed = schedule.trim();
        if let Some(rest) = trimmed.strip_prefix("@every") {
            let d = humantime::parse_duration(rest.trim())
                .map_err(|e| bad(format!("@every takes a duration such as 90s, 5m or 1h ({e})")))?;
            if d < MIN_EVERY {
                return Err(bad(format!("@every must be at least {}s", MIN_EVERY.as_secs())));
            }
            if d.subsec_nanos() != 0 {
                return Err(bad("@every takes whole seconds".into()));
            }
            let seconds = i64::try_from(d.as_secs()).map_err(|_| bad("@every is too long".into()))?;
            return Ok(ScheduleExpr::Every { seconds });
        }
        if trimmed.starts_with('@')
            && !["@hourly", "@daily", "@weekly"].contains(&trimmed.to_ascii_lowercase().as_str())
        {
            return Err(bad("the shorthands are @hourly, @daily, @weekly and @every DURATION".into()));
        }
        if !trimmed.starts_with('@') && trimmed.split_whitespace().count() != 5 {
            return Err(bad("a cron schedule has 5 fields: minute hour day-of-month month day-of-week".into()));
        }
        let cron = CronParser::builder()
            .seconds(Seconds::Disallowed)
            .year(Year::Disallowed)
            .build()
            .parse(trimmed)
            .map_err(|e| bad(e.to_string()))?;
        Ok(ScheduleExpr::Cron { cron: Box::new(cron), zone })
    }

    /// The first scheduled time strictly after `after`, if there is one.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            ScheduleExpr::Every { seconds } => {
                let t = after.timestamp();
                let next = (t.div_euclid(*seconds) + 1) * seconds;
                Utc.timestamp_opt(next, 0).single()
            }
            ScheduleExpr::Cron { cron, zone } => {
                // Cron fields match wall-clock times: search the zone's wall clock (as if it
                // were UTC), then place each match in the zone.
                let mut wall = Utc.from_utc_datetime(&after.with_timezone(zone).naive_local());
                for _ in 0..MAX_STEPS {
                    wall = cron.find_next_occurrence(&wall, false).ok()?;
                    if let Some(t) = place(zone, &wall.naive_utc()) {
                        if t > after {
                            return Some(t);
                        }
                    }
                }
                None
            }
        }
    }

    /// The scheduled times in `(after, until]`: how many there are (at most `cap` are
    /// counted) and the latest of them.
    pub fn between(&self, after: DateTime<Utc>, until: DateTime<Utc>, cap: u64) -> (u64, Option<DateTime<Utc>>) {
        if let ScheduleExpr::Every { seconds } = self {
            let first = after.timestamp().div_euclid(*seconds) + 1;
            let last = until.timestamp().div_euclid(*seconds);
            if last < first {
                return (0, None);
            }
            let count = u64::try_from(last - first + 1).unwrap_or(u64::MAX).min(cap);
            return (count, Utc.timestamp_opt(last * seconds, 0).single());
        }
        let mut count = 0;
        let mut latest = None;
        let mut t = after;
        while count < cap {
            match self.next_after(t) {
                Some(n) if n <= until => {
                    count += 1;
                    latest = Some(n);
                    t = n;
                }
                _ => break,
            }
        }
        if count == cap {
            // Counting stopped: the latest is the one just before `until`.
            latest = self.latest_until(until).or(latest);
        }
        (count, latest)
    }

    /// The latest scheduled time at or before `until`.
    fn latest_until(&self, until: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let ScheduleExpr::Cron { cron, zone } = self else { return None };
        let mut wall = Utc.from_utc_datetime(&until.with_timezone(zone).naive_local());
        for _ in 0..MAX_STEPS {
            wall = cron.find_previous_occurrence(&wall, true).ok()?;
            if let Some(t) = place(zone, &wall.naive_utc()) {
                if t <= until {
                    return Some(t);
                }
            }
            wall -= chrono::Duration::seconds(1);
        }
        None
    }
}

/// A wall-clock time of `zone` as an instant: none when the zone skips it, the first when
/// it repeats it.
fn place(zone: &Tz, wall: &NaiveDateTime) -> Option<DateTime<Utc>> {
    match zone.from_local_datetime(wall) {
        LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(first, _) => Some(first.with_timezone(&Utc)),
        LocalResult::None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).expect("rfc3339").with_timezone(&Utc)
    }

    fn nexts(expr: &str, zone: &str, from: &str, n: usize) -> Vec<String> {
        let e = ScheduleExpr::parse(expr, zone).expect("parses");
        let mut at = t(from);
        let mut out = Vec::new();
        for _ in 0..n {
            at = e.next_after(at).expect("a next time");
            out.push(crate::api::time::format(&at));
        }
        out
    }

    #[test]
    fn cron_fields_ranges_steps_lists_and_shorthands() {
        let table: &[(&str, &str, &str, &[&str])] = &[
            ("0 3 * * *", "UTC", "2026-12-01T02:59:59Z", &["2026-12-01T03:00:00Z", "2026-12-02T03:00:00Z"]),
            ("0 3 * * *", "UTC", "2026-12-01T03:00:00Z", &["2026-12-02T03:00:00Z"]),
            (
                "*/15 9-10 * * *",
                "UTC",
                "2026-12-01T10:40:00Z",
                &["2026-12-01T10:45:00Z", "2026-12-02T09:00:00Z", "2026-12-02T09:15:00Z"],
            ),
            (
                "0 8 * * 1,3,5",
                "UTC",
                "2026-12-01T00:00:00Z",
                &["2026-12-02T08:00:00Z", "2026-12-04T08:00:00Z", "2026-12-07T08:00:00Z"],
            ),
            (
                "30 1 1 */3 *",
                "UTC",
                "2026-12-01T00:00:00Z",
                &["2027-01-01T01:30:00Z", "2027-04-01T01:30:00Z", "2027-07-01T01:30:00Z"],
            ),
            ("@hourly", "UTC", "2026-12-01T10:00:00Z", &["2026-12-01T11:00:00Z", "2026-12-01T12:00:00Z"]),
            ("@daily", "UTC", "2026-12-01T10:00:00Z", &["2026-12-02T00:00:00Z"]),
            // 2026-12-01 is a Tuesday; @weekly is Sunday midnight.
            ("@weekly", "UTC", "2026-12-01T10:00:00Z", &["2026-12-06T00:00:00Z", "2026-12-13T00:00:00Z"]),
            ("0 3 * * *", "Europe/Berlin", "2026-12-01T00:00:00Z", &["2026-12-01T02:00:00Z"]),
            ("0 3 * * *", "America/New_York", "2026-12-01T00:00:00Z", &["2026-12-01T08:00:00Z"]),
        ];
        for (expr, zone, from, want) in table {
            assert_eq!(nexts(expr, zone, from, want.len()), *want, "{expr} in {zone} after {from}");
        }
    }

    #[test]
    fn dst_skipped_times_do_not_run_and_repeated_ones_run_once() {
        let table: &[(&str, &str, &str, &[&str])] = &[
            // Berlin springs forward 2026-03-29 02:00 CET -> 03:00 CEST: 02:30 does not exist.
            ("30 2 * * *", "Europe/Berlin", "2026-03-28T00:00:00Z", &["2026-03-28T01:30:00Z", "2026-03-30T00:30:00Z"]),
            // Berlin falls back 2026-10-25 03:00 CEST -> 02:00 CET: 02:30 happens twice, runs once.
            (
                "30 2 * * *",
                "Europe/Berlin",
                "2026-10-24T00:00:00Z",
                &["2026-10-24T00:30:00Z", "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"],
            ),
            // Hourly across the fall-back: the repeated 02:xx hour is not run a second time.
            (
                "15 * * * *",
                "Europe/Berlin",
                "2026-10-24T23:30:00Z",
                &["2026-10-25T00:15:00Z", "2026-10-25T02:15:00Z", "2026-10-25T03:15:00Z"],
            ),
            // New York springs forward 2026-03-08 02:00 EST -> 03:00 EDT.
            (
                "0 2 * * *",
                "America/New_York",
                "2026-03-07T00:00:00Z",
                &["2026-03-07T07:00:00Z", "2026-03-09T06:00:00Z"],
            ),
            (
                "*/30 * * * *",
                "America/New_York",
                "2026-03-08T06:40:00Z",
                &["2026-03-08T07:00:00Z", "2026-03-08T07:30:00Z", "2026-03-08T08:00:00Z"],
            ),
            // New York falls back 2026-11-01 02:00 EDT -> 01:00 EST: 01:30 runs once (EDT).
            (
                "30 1 * * *",
                "America/New_York",
                "2026-10-31T12:00:00Z",
                &["2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"],
            ),
            // From inside the repeated hour, its second pass is not a new time.
            ("30 1 * * *", "America/New_York", "2026-11-01T06:10:00Z", &["2026-11-02T06:30:00Z"]),
        ];
        for (expr, zone, from, want) in table {
            assert_eq!(nexts(expr, zone, from, want.len()), *want, "{expr} in {zone} after {from}");
        }
    }

    #[test]
    fn every_is_aligned_on_the_epoch() {
        assert_eq!(
            nexts("@every 10s", "UTC", "2026-12-01T10:00:03Z", 3),
            ["2026-12-01T10:00:10Z", "2026-12-01T10:00:20Z", "2026-12-01T10:00:30Z"]
        );
        assert_eq!(
            nexts("@every 90s", "UTC", "2026-12-01T10:00:00Z", 2),
            ["2026-12-01T10:01:30Z", "2026-12-01T10:03:00Z"]
        );
        assert_eq!(nexts("@every 1h", "Europe/Berlin", "2026-12-01T10:00:00Z", 1), ["2026-12-01T11:00:00Z"]);
    }

    #[test]
    fn between_counts_and_finds_the_latest() {
        let e = ScheduleExpr::parse("@every 10s", "UTC").expect("parses");
        assert_eq!(
            e.between(t("2026-12-01T10:00:00Z"), t("2026-12-01T10:00:35Z"), 100),
            (3, Some(t("2026-12-01T10:00:30Z")))
        );
        assert_eq!(e.between(t("2026-12-01T10:00:00Z"), t("2026-12-01T10:00:09Z"), 100), (0, None));
        let c = ScheduleExpr::parse("*/5 * * * *", "Europe/Berlin").expect("parses");
        assert_eq!(
            c.between(t("2026-12-01T10:00:00Z"), t("2026-12-01T10:21:00Z"), 100),
            (4, Some(t("2026-12-01T10:20:00Z")))
        );
        let (n, latest) = c.between(t("2026-11-01T10:00:00Z"), t("2026-12-01T10:21:00Z"), 50);
        assert_eq!((n, latest), (50, Some(t("2026-12-01T10:20:00Z"))));
    }

    #[test]
    fn errors_name_what_is_wrong() {
        for (expr, zone, want) in [
            ("0 3 * *", "UTC", "5 fields"),
            ("0 25 * * *", "UTC", "invalid schedule"),
            ("@every 5s", "UTC", "at least 10s"),
            ("@every soon", "UTC", "@every takes a duration"),
            ("@monthly", "UTC", "shorthands"),
            ("0 3 * * *", "Mars/Olympus", "unknown time zone"),
            ("0 0 3 * * *", "UTC", "5 fields"),
        ] {
            let e = ScheduleExpr::parse(expr, zone).expect_err(expr);
            assert!(e.to_string().contains(want), "{expr}: {e}");
        }
        assert!(
            ScheduleExpr::parse("0 0 30 2 *", "UTC").is_ok_and(|e| e.next_after(t("2026-01-01T00:00:00Z")).is_none())
        );
    }
}
