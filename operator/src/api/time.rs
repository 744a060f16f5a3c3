//! Status timestamps as Kubernetes writes them (`metav1.Time`): RFC 3339 in UTC, to the
//! second, `Z` for the zone. Whatever precision a runtime observed (file mtimes carry
//! nanoseconds), the status a script reads has one shape.

use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};
use serde::{Deserialize, Deserializer, Serializer};

pub fn format(t: &DateTime<Utc>) -> String {
    t.trunc_subsecs(0).to_rfc3339_opts(SecondsFormat::Secs, true)
}

pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format(t))
}

pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
    DateTime::<Utc>::deserialize(d)
}

/// The same for `Option<DateTime<Utc>>` fields.
pub mod option {
    use super::*;

    pub fn serialize<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_some(&format(t)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        Option::<DateTime<Utc>>::deserialize(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn seconds_precision_in_utc() {
        let t = Utc.timestamp_opt(1_700_000_000, 987_654_321).single().expect("valid");
        assert_eq!(format(&t), "2023-11-14T22:13:20Z");
        let status =
            crate::api::job::SparkJobStatus { start_time: Some(t), completion_time: Some(t), ..Default::default() };
        let v = serde_json::to_value(&status).expect("serialize");
        assert_eq!(v["startTime"], "2023-11-14T22:13:20Z");
        assert_eq!(v["completionTime"], "2023-11-14T22:13:20Z");
        let back: crate::api::job::SparkJobStatus = serde_json::from_value(v).expect("deserialize");
        assert_eq!(back.completion_time, Some(t.trunc_subsecs(0)));
    }
}
