//! Quality gates: `successCriteria` checked against an attempt's `results` (pure).

use crate::api::job::{Criterion, Results};

/// How one criterion fares against the results.
#[derive(Debug, Clone, PartialEq)]
pub enum Gate {
    Met,
    /// Why not, as the user reads it: `r2 = 0.52, want >= 0.7`.
    Unmet(String),
}

pub fn gate(c: &Criterion, results: &Results) -> Gate {
    let Some(raw) = results.get(&c.result) else {
        return Gate::Unmet(format!("{}: no such result (results.json has {})", c.result, keys(results)));
    };
    let Some(value) = raw.as_f64() else {
        return Gate::Unmet(format!("{} = {raw}, not a number", c.result));
    };
    if let Some(min) = c.min.filter(|m| value < *m) {
        return Gate::Unmet(format!("{} = {value}, want >= {min}", c.result));
    }
    if let Some(max) = c.max.filter(|m| value > *m) {
        return Gate::Unmet(format!("{} = {value}, want <= {max}", c.result));
    }
    Gate::Met
}

fn keys(results: &Results) -> String {
    if results.is_empty() {
        return "none".into();
    }
    results.keys().cloned().collect::<Vec<_>>().join(", ")
}

/// `Ok` when every gate is met, else the reasons of the unmet ones, joined.
pub fn check(criteria: &[Criterion], results: &Results) -> Result<(), String> {
    let unmet: Vec<String> = criteria
        .iter()
        .filter_map(|c| match gate(c, results) {
            Gate::Met => None,
            Gate::Unmet(why) => Some(why),
        })
        .collect();
    if unmet.is_empty() {
        Ok(())
    } else {
        Err(unmet.join("; "))
    }
}

/// `met/total` for the GATES column; None without criteria or results.
pub fn summary(criteria: &[Criterion], results: &Results) -> Option<String> {
    if criteria.is_empty() || results.is_empty() {
        return None;
    }
    let met = criteria.iter().filter(|c| gate(c, results) == Gate::Met).count();
    Some(format!("{met}/{}", criteria.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn results(v: serde_json::Value) -> Results {
        v.as_object().cloned().unwrap_or_default()
    }

    fn c(result: &str, min: Option<f64>, max: Option<f64>) -> Criterion {
        Criterion { result: result.into(), min, max }
    }

    #[test]
    fn bounds_are_inclusive_and_messages_show_value_and_bound() {
        let r = results(json!({"r2": 0.52, "rmse": 6.0}));
        assert_eq!(gate(&c("rmse", None, Some(6.0)), &r), Gate::Met);
        assert_eq!(gate(&c("r2", Some(0.52), None), &r), Gate::Met);
        assert_eq!(check(&[c("r2", Some(0.7), None)], &r).unwrap_err(), "r2 = 0.52, want >= 0.7");
        assert_eq!(check(&[c("rmse", None, Some(5.5))], &r).unwrap_err(), "rmse = 6, want <= 5.5");
        assert_eq!(
            check(&[c("r2", Some(0.7), None), c("rmse", Some(1.0), Some(5.0))], &r).unwrap_err(),
            "r2 = 0.52, want >= 0.7; rmse = 6, want <= 5"
        );
    }

    #[test]
    fn missing_or_non_numeric_results_are_unmet() {
        let r = results(json!({"label": "x", "rmse": 1.0}));
        assert_eq!(
            check(&[c("r2", Some(0.7), None)], &r).unwrap_err(),
            "r2: no such result (results.json has label, rmse)"
        );
        assert_eq!(check(&[c("label", Some(0.0), None)], &r).unwrap_err(), "label = \"x\", not a number");
        assert_eq!(
            check(&[c("r2", Some(0.7), None)], &Results::new()).unwrap_err(),
            "r2: no such result (results.json has none)"
        );
    }

    #[test]
    fn summary_counts_met_gates() {
        let r = results(json!({"r2": 0.8, "rmse": 7.0}));
        assert_eq!(summary(&[c("r2", Some(0.7), None), c("rmse", None, Some(6.0))], &r).as_deref(), Some("1/2"));
        assert_eq!(summary(&[], &r), None);
        assert_eq!(summary(&[c("r2", Some(0.7), None)], &Results::new()), None);
    }
}
