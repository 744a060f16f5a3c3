//! Validation of a document against the resource API: apiVersion and kind, inline secrets,
//! the JSON Schema of the kind (every error, each with its line), then the typed value.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::{ValidationError, Validator};
use serde::Serialize;
use serde_json::{Map, Value};

use super::document::Document;
use crate::api::{
    Kind, SparkCluster, SparkClusterStatus, SparkJob, SparkJobStatus, SparkSchedule, SparkScheduleStatus, API_VERSION,
};

/// Everything under here may hold credentials: errors say what is wrong, never the value.
const SECRET_SUBTREE: &str = "/spec/provider/digitalocean";
const INLINE_TOKEN: &str = "inline tokens are rejected: use tokenFrom: {env: NAME} or {file: PATH}";

#[derive(Debug, Clone, PartialEq)]
pub enum Resource {
    // Boxed: both are large, and of very different sizes.
    Cluster(Box<SparkCluster>),
    Job(Box<SparkJob>),
    Schedule(Box<SparkSchedule>),
}

impl Resource {
    pub fn kind(&self) -> Kind {
        match self {
            Resource::Cluster(_) => Kind::SparkCluster,
            Resource::Job(_) => Kind::SparkJob,
            Resource::Schedule(_) => Kind::SparkSchedule,
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Resource::Cluster(c) => &c.metadata.name,
            Resource::Job(j) => &j.metadata.name,
            Resource::Schedule(s) => &s.metadata.name,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldError {
    pub path: PathBuf,
    pub line: usize,
    /// Dotted (`spec.workers.replicas`); empty for the document itself.
    pub field: String,
    pub message: String,
    /// CamelCase: InvalidField, UnknownField, MissingField, UnknownKind, InvalidApiVersion,
    /// InlineSecret, InvalidDocument, DuplicateName, ...
    pub reason: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            write!(f, "{}:{}: {}", self.path.display(), self.line, self.message)
        } else {
            write!(f, "{}:{}: {}: {}", self.path.display(), self.line, self.field, self.message)
        }
    }
}

impl std::error::Error for FieldError {}

/// The JSON Schema of a kind, as committed in `schemas/`.
pub fn schema_for(kind: Kind) -> Value {
    match kind {
        Kind::SparkCluster => schemars::schema_for!(SparkCluster).to_value(),
        Kind::SparkJob => schemars::schema_for!(SparkJob).to_value(),
        Kind::SparkSchedule => schemars::schema_for!(SparkSchedule).to_value(),
    }
}

/// The file name of a kind's schema in `schemas/`.
pub fn schema_file_name(kind: Kind) -> String {
    format!("{}.json", kind.singular())
}

struct Compiled {
    schema: Value,
    validator: Result<Validator, String>,
}

fn compile(kind: Kind) -> Compiled {
    let mut schema = schema_for(kind);
    bound_integers(&mut schema);
    let validator = jsonschema::validator_for(&schema).map_err(|e| e.to_string());
    Compiled { schema, validator }
}

/// The range of an integer `format` as schemars writes it for Rust's integer types.
fn format_range(format: &str) -> Option<(i128, i128)> {
    Some(match format {
        "uint8" => (0, u8::MAX.into()),
        "uint16" => (0, u16::MAX.into()),
        "uint32" => (0, u32::MAX.into()),
        "uint64" | "uint" => (0, u64::MAX.into()),
        "int8" => (i8::MIN.into(), i8::MAX.into()),
        "int16" => (i16::MIN.into(), i16::MAX.into()),
        "int32" => (i32::MIN.into(), i32::MAX.into()),
        "int64" | "int" => (i64::MIN.into(), i64::MAX.into()),
        _ => return None,
    })
}

/// Gives every integer of a sized type its bounds in the schema that validates (the
/// committed schemas stay as schemars writes them): `instances: 5000000000` for a `u32` is
/// then an error with its line, not a serde failure without one.
fn bound_integers(v: &mut Value) {
    match v {
        Value::Object(m) => {
            if let Some((lo, hi)) = m.get("format").and_then(Value::as_str).and_then(format_range) {
                if !m.contains_key("minimum") {
                    m.insert("minimum".into(), Value::from(lo as i64));
                }
                if !m.contains_key("maximum") {
                    let hi = u64::try_from(hi).map(Value::from).unwrap_or_else(|_| Value::from(hi as i64));
                    m.insert("maximum".into(), hi);
                }
            }
            m.values_mut().for_each(bound_integers);
        }
        Value::Array(items) => items.iter_mut().for_each(bound_integers),
        _ => {}
    }
}

/// `0..=4294967295`, from the bounds of the schema node at `schema_path` (which ends in
/// the keyword that failed).
fn range_text(schema: &Value, schema_path: &str) -> Option<String> {
    let node = schema.pointer(schema_path.rsplit_once('/').map_or("", |(parent, _)| parent))?;
    let (lo, hi) = (node.get("minimum")?, node.get("maximum")?);
    Some(format!("{lo}..={hi}"))
}

fn has_format(schema: &Value, schema_path: &str) -> bool {
    let parent = schema_path.rsplit_once('/').map_or("", |(parent, _)| parent);
    schema.pointer(parent).and_then(|n| n.get("format")).and_then(Value::as_str).and_then(format_range).is_some()
}

static CLUSTER: LazyLock<Compiled> = LazyLock::new(|| compile(Kind::SparkCluster));
static JOB: LazyLock<Compiled> = LazyLock::new(|| compile(Kind::SparkJob));
static SCHEDULE: LazyLock<Compiled> = LazyLock::new(|| compile(Kind::SparkSchedule));

fn compiled(kind: Kind) -> &'static Compiled {
    match kind {
        Kind::SparkCluster => &CLUSTER,
        Kind::SparkJob => &JOB,
        Kind::SparkSchedule => &SCHEDULE,
    }
}

