//! Phase 6, data quality: **validation** (the pandera / Great Expectations equivalent) and **drift
//! monitoring** (the Evidently `DataDriftPreset` equivalent) for tabular data from any source.
//!
//! - [`schema`]: a declarative TOML schema (types, nullability, uniqueness, ranges, allowed values, regex,
//!   string length, dataset checks); every error names its line; [`Schema::to_toml`] writes one back.
//! - [`validate`]: lazy, streaming validation of a CSV file — every failure is collected, in pandera's
//!   failure-case table (`schema_context, column, check, check_number, failure_case, index`), in one pass
//!   with memory that does not grow with the file (except for uniqueness checks, which must remember what
//!   they saw).
//! - [`infer`]: a starting schema from clean data (as pandera's `infer_schema`).
//! - [`drift`]: per-column drift tests chosen exactly as Evidently 0.7.23's `DataDriftPreset` chooses
//!   them, with every statistic reported whatever the test; [`drift::drift_from_features`] is the
//!   building block for a service's request-log features.
//! - [`stats`] and [`kolmogorov`]: the statistics themselves (KS with scipy's exact distribution,
//!   Wasserstein, PSI, Jensen–Shannon, χ², z-test), each next to its definition.
//! - [`render`]: terminal table, JSON, and a small self-contained HTML report (inline SVG histograms from
//!   binned summaries, never raw rows).
//!
//! ```
//! use roadmap_quality::{Schema, validate::{validate_reader, ValidateOptions}};
//! let schema = Schema::from_toml_str("[[columns]]\nname = \"age\"\ntype = \"int\"\nmin = 0\n").unwrap();
//! let data = "age\n34\n-1\nold\n";
//! let report = validate_reader(&schema, data.as_bytes(), &ValidateOptions::default()).unwrap();
//! assert!(report.has_failures());
//! assert_eq!(report.failure_cases.len(), 2); // -1 out of range, "old" not an int
//! ```

pub mod drift;
pub mod infer;
pub mod kolmogorov;
pub mod render;
pub mod schema;
pub mod stats;
pub mod table;
pub mod validate;

pub use drift::{
    drift_csv, drift_from_features, ColumnDrift, DriftOptions, DriftReport, FeatureValues, StatTest,
};
pub use infer::{infer_schema, infer_schema_reader};
pub use schema::{DType, Schema};
pub use validate::{validate_csv, FailureCase, ValidateOptions, ValidationReport};

/// Everything that can go wrong reading a schema or data. Each message says what, where and how to fix it.
#[derive(Debug, thiserror::Error)]
pub enum QualityError {
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("schema {origin}, line {line}, column {col}: {message}")]
    Schema {
        origin: String,
        line: usize,
        col: usize,
        message: String,
    },
    #[error("{origin}: the file is empty (no header row); a CSV file needs a first line naming its columns")]
    EmptyFile { origin: String },
    #[error(
        "{origin}, line {line} (data row {row}): {found} fields, but the header has {expected}; \
         check the separators and quoting on that line"
    )]
    Ragged {
        origin: String,
        line: u64,
        row: u64,
        found: usize,
        expected: usize,
    },
    #[error(
        "{origin}, line {line}{column}: bytes that are not valid UTF-8; re-encode the file as UTF-8 \
         (for example `iconv -f latin1 -t utf-8 in.csv > out.csv`)"
    )]
    NotUtf8 {
        origin: String,
        line: u64,
        column: String,
    },
    #[error("{origin}: CSV syntax error at line {line}: {message}")]
    Csv {
        origin: String,
        line: u64,
        message: String,
    },
    #[error("{origin}: duplicate column name `{name}` in the header; column names must be unique")]
    DuplicateColumn { origin: String, name: String },
    #[error("column `{column}` of the reference data is missing from the current data ({origin}); both files need the same columns (or pass the column list to compare)")]
    MissingColumn { column: String, origin: String },
    #[error("{origin}: no data rows (only a header); drift needs at least one row on each side")]
    NoRows { origin: String },
    #[error("drift: {0}")]
    Drift(String),
    #[error("{0}")]
    Render(String),
}

impl QualityError {
    /// True for an unusable schema (the CLI exits with status 2 for these).
    pub fn is_schema_error(&self) -> bool {
        matches!(self, QualityError::Schema { .. })
    }

    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        QualityError::Io {
            context: context.into(),
            source,
        }
    }
}

/// Shorthand for results of this crate.
pub type Result<T> = std::result::Result<T, QualityError>;
