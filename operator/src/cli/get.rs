//! `sparkswarm get KIND [NAME] [-o wide|yaml|json|name|jsonpath=|custom-columns=] [-l SELECTOR]
//! [--sort-by EXPR] [-w]`

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Duration;

use serde_json::Value;

use crate::api::Kind;
use crate::manifest::catalog::Entry;
use crate::state::generations::Generations;
use crate::state::StateDir;

use super::changes::Changes;
use super::jsonpath::Template;
use super::output::{sort_by, Columns, Output};
use super::selector::Selector;
use super::table::{age, Table};
use super::target::{find, load, parse_kind, qualified, warn_file_errors};
use super::{CliError, CliResult, Globals};

#[derive(Debug, clap::Args)]
pub struct GetArgs {
    /// sparkclusters (sc), sparkjobs (sj) or sparkschedules (ss)
    pub kind: String,
    pub name: Option<String>,
    /// Output format: wide, yaml, json, name, jsonpath=TEMPLATE or custom-columns=SPEC.
    #[arg(short = 'o', long = "output")]
    pub output: Option<Output>,
    /// Selector (label query) to filter on: `k=v`, `k!=v`, `k in (a,b)`, `k notin (a)`, `k`, `!k`.
    #[arg(short = 'l', long = "selector")]
    pub selector: Option<String>,
    /// Sort the list by the value of this JSONPath expression (e.g. `.status.startTime`).
    #[arg(long = "sort-by")]
    pub sort_by: Option<String>,
    /// Print tables without their header line.
    #[arg(long = "no-headers")]
    pub no_headers: bool,
    /// After listing, watch for changes and print them.
    #[arg(short = 'w', long = "watch")]
    pub watch: bool,
}

pub fn run(g: &Globals, args: GetArgs) -> CliResult {
    let kind = parse_kind(&args.kind)?;
    if args.name.is_some() && args.selector.is_some() {
        return Err(CliError("name cannot be provided when a selector is specified".into()));
    }
    let selector = args.selector.as_deref().map(Selector::parse).transpose()?;
    let catalog = load(g)?;
    warn_file_errors(&catalog);
    let mut entries: Vec<&Entry> = match &args.name {
        Some(n) => vec![find(&catalog, kind, n)?],
        None => catalog.iter_kind(kind).filter(|e| selector.as_ref().is_none_or(|s| s.matches(&labels(e)))).collect(),
    };
    // What every format but the table shows: the object as written, secrets redacted.
    let mut shown: Vec<(Value, usize)> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let mut v = e.raw.clone();
            crate::api::redact::redact(&mut v);
            (v, i)
        })
        .collect();
    if let Some(expr) = &args.sort_by {
        sort_by(&mut shown, expr)?;
        entries = shown.iter().filter_map(|(_, i)| entries.get(*i).copied()).collect();
    }
    let objects: Vec<Value> = shown.into_iter().map(|(v, _)| v).collect();
    // kubectl prints one object as itself, a listing as a `List`.
    let value = || match (&args.name, objects.first()) {
        (Some(_), Some(one)) => one.clone(),
        _ => {
            serde_json::json!({"apiVersion": "v1", "kind": "List", "items": objects, "metadata": {"resourceVersion": ""}})
        }
    };
    let wide = matches!(args.output, Some(Output::Wide));
    match &args.output {
        Some(Output::Json) => print!("{}", serde_json::to_string_pretty(&value())? + "\n"),
        Some(Output::Yaml) => print!("{}", crate::manifest::render::document(&value())?),
        Some(Output::JsonPath(template)) => print!("{}", Template::parse(template)?.render(&value())),
        Some(Output::CustomColumns(spec)) => {
            let table = Columns::parse(spec)?.table(&objects);
            print_table(&table, args.no_headers);
        }
        Some(Output::Name) => {
            for e in &entries {
                if let Some(n) = &e.name {
                    println!("{}/{n}", qualified(kind));
                }
            }
        }
        Some(Output::Wide) | None => {
            let gens = Generations::load(&g.state).ok();
            print_table(&render(kind, &entries, wide, gens.as_ref()), args.no_headers);
        }
    }
    if args.watch {
        watch(g, kind, args.name.as_deref(), wide)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn print_table(table: &Table, no_headers: bool) {
    if table.is_empty() {
        eprintln!("No resources found.");
    } else {
        print!("{}", table.render(!no_headers));
    }
}

/// `metadata.labels` as written; a document whose labels are not strings has none to match.
fn labels(e: &Entry) -> BTreeMap<String, String> {
    e.raw
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .map(|m| m.iter().filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string()))).collect())
        .unwrap_or_default()
}

