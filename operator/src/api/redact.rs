//! Secrets must never be echoed. A user who pasted a token inline (which validation
//! rejects) still must not see it printed back by `describe` or `get -o yaml`.

use serde_json::Value;

const REDACTED: &str = "<redacted>";

fn secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k != "tokenfrom" && (k.contains("token") || k.contains("secret") || k.contains("password"))
}

/// Replaces every secret-looking value under `spec.provider` (recursively) in place.
pub fn redact(doc: &mut Value) {
    if let Some(provider) = doc.pointer_mut("/spec/provider") {
        walk(provider);
    }
}

fn walk(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, child) in m.iter_mut() {
                if secret_key(k) && !child.is_object() {
                    *child = Value::String(REDACTED.into());
                } else if k == "tokenFrom" && !child.is_object() {
                    // `tokenFrom: dop_v1_...` is an inline token in the wrong place.
                    *child = Value::String(REDACTED.into());
                } else {
                    walk(child);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(walk),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_tokens_are_replaced_and_references_kept() {
        let mut v = serde_json::json!({"spec": {"provider": {"digitalocean": {
            "token": "dop_v1_x", "tokenFrom": {"env": "DO_TOKEN"}, "region": "nyc3", "apiPassword": "p"
        }}}});
        redact(&mut v);
        let d = &v["spec"]["provider"]["digitalocean"];
        assert_eq!(d["token"], "<redacted>");
        assert_eq!(d["apiPassword"], "<redacted>");
        assert_eq!(d["tokenFrom"]["env"], "DO_TOKEN");
        assert_eq!(d["region"], "nyc3");
        let mut inline = serde_json::json!({"spec": {"provider": {"digitalocean": {"tokenFrom": "dop_v1_y"}}}});
        redact(&mut inline);
        assert_eq!(inline["spec"]["provider"]["digitalocean"]["tokenFrom"], "<redacted>");
    }
}
