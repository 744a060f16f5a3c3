//! kubectl's label selectors (`-l`): `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`,
//! `k` and `!k`, comma-separated, all of which must hold. As in Kubernetes, `!=` and
//! `notin` also match objects without the label.

use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq)]
pub struct Selector(Vec<Requirement>);

#[derive(Debug, Clone, PartialEq)]
enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    DoesNotExist(String),
}

impl Selector {
    pub fn parse(s: &str) -> Result<Selector, String> {
        let mut reqs = Vec::new();
        for part in split_top(s)? {
            let part = part.trim();
            if part.is_empty() {
                if s.trim().is_empty() {
                    continue;
                }
                return Err(format!("unable to parse requirement: found '', expected: identifier in {s:?}"));
            }
            reqs.push(requirement(part).map_err(|why| format!("unable to parse requirement: {why}"))?);
        }
        Ok(Selector(reqs))
    }

    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.0.iter().all(|r| match r {
            Requirement::Equals(k, v) => labels.get(k) == Some(v),
            Requirement::NotEquals(k, v) => labels.get(k) != Some(v),
            Requirement::In(k, vs) => labels.get(k).is_some_and(|l| vs.contains(l)),
            Requirement::NotIn(k, vs) => !labels.get(k).is_some_and(|l| vs.contains(l)),
            Requirement::Exists(k) => labels.contains_key(k),
            Requirement::DoesNotExist(k) => !labels.contains_key(k),
        })
    }
}

/// Splits on the commas that are not inside a `( ... )` set.
fn split_top(s: &str) -> Result<Vec<String>, String> {
    let mut parts = vec![String::new()];
    let mut open = false;
    for c in s.chars() {
        match c {
            '(' if !open => open = true,
            '(' => return Err(format!("unable to parse requirement: nested '(' in {s:?}")),
            ')' if open => open = false,
            ')' => return Err(format!("unable to parse requirement: unexpected ')' in {s:?}")),
            ',' if !open => {
                parts.push(String::new());
                continue;
            }
            _ => {}
        }
        if let Some(last) = parts.last_mut() {
            last.push(c);
        }
    }
    if open {
        return Err(format!("unable to parse requirement: found '', expected: ')' in {s:?}"));
    }
    Ok(parts)
}

fn requirement(p: &str) -> Result<Requirement, String> {
    if let Some(k) = p.strip_prefix('!') {
        return Ok(Requirement::DoesNotExist(key(k)?));
    }
    for (op, make) in [("!=", 0), ("==", 1), ("=", 1)] {
        if let Some((k, v)) = p.split_once(op) {
            let (k, v) = (key(k)?, value(v)?);
            return Ok(if make == 0 { Requirement::NotEquals(k, v) } else { Requirement::Equals(k, v) });
        }
    }
    if let Some(open) = p.find('(') {
        let (head, set) = p.split_at(open);
        let mut words = head.split_whitespace();
        let (k, op) = match (words.next(), words.next(), words.next()) {
            (Some(k), Some(op), None) => (key(k)?, op),
            _ => return Err(format!("found {p:?}, expected: key in (values) or key notin (values)")),
        };
        let inner = set
            .trim()
            .strip_prefix('(')
            .and_then(|r| r.strip_suffix(')'))
            .ok_or_else(|| format!("found {p:?}, expected: ')' at the end"))?;
        let values = inner.split(',').map(value).collect::<Result<Vec<_>, _>>()?;
        return match op {
            "in" => Ok(Requirement::In(k, values)),
            "notin" => Ok(Requirement::NotIn(k, values)),
            other => Err(format!("found '{other}', expected: in, notin, =, ==, !=")),
        };
    }
    if p.contains(char::is_whitespace) {
        return Err(format!("found {p:?}, expected: in, notin, =, ==, !="));
    }
    Ok(Requirement::Exists(key(p)?))
}

/// A label key: an optional DNS prefix and `/`, then a name of letters, digits, `-_.`.
fn key(k: &str) -> Result<String, String> {
    let k = k.trim();
    let name = k.rsplit_once('/').map(|(_, n)| n).unwrap_or(k);
    let ok = |s: &str| s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c));
    if name.is_empty() || name.len() > 63 || !ok(k) {
        return Err(format!("invalid label key {k:?}"));
    }
    Ok(k.to_string())
}

fn value(v: &str) -> Result<String, String> {
    let v = v.trim();
    if v.len() > 63 || !v.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
        return Err(format!("invalid label value: {v:?}"));
    }
    Ok(v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn every_operator_kubectl_has() {
        let prod = labels(&[("env", "prod"), ("tier", "ml"), ("sparkswarm.io/team", "a")]);
        let dev = labels(&[("env", "dev")]);
        let none = labels(&[]);
        let cases: [(&str, [bool; 3]); 11] = [
            ("env=prod", [true, false, false]),
            ("env==prod", [true, false, false]),
            ("env!=prod", [false, true, true]),
            ("env in (prod, dev)", [true, true, false]),
            ("env notin (prod)", [false, true, true]),
            ("tier", [true, false, false]),
            ("!tier", [false, true, true]),
            ("env=prod,tier", [true, false, false]),
            ("env in (dev),!tier", [false, true, false]),
            ("sparkswarm.io/team=a", [true, false, false]),
            ("", [true, true, true]),
        ];
        for (sel, want) in cases {
            let s = Selector::parse(sel).expect(sel);
            assert_eq!([s.matches(&prod), s.matches(&dev), s.matches(&none)], want, "{sel}");
        }
    }

    #[test]
    fn bad_selectors_are_refused() {
        for bad in ["env in (a", "env ~ x", "env=a b", "env in a", "a,,b", "env is (a)", "=x", "env=(x)"] {
            let err = Selector::parse(bad).expect_err(bad);
            assert!(err.starts_with("unable to parse requirement"), "{bad}: {err}");
        }
    }
}