/// Collects errors for one document, resolving lines through the document's positions.
struct Report<'a> {
    path: &'a Path,
    doc: &'a Document,
    errors: Vec<FieldError>,
}

impl Report<'_> {
    fn push(&mut self, pointer: &str, reason: &str, message: impl Into<String>) {
        self.errors.push(FieldError {
            path: self.path.to_path_buf(),
            line: self.doc.line_of(pointer),
            field: dotted(pointer),
            message: message.into(),
            reason: reason.to_string(),
        });
    }

    fn finish(mut self) -> Vec<FieldError> {
        self.errors.sort_by(|a, b| (a.line, &a.field, &a.message).cmp(&(b.line, &b.field, &b.message)));
        self.errors.dedup();
        self.errors
    }
}

fn dotted(pointer: &str) -> String {
    pointer.split('/').skip(1).map(|s| s.replace("~1", "/").replace("~0", "~")).collect::<Vec<_>>().join(".")
}

fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

fn is_secret(pointer: &str) -> bool {
    pointer == SECRET_SUBTREE || pointer.starts_with(&format!("{SECRET_SUBTREE}/"))
}

/// `got string "two"`, or without the value where it may be a secret.
fn describe(v: &Value, secret: bool) -> String {
    let ty = type_name(v);
    if secret {
        return ty.to_string();
    }
    match v {
        Value::Null => "null".to_string(),
        Value::Object(_) | Value::Array(_) => ty.to_string(),
        Value::String(s) => {
            let short: String = s.chars().take(60).collect();
            let ell = if short.len() < s.len() { "…" } else { "" };
            format!("string {}{ell}", Value::String(short))
        }
        other => format!("{ty} {other}"),
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// Validates a document as a resource. Its `status` is ignored for validity (it is
/// operator-owned) and kept in the typed value only if it fits the status type.
pub fn validate(path: &Path, doc: &Document) -> Result<Resource, Vec<FieldError>> {
    let mut report = Report { path, doc, errors: Vec::new() };
    let Value::Object(root) = &doc.value else {
        report.push(
            "",
            "InvalidDocument",
            format!(
                "a resource must be a mapping with apiVersion, kind, metadata and spec; got {}",
                describe(&doc.value, false)
            ),
        );
        return Err(report.finish());
    };
    let mut instance = root.clone();
    let status = instance.remove("status");

    let kind = check_kind(&instance, &mut report);
    let api_version_ok = check_api_version(&instance, &mut report);
    let Some(kind) = kind else { return Err(report.finish()) };

    let mut skip = check_inline_secrets(&instance, &mut report);
    if !api_version_ok {
        skip.insert("/apiVersion".to_string());
    }

    let compiled = compiled(kind);
    let instance = Value::Object(instance);
    match &compiled.validator {
        Err(e) => report.push("", "InternalError", format!("the {kind} schema does not compile: {e}")),
        Ok(validator) => {
            for e in validator.iter_errors(&instance) {
                map_error(&e, &compiled.schema, &instance, &skip, &mut report);
            }
        }
    }
    if !report.errors.is_empty() {
        return Err(report.finish());
    }

    let typed = match kind {
        Kind::SparkCluster => serde_json::from_value::<SparkCluster>(instance).map(|mut c| {
            c.status = status.and_then(|s| serde_json::from_value::<SparkClusterStatus>(s).ok());
            Resource::Cluster(Box::new(c))
        }),
        Kind::SparkJob => serde_json::from_value::<SparkJob>(instance).map(|mut j| {
            j.status = status.and_then(|s| serde_json::from_value::<SparkJobStatus>(s).ok());
            Resource::Job(Box::new(j))
        }),
        Kind::SparkSchedule => serde_json::from_value::<SparkSchedule>(instance).map(|mut sc| {
            sc.status = status.and_then(|s| serde_json::from_value::<SparkScheduleStatus>(s).ok());
            Resource::Schedule(Box::new(sc))
        }),
    };
    if let Ok(Resource::Schedule(sc)) = &typed {
        check_schedule(sc, &mut report);
        if !report.errors.is_empty() {
            return Err(report.finish());
        }
    }
    typed.map_err(|e| {
        // Only reached when the schema and serde disagree. serde's message may quote a
        // value, which must not happen when the document holds a provider's credentials.
        let message = if has_secret_subtree(&doc.value) {
            format!("the document does not fit the {kind} type (details withheld: the digitalocean provider may hold secrets)")
        } else {
            format!("the document does not fit the {kind} type: {e}")
        };
        report.push("", "InvalidField", message);
        report.finish()
    })
}

/// What the schema cannot say about a schedule: its name fits in its runs' names, and its
/// schedule and time zone parse.
fn check_schedule(sc: &SparkSchedule, report: &mut Report<'_>) {
    use crate::api::schedule::MAX_SCHEDULE_NAME_LEN;
    use crate::api::schedule_expr::{ExprError, ScheduleExpr};
    if sc.metadata.name.len() > MAX_SCHEDULE_NAME_LEN {
        report.push(
            "/metadata/name",
            "InvalidField",
            format!(
                "a SparkSchedule name is at most {MAX_SCHEDULE_NAME_LEN} characters, so that its runs' names stay DNS-1123 labels; got {}",
                sc.metadata.name.len()
            ),
        );
    }
    match ScheduleExpr::parse(&sc.spec.schedule, &sc.spec.time_zone) {
        Ok(_) => {}
        Err(e @ ExprError::Schedule { .. }) => report.push("/spec/schedule", "InvalidSchedule", e.to_string()),
        Err(e @ ExprError::TimeZone(_)) => report.push("/spec/timeZone", "InvalidTimeZone", e.to_string()),
    }
}

fn has_secret_subtree(v: &Value) -> bool {
    v.pointer(SECRET_SUBTREE).is_some()
}

fn check_kind(instance: &Map<String, Value>, report: &mut Report<'_>) -> Option<Kind> {
    let known = Kind::ALL.map(Kind::as_str).join(", ");
    match instance.get("kind") {
        None => {
            report.push("/kind", "MissingField", format!("missing required field `kind`; known kinds: {known}"));
            None
        }
        Some(Value::String(s)) => {
            let kind = Kind::from_kind_field(s);
            if kind.is_none() {
                report.push(
                    "/kind",
                    "UnknownKind",
                    format!("unknown kind {}; known kinds: {known}", Value::String(s.clone())),
                );
            }
            kind
        }
        Some(other) => {
            report.push(
                "/kind",
                "UnknownKind",
                format!("kind must be a string, got {}; known kinds: {known}", describe(other, false)),
            );
            None
        }
    }
}

fn check_api_version(instance: &Map<String, Value>, report: &mut Report<'_>) -> bool {
    match instance.get("apiVersion") {
        Some(Value::String(s)) if s == API_VERSION => true,
        None => {
            report.push(
                "/apiVersion",
                "MissingField",
                format!("missing required field `apiVersion`; expected {API_VERSION}"),
            );
            false
        }
        Some(other) => {
            report.push(
                "/apiVersion",
                "InvalidApiVersion",
                format!("unsupported apiVersion: got {}; expected {API_VERSION}", describe(other, false)),
            );
            false
        }
    }
}

/// Reports tokens written into the manifest and returns the pointers whose schema errors
/// must not be reported again (with less helpful words).
fn check_inline_secrets(instance: &Map<String, Value>, report: &mut Report<'_>) -> BTreeSet<String> {
    let mut skip = BTreeSet::new();
    let Some(Value::Object(dobj)) =
        instance.get("spec").and_then(|s| s.get("provider")).and_then(|p| p.get("digitalocean"))
    else {
        return skip;
    };
    for key in dobj.keys() {
        let lower = key.to_ascii_lowercase();
        if key != "tokenFrom" && (lower.contains("token") || lower.contains("secret") || lower == "password") {
            let pointer = format!("{SECRET_SUBTREE}/{}", escape(key));
            report.push(&pointer, "InlineSecret", INLINE_TOKEN);
            skip.insert(pointer);
        }
    }
    let pointer = format!("{SECRET_SUBTREE}/tokenFrom");
    match dobj.get("tokenFrom") {
        None => {}
        Some(Value::Object(r)) => {
            let inline = r.keys().any(|k| k != "env" && k != "file")
                || matches!(r.get("env"), Some(Value::String(e)) if looks_like_token(e))
                || matches!(r.get("file"), Some(Value::String(f)) if looks_like_token(f));
            if inline {
                report.push(&pointer, "InlineSecret", INLINE_TOKEN);
                skip.insert(pointer);
            }
        }
        Some(_) => {
            report.push(&pointer, "InlineSecret", INLINE_TOKEN);
            skip.insert(pointer);
        }
    }
    skip
}

use crate::api::redact::looks_like_token;

fn is_under(pointer: &str, skip: &BTreeSet<String>) -> bool {
    skip.iter().any(|s| pointer == s || pointer.starts_with(&format!("{s}/")))
}

fn map_error(
    e: &ValidationError<'_>,
    schema: &Value,
    instance: &Value,
    skip: &BTreeSet<String>,
    report: &mut Report<'_>,
) {
    let pointer = e.instance_path().as_str().to_string();
    if is_under(&pointer, skip) {
        // An unknown key reported on the object itself may be a skipped (secret) key.
        if !matches!(e.kind(), ValidationErrorKind::AdditionalProperties { .. }) || skip.contains(&pointer) {
            return;
        }
    }
    let secret = is_secret(&pointer);
    let value = instance.pointer(&pointer).unwrap_or(&Value::Null);
    let schema_path = e.schema_path().as_str();
    let got = describe(value, secret);
    match e.kind() {
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            let parent = schema_path.strip_suffix("/additionalProperties").unwrap_or(schema_path);
            let expected = property_names(schema.pointer(parent));
            for key in unexpected {
                let child = format!("{pointer}/{}", escape(key));
                if is_under(&child, skip) {
                    continue;
                }
                report.push(&child, "UnknownField", unknown_field_message(key, &expected));
            }
        }
        // What `additionalProperties: false` yields for a mapping that takes no fields at all;
        // the error is on the mapping and does not say which key.
        ValidationErrorKind::FalseSchema if schema_path.ends_with("/additionalProperties") => {
            let parent = schema_path.strip_suffix("/additionalProperties").unwrap_or(schema_path);
            let expected = property_names(schema.pointer(parent));
            for key in value.as_object().into_iter().flat_map(|m| m.keys()).filter(|k| !expected.contains(k)) {
                let child = format!("{pointer}/{}", escape(key));
                if !is_under(&child, skip) {
                    report.push(&child, "UnknownField", unknown_field_message(key, &expected));
                }
            }
        }
        ValidationErrorKind::Required { property } => {
            let name = property.as_str().map_or_else(|| property.to_string(), str::to_string);
            let child = format!("{pointer}/{}", escape(&name));
            report.push(&child, "MissingField", format!("missing required field `{name}`"));
        }
        ValidationErrorKind::Type { kind } => match report.doc.big_integer(&pointer).map(str::to_string) {
            Some(written) if expected_types(kind).contains("integer") || expected_types(kind).contains("number") => {
                let range = range_text(schema, schema_path).unwrap_or_else(|| format!("{}..={}", i64::MIN, u64::MAX));
                report.push(&pointer, "InvalidField", format!("{written} is out of range ({range})"));
            }
            _ => {
                let expected = expected_types(kind);
                report.push(&pointer, "InvalidField", format!("expected {expected}, got {got}"));
            }
        },
        ValidationErrorKind::Enum { options } => {
            let options =
                options.as_array().map(|o| o.iter().map(plain).collect::<Vec<_>>().join(", ")).unwrap_or_default();
            report.push(&pointer, "InvalidField", format!("must be one of: {options}; got {got}"));
        }
        ValidationErrorKind::Constant { expected_value } => {
            report.push(&pointer, "InvalidField", format!("must be {}; got {got}", plain(expected_value)));
        }
        ValidationErrorKind::Pattern { pattern } => {
            report.push(&pointer, "InvalidField", pattern_message(schema_path, pattern, &got));
        }
        ValidationErrorKind::Minimum { limit } | ValidationErrorKind::ExclusiveMinimum { limit } => {
            report.push(&pointer, "InvalidField", format!("must be at least {limit}; got {got}"));
        }
        // The bound of the type, not of the field's meaning, reads as the type's range.
        ValidationErrorKind::Maximum { .. } if has_format(schema, schema_path) => {
            let range = range_text(schema, schema_path).unwrap_or_default();
            report.push(&pointer, "InvalidField", format!("{value} is out of range ({range})"));
        }
        ValidationErrorKind::Maximum { limit } | ValidationErrorKind::ExclusiveMaximum { limit } => {
            report.push(&pointer, "InvalidField", format!("must be at most {limit}; got {got}"));
        }
        ValidationErrorKind::MinLength { limit } => {
            let what = if *limit == 1 {
                "must not be empty".to_string()
            } else {
                format!("must be at least {limit} characters long")
            };
            report.push(&pointer, "InvalidField", what);
        }
        ValidationErrorKind::MaxLength { limit } => {
            report.push(&pointer, "InvalidField", format!("must be at most {limit} characters long"));
        }
        ValidationErrorKind::OneOfNotValid { context } | ValidationErrorKind::AnyOf { context } => {
            map_alternatives(&pointer, schema_path, context, schema, instance, skip, report);
        }
        _ => {
            let message = if secret { e.masked().to_string() } else { e.to_string() };
            report.push(&pointer, "InvalidField", message);
        }
    }
}

/// Errors of a `oneOf`/`anyOf`: the types generated for Rust enums. Say which alternative
/// the user meant when it can be told, and what is wrong with it.
fn map_alternatives(
    pointer: &str,
    schema_path: &str,
    context: &[Vec<ValidationError<'static>>],
    schema: &Value,
    instance: &Value,
    skip: &BTreeSet<String>,
    report: &mut Report<'_>,
) {
    let value = instance.pointer(pointer).unwrap_or(&Value::Null);
    let got = describe(value, is_secret(pointer));
    let branches: Vec<&Value> = schema
        .pointer(schema_path)
        .and_then(Value::as_array)
        .map(|a| a.iter().map(|b| resolve_ref(schema, b)).collect())
        .unwrap_or_default();

    // A unit-variant enum (`Delete` | `Retain`).
    let consts: Vec<String> = branches.iter().filter_map(|b| b.get("const")).map(plain).collect();
    if !branches.is_empty() && consts.len() == branches.len() {
        report.push(pointer, "InvalidField", format!("must be one of: {}; got {got}", consts.join(", ")));
        return;
    }

    // An externally tagged enum (`provider: {local: {}}`, `tokenFrom: {env: NAME}`).
    let tags: Vec<String> = branches.iter().filter_map(|b| single_required(b)).collect();
    if !branches.is_empty() && tags.len() == branches.len() {
        let list = tags.join(", ");
        let Value::Object(obj) = value else {
            report.push(pointer, "InvalidField", format!("expected a mapping with one of: {list}; got {got}"));
            return;
        };
        let unknown: Vec<&String> = obj.keys().filter(|k| !tags.contains(k)).collect();
        let given: Vec<&String> = obj.keys().filter(|k| tags.contains(k)).collect();
        for key in &unknown {
            report.push(&format!("{pointer}/{}", escape(key)), "UnknownField", unknown_field_message(key, &tags));
        }
        match given.as_slice() {
            [] if unknown.is_empty() => report.push(pointer, "MissingField", format!("one of {list} is required")),
            [] => {}
            [one] => {
                if let Some(errors) = tags.iter().position(|t| t == *one).and_then(|i| context.get(i)) {
                    for e in errors {
                        let own = e.instance_path().as_str() == pointer;
                        // The branch's complaint about the other keys is already reported.
                        if own && matches!(e.kind(), ValidationErrorKind::AdditionalProperties { .. }) {
                            continue;
                        }
                        map_error(e, schema, instance, skip, report);
                    }
                }
            }
            many => {
                let many: Vec<&str> = many.iter().map(|s| s.as_str()).collect();
                report.push(
                    pointer,
                    "InvalidField",
                    format!("exactly one of {list} may be given; got {}", many.join(", ")),
                );
            }
        }
        return;
    }

    // An untagged enum: the alternatives whose type fits the value are the ones meant.
    let fitting: Vec<&Vec<ValidationError<'static>>> = context
        .iter()
        .filter(|errors| {
            !errors
                .iter()
                .any(|e| e.instance_path().as_str() == pointer && matches!(e.kind(), ValidationErrorKind::Type { .. }))
        })
        .collect();
    if let Some(best) = fitting.iter().min_by_key(|errors| errors.len()) {
        if !best.is_empty() {
            for e in best.iter() {
                map_error(e, schema, instance, skip, report);
            }
            return;
        }
    }
    let types: Vec<String> = branches.iter().filter_map(|b| branch_type(schema, b)).collect();
    let expected = if types.is_empty() { "a different value".to_string() } else { or_list(&types) };
    report.push(pointer, "InvalidField", format!("expected {expected}, got {got}"));
}

fn resolve_ref<'s>(root: &'s Value, node: &'s Value) -> &'s Value {
    let mut node = node;
    for _ in 0..8 {
        match node.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix('#')) {
            Some(target) => match root.pointer(target) {
                Some(next) => node = next,
                None => break,
            },
            None => break,
        }
    }
    node
}

fn single_required(branch: &Value) -> Option<String> {
    match branch.get("required")?.as_array()?.as_slice() {
        [Value::String(tag)] if branch.get("properties")?.as_object()?.len() == 1 => Some(tag.clone()),
        _ => None,
    }
}

fn branch_type(root: &Value, branch: &Value) -> Option<String> {
    let branch = resolve_ref(root, branch);
    match branch.get("type")? {
        Value::String(t) => Some(type_word(t).to_string()),
        Value::Array(ts) => {
            let words: Vec<String> = ts
                .iter()
                .filter_map(Value::as_str)
                .filter(|t| *t != "null")
                .map(|t| type_word(t).to_string())
                .collect();
            Some(or_list(&words))
        }
        _ => None,
    }
}

fn type_word(t: &str) -> &str {
    match t {
        "object" => "a mapping",
        "array" => "a list",
        other => other,
    }
}

fn or_list(words: &[String]) -> String {
    match words {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

fn expected_types(kind: &TypeKind) -> String {
    let words: Vec<String> = match kind {
        TypeKind::Single(t) => vec![type_word(t.as_str()).to_string()],
        TypeKind::Multiple(set) => {
            let all: Vec<String> = set.iter().map(|t| type_word(t.as_str()).to_string()).collect();
            // `["integer", "null"]` is how an optional field is written; null is not the point.
            let non_null: Vec<String> = all.iter().filter(|t| *t != "null").cloned().collect();
            if non_null.is_empty() {
                all
            } else {
                non_null
            }
        }
    };
    or_list(&words)
}

fn plain(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_string)
}

fn property_names(schema: Option<&Value>) -> Vec<String> {
    schema
        .and_then(|s| s.get("properties"))
        .and_then(Value::as_object)
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default()
}

fn unknown_field_message(key: &str, expected: &[String]) -> String {
    if expected.is_empty() {
        return format!("unknown field `{key}`; this mapping takes no fields");
    }
    let suggestion = expected
        .iter()
        .map(|e| (edit_distance(&key.to_ascii_lowercase(), &e.to_ascii_lowercase()), e))
        .filter(|(d, e)| *d <= 2.max(e.len() / 4))
        .min()
        .map(|(_, e)| format!(" (did you mean `{e}`?)"))
        .unwrap_or_default();
    format!("unknown field `{key}`{suggestion}; expected one of: {}", expected.join(", "))
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

fn pattern_message(schema_path: &str, pattern: &str, got: &str) -> String {
    if schema_path.contains("/Memory/") {
        format!("invalid memory size: got {got}; expected a number with an optional unit k, m, g or t (512m, 2g)")
    } else if pattern == "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$" {
        format!("must be a DNS-1123 label (lower-case letters, digits and '-', starting and ending with a letter or digit); got {got}")
    } else {
        format!("must match {pattern}; got {got}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::document::parse;
    use serde_json::json;

    const CLUSTER_OK: &str = "\
apiVersion: sparkswarm.io/v1alpha1
kind: SparkCluster
metadata:
  name: demo
spec:
  workers: {replicas: 2, cores: 1, memory: 1g}
";

    const JOB_OK: &str = "\
apiVersion: sparkswarm.io/v1alpha1
kind: SparkJob
metadata:
  name: linear-regression
  annotations: {sparkswarm.io/rerun: \"1\"}
spec:
  clusterRef: demo
  mainApplicationFile: ../apps/linear_regression/main.py
  files:
    - ../apps/linear_regression/data/boston.csv
    - {src: ../data/sample.txt, dst: data/mllib/sample.txt}
  sparkConf: {spark.sql.shuffle.partitions: 10, spark.x: \"y\"}
  restartPolicy: {type: OnFailure, maxRetries: 2}
";

    fn check(text: &str) -> Result<Resource, Vec<FieldError>> {
        let f = parse(Path::new("m.yaml"), text).expect("parses");
        validate(Path::new("m.yaml"), &f.docs[0])
    }

    fn errors(text: &str) -> Vec<FieldError> {
        match check(text) {
            Ok(r) => panic!("accepted: {r:?}"),
            Err(e) => e,
        }
    }

    fn one(text: &str) -> FieldError {
        let mut e = errors(text);
        assert_eq!(e.len(), 1, "{e:#?}");
        e.remove(0)
    }

    #[test]
    fn valid_resources_come_out_typed() {
        match check(CLUSTER_OK) {
            Ok(Resource::Cluster(c)) => {
                assert_eq!(c.metadata.name, "demo");
                assert_eq!(c.spec.workers.replicas, 2);
            }
            other => panic!("{other:?}"),
        }
        let job = check(JOB_OK).expect("valid");
        assert_eq!((job.kind(), job.name()), (Kind::SparkJob, "linear-regression"));
    }

    #[test]
    fn status_never_invalidates_and_is_kept_when_it_fits() {
        let garbage = format!("{CLUSTER_OK}status: {{phase: Bogus, extra: [1]}}\n");
        match check(&garbage) {
            Ok(Resource::Cluster(c)) => assert_eq!(c.status, None),
            other => panic!("{other:?}"),
        }
        let scalar = format!("{CLUSTER_OK}status: 3\n");
        assert!(check(&scalar).is_ok());
        let good = format!("{JOB_OK}status:\n  phase: Running\n  attempts: 2\n");
        match check(&good) {
            Ok(Resource::Job(j)) => assert_eq!(j.status.map(|s| s.attempts), Some(2)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn unknown_field_names_the_alternatives_and_line() {
        let e = one(&CLUSTER_OK.replace("{replicas: 2,", "{replics: 2,"));
        assert_eq!((e.line, e.field.as_str(), e.reason.as_str()), (6, "spec.workers.replics", "UnknownField"));
        // Declaration order with serde_json's preserve_order, sorted without it.
        assert!(
            e.message.starts_with("unknown field `replics` (did you mean `replicas`?); expected one of: "),
            "{}",
            e.message
        );
        let listed: BTreeSet<&str> = e.message.rsplit(": ").next().unwrap_or("").split(", ").collect();
        assert_eq!(listed, BTreeSet::from(["cores", "memory", "replicas"]));
        assert_eq!(e.to_string(), format!("m.yaml:6: spec.workers.replics: {}", e.message));
    }

    #[test]
    fn type_errors_show_what_was_found() {
        let e = one(&CLUSTER_OK.replace("replicas: 2", "replicas: two"));
        assert_eq!((e.field.as_str(), e.reason.as_str()), ("spec.workers.replicas", "InvalidField"));
        assert_eq!(e.message, "expected integer, got string \"two\"");
        let e = one(&CLUSTER_OK.replace("memory: 1g", "memory: lots"));
        assert!(e.message.starts_with("invalid memory size: got string \"lots\""), "{}", e.message);
        let e = one(&CLUSTER_OK.replace("name: demo", "name: Demo_1"));
        assert!(e.message.contains("DNS-1123"), "{}", e.message);
        let e = one(&format!("{CLUSTER_OK}  deletionPolicy: Keep\n"));
        assert_eq!(e.message, "must be one of: Delete, Retain; got string \"Keep\"");
        let e = one(&CLUSTER_OK.replace("cores: 1", "cores: 0"));
        assert_eq!(e.message, "must be at least 1; got integer 0");
    }

    #[test]
    fn integers_out_of_range_name_the_field_line_and_range() {
        let job = "apiVersion: sparkswarm.io/v1alpha1\nkind: SparkJob\nmetadata:\n  name: j\nspec:\n  clusterRef: c\n  mainApplicationFile: a.py\n  executor:\n    instances: INSTANCES\n";
        for (written, range) in [
            ("99999999999999999999", "1..=256"),
            ("5000000000", "1..=256"),
            ("-99999999999999999999", "1..=256"),
            ("0xffffffffffffffffff", "1..=256"),
        ] {
            let e = one(&job.replace("INSTANCES", written));
            assert_eq!(
                e.to_string(),
                format!("m.yaml:9: spec.executor.instances: {written} is out of range ({range})"),
                "{written}"
            );
        }
        let e = one(&CLUSTER_OK.replace("replicas: 2", "replicas: 123456789012345678901234567890"));
        assert_eq!((e.line, e.field.as_str()), (6, "spec.workers.replicas"), "{e}");
        assert!(e.message.starts_with("123456789012345678901234567890 is out of range ("), "{e}");
        // A huge number where a string is expected stays what it was written as.
        match check(&CLUSTER_OK.replace("memory: 1g", "memory: 99999999999999999999")) {
            Ok(Resource::Cluster(c)) => assert_eq!(c.spec.workers.memory.0, "99999999999999999999"),
            other => panic!("{other:?}"),
        }
        // Quoted, it is a string as ever.
        let e = one(&job.replace("INSTANCES", "'99999999999999999999'"));
        assert!(e.message.starts_with("expected integer, got string"), "{e}");
    }

    #[test]
    fn all_errors_are_collected_with_their_lines() {
        let text = "apiVersion: sparkswarm.io/v1alpha1\nkind: SparkJob\nmetadata:\n  name: j\nspec:\n  mainApplicationFile: ''\n  driver:\n    cores: many\n  executor: {instances: 0}\n  files:\n  - {src: a}\n  - 3\n";
        let errs = errors(text);
        let got: Vec<(usize, &str, &str)> =
            errs.iter().map(|e| (e.line, e.field.as_str(), e.reason.as_str())).collect();
        assert_eq!(
            got,
            [
                (5, "spec.clusterRef", "MissingField"),
                (6, "spec.mainApplicationFile", "InvalidField"),
                (8, "spec.driver.cores", "InvalidField"),
                (9, "spec.executor.instances", "InvalidField"),
                (11, "spec.files.0.dst", "MissingField"),
                (12, "spec.files.1", "InvalidField"),
            ],
            "{errs:#?}"
        );
        assert_eq!(errs[5].message, "expected string or a mapping, got integer 3");
    }

    #[test]
    fn api_version_and_kind_come_first() {
        let e = one(&CLUSTER_OK.replace("kind: SparkCluster", "kind: Foo"));
        assert_eq!((e.reason.as_str(), e.line), ("UnknownKind", 2));
        assert_eq!(e.message, "unknown kind \"Foo\"; known kinds: SparkCluster, SparkJob, SparkSchedule");
        let e = one(&CLUSTER_OK.replace("sparkswarm.io/v1alpha1", "sparkswarm.io/v1"));
        assert_eq!(e.reason, "InvalidApiVersion");
        assert!(e.message.contains("expected sparkswarm.io/v1alpha1"));
        let e = one(&CLUSTER_OK.replace("kind: SparkCluster\n", ""));
        assert_eq!((e.reason.as_str(), e.field.as_str()), ("MissingField", "kind"));
        let e = one("- a\n");
        assert_eq!((e.reason.as_str(), e.field.as_str()), ("InvalidDocument", ""));
        assert_eq!(
            e.to_string(),
            "m.yaml:1: a resource must be a mapping with apiVersion, kind, metadata and spec; got a list"
        );
    }

    #[test]
    fn schedules_check_their_cron_zone_name_and_template_as_a_job_spec() {
        let ok = "apiVersion: sparkswarm.io/v1alpha1\nkind: SparkSchedule\nmetadata:\n  name: nightly\nspec:\n  schedule: '0 3 * * *'\n  timeZone: Europe/Berlin\n  template:\n    clusterRef: demo\n    mainApplicationFile: main.py\n    executor: {instances: 2}\n";
        match check(ok) {
            Ok(Resource::Schedule(s)) => assert_eq!(s.spec.template.executor.instances, 2),
            other => panic!("{other:?}"),
        }
        let e = one(&ok.replace("'0 3 * * *'", "'0 3 * *'"));
        assert_eq!((e.line, e.field.as_str(), e.reason.as_str()), (6, "spec.schedule", "InvalidSchedule"));
        let e = one(&ok.replace("Europe/Berlin", "Europe/Bärlin"));
        assert_eq!((e.line, e.field.as_str(), e.reason.as_str()), (7, "spec.timeZone", "InvalidTimeZone"));
        let e = one(&ok.replace("name: nightly", &format!("name: {}", "n".repeat(41))));
        assert_eq!((e.line, e.field.as_str()), (4, "metadata.name"));
        assert!(e.message.contains("at most 40"), "{e}");
        // The template is a SparkJob spec, with the same errors under spec.template.
        let e = one(&ok.replace("{instances: 2}", "{instances: 0}"));
        assert_eq!((e.line, e.field.as_str()), (11, "spec.template.executor.instances"));
        assert_eq!(e.message, "must be at least 1; got integer 0");
        let e = one(&ok.replace("    clusterRef: demo\n", ""));
        assert_eq!((e.field.as_str(), e.reason.as_str()), ("spec.template.clusterRef", "MissingField"));
        let got: Vec<(String, String)> = errors(&ok.replace("clusterRef: demo", "clustrRef: demo"))
            .into_iter()
            .map(|e| (e.field, e.reason))
            .collect();
        assert!(got.contains(&("spec.template.clustrRef".into(), "UnknownField".into())), "{got:?}");
    }

    #[test]
    fn provider_alternatives_are_explained() {
        let base = "apiVersion: sparkswarm.io/v1alpha1\nkind: SparkCluster\nmetadata: {name: c}\nspec:\n  provider:\n";
        let e = one(&format!("{base}    local: {{}}\n    swarm: {{}}\n"));
        assert_eq!(e.message, "exactly one of local, swarm, digitalocean may be given; got local, swarm");
        let e = one(&format!("{base}    lokal: {{}}\n"));
        assert_eq!((e.reason.as_str(), e.line, e.field.as_str()), ("UnknownField", 6, "spec.provider.lokal"));
        assert!(e.message.contains("did you mean `local`"), "{}", e.message);
        let e = one(&format!("{base}    swarm:\n      endpoint: 3\n"));
        assert_eq!((e.field.as_str(), e.line), ("spec.provider.swarm.endpoint", 7));
        let e = one(&format!("{base}    local: {{x: 1}}\n"));
        assert_eq!(e.message, "unknown field `x`; this mapping takes no fields");
    }

    #[test]
    fn secrets_are_never_echoed() {
        let base = "apiVersion: sparkswarm.io/v1alpha1\nkind: SparkCluster\nmetadata: {name: c}\nspec:\n  provider:\n    digitalocean:\n";
        for (body, line, field) in [
            ("      token: dop_v1_SECRET\n      tokenFrom: {env: DO}\n", 7, "spec.provider.digitalocean.token"),
            ("      tokenFrom: dop_v1_SECRET\n", 7, "spec.provider.digitalocean.tokenFrom"),
            ("      tokenFrom: {value: dop_v1_SECRET}\n", 7, "spec.provider.digitalocean.tokenFrom"),
            ("      tokenFrom: {env: dop_v1_SECRET}\n", 7, "spec.provider.digitalocean.tokenFrom"),
        ] {
            let e = one(&format!("{base}{body}"));
            assert_eq!((e.reason.as_str(), e.line, e.field.as_str()), ("InlineSecret", line, field), "{body}");
            assert_eq!(e.message, INLINE_TOKEN);
        }
        let e = one(&format!("{base}      tokenFrom: {{env: DO}}\n      nodes: SECRET\n"));
        assert_eq!(e.message, "expected integer, got string");
        let e = one(&format!("{base}      tokenFrom: {{env: DO}}\n      region: [SECRET]\n"));
        assert!(!e.to_string().contains("SECRET"), "{e}");
        let e = one(&format!("{base}      tokenFrom: {{env: DO, file: SECRET}}\n"));
        assert!(!e.to_string().contains("SECRET"), "{e}");
        let ok = check(&format!("{base}      tokenFrom: {{env: DIGITALOCEAN_TOKEN}}\n      nodes: 2\n"));
        assert!(ok.is_ok(), "{ok:?}");
    }

    #[test]
    fn schemas_reject_unknown_fields_and_allow_status() {
        for kind in Kind::ALL {
            let s = schema_for(kind);
            assert_eq!(s["additionalProperties"], json!(false), "{kind}");
            assert!(s["properties"]["status"].is_object(), "{kind}");
            assert!(compiled(kind).validator.is_ok());
        }
    }

    /// Regenerates `schemas/` when `SPARKSWARM_WRITE_SCHEMAS=1`; otherwise checks it is current.
    #[test]
    fn committed_schemas_are_current() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas");
        for kind in Kind::ALL {
            let path = dir.join(schema_file_name(kind));
            let text = format!("{}\n", serde_json::to_string_pretty(&schema_for(kind)).expect("serializes"));
            if std::env::var_os("SPARKSWARM_WRITE_SCHEMAS").is_some() {
                std::fs::create_dir_all(&dir).expect("mkdir");
                std::fs::write(&path, &text).expect("write");
            }
            let committed = std::fs::read_to_string(&path).unwrap_or_default();
            // Compared as JSON: key order follows serde_json's preserve_order feature.
            let committed: Value = serde_json::from_str(&committed).unwrap_or(Value::Null);
            assert!(
                committed == schema_for(kind),
                "{} is stale: run SPARKSWARM_WRITE_SCHEMAS=1 cargo test -p sparkswarm --lib committed_schemas",
                path.display()
            );
        }
    }
}
