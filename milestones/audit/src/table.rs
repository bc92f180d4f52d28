//! A CSV file as a table of trimmed strings, with rows holding a missing cell dropped.
//!
//! The audit's data (Adult, or any CSV with a header) mixes numbers and
//! categories, so cells stay strings until the pipeline knows which column is
//! which. Two cleaning rules are applied here, once, so every later step (the
//! split, the predictions file, a Python re-implementation) sees the same rows:
//!
//! - every cell is trimmed of surrounding whitespace (the UCI original of Adult
//!   writes `, Private`; `pandas.read_csv(skipinitialspace=True)` does the same);
//! - a row with a missing cell in **any** column (`?`, Adult's marker, or an
//!   empty cell) is dropped, exactly like `df[~(df == "?").any(axis=1)]`. The
//!   surviving rows are numbered 0, 1, 2, … — the *position* the deterministic
//!   split and the predictions file use.

use std::collections::HashSet;
use std::path::Path;

use crate::error::{AuditError, Result};

/// The cell values that mean "missing".
pub const MISSING: [&str; 2] = ["?", ""];

/// A parsed CSV: header, kept rows, and what was dropped.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Where the data came from, for error messages.
    pub source_name: String,
    /// Column names, trimmed, in file order.
    pub columns: Vec<String>,
    /// Kept rows (no missing cell), each with one trimmed cell per column.
    pub rows: Vec<Vec<String>>,
    /// 1-based line number of each kept row in the source (for error messages).
    pub lines: Vec<u64>,
    /// Rows dropped because a cell was missing.
    pub dropped_missing: usize,
}

impl Table {
    /// Reads a CSV file with a header row.
    pub fn read_csv(path: &Path) -> Result<Table> {
        let file = std::fs::File::open(path).map_err(|e| AuditError::io("read", path, e))?;
        Table::parse(std::io::BufReader::new(file), &path.display().to_string())
    }

    /// Parses CSV text with a header row (`source_name` labels errors).
    pub fn parse(reader: impl std::io::Read, source_name: &str) -> Result<Table> {
        let csv_err = |source| AuditError::Csv {
            path: source_name.to_string(),
            source,
        };
        let mut rdr = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_reader(reader);
        let columns: Vec<String> = rdr
            .headers()
            .map_err(csv_err)?
            .iter()
            .map(str::to_string)
            .collect();
        let mut seen = HashSet::new();
        for c in &columns {
            if !seen.insert(c.as_str()) {
                return Err(AuditError::DuplicateColumn {
                    source_name: source_name.to_string(),
                    column: c.clone(),
                });
            }
        }
        let mut rows = Vec::new();
        let mut lines = Vec::new();
        let mut dropped_missing = 0;
        for record in rdr.records() {
            let record = record.map_err(csv_err)?;
            if record.iter().any(|cell| MISSING.contains(&cell)) {
                dropped_missing += 1;
                continue;
            }
            lines.push(record.position().map_or(0, |p| p.line()));
            rows.push(record.iter().map(str::to_string).collect());
        }
        Ok(Table {
            source_name: source_name.to_string(),
            columns,
            rows,
            lines,
            dropped_missing,
        })
    }

    /// Number of kept rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether no row was kept.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Index of each named column, or one error listing every missing name.
    pub fn column_indices(&self, names: &[String], hint: &str) -> Result<Vec<usize>> {
        let mut missing = Vec::new();
        let idx: Vec<usize> = names
            .iter()
            .filter_map(|n| {
                let i = self.columns.iter().position(|c| c == n);
                if i.is_none() {
                    missing.push(n.clone());
                }
                i
            })
            .collect();
        if missing.is_empty() {
            Ok(idx)
        } else {
            Err(AuditError::MissingColumns {
                source_name: self.source_name.clone(),
                missing,
                available: self.columns.clone(),
                hint: hint.to_string(),
            })
        }
    }

    /// The cells of one column, in row order.
    pub fn column(&self, index: usize) -> impl Iterator<Item = &str> + '_ {
        self.rows.iter().map(move |r| r[index].as_str())
    }

    /// Whether every cell of the column parses as a finite number.
    pub fn is_numeric(&self, index: usize) -> bool {
        !self.is_empty()
            && self
                .column(index)
                .all(|v| v.parse::<f64>().is_ok_and(f64::is_finite))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_cells_and_drops_rows_with_a_missing_cell() {
        let csv = "a, b ,c\n1, x,2\n?,y,3\n4,,5\n6, z , 7\n";
        let t = Table::parse(csv.as_bytes(), "t.csv").unwrap();
        assert_eq!(t.columns, ["a", "b", "c"]);
        assert_eq!(t.rows, [["1", "x", "2"], ["6", "z", "7"]]);
        assert_eq!(t.lines, [2, 5]);
        assert_eq!(t.dropped_missing, 2);
        assert!(t.is_numeric(0) && !t.is_numeric(1));
    }

    #[test]
    fn names_every_missing_column_and_duplicate_headers() {
        let t = Table::parse("a,b\n1,2\n".as_bytes(), "t.csv").unwrap();
        match t.column_indices(&["b".into(), "x".into(), "y".into()], "") {
            Err(AuditError::MissingColumns { missing, .. }) => assert_eq!(missing, ["x", "y"]),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            Table::parse("a,a\n1,2\n".as_bytes(), "t.csv"),
            Err(AuditError::DuplicateColumn { .. })
        ));
        assert!(matches!(
            Table::parse("a,b\n1,2,3\n".as_bytes(), "t.csv"),
            Err(AuditError::Csv { .. })
        ));
    }
}
