//! Secrets must never be echoed. A user who pasted a token inline (which validation
//! rejects) still must not see it printed back by `describe` or `get -o yaml`.

use serde_json::Value;

const REDACTED: &str = "<redacted>";

fn secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k != "tokenfrom" && (k.contains("token") || k.contains("secret") || k.contains("password"))
}

/// A DigitalOcean token pasted where the name of its environment variable (or a file
/// path) belongs.
pub fn looks_like_token(s: &str) -> bool {
    s.starts_with("dop_v1_") || (s.len() >= 40 && s.chars().all(|c| c.is_ascii_hexdigit()))
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
                if secret_key(k) {
                    // Whatever shape it has (`token: {value: ...}`), it is the secret.
                    *child = Value::String(REDACTED.into());
                } else if k == "tokenFrom" {
                    redact_reference(child);
                } else {
                    walk(child);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(walk),
        _ => {}
    }
}

/// A `tokenFrom` keeps what a reference is (`env: NAME`, `file: PATH`); anything else in it,
/// or a reference that is a token itself, is an inline token.
fn redact_reference(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, child) in m.iter_mut() {
                let reference = (k == "env" || k == "file") && child.as_str().is_some_and(|s| !looks_like_token(s));
                if !reference {
                    *child = Value::String(REDACTED.into());
                }
            }
        }
        // `tokenFrom: dop_v1_...` is an inline token in the wrong place.
        other => *other = Value::String(REDACTED.into()),
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

    #[test]
    fn every_inline_form_is_replaced() {
        let t = "dop_v1_0123456789abcdef0123456789abcdef";
        for provider in [
            serde_json::json!({"tokenFrom": {"env": "X", "value": t}}),
            serde_json::json!({"tokenFrom": {"env": t}}),
            serde_json::json!({"tokenFrom": {"file": t}}),
            serde_json::json!({"token": {"value": t}}),
            serde_json::json!({"token": [t]}),
            serde_json::json!({"apiToken": {"nested": {"deeper": t}}}),
            serde_json::json!({"tokenFrom": [t]}),
            serde_json::json!({"extra": [{"secretKey": t}]}),
        ] {
            let mut v = serde_json::json!({"spec": {"provider": {"digitalocean": provider.clone()}}});
            redact(&mut v);
            assert!(!v.to_string().contains("0123456789"), "{provider} -> {v}");
        }
        let mut keep =
            serde_json::json!({"spec": {"provider": {"digitalocean": {"tokenFrom": {"file": "../do-token"}}}}});
        redact(&mut keep);
        assert_eq!(keep["spec"]["provider"]["digitalocean"]["tokenFrom"]["file"], "../do-token");
    }
}
