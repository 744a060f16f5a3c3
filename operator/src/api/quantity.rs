use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A JVM-style memory size as Spark takes it: `512m`, `1g`, `2048` (MiB when unitless,
/// written as a string or a plain YAML number).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(from = "MemoryRepr", into = "String")]
pub struct Memory(pub String);

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
enum MemoryRepr {
    Text(#[schemars(regex(pattern = r"^[1-9][0-9]*[kKmMgGtT]?$"))] String),
    Mebibytes(#[schemars(range(min = 1))] u64),
}

impl From<MemoryRepr> for Memory {
    fn from(r: MemoryRepr) -> Self {
        match r {
            MemoryRepr::Text(s) => Memory(s),
            MemoryRepr::Mebibytes(n) => Memory(format!("{n}m")),
        }
    }
}

impl From<Memory> for String {
    fn from(m: Memory) -> String {
        m.0
    }
}

impl Memory {
    pub fn new(s: &str) -> Self {
        Memory(s.to_string())
    }

    /// The size in MiB, for comparisons and the swarm runtime's resource limits.
    pub fn mebibytes(&self) -> Option<u64> {
        let s = self.0.trim();
        let (digits, unit) = match s.char_indices().last() {
            Some((i, c)) if c.is_ascii_alphabetic() => (&s[..i], c.to_ascii_lowercase()),
            _ => (s, 'm'),
        };
        let n: u64 = digits.parse().ok()?;
        match unit {
            'k' => Some(n / 1024),
            'm' => Some(n),
            'g' => n.checked_mul(1024),
            't' => n.checked_mul(1024 * 1024),
            _ => None,
        }
    }
}

impl fmt::Display for Memory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(Memory::new("1g").mebibytes(), Some(1024));
        assert_eq!(Memory::new("512m").mebibytes(), Some(512));
        assert_eq!(Memory::new("2048").mebibytes(), Some(2048));
        assert_eq!(Memory::new("1T").mebibytes(), Some(1024 * 1024));
        assert_eq!(Memory::new("lots").mebibytes(), None);
        let from_number: Memory = serde_json::from_value(serde_json::json!(2048)).unwrap();
        assert_eq!(from_number.mebibytes(), Some(2048));
    }
}
