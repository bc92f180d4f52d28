//! Validation of request bodies before any work starts.
//!
//! Every well-formed body is checked completely and *all* its problems are
//! returned at once (as FastAPI's 422 `detail` list), so a client fixes its
//! request in one round trip. The rules live here, next to each other, so the
//! OpenAPI document, the handlers and the tests agree.

use serde_json::Value;

/// The longest question or query, in characters.
pub const MAX_QUESTION_CHARS: usize = 2000;
/// `k` bounds.
pub const K_RANGE: std::ops::RangeInclusive<usize> = 1..=50;

/// One problem: where (`["body", "question"]`), what, and a stable code
/// (pydantic v2's error types).
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub loc: Vec<Value>,
    pub msg: String,
    pub kind: &'static str,
}

impl Problem {
    pub fn body(field: &str, msg: impl Into<String>, kind: &'static str) -> Problem {
        Problem {
            loc: vec![Value::from("body"), Value::from(field)],
            msg: msg.into(),
            kind,
        }
    }
}

/// Collection names: `[a-z0-9_-]{1,64}` — safe in URLs, file names and SQL
/// identifiers' neighbourhoods, and unambiguous in logs.
pub fn is_collection_name(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// A question or query: 1..=2000 characters and not blank.
pub fn check_text(field: &str, text: &str, out: &mut Vec<Problem>) {
    let chars = text.chars().count();
    if text.trim().is_empty() {
        out.push(Problem::body(
            field,
            format!("{field} must not be empty or blank"),
            "string_too_short",
        ));
    } else if chars > MAX_QUESTION_CHARS {
        out.push(Problem::body(
            field,
            format!("{field} has {chars} characters; at most {MAX_QUESTION_CHARS} are allowed"),
            "string_too_long",
        ));
    }
}

/// An optional `k` in 1..=50.
pub fn check_k(k: Option<i64>, out: &mut Vec<Problem>) {
    if let Some(k) = k {
        if k < *K_RANGE.start() as i64 || k > *K_RANGE.end() as i64 {
            out.push(Problem::body(
                "k",
                format!(
                    "k must be between {} and {}, got {k}",
                    K_RANGE.start(),
                    K_RANGE.end()
                ),
                if k < 1 {
                    "greater_than_equal"
                } else {
                    "less_than_equal"
                },
            ));
        }
    }
}

/// An optional collection name.
pub fn check_collection(name: Option<&str>, out: &mut Vec<Problem>) {
    if let Some(n) = name {
        if !is_collection_name(n) {
            out.push(Problem::body(
                "collection",
                format!("collection `{n}` must match [a-z0-9_-]{{1,64}}"),
                "string_pattern_mismatch",
            ));
        }
    }
}

/// An optional value that must be one of `allowed`.
pub fn check_choice(field: &str, value: Option<&str>, allowed: &[&str], out: &mut Vec<Problem>) {
    if let Some(v) = value {
        if !allowed.contains(&v) {
            out.push(Problem::body(
                field,
                format!("{field} must be one of {}, got `{v}`", allowed.join(", ")),
                "enum",
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_is_reported() {
        let mut p = Vec::new();
        check_text("question", "   ", &mut p);
        check_k(Some(0), &mut p);
        check_collection(Some("Bad Name"), &mut p);
        check_choice("mode", Some("fuzzy"), &["dense", "bm25", "hybrid"], &mut p);
        let kinds: Vec<_> = p.iter().map(|p| p.kind).collect();
        assert_eq!(
            kinds,
            [
                "string_too_short",
                "greater_than_equal",
                "string_pattern_mismatch",
                "enum"
            ]
        );
        let mut p = Vec::new();
        check_text("query", &"é".repeat(2001), &mut p);
        check_k(Some(51), &mut p);
        assert_eq!(p[0].kind, "string_too_long");
        assert_eq!(p[1].kind, "less_than_equal");
        let mut p = Vec::new();
        check_text("query", &"é".repeat(2000), &mut p);
        check_k(Some(50), &mut p);
        check_collection(Some("notes_2026-q1"), &mut p);
        assert!(p.is_empty(), "{p:?}");
        assert!(!is_collection_name(&"a".repeat(65)));
    }
}