/// Prints a row again whenever what it shows changes, like `kubectl get -w`. The first
/// listing was printed by the caller; rows keep its column widths.
fn watch(g: &Globals, kind: Kind, name: Option<&str>, wide: bool) -> CliResult {
    let mut last: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut widths: Vec<usize> = Vec::new();
    let mut first = true;
    let changes = Changes::watch(&g.manifests);
    loop {
        let catalog = super::target::catalog(g);
        let gens = Generations::load(&g.state).ok();
        let entries: Vec<&Entry> =
            catalog.iter_kind(kind).filter(|e| name.is_none() || e.name.as_deref() == name).collect();
        if first {
            widths = render(kind, &entries, wide, gens.as_ref()).widths();
        }
        for e in &entries {
            let row = row(kind, e, wide, gens.as_ref());
            let key = e.name.clone().unwrap_or_default();
            if last.get(&key) != Some(&row) {
                if !first {
                    println!("{}", Table::render_line(&row, &widths));
                }
                last.insert(key, row);
            }
        }
        first = false;
        changes.next(Duration::MAX);
    }
}

pub fn render(kind: Kind, entries: &[&Entry], wide: bool, gens: Option<&Generations>) -> Table {
    let mut t = Table::new(&headers(kind, wide));
    for e in entries {
        t.row(row(kind, e, wide, gens));
    }
    t
}

fn headers(kind: Kind, wide: bool) -> Vec<&'static str> {
    match (kind, wide) {
        (Kind::SparkCluster, false) => vec!["NAME", "PROVIDER", "PHASE", "WORKERS", "AGE"],
        (Kind::SparkCluster, true) => {
            vec!["NAME", "PROVIDER", "PHASE", "WORKERS", "AGE", "NODES", "MASTER", "WEB-UI", "SPARK"]
        }
        (Kind::SparkJob, false) => vec!["NAME", "CLUSTER", "PHASE", "ATTEMPTS", "AGE", "OWNER"],
        (Kind::SparkJob, true) => {
            vec![
                "NAME",
                "CLUSTER",
                "PHASE",
                "ATTEMPTS",
                "AGE",
                "DURATION",
                "APPLICATION",
                "RESULTS",
                "GATES",
                "OUTPUTS",
                "OWNER",
            ]
        }
        (Kind::SparkSchedule, false) => vec!["NAME", "SCHEDULE", "SUSPEND", "ACTIVE", "LAST-SCHEDULE", "NEXT", "AGE"],
        (Kind::SparkSchedule, true) => vec![
            "NAME",
            "SCHEDULE",
            "SUSPEND",
            "ACTIVE",
            "LAST-SCHEDULE",
            "NEXT",
            "AGE",
            "TIMEZONE",
            "POLICY",
            "MISSED",
            "LAST-RUN",
        ],
    }
}

