//! The API token: resolved from `tokenFrom` (an environment variable or a file) and kept in a
//! type that cannot leak it through `Debug`, `Display` or serialization.

use std::fmt;
use std::path::Path;

use crate::api::cluster::SecretRef;

use super::error::DoError;

/// A DigitalOcean API token. Its `Debug` prints `<redacted>`, it has no `Display` and no
/// `Serialize`, so that formatting a struct or an error that holds one never shows it; the
/// only way to the value is [`Token::expose`], used once, to build the Authorization header.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

impl Token {
    /// Surrounding whitespace is dropped: token files usually end with a newline.
    pub fn new(value: impl Into<String>) -> Result<Token, DoError> {
        let value = value.into();
        let trimmed = value.trim();
        if trimmed.is_empty() {
            return Err(DoError::TokenMissing("the token is empty".into()));
        }
        // A header value cannot hold control characters; say so here rather than let the
        // HTTP layer fail with an error that might quote the value.
        if trimmed.chars().any(|c| c.is_control() || c == ' ') {
            return Err(DoError::TokenInvalid("the token holds whitespace or control characters".into()));
        }
        Ok(Token(trimmed.to_string()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Reads the token a `tokenFrom` names. `base` is the manifest's directory, against which
    /// a relative file path resolves (confinement to the allowed roots is the validator's job,
    /// done before this is called). Errors name the variable or file, never the content.
    pub fn resolve(source: &SecretRef, base: &Path) -> Result<Token, DoError> {
        match source {
            SecretRef::Env(var) => match std::env::var(var) {
                Ok(value) => Token::new(value).map_err(|e| e.context(&format!("environment variable {var}"))),
                Err(std::env::VarError::NotPresent) => {
                    Err(DoError::TokenMissing(format!("environment variable {var} is not set")))
                }
                Err(std::env::VarError::NotUnicode(_)) => {
                    Err(DoError::TokenInvalid(format!("environment variable {var} is not valid UTF-8")))
                }
            },
            SecretRef::File(path) => {
                let path = if path.is_absolute() { path.clone() } else { base.join(path) };
                let text = std::fs::read_to_string(&path).map_err(|e| {
                    DoError::TokenMissing(format!("cannot read the token file {}: {e}", path.display()))
                })?;
                Token::new(text).map_err(|e| e.context(&format!("token file {}", path.display())))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let t = Token::new("dop_v1_secretsecret\n").unwrap();
        assert_eq!(t.expose(), "dop_v1_secretsecret");
        let shown = format!("{t:?} {:#?}", Some(&t));
        assert!(!shown.contains("secretsecret"), "{shown}");
        assert!(shown.contains("<redacted>"));
    }

    #[test]
    fn resolves_from_env_and_file_without_quoting_the_value() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("tok"), "dop_v1_fromfile\n").unwrap();
        let t = Token::resolve(&SecretRef::File("tok".into()), dir.path()).unwrap();
        assert_eq!(t.expose(), "dop_v1_fromfile");

        let var = "SPARKSWARM_TEST_DO_TOKEN_RESOLVE";
        std::env::set_var(var, "dop_v1_fromenv");
        let t = Token::resolve(&SecretRef::Env(var.into()), dir.path()).unwrap();
        assert_eq!(t.expose(), "dop_v1_fromenv");

        std::fs::write(dir.path().join("bad"), "dop_v1 with space").unwrap();
        let e = Token::resolve(&SecretRef::File("bad".into()), dir.path()).unwrap_err();
        assert_eq!(e.reason(), "TokenInvalid");
        assert!(!e.to_string().contains("with space"), "{e}");

        let e = Token::resolve(&SecretRef::Env("SPARKSWARM_TEST_DO_TOKEN_UNSET".into()), dir.path()).unwrap_err();
        assert_eq!(e.reason(), "TokenMissing");
    }
}
