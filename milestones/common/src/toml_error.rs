//! Locating TOML errors: every TOML file the project reads (the roadmap, the
//! user's config, schemas, experiments, the service config) reports a problem
//! as `FILE:LINE:COLUMN: message`, so the user can jump straight to it.

use std::ops::Range;

/// 1-based line and column (in characters) of a byte offset into `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, col)
}

/// `SOURCE:LINE:COL: MESSAGE` for a span of `text` (or `SOURCE: MESSAGE`
/// when there is no span).
pub fn at(source: &str, text: &str, span: Option<Range<usize>>, message: &str) -> String {
    match span {
        Some(s) => {
            let (line, col) = line_col(text, s.start);
            format!("{source}:{line}:{col}: {message}")
        }
        None => format!("{source}: {message}"),
    }
}

/// A `toml` deserialisation error as `SOURCE:LINE:COL: message`.
pub fn describe(source: &str, text: &str, e: &toml::de::Error) -> String {
    at(source, text, e.span(), e.message())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_line_and_column() {
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct C {
            a: i64,
        }
        let text = "a = 1\nb = 2\n";
        let e = toml::from_str::<C>(text).unwrap_err();
        let d = describe("c.toml", text, &e);
        assert!(d.starts_with("c.toml:2:1: unknown field `b`"), "{d}");
        assert_eq!(line_col("ab\ncd", 0), (1, 1));
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
        assert_eq!(line_col("é\nx", 3), (2, 1));
        assert_eq!(line_col("é", 1), (1, 1)); // inside a character: its start
    }
}
