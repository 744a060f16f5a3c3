use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ConditionStatus {
    True,
    False,
    Unknown,
}

/// A Kubernetes-convention condition. `lastTransitionTime` moves only when `status` flips,
/// which is what makes it useful for "since when is this not Ready?".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    #[serde(rename = "type")]
    pub type_: String,
    pub status: ConditionStatus,
    pub reason: String,
    #[serde(default)]
    pub message: String,
    #[serde(with = "super::time")]
    #[schemars(with = "DateTime<Utc>")]
    pub last_transition_time: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<u64>,
}

impl Condition {
    pub fn new(type_: &str, status: ConditionStatus, reason: &str, message: impl Into<String>) -> Self {
        Condition {
            type_: type_.to_string(),
            status,
            reason: reason.to_string(),
            message: message.into(),
            last_transition_time: super::now(),
            observed_generation: None,
        }
    }

    pub fn is_true(&self) -> bool {
        self.status == ConditionStatus::True
    }
}

/// Sets `new` in `conditions`, keeping the old `lastTransitionTime` when the status did not
/// flip, so that a status write with nothing new in it is byte-identical to the last one.
pub fn set_condition(conditions: &mut Vec<Condition>, mut new: Condition) {
    match conditions.iter_mut().find(|c| c.type_ == new.type_) {
        Some(old) => {
            if old.status == new.status {
                new.last_transition_time = old.last_transition_time;
            }
            *old = new;
        }
        None => conditions.push(new),
    }
}

pub fn find<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transition_time_moves_only_on_flip() {
        let mut cs = vec![];
        let first = Condition::new("Ready", ConditionStatus::False, "Starting", "");
        let t0 = first.last_transition_time;
        set_condition(&mut cs, first);
        let mut again = Condition::new("Ready", ConditionStatus::False, "StillStarting", "x");
        again.last_transition_time = t0 + chrono::Duration::seconds(5);
        set_condition(&mut cs, again);
        assert_eq!(cs[0].last_transition_time, t0);
        assert_eq!(cs[0].reason, "StillStarting");
        let mut flip = Condition::new("Ready", ConditionStatus::True, "Ready", "");
        flip.last_transition_time = t0 + chrono::Duration::seconds(9);
        set_condition(&mut cs, flip);
        assert_eq!(cs[0].last_transition_time, t0 + chrono::Duration::seconds(9));
        assert_eq!(cs.len(), 1);
    }
}
