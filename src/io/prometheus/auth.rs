//! Credentials for the Prometheus API: a bearer token or basic auth, read from an
//! environment variable or a file at connect time. Only where the secret is lives in
//! configuration; the secret itself is held in a [`Secret`] that prints as `***`, goes
//! into the `Authorization` header and nowhere else (not into scenarios, workspaces,
//! logs or error messages — messages are also scrubbed of it, in case a server echoes
//! request headers back).

use std::fmt;
use std::path::PathBuf;

/// A secret value. `Debug` and `Display` print `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The secret text (for the request header only).
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Where a secret is kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SecretSource {
    /// In this environment variable.
    Env(String),
    /// In this file (surrounding whitespace and the final newline are trimmed).
    File(PathBuf),
}

impl SecretSource {
    /// Reads the secret. The error names the variable or file, never the content.
    pub fn read(&self) -> Result<Secret, String> {
        let text = match self {
            SecretSource::Env(var) => match std::env::var(var) {
                Ok(v) => v,
                Err(std::env::VarError::NotPresent) => return Err(format!("environment variable {var} is not set")),
                Err(std::env::VarError::NotUnicode(_)) => {
                    return Err(format!("environment variable {var} is not valid UTF-8"));
                }
            },
            SecretSource::File(path) => match std::fs::read(path) {
                Ok(bytes) => String::from_utf8(bytes)
                    .map_err(|_| format!("the auth file is not UTF-8 text: {}", path.display()))?,
                Err(e) => return Err(format!("cannot read the auth file ({e}): {}", path.display())),
            },
        };
        let secret = text.trim();
        let origin = match self {
            SecretSource::Env(var) => format!("environment variable {var}"),
            SecretSource::File(path) => format!("auth file {}", path.display()),
        };
        if secret.is_empty() {
            return Err(format!("the {origin} is empty"));
        }
        if secret.chars().any(char::is_control) {
            return Err(format!("the {origin} holds a control character (a line break inside the secret?)"));
        }
        Ok(Secret(secret.to_string()))
    }
}

/// Which scheme and where the secret is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthSource {
    /// `Authorization: Bearer <token>`.
    Bearer(SecretSource),
    /// `Authorization: Basic base64(user:password)`.
    Basic {
        /// User name (not secret).
        user: String,
        /// Where the password is.
        password: SecretSource,
    },
}

impl AuthSource {
    /// Reads the secret and builds the header value.
    pub fn resolve(&self) -> Result<Auth, String> {
        match self {
            AuthSource::Bearer(source) => {
                let token = source.read()?;
                Ok(Auth { header: Secret(format!("Bearer {}", token.expose())), secret: token })
            }
            AuthSource::Basic { user, password } => {
                let password = password.read()?;
                let pair = format!("{user}:{}", password.expose());
                Ok(Auth { header: Secret(format!("Basic {}", base64(pair.as_bytes()))), secret: password })
            }
        }
    }

    /// How to describe the source in the UI ("bearer token from $PROM_TOKEN").
    pub fn describe(&self) -> String {
        let place = |s: &SecretSource| match s {
            SecretSource::Env(v) => format!("${v}"),
            SecretSource::File(p) => p.display().to_string(),
        };
        match self {
            AuthSource::Bearer(s) => format!("bearer token from {}", place(s)),
            AuthSource::Basic { user, password } => format!("basic auth as {user}, password from {}", place(password)),
        }
    }
}

/// Resolved credentials.
#[derive(Clone, Debug)]
pub struct Auth {
    header: Secret,
    secret: Secret,
}

impl Auth {
    /// The `Authorization` header value.
    pub(crate) fn header(&self) -> &str {
        self.header.expose()
    }

    /// Texts that must never appear in a message: the secret, and the header value.
    pub(crate) fn redactions(&self) -> Vec<String> {
        let mut out = vec![self.secret.expose().to_string(), self.header.expose().to_string()];
        if let Some((_, encoded)) = self.header.expose().split_once(' ') {
            out.push(encoded.to_string());
        }
        // Longest first, so a secret inside the header is not replaced before the header.
        out.sort_by_key(|s| std::cmp::Reverse(s.len()));
        out
    }
}

/// Standard base64 with padding (RFC 4648), for basic auth.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648() {
        for (plain, encoded) in
            [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE=")]
        {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
        assert_eq!(base64(b"Aladdin:open sesame"), "QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
    }

    #[test]
    fn secrets_print_as_stars_and_errors_do_not_leak() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, "tok-123456\n").unwrap();
        let auth = AuthSource::Bearer(SecretSource::File(file.clone())).resolve().unwrap();
        assert_eq!(auth.header(), "Bearer tok-123456");
        assert!(!format!("{auth:?}").contains("tok-123456"));
        std::fs::write(&file, "tok\n123456\n").unwrap();
        let e = AuthSource::Bearer(SecretSource::File(file)).resolve().unwrap_err();
        assert!(e.contains("control character") && !e.contains("123456"), "{e}");
        let e = SecretSource::Env("TWINBENCH_TEST_UNSET_VARIABLE".into()).read().unwrap_err();
        assert!(e.contains("TWINBENCH_TEST_UNSET_VARIABLE is not set"), "{e}");
    }
}
