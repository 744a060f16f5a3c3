//! The DigitalOcean contract (`shared/contracts/digitalocean/openapi.yaml`, an OpenAPI 3.0
//! document with every `$ref` resolved) as a checker of requests and responses.
//!
//! A request is matched to an operation by method and path template (a literal segment wins
//! over a `{param}`), then checked: bearer token present (`security: bearer_auth`), path and
//! query parameters declared and valid against their schemas (required ones present),
//! content-type among the requestBody's, body valid. A response is checked against the
//! operation's entry for its status (else `default`): body present exactly when the contract
//! has content, content-type, body valid, declared headers valid, and the `ratelimit-*`
//! headers present (the contract declares them on every response; it does not mark them
//! required, the stand-in holds itself to sending them).
//!
//! OpenAPI 3.0 schema objects are a dialect of JSON Schema draft 4. Conversion: `nullable:
//! true` becomes `null` added to `type` (and to `enum`), or an `anyOf` with `{type: null}`
//! where the schema has no `type` (e.g. a nullable `allOf`). `readOnly` properties are
//! removed from request schemas. Bodies are validated as draft 2020-12 with
//! `unevaluatedProperties: false` on every object schema, which is stricter than the contract
//! (it never sets `additionalProperties`): a misspelt field on either side is a violation.
//! The contract uses nothing whose meaning differs between drafts 4 and 2020-12 (no boolean
//! `exclusiveMinimum`, no tuple `items`). Other OpenAPI-only keywords (`deprecated`,
//! `example`, `discriminator`) are annotations and are ignored. Formats are validated
//! (`date-time`, `ipv4`, `uri`, ...); unknown ones (`float`, `int64`) are ignored.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};

/// Where the contract lives: `SPARKSWARM_DO_CONTRACT`, else `shared/` beside the repository.
pub fn contract_path() -> PathBuf {
    match std::env::var_os("SPARKSWARM_DO_CONTRACT") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/contracts/digitalocean/openapi.yaml"),
    }
}

#[derive(Debug)]
enum Segment {
    Literal(String),
    Param(String),
}

#[derive(Debug)]
struct Operation {
    id: String,
    method: String,
    template: String,
    segments: Vec<Segment>,
    literals: usize,
    /// (location, name) -> (required, schema)
    params: BTreeMap<(String, String), (bool, Value)>,
    request_body: Option<Value>,
    responses: Map<String, Value>,
    secured: bool,
}

#[derive(Clone, Copy)]
enum Kind {
    Scalar,
    Request,
    Response,
}

pub struct Contract {
    ops: Vec<Operation>,
    validators: Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
}

/// The operation a request matched, with its path parameters.
#[derive(Debug, Clone)]
pub struct Matched {
    pub operation: String,
    pub path_params: BTreeMap<String, String>,
    pub query: Vec<(String, String)>,
}

