//! SQL identifiers that must be written into a statement's text.
//!
//! Values always travel as bind parameters (`$1`), but PostgreSQL cannot bind
//! an identifier: `CREATE SCHEMA`, `SET search_path` and `DROP SCHEMA` need the
//! name in the SQL itself. Such a name is accepted only as an [`Ident`], which
//! can be made only from text matching `^[a-z_][a-z0-9_]{0,62}$` (an unquoted
//! PostgreSQL identifier that needs no case folding and fits `NAMEDATALEN` − 1
//! = 63 bytes), and is then still written double-quoted. Nothing else in this
//! store is formatted into SQL except integers from its own tables (collection
//! ids, dimensions, `ef_search`), which are Rust integers by type.

use std::fmt;

use crate::error::{RagError, Result};

/// PostgreSQL's identifier length limit (`NAMEDATALEN` − 1).
pub const MAX_IDENT_LEN: usize = 63;

/// A validated SQL identifier; [`fmt::Display`] writes it double-quoted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ident(String);

impl Ident {
    /// Validates `name` as the `what` of a statement (named in the error).
    pub fn new(name: &str, what: &str) -> Result<Self> {
        let mut chars = name.chars();
        let first_ok = chars
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_');
        let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if first_ok && rest_ok && name.len() <= MAX_IDENT_LEN {
            Ok(Self(name.to_string()))
        } else {
            Err(RagError::Invalid(format!(
                "{what} `{}`: use 1 to {MAX_IDENT_LEN} lower-case ASCII letters, digits and `_`, \
                 not starting with a digit",
                name.escape_debug()
            )))
        }
    }

    /// The bare name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Ident {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\"", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_lower_case_names_pass_and_print_quoted() {
        for ok in ["public", "rag_test_ingest_4242", "_x", "a", &"a".repeat(63)] {
            let id = Ident::new(ok, "schema name").unwrap();
            assert_eq!(id.as_str(), ok);
            assert_eq!(id.to_string(), format!("\"{ok}\""));
        }
    }

    #[test]
    fn anything_that_could_leave_the_quotes_is_refused() {
        for bad in [
            "",
            "Public",
            "1abc",
            "a-b",
            "a b",
            "x\"; DROP TABLE chunks; --",
            "x'",
            "schéma",
            "a\0b",
            &"a".repeat(64),
        ] {
            let e = Ident::new(bad, "schema name").unwrap_err().to_string();
            assert!(
                e.contains("schema name") && e.contains("lower-case"),
                "{bad:?}: {e}"
            );
        }
    }
}
