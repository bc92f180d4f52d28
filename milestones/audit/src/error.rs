//! Every way the audit can fail, each with what went wrong, where, and how to fix it.
//!
//! One enum for the whole crate keeps the CLI's error handling to a single `?`;
//! the variants are specific enough that a test can assert which bad input it hit.

use std::path::PathBuf;

/// What can go wrong training, auditing or explaining.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: invalid CSV: {source}")]
    Csv {
        path: String,
        #[source]
        source: csv::Error,
    },
    #[error("{source_name}: missing column(s) {missing:?}; the file has {available:?}{hint}")]
    MissingColumns {
        source_name: String,
        missing: Vec<String>,
        available: Vec<String>,
        hint: String,
    },
    #[error("{source_name}: column `{column}` appears twice in the header")]
    DuplicateColumn { source_name: String, column: String },
    #[error("{source_name}: no rows left{why}")]
    NoRows { source_name: String, why: String },
    #[error(
        "{source_name}, row {row} (line {line}): column `{column}` is numeric but holds `{value}`; \
         list it under the categorical columns instead, or fix the value"
    )]
    NotNumeric {
        source_name: String,
        row: usize,
        line: u64,
        column: String,
        value: String,
    },
    #[error("column `{column}` is named more than once among the numeric, categorical and target columns")]
    ColumnListedTwice { column: String },
    #[error("the target `{target}` cannot also be a feature")]
    TargetIsFeature { target: String },
    #[error("no feature columns: name at least one numeric or categorical column")]
    NoFeatures,
    #[error(
        "{source_name}: target column `{target}` has no value `{positive}` (values seen: {seen:?}); \
         pass the positive class exactly as it is written"
    )]
    PositiveNotFound {
        source_name: String,
        target: String,
        positive: String,
        seen: Vec<String>,
    },
    #[error(
        "{source_name}: column `{column}` must hold binary labels: 0/1{named}, but row {row} (line {line}) has `{value}`"
    )]
    NotBinary {
        source_name: String,
        column: String,
        named: String,
        row: usize,
        line: u64,
        value: String,
    },
    #[error("{source_name}: column `{column}` has more than two distinct labels ({seen:?}); binary classification only")]
    TooManyLabels {
        source_name: String,
        column: String,
        seen: Vec<String>,
    },
    #[error(
        "the training rows hold only class {class} of the target: logistic regression needs both"
    )]
    SingleClass { class: u8 },
    #[error(
        "the data does not match the model: {problem}. The model was trained on columns {expected:?} \
         (numeric {numeric:?}, categorical {categorical:?})"
    )]
    ModelMismatch {
        problem: String,
        expected: Vec<String>,
        numeric: Vec<String>,
        categorical: Vec<String>,
    },
    #[error("{path} is not a roadmap-audit model: {reason}")]
    BadModel { path: PathBuf, reason: String },
    #[error("fitting the logistic regression failed: {0}")]
    Fit(#[from] roadmap_logreg::LogRegError),
    #[error("sensitive column `{column}`: {problem}")]
    Sensitive { column: String, problem: String },
    #[error("privileged group `{value}` does not occur in `{column}`; its groups are {groups:?}")]
    UnknownPrivileged {
        column: String,
        value: String,
        groups: Vec<String>,
    },
    #[error("{what} must be {expected}, got {got}")]
    BadParameter {
        what: &'static str,
        expected: &'static str,
        got: String,
    },
    #[error("{what}: got {found}, expected {expected} ({unit})")]
    LengthMismatch {
        what: &'static str,
        found: usize,
        expected: usize,
        unit: &'static str,
    },
    #[error("feature {column} of row {row} is {value}; SHAP needs finite inputs")]
    NonFinite {
        row: usize,
        column: usize,
        value: f64,
    },
    #[error("exact Shapley values enumerate 2^n coalitions: at most {max} players, got {n}")]
    TooManyPlayers { n: usize, max: usize },
    #[error(
        "the model's output {value} is not a probability in [0, 1] (needed by the logit link)"
    )]
    NotProbability { value: f64 },
    #[error("the value function failed on coalition {coalition:?}: {message}")]
    ValueFunction {
        coalition: Vec<usize>,
        message: String,
    },
    #[error("numerical failure: {0}")]
    Numeric(String),
    #[error("k-means summary failed: {0}")]
    KMeans(String),
    #[error("text model failed: {0}")]
    TextModel(String),
    #[error("{0}")]
    Templates(String),
    #[error("drawing {path}: {message}")]
    Plot { path: String, message: String },
}

impl AuditError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        AuditError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

/// `Err(LengthMismatch)` unless `found == expected`.
pub(crate) fn check_len(
    what: &'static str,
    found: usize,
    expected: usize,
    unit: &'static str,
) -> Result<()> {
    if found == expected {
        Ok(())
    } else {
        Err(AuditError::LengthMismatch {
            what,
            found,
            expected,
            unit,
        })
    }
}

/// Shorthand for this crate's results.
pub type Result<T, E = AuditError> = std::result::Result<T, E>;
