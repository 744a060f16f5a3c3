//! kubectl's table shape: upper-case headers, columns padded to the widest cell and
//! separated by three spaces, `<none>` for empty cells; and kubectl's human durations.

use chrono::{DateTime, Utc};

pub struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(headers: &[&str]) -> Self {
        Table { headers: headers.iter().map(|h| h.to_string()).collect(), rows: vec![] }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells.into_iter().map(|c| if c.is_empty() { "<none>".to_string() } else { c }).collect());
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn widths(&self) -> Vec<usize> {
        let mut w: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for r in &self.rows {
            for (i, c) in r.iter().enumerate() {
                if i < w.len() {
                    w[i] = w[i].max(c.chars().count());
                }
            }
        }
        w
    }

    pub fn render_line(cells: &[String], widths: &[usize]) -> String {
        let mut line = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                line.push_str(c);
            } else {
                let pad = widths.get(i).copied().unwrap_or(0).saturating_sub(c.chars().count());
                line.push_str(c);
                line.push_str(&" ".repeat(pad + 3));
            }
        }
        line
    }

    pub fn render(&self, with_headers: bool) -> String {
        let widths = self.widths();
        let mut out = String::new();
        if with_headers {
            out.push_str(&Self::render_line(&self.headers, &widths));
            out.push('\n');
        }
        for r in &self.rows {
            out.push_str(&Self::render_line(r, &widths));
            out.push('\n');
        }
        out
    }
}

/// kubectl's `HumanDuration`: 45s, 3m12s, 25m, 5h3m, 9h, 3d4h, 12d, 2y.
pub fn human_duration(d: chrono::Duration) -> String {
    let s = d.num_seconds().max(0);
    let (m, h, day) = (s / 60, s / 3600, s / 86400);
    if s < 120 {
        format!("{s}s")
    } else if m < 10 {
        if s % 60 == 0 {
            format!("{m}m")
        } else {
            format!("{m}m{}s", s % 60)
        }
    } else if h < 3 {
        format!("{m}m")
    } else if h < 8 {
        if m % 60 == 0 {
            format!("{h}h")
        } else {
            format!("{h}h{}m", m % 60)
        }
    } else if h < 48 {
        format!("{h}h")
    } else if h < 24 * 8 {
        if h % 24 == 0 {
            format!("{day}d")
        } else {
            format!("{day}d{}h", h % 24)
        }
    } else if day < 365 * 2 {
        format!("{day}d")
    } else {
        format!("{}y", day / 365)
    }
}

pub fn age(since: Option<DateTime<Utc>>) -> String {
    match since {
        Some(t) => human_duration(Utc::now() - t),
        None => "<unknown>".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_kubectl() {
        let d = chrono::Duration::seconds;
        assert_eq!(human_duration(d(45)), "45s");
        assert_eq!(human_duration(d(192)), "3m12s");
        assert_eq!(human_duration(d(25 * 60)), "25m");
        assert_eq!(human_duration(d(5 * 3600 + 180)), "5h3m");
        assert_eq!(human_duration(d(9 * 3600)), "9h");
        assert_eq!(human_duration(d(3 * 86400 + 4 * 3600)), "3d4h");
    }

    #[test]
    fn columns_pad_to_the_widest_cell() {
        let mut t = Table::new(&["NAME", "PHASE"]);
        t.row(vec!["linear-regression".into(), "Succeeded".into()]);
        t.row(vec!["rf".into(), String::new()]);
        assert_eq!(
            t.render(true),
            "NAME                PHASE\nlinear-regression   Succeeded\nrf                  <none>\n"
        );
    }
}
