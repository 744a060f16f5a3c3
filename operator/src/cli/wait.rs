//! `sparkswarm wait KIND/NAME --for=condition=X[=VALUE] [--timeout 30s]`

use std::process::ExitCode;
use std::time::{Duration, Instant};

use crate::api::condition::Condition;
use crate::api::Kind;

use super::changes::Changes;
use super::target::{not_found, parse_ref, qualified};
use super::{CliError, CliResult, Globals};

#[derive(Debug, clap::Args)]
pub struct WaitArgs {
    /// KIND/NAME (or KIND NAME)
    pub target: String,
    pub name: Option<String>,
    /// condition=TYPE or condition=TYPE=True|False|Unknown, or delete
    #[arg(long = "for")]
    pub for_: String,
    /// How long to wait: 30s, 5m, 1h; 0 checks once.
    #[arg(long, default_value = "30s")]
    pub timeout: String,
}

pub fn parse_duration(s: &str) -> Result<Duration, CliError> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(s.len()));
    let n: f64 = num.parse().map_err(|_| CliError(format!("error: invalid duration {s:?}")))?;
    let secs = match unit {
        "" | "s" => n,
        "ms" => n / 1000.0,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(CliError(format!("error: invalid duration {s:?} (use e.g. 30s, 5m, 1h)"))),
    };
    Ok(Duration::from_secs_f64(secs))
}

enum Want {
    Condition { type_: String, status: String },
    Delete,
}

pub fn run(g: &Globals, args: WaitArgs) -> CliResult {
    let (kind, name) = parse_ref(&args.target, args.name.as_deref())?;
    let timeout = parse_duration(&args.timeout)?;
    let want = if args.for_ == "delete" {
        Want::Delete
    } else if let Some(rest) = args.for_.strip_prefix("condition=") {
        let (t, s) = rest.split_once('=').unwrap_or((rest, "True"));
        Want::Condition { type_: t.to_string(), status: s.to_string() }
    } else {
        return Err(CliError(format!(
            "error: unrecognized condition: {:?} (use --for=condition=TYPE or --for=delete)",
            args.for_
        )));
    };
    let deadline = Instant::now() + timeout;
    let target = format!("{}/{name}", qualified(kind));
    // Watching before the first look: a change between the look and the wait is not missed.
    // A schedule's run is written under the state dir: its directory is watched too.
    let run_dir = super::target::catalog(g)
        .get(kind, &name)
        .and_then(|e| e.path.parent().map(std::path::Path::to_path_buf))
        .filter(|d| d.starts_with(g.state.root()));
    let changes = match &run_dir {
        Some(d) => Changes::watch_all(&[g.manifests.as_path(), d.as_path()]),
        None => Changes::watch(&g.manifests),
    };
    loop {
        let catalog = super::target::catalog(g);
        let entry = catalog.get(kind, &name);
        match (&want, entry) {
            (Want::Delete, None) => {
                println!("{target} condition met");
                return Ok(ExitCode::SUCCESS);
            }
            (Want::Condition { .. }, None) => return Err(not_found(kind, &name)),
            (Want::Condition { type_, status }, Some(e)) => {
                let conds: Vec<Condition> = e
                    .raw
                    .pointer("/status/conditions")
                    .and_then(|c| serde_json::from_value(c.clone()).ok())
                    .unwrap_or_default();
                if conds.iter().any(|c| &c.type_ == type_ && format!("{:?}", c.status).eq_ignore_ascii_case(status)) {
                    println!("{target} condition met");
                    return Ok(ExitCode::SUCCESS);
                }
                // A job that failed will never meet another condition: say so at once.
                let phase = e.raw.pointer("/status/phase").and_then(|p| p.as_str()).unwrap_or_default();
                if kind == Kind::SparkJob
                    && phase == "Failed"
                    && !(type_ == "Succeeded" && status.eq_ignore_ascii_case("False"))
                {
                    let msg = e.raw.pointer("/status/message").and_then(|m| m.as_str()).unwrap_or("no message");
                    return Err(CliError(format!("error: {target} failed: {msg}")));
                }
            }
            (Want::Delete, Some(_)) => {}
        }
        if Instant::now() >= deadline {
            return Err(CliError(format!("error: timed out waiting for the condition on {}/{name}", kind.plural())));
        }
        changes.next(deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(1)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s").ok(), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("5m").ok(), Some(Duration::from_secs(300)));
        assert_eq!(parse_duration("90").ok(), Some(Duration::from_secs(90)));
        assert!(parse_duration("soon").is_err());
    }
}
