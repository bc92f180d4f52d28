//! Secret redaction: the one function every writer of text goes through.
//!
//! Anything the project persists or prints that came from a user — command
//! lines recorded with a run, error messages, configuration printed at start,
//! request logs of every server — passes through [`redact_text`] (or one of its
//! structured forms) first, so a password in a connection URL, an API key on
//! the command line or a secret from the environment never reaches the
//! progress database, a report, a log line or an error message.
//!
//! What counts as a secret:
//! - the password of a URL's user-info (`postgres://alice:PW@host/db` →
//!   `postgres://alice@host/db`) and secret-looking query parameters
//!   (`?password=…`, `?sslpassword=…`, `?api_key=…`, `?token=…`);
//! - libpq key/value connection strings (`password=PW host=…`);
//! - the value of a command-line flag whose name looks secret (`--api-key K`,
//!   `--api-key=K`, `--password`, `--token`, `--secret`, `--…-key`);
//! - `Authorization: Bearer TOKEN` / `Bearer TOKEN`;
//! - the value of every environment variable whose *name* looks secret
//!   (`OPENAI_API_KEY`, `PGPASSWORD`, `ROADMAP_…_TOKEN`, …) wherever it occurs.
//!
//! Redaction replaces a secret value by [`REDACTED`] (or drops a URL password
//! outright), never the surrounding text, so messages stay readable.

use std::sync::OnceLock;

use regex::Regex;

/// What a redacted value is replaced by.
pub const REDACTED: &str = "***";

/// Environment values shorter than this are not searched for in text: a
/// two-letter "secret" would redact ordinary words.
const MIN_ENV_SECRET_LEN: usize = 4;

/// Whether a flag, variable, query parameter or JSON key *name* holds a secret
/// (case-insensitive; `-` and `_` are the same).
pub fn is_secret_name(name: &str) -> bool {
    let n = name
        .trim_start_matches('-')
        .to_ascii_lowercase()
        .replace('-', "_");
    const WORDS: &[&str] = &[
        "password",
        "passwd",
        "secret",
        "token",
        "api_key",
        "apikey",
        "private_key",
        "credential",
        "auth",
    ];
    // `authorization`, `x_api_key`, `openai_api_key`, `hf_token`, … — but not
    // `tokens` (a count), `max_tokens` or `tokenizer`.
    if n.ends_with("tokens") || n.contains("tokeniz") || n == "author" {
        return false;
    }
    WORDS.iter().any(|w| n.contains(w)) || n.ends_with("_key") || n == "key"
}

/// `url` without its password: the user-info password is dropped and
/// secret-looking query parameters are removed. Text that is not a URL is
/// returned unchanged.
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let (scheme, rest) = url.split_at(scheme_end + 3);
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    // The *last* `@` ends the user-info: a password may itself contain `@`.
    let authority = match authority.rfind('@') {
        Some(at) => {
            let (userinfo, host) = authority.split_at(at);
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{user}{host}")
        }
        None => authority.to_string(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let (query, fragment) = match query.split_once('#') {
                Some((q, f)) => (q, format!("#{f}")),
                None => (query, String::new()),
            };
            let kept: Vec<&str> = query
                .split('&')
                .filter(|kv| !is_secret_name(kv.split('=').next().unwrap_or("")))
                .collect();
            if kept.is_empty() {
                format!("{path}{fragment}")
            } else {
                format!("{path}?{}{fragment}", kept.join("&"))
            }
        }
        None => tail.to_string(),
    };
    format!("{scheme}{authority}{tail}")
}

fn url_pattern() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        // Up to the next whitespace: a password may hold quotes or brackets, and
        // what follows the authority is kept verbatim anyway.
        Regex::new(r"[A-Za-z][A-Za-z0-9+.\-]*://\S+").expect("static pattern")
    })
}

fn key_value_pattern() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    // libpq conninfo and `KEY=VALUE` / `"key": "value"` style pairs whose key
    // looks secret; the value runs to the next space, quote, comma or `&`.
    RE.get_or_init(|| {
        Regex::new(
            r#"(?i)\b([A-Za-z0-9_\-]*(?:password|passwd|secret|token|api[_\-]?key)[A-Za-z0-9_\-]*)("?\s*[:=]\s*"?)([^\s"',&;}]+)"#,
        )
        .expect("static pattern")
    })
}

fn bearer_pattern() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=\-]+").expect("static pattern")
    })
}

/// Values of environment variables whose names look secret, longest first so
/// that a secret containing another is replaced whole.
fn env_secrets() -> Vec<String> {
    let mut v: Vec<String> = std::env::vars()
        .filter(|(k, val)| is_secret_name(k) && val.len() >= MIN_ENV_SECRET_LEN)
        .map(|(_, val)| val)
        .collect();
    v.sort_by_key(|s| std::cmp::Reverse(s.len()));
    v.dedup();
    v
}