fn s(v: &Value, pointer: &str) -> String {
    match v.pointer(pointer) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

fn phase(e: &Entry) -> String {
    match &e.result {
        Err(errs) if errs.iter().any(|x| x.reason == "DuplicateName") => "Duplicate".into(),
        Err(_) if e.raw.pointer("/status/phase").is_none() => "Invalid".into(),
        _ => {
            let p = s(&e.raw, "/status/phase");
            if p.is_empty() {
                "Pending".into()
            } else {
                p
            }
        }
    }
}

fn row(kind: Kind, e: &Entry, wide: bool, gens: Option<&Generations>) -> Vec<String> {
    let name = e.name.clone().unwrap_or_default();
    let created = gens.and_then(|g| g.get(&StateDir::object_key(kind, &name))).map(|r| r.created);
    let r = &e.raw;
    match kind {
        Kind::SparkCluster => {
            let provider = r
                .pointer("/spec/provider")
                .and_then(|p| p.as_object())
                .and_then(|m| m.keys().next().cloned())
                .unwrap_or_else(|| "local".into());
            let workers = match (r.pointer("/status/workers/ready"), r.pointer("/spec/workers/replicas")) {
                (Some(ready), Some(want)) => format!("{ready}/{want}"),
                (Some(ready), None) => format!("{ready}/2"),
                (None, Some(want)) => format!("0/{want}"),
                (None, None) => "0/2".into(),
            };
            let mut cells = vec![name, provider, phase(e), workers, age(created)];
            if wide {
                cells.extend([
                    nodes(r),
                    s(r, "/status/masterUrl"),
                    s(r, "/status/webUiUrl"),
                    s(r, "/status/sparkVersion"),
                ]);
            }
            cells
        }
        Kind::SparkJob => {
            let attempts = r.pointer("/status/attempts").map(|v| v.to_string()).unwrap_or_else(|| "0".into());
            let mut cells = vec![name, s(r, "/spec/clusterRef"), phase(e), attempts, age(created)];
            if wide {
                cells.extend([
                    duration(r),
                    s(r, "/status/sparkApplicationId"),
                    results(r),
                    gates(e),
                    s(r, "/status/outputsDir"),
                ]);
            }
            cells.push(owner(r));
            cells
        }
        Kind::SparkSchedule => {
            let suspend = r.pointer("/spec/suspend").and_then(Value::as_bool).unwrap_or(false);
            let active = r.pointer("/status/active").and_then(Value::as_array).map_or(0, Vec::len);
            let ago = |p: &str| {
                let t = r.pointer(p).and_then(Value::as_str).and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
                t.map(|t| age(Some(t.with_timezone(&chrono::Utc)))).unwrap_or_else(|| "<none>".into())
            };
            let next = r
                .pointer("/status/nextScheduleTime")
                .and_then(Value::as_str)
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .map(|t| format!("in {}", super::table::human_duration(t - chrono::Utc::now().fixed_offset())))
                .unwrap_or_else(|| "<none>".into());
            let mut cells = vec![
                name,
                s(r, "/spec/schedule"),
                suspend.to_string(),
                active.to_string(),
                ago("/status/lastScheduleTime"),
                next,
                age(created),
            ];
            if wide {
                let zone = s(r, "/spec/timeZone");
                let policy = s(r, "/spec/concurrencyPolicy");
                let last = r
                    .pointer("/status/lastRuns/0")
                    .map(|l| format!("{} ({})", s(l, "/name"), s(l, "/phase")))
                    .unwrap_or_default();
                cells.extend([
                    if zone.is_empty() { "UTC".into() } else { zone },
                    if policy.is_empty() { "Allow".into() } else { policy },
                    r.pointer("/status/missedRuns").map(|v| v.to_string()).unwrap_or_else(|| "0".into()),
                    last,
                ]);
            }
            cells
        }
    }
}

/// The schedule a job is a run of.
fn owner(r: &Value) -> String {
    r.pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .map(|o| format!("{}/{}", s(o, "/kind").to_ascii_lowercase(), s(o, "/name")))
        .unwrap_or_default()
}

/// Ready nodes over listed ones, for clusters that list nodes (digitalocean).
fn nodes(r: &Value) -> String {
    match r.pointer("/status/nodes").and_then(|v| v.as_array()) {
        Some(list) if !list.is_empty() => {
            let ready = list.iter().filter(|n| n.get("state").and_then(|s| s.as_str()) == Some("ready")).count();
            format!("{ready}/{}", list.len())
        }
        _ => String::new(),
    }
}

fn duration(r: &Value) -> String {
    let parse =
        |p: &str| r.pointer(p).and_then(|v| v.as_str()).and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
    match (parse("/status/startTime"), parse("/status/completionTime")) {
        (Some(a), Some(b)) => super::table::human_duration(b - a),
        (Some(a), None) => super::table::human_duration(chrono::Utc::now().fixed_offset() - a),
        _ => String::new(),
    }
}

/// The results cell is capped so a job with many metrics does not push the table off the
/// screen; `-o yaml` and `describe` show them all.
const RESULTS_WIDTH: usize = 60;

pub fn results_text(r: &Value) -> String {
    match r.pointer("/status/results").and_then(|v| v.as_object()) {
        Some(m) if !m.is_empty() => m
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => format!("{k}={s}"),
                other => format!("{k}={other}"),
            })
            .collect::<Vec<_>>()
            .join(","),
        _ => String::new(),
    }
}

fn results(r: &Value) -> String {
    let full = results_text(r);
    if full.chars().count() <= RESULTS_WIDTH {
        return full;
    }
    let mut cut: String = full.chars().take(RESULTS_WIDTH - 1).collect();
    if let Some(i) = cut.rfind(',') {
        cut.truncate(i + 1);
    }
    cut.push('…');
    cut
}

/// `met/total` of the job's successCriteria against its results.
fn gates(e: &Entry) -> String {
    let Ok(crate::manifest::validate::Resource::Job(job)) = &e.result else { return String::new() };
    let results = job.status.as_ref().map(|s| s.results.clone()).unwrap_or_default();
    crate::reconcile::job::criteria::summary(&job.spec.success_criteria, &results).unwrap_or_default()
}
