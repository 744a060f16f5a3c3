//! `sparkswarm describe KIND NAME`: everything about one object, ending with its events.

use std::process::ExitCode;

use serde_json::Value;

use crate::api::condition::Condition;
use crate::state::events;
use crate::state::generations::Generations;
use crate::state::StateDir;

use super::table::{age, Table};
use super::target::{find, load, parse_ref};
use super::{CliResult, Globals};

#[derive(Debug, clap::Args)]
pub struct DescribeArgs {
    /// KIND NAME or KIND/NAME
    pub kind: String,
    pub name: Option<String>,
}

pub fn run(g: &Globals, args: DescribeArgs) -> CliResult {
    let (kind, name) = parse_ref(&args.kind, args.name.as_deref())?;
    let catalog = load(g)?;
    let e = find(&catalog, kind, &name)?;
    let mut redacted = e.raw.clone();
    crate::api::redact::redact(&mut redacted);
    let r = &redacted;
    let gens = Generations::load(&g.state).ok();
    let rec = gens.as_ref().and_then(|gs| gs.get(&StateDir::object_key(kind, &name)).cloned());

    let mut out = String::new();
    let field = |out: &mut String, k: &str, v: String| {
        out.push_str(&format!("{:<13} {}\n", format!("{k}:"), if v.is_empty() { "<none>".into() } else { v }))
    };
    field(&mut out, "Name", name.clone());
    field(&mut out, "Kind", kind.as_str().into());
    field(&mut out, "API Version", r.get("apiVersion").and_then(|v| v.as_str()).unwrap_or_default().into());
    field(&mut out, "File", format!("{}:{}", e.path.display(), e.line));
    field(&mut out, "Labels", map_lines(r.pointer("/metadata/labels")));
    field(&mut out, "Annotations", map_lines(r.pointer("/metadata/annotations")));
    if let Some(o) = r.pointer("/metadata/ownerReferences/0") {
        let get = |k: &str| o.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
        field(&mut out, "Controlled By", format!("{}/{}", get("kind"), get("name")));
    }
    field(&mut out, "Generation", rec.as_ref().map(|x| x.generation.to_string()).unwrap_or_default());
    field(&mut out, "Age", rec.as_ref().map(|x| age(Some(x.created))).unwrap_or_default());
    out.push_str("Spec:\n");
    out.push_str(&indent_yaml(r.get("spec")));
    if kind == crate::api::Kind::SparkJob {
        let (up, down) = dependencies(&catalog, &name, r);
        field(&mut out, "Upstream", up);
        field(&mut out, "Downstream", down);
    }
    if let Err(errors) = &e.result {
        out.push_str("Validation:\n");
        for err in errors {
            out.push_str(&format!(
                "  {}:{}: {}: {}\n",
                err.path.display(),
                err.line,
                if err.field.is_empty() { "<root>" } else { &err.field },
                err.message
            ));
        }
    }
    let status = r.get("status").cloned().unwrap_or(Value::Null);
    out.push_str("Status:\n");
    let mut shown = status.clone();
    if let Value::Object(m) = &mut shown {
        m.remove("conditions");
    }
    out.push_str(&indent_yaml(Some(&shown)));
    let conditions: Vec<Condition> =
        status.get("conditions").and_then(|c| serde_json::from_value(c.clone()).ok()).unwrap_or_default();
    out.push_str("Conditions:\n");
    if conditions.is_empty() {
        out.push_str("  <none>\n");
    } else {
        let mut t = Table::new(&["Type", "Status", "Reason", "Age", "Message"]);
        for c in &conditions {
            t.row(vec![
                c.type_.clone(),
                format!("{:?}", c.status),
                c.reason.clone(),
                age(Some(c.last_transition_time)),
                c.message.clone(),
            ]);
        }
        out.push_str(&indent(&dashes(&t.render(true))));
    }
    let evs = events::read(&g.state.events_file(kind.as_str(), &name));
    out.push_str("Events:");
    if evs.is_empty() {
        out.push_str("  <none>\n");
    } else {
        out.push('\n');
        let mut t = Table::new(&["Type", "Reason", "Age", "From", "Message"]);
        for ev in &evs {
            let a = if ev.count > 1 {
                format!("{} (x{} over {})", age(Some(ev.last_timestamp)), ev.count, age(Some(ev.first_timestamp)))
            } else {
                age(Some(ev.last_timestamp))
            };
            t.row(vec![ev.type_.as_str().into(), ev.reason.clone(), a, "sparkswarm".into(), ev.message.clone()]);
        }
        out.push_str(&indent(&dashes(&t.render(true))));
    }
    print!("{out}");
    Ok(ExitCode::SUCCESS)
}

/// kubectl underlines describe's table headers with dashes.
fn dashes(table: &str) -> String {
    let mut lines = table.lines();
    let Some(header) = lines.next() else { return String::new() };
    let under: String = header.chars().map(|c| if c.is_whitespace() { ' ' } else { '-' }).collect();
    let mut out = format!("{header}\n{under}\n");
    for l in lines {
        out.push_str(l);
        out.push('\n');
    }
    out
}

fn indent(s: &str) -> String {
    s.lines().map(|l| format!("  {l}\n")).collect()
}

fn indent_yaml(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "  <none>\n".into(),
        Some(Value::Object(m)) if m.is_empty() => "  <none>\n".into(),
        Some(v) => indent(&serde_yaml::to_string(v).unwrap_or_default()),
    }
}

fn map_lines(v: Option<&Value>) -> String {
    match v.and_then(|v| v.as_object()) {
        Some(m) if !m.is_empty() => m
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())))
            .collect::<Vec<_>>()
            .join(&format!("\n{:14}", "")),
        _ => String::new(),
    }
}

/// The jobs this one depends on and the jobs that depend on it, each with its phase.
fn dependencies(catalog: &crate::manifest::catalog::Catalog, name: &str, raw: &Value) -> (String, String) {
    let job_phase = |n: &str| {
        catalog
            .get(crate::api::Kind::SparkJob, n)
            .and_then(|e| e.raw.pointer("/status/phase").and_then(|p| p.as_str()).map(str::to_string))
            .unwrap_or_else(|| "not found".into())
    };
    let up: Vec<String> = raw
        .pointer("/spec/dependsOn")
        .and_then(|v| v.as_array())
        .map(|a| a.iter().filter_map(|v| v.as_str()).map(|n| format!("{n} ({})", job_phase(n))).collect())
        .unwrap_or_default();
    let down: Vec<String> = catalog
        .iter_kind(crate::api::Kind::SparkJob)
        .filter(|e| {
            e.raw
                .pointer("/spec/dependsOn")
                .and_then(|v| v.as_array())
                .is_some_and(|a| a.iter().any(|v| v.as_str() == Some(name)))
        })
        .filter_map(|e| e.name.as_deref().map(|n| format!("{n} ({})", job_phase(n))))
        .collect();
    (up.join(", "), down.join(", "))
}