/// Redacts every secret this module knows how to find in free text.
pub fn redact_text(text: &str) -> String {
    let mut out = url_pattern()
        .replace_all(text, |c: &regex::Captures| redact_url(&c[0]))
        .into_owned();
    out = key_value_pattern()
        .replace_all(&out, |c: &regex::Captures| {
            // Names such as `max_tokens` match the pattern but are not secrets.
            if is_secret_name(&c[1]) {
                format!("{}{}{REDACTED}", &c[1], &c[2])
            } else {
                c[0].to_string()
            }
        })
        .into_owned();
    out = bearer_pattern()
        .replace_all(&out, |c: &regex::Captures| format!("{} {REDACTED}", &c[1]))
        .into_owned();
    for secret in env_secrets() {
        if out.contains(&secret) {
            out = out.replace(&secret, REDACTED);
        }
    }
    out
}

/// A command line with every secret redacted: the values of secret-looking
/// flags (`--api-key K`, `--api-key=K`) and anything [`redact_text`] finds in
/// the other arguments.
pub fn redact_args<S: AsRef<str>>(args: &[S]) -> Vec<String> {
    let mut out = Vec::with_capacity(args.len());
    let mut hide_next = false;
    for a in args {
        let a = a.as_ref();
        if hide_next {
            out.push(REDACTED.to_string());
            hide_next = false;
            continue;
        }
        if let Some(flag) = a.strip_prefix("--").or_else(|| a.strip_prefix('-')) {
            match flag.split_once('=') {
                Some((name, _)) if is_secret_name(name) => {
                    out.push(format!(
                        "{}={REDACTED}",
                        &a[..a.len() - flag.len() + name.len()]
                    ));
                    continue;
                }
                None if is_secret_name(flag) => {
                    hide_next = true;
                    out.push(a.to_string());
                    continue;
                }
                _ => {}
            }
        }
        out.push(redact_text(a));
    }
    out
}

/// A JSON value with secrets redacted: values under secret-looking keys become
/// [`REDACTED`], every string goes through [`redact_text`].
pub fn redact_json(value: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::String(s) => Value::String(redact_text(s)),
        Value::Array(items) => Value::Array(items.iter().map(redact_json).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = if is_secret_name(k) && !v.is_null() {
                        Value::String(REDACTED.into())
                    } else {
                        redact_json(v)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn url_passwords_are_dropped() {
        assert_eq!(
            redact_url("postgres://alice:s3cr@t@db.example:5432/rag"),
            "postgres://alice@db.example:5432/rag"
        );
        assert_eq!(
            redact_url("postgresql://bob@127.0.0.1/x?password=hunter2&sslmode=disable"),
            "postgresql://bob@127.0.0.1/x?sslmode=disable"
        );
        assert_eq!(redact_url("postgres://h/db"), "postgres://h/db");
        assert_eq!(
            redact_url("https://h/v1?api_key=K1&q=2#frag"),
            "https://h/v1?q=2#frag"
        );
    }

    #[test]
    fn text_args_and_json() {
        let t = redact_text(
            "cannot connect to postgres://alice:PW1234@db/x: password=PW1234 host=db; Authorization: Bearer sk-abc.def",
        );
        assert!(!t.contains("PW1234"), "{t}");
        assert!(!t.contains("sk-abc"), "{t}");
        assert!(t.contains("postgres://alice@db/x"), "{t}");
        // Counts of tokens are not secrets.
        assert_eq!(redact_text("max_tokens=128"), "max_tokens=128");

        let a = redact_args(&[
            "--store",
            "postgres://u:PW@h/d",
            "--api-key",
            "K-secret",
            "--token=T-secret",
            "--k",
            "5",
        ]);
        assert_eq!(
            a,
            [
                "--store",
                "postgres://u@h/d",
                "--api-key",
                REDACTED,
                "--token=***",
                "--k",
                "5"
            ]
        );
        let j = redact_json(&serde_json::json!({
            "args": ["postgres://u:PW@h/d"], "api_key": "K", "max_tokens": 5, "nested": {"password": "x"}
        }));
        assert_eq!(
            j,
            serde_json::json!({"args": ["postgres://u@h/d"], "api_key": REDACTED, "max_tokens": 5, "nested": {"password": REDACTED}})
        );
    }

    #[test]
    fn secret_names() {
        for s in [
            "--api-key",
            "OPENAI_API_KEY",
            "PGPASSWORD",
            "x-api-key",
            "hf_token",
            "authorization",
        ] {
            assert!(is_secret_name(s), "{s}");
        }
        for s in [
            "--k",
            "max_tokens",
            "tokenizer",
            "--store",
            "generated_tokens",
            "monkey",
        ] {
            assert!(!is_secret_name(s), "{s}");
        }
    }

    proptest! {
        /// Whatever the password (any printable characters but `/`, `?`, `#`,
        /// which end a URL authority), it never survives redaction.
        #[test]
        fn userinfo_never_survives(user in "[a-z]{1,8}", pw in "[!-.0-9:-~&&[^/?#@\\s]]{6,20}", host in "[a-z]{1,10}") {
            let url = format!("postgres://{user}:{pw}@{host}:5432/db");
            let text = format!("error: cannot connect to {url} (timeout)");
            let r = redact_text(&text);
            prop_assert!(!r.contains(&format!(":{pw}@")), "{}", r);
            prop_assert!(r.contains(&format!("postgres://{user}@{host}:5432/db")), "{}", r);
            let args = redact_args(&["--store", url.as_str()]);
            prop_assert!(!args[1].contains(&pw), "{:?}", args);
        }
    }
}