impl Contract {
    pub fn load(path: &Path) -> Result<Contract, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
        let doc: Value = serde_yaml::from_str(&text).map_err(|e| format!("parsing {}: {e}", path.display()))?;
        let global_security = doc.get("security").map(|s| s.as_array().is_some_and(|a| !a.is_empty())).unwrap_or(false);
        let paths = doc.get("paths").and_then(Value::as_object).ok_or("no paths in the contract")?;
        let mut ops = Vec::new();
        for (template, item) in paths {
            let Some(item) = item.as_object() else { continue };
            let shared_params = item.get("parameters").cloned().unwrap_or(Value::Array(vec![]));
            for (method, op) in item {
                if !["get", "post", "put", "patch", "delete", "head"].contains(&method.as_str()) {
                    continue;
                }
                let segments: Vec<Segment> = template
                    .trim_start_matches('/')
                    .split('/')
                    .map(|s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                        Some(name) => Segment::Param(name.to_string()),
                        None => Segment::Literal(s.to_string()),
                    })
                    .collect();
                let literals = segments.iter().filter(|s| matches!(s, Segment::Literal(_))).count();
                let mut params = BTreeMap::new();
                for p in shared_params
                    .as_array()
                    .into_iter()
                    .flatten()
                    .chain(op.get("parameters").and_then(Value::as_array).into_iter().flatten())
                {
                    let (Some(loc), Some(name)) =
                        (p.get("in").and_then(Value::as_str), p.get("name").and_then(Value::as_str))
                    else {
                        continue;
                    };
                    let required = p.get("required").and_then(Value::as_bool).unwrap_or(false);
                    let schema = p.get("schema").cloned().unwrap_or(Value::Bool(true));
                    params.insert((loc.to_string(), name.to_string()), (required, schema));
                }
                let secured = match op.get("security") {
                    Some(s) => s.as_array().is_some_and(|a| !a.is_empty()),
                    None => global_security,
                };
                ops.push(Operation {
                    id: op.get("operationId").and_then(Value::as_str).unwrap_or(template).to_string(),
                    method: method.to_uppercase(),
                    template: template.clone(),
                    segments,
                    literals,
                    params,
                    request_body: op.get("requestBody").cloned(),
                    responses: op.get("responses").and_then(Value::as_object).cloned().unwrap_or_default(),
                    secured,
                });
            }
        }
        Ok(Contract { ops, validators: Mutex::new(HashMap::new()) })
    }

    fn op(&self, id: &str) -> Option<&Operation> {
        self.ops.iter().find(|o| o.id == id)
    }

    /// The operation for a method and path; a literal segment wins over a template one
    /// (`/v2/droplets/actions` is not `/v2/droplets/{droplet_id}`).
    fn route(&self, method: &str, path: &str) -> Option<(&Operation, BTreeMap<String, String>)> {
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let mut best: Option<(&Operation, BTreeMap<String, String>)> = None;
        for op in self.ops.iter().filter(|o| o.method == method && o.segments.len() == parts.len()) {
            let mut params = BTreeMap::new();
            let fits = op.segments.iter().zip(&parts).all(|(seg, part)| match seg {
                Segment::Literal(l) => l == part,
                Segment::Param(name) => {
                    params.insert(name.clone(), percent_decode(part));
                    !part.is_empty()
                }
            });
            if fits && best.as_ref().is_none_or(|(b, _)| op.literals > b.literals) {
                best = Some((op, params));
            }
        }
        best
    }

    /// Whether any operation has this path (to tell 404 from 405).
    pub fn knows_path(&self, path: &str) -> bool {
        ["GET", "POST", "PUT", "PATCH", "DELETE"].iter().any(|m| self.route(m, path).is_some())
    }

    /// Checks a request; `Err` lists what breaks the contract.
    pub fn check_request(
        &self,
        method: &str,
        path: &str,
        query: &str,
        headers: &axum::http::HeaderMap,
        body: &[u8],
    ) -> Result<Matched, Vec<String>> {
        let Some((op, path_params)) = self.route(method, path) else {
            return Err(vec![format!("{method} {path}: no such operation in the contract")]);
        };
        let what = format!("{} ({method} {})", op.id, op.template);
        let mut v = Vec::new();
        if op.secured {
            let auth = headers.get(axum::http::header::AUTHORIZATION).and_then(|h| h.to_str().ok()).unwrap_or("");
            if !auth.starts_with("Bearer ") || auth.len() <= "Bearer ".len() {
                v.push(format!("{what}: no bearer token (security: bearer_auth)"));
            }
        }
        for (name, value) in &path_params {
            match op.params.get(&("path".to_string(), name.clone())) {
                Some((_, schema)) => {
                    v.extend(self.check_scalar(&format!("{what} path parameter {name}"), schema, value))
                }
                None => v.push(format!("{what}: path parameter {name} not declared")),
            }
        }
        let query: Vec<(String, String)> = url_pairs(query);
        for (name, value) in &query {
            match op.params.get(&("query".to_string(), name.clone())) {
                Some((_, schema)) => {
                    v.extend(self.check_scalar(&format!("{what} query parameter {name}"), schema, value))
                }
                None => v.push(format!("{what}: query parameter {name} is not in the contract")),
            }
        }
        for ((loc, name), (required, _)) in &op.params {
            if loc == "query" && *required && !query.iter().any(|(n, _)| n == name) {
                v.push(format!("{what}: required query parameter {name} missing"));
            }
        }
        match &op.request_body {
            None if !body.is_empty() => v.push(format!("{what}: a body where the contract has no requestBody")),
            None => {}
            Some(rb) => {
                let required = rb.get("required").and_then(Value::as_bool).unwrap_or(false);
                if body.is_empty() {
                    if required {
                        v.push(format!("{what}: requestBody is required"));
                    }
                } else {
                    let mime = headers
                        .get(axum::http::header::CONTENT_TYPE)
                        .and_then(|h| h.to_str().ok())
                        .map(|s| s.split(';').next().unwrap_or("").trim().to_string())
                        .unwrap_or_default();
                    match rb.get("content").and_then(|c| c.get(&mime)).and_then(|c| c.get("schema")) {
                        None => v.push(format!("{what}: content-type {mime:?} not in the contract")),
                        Some(schema) => match serde_json::from_slice::<Value>(body) {
                            Err(e) => v.push(format!("{what}: body is not JSON: {e}")),
                            Ok(instance) => {
                                let key = format!("{}#request", op.id);
                                v.extend(
                                    self.validate_request(&key, schema, &instance)
                                        .into_iter()
                                        .map(|e| format!("{what} request body: {e}")),
                                );
                            }
                        },
                    }
                }
            }
        }
        if v.is_empty() {
            Ok(Matched { operation: op.id.clone(), path_params, query })
        } else {
            Err(v)
        }
    }

    /// Checks a response to `operation`; returns what breaks the contract.
    pub fn check_response(
        &self,
        operation: &str,
        status: u16,
        headers: &axum::http::HeaderMap,
        body: &[u8],
    ) -> Vec<String> {
        let Some(op) = self.op(operation) else { return vec![format!("{operation}: unknown operation")] };
        let what = format!("{} answered {status}", op.id);
        let code = status.to_string();
        let Some(spec) = op.responses.get(&code).or_else(|| op.responses.get("default")) else {
            return vec![format!("{what}: status not in the contract")];
        };
        let mut v = Vec::new();
        // Headers: every declared one is checked when sent; the ratelimit-* ones are
        // declared on every response of this API, and the stand-in must send them.
        for (name, h) in spec.get("headers").and_then(Value::as_object).into_iter().flatten() {
            match headers.get(name.as_str()).and_then(|x| x.to_str().ok()) {
                Some(value) => {
                    if let Some(schema) = h.get("schema") {
                        v.extend(self.check_scalar(&format!("{what} header {name}"), schema, value));
                    }
                }
                None if name.starts_with("ratelimit-") || h.get("required").and_then(Value::as_bool) == Some(true) => {
                    v.push(format!("{what}: header {name} missing"))
                }
                None => {}
            }
        }
        match spec.get("content").and_then(Value::as_object) {
            None => {
                if !body.is_empty() {
                    v.push(format!("{what}: a body where the contract has none"));
                }
            }
            Some(content) => {
                let mime = headers
                    .get(axum::http::header::CONTENT_TYPE)
                    .and_then(|h| h.to_str().ok())
                    .map(|s| s.split(';').next().unwrap_or("").trim().to_string())
                    .unwrap_or_default();
                match content.get(&mime).and_then(|c| c.get("schema")) {
                    None => v.push(format!("{what}: content-type {mime:?} not in the contract")),
                    Some(schema) => match serde_json::from_slice::<Value>(body) {
                        Err(e) => v.push(format!("{what}: body is not JSON: {e}")),
                        Ok(instance) => {
                            let key = format!("{}#{}", op.id, code);
                            v.extend(
                                self.validate_response(&key, schema, &instance)
                                    .into_iter()
                                    .map(|e| format!("{what}: body: {e}")),
                            );
                        }
                    },
                }
            }
        }
        v
    }

    /// A path/query/header value is text; the schema may want a number or a boolean. The
    /// value passes when its text or its JSON reading validates (`anyOf: [integer, string]`).
    fn check_scalar(&self, what: &str, schema: &Value, text: &str) -> Vec<String> {
        let key = format!("scalar:{}", serde_json::to_string(schema).unwrap_or_default());
        let as_text = Value::String(text.to_string());
        let mut errors = self.validate(&key, schema, &as_text);
        if errors.is_empty() {
            return errors;
        }
        if let Ok(parsed) = serde_json::from_str::<Value>(text) {
            if !parsed.is_string() && self.validate(&key, schema, &parsed).is_empty() {
                return Vec::new();
            }
        }
        errors.iter_mut().for_each(|e| *e = format!("{what} = {text:?}: {e}"));
        errors
    }

    /// Parameters and headers: the contract's schema as it is.
    fn validate(&self, key: &str, schema: &Value, instance: &Value) -> Vec<String> {
        self.validate_with(key, schema, instance, Kind::Scalar)
    }

    /// Requests are held to more than the contract's letter: an unknown or read-only field
    /// is a violation (see [`to_request_schema`]), so that a misspelt optional field in the
    /// client cannot pass unnoticed.
    fn validate_request(&self, key: &str, schema: &Value, instance: &Value) -> Vec<String> {
        self.validate_with(key, schema, instance, Kind::Request)
    }

    /// Responses likewise: the stand-in sends no field the contract does not describe, so
    /// the client is never tested against something DigitalOcean would not send.
    fn validate_response(&self, key: &str, schema: &Value, instance: &Value) -> Vec<String> {
        self.validate_with(key, schema, instance, Kind::Response)
    }

    fn validate_with(&self, key: &str, schema: &Value, instance: &Value, kind: Kind) -> Vec<String> {
        let validator = {
            let mut cache = self.validators.lock().unwrap();
            match cache.get(key) {
                Some(v) => v.clone(),
                None => {
                    // Draft 2020-12 for bodies, for `unevaluatedProperties` across
                    // `allOf`/`oneOf`; the contract uses nothing that differs between the two
                    // drafts (no boolean exclusiveMinimum, no tuple `items`).
                    let (converted, draft) = match kind {
                        Kind::Request => (to_request_schema(schema), jsonschema::Draft::Draft202012),
                        Kind::Response => {
                            (strict_schema(&to_json_schema(schema), false), jsonschema::Draft::Draft202012)
                        }
                        Kind::Scalar => (to_json_schema(schema), jsonschema::Draft::Draft4),
                    };
                    let built = jsonschema::options()
                        .with_draft(draft)
                        .should_validate_formats(true)
                        .should_ignore_unknown_formats(true)
                        .build(&converted);
                    match built {
                        Ok(v) => {
                            let v = Arc::new(v);
                            cache.insert(key.to_string(), v.clone());
                            v
                        }
                        Err(e) => return vec![format!("the contract's schema does not compile: {e}")],
                    }
                }
            }
        };
        validator.iter_errors(instance).take(20).map(|e| format!("{} at {}", e, e.instance_path())).collect()
    }
}

/// OpenAPI 3.0 schema object -> JSON Schema draft 4 (see the module comment).
pub fn to_json_schema(schema: &Value) -> Value {
    match schema {
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                if k == "nullable" {
                    continue;
                }
                // Keywords whose values are schemas (or maps/lists of them) are converted;
                // `enum`, `example`, `default`, `required` are data and stay as they are.
                let converted = match k.as_str() {
                    "properties" | "patternProperties" | "definitions" => match v {
                        Value::Object(props) => {
                            Value::Object(props.iter().map(|(n, s)| (n.clone(), to_json_schema(s))).collect())
                        }
                        other => other.clone(),
                    },
                    "items" | "additionalProperties" | "not" => to_json_schema(v),
                    "allOf" | "anyOf" | "oneOf" => match v {
                        Value::Array(list) => Value::Array(list.iter().map(to_json_schema).collect()),
                        other => other.clone(),
                    },
                    _ => v.clone(),
                };
                out.insert(k.clone(), converted);
            }
            if map.get("nullable").and_then(Value::as_bool) == Some(true) {
                if let Some(Value::Array(values)) = out.get_mut("enum") {
                    if !values.contains(&Value::Null) {
                        values.push(Value::Null);
                    }
                }
                match out.get("type").cloned() {
                    Some(Value::String(t)) => {
                        out.insert("type".into(), Value::Array(vec![Value::String(t), Value::String("null".into())]));
                    }
                    Some(_) => {}
                    None => {
                        return serde_json::json!({ "anyOf": [ { "type": "null" }, Value::Object(out) ] });
                    }
                }
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

/// A request body schema made strict: read-only properties are removed (OpenAPI: they are
/// not sent in requests), and every object schema that is not itself a branch of a
/// composition gets `unevaluatedProperties: false`, which sees through `allOf`/`oneOf`.
pub fn to_request_schema(schema: &Value) -> Value {
    fn strip_read_only(v: &Value) -> Value {
        match v {
            Value::Object(map) => {
                let mut out = Map::new();
                let mut dropped = Vec::new();
                for (k, x) in map {
                    if k == "properties" {
                        if let Value::Object(props) = x {
                            let mut kept = Map::new();
                            for (name, p) in props {
                                if p.get("readOnly").and_then(Value::as_bool) == Some(true) {
                                    dropped.push(name.clone());
                                } else {
                                    kept.insert(name.clone(), strip_read_only(p));
                                }
                            }
                            out.insert(k.clone(), Value::Object(kept));
                            continue;
                        }
                    }
                    out.insert(k.clone(), strip_read_only(x));
                }
                if let Some(Value::Array(req)) = out.get_mut("required") {
                    req.retain(|r| !r.as_str().is_some_and(|r| dropped.iter().any(|d| d == r)));
                }
                Value::Object(out)
            }
            Value::Array(list) => Value::Array(list.iter().map(strip_read_only).collect()),
            other => other.clone(),
        }
    }
    strict_schema(&to_json_schema(&strip_read_only(schema)), false)
}

/// `unevaluatedProperties: false` on every object schema that is not itself a branch of a
/// composition (the branches' properties count as evaluated at the level above).
fn strict_schema(v: &Value, in_composition: bool) -> Value {
    {
        let strict = strict_schema;
        let Value::Object(map) = v else { return v.clone() };
        let mut out = Map::new();
        for (k, x) in map {
            let converted = match (k.as_str(), x) {
                ("properties", Value::Object(props)) => {
                    Value::Object(props.iter().map(|(n, p)| (n.clone(), strict(p, false))).collect())
                }
                ("items", _) => strict(x, false),
                ("allOf" | "anyOf" | "oneOf", Value::Array(list)) => {
                    Value::Array(list.iter().map(|m| strict(m, true)).collect())
                }
                _ => x.clone(),
            };
            out.insert(k.clone(), converted);
        }
        let is_object_like = ["properties", "allOf", "anyOf", "oneOf"].iter().any(|k| map.contains_key(*k));
        let typed_otherwise = match map.get("type") {
            Some(Value::String(t)) => t != "object",
            Some(Value::Array(ts)) => !ts.iter().any(|t| t == "object"),
            _ => false,
        };
        if !in_composition && is_object_like && !typed_otherwise {
            out.insert("unevaluatedProperties".into(), Value::Bool(false));
        }
        Value::Object(out)
    }
}

fn url_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                match u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"), 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                    }
                    Err(_) => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
