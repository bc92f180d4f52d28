//! Phase 6, capstone requirement 5: a bias audit and Shapley-value explanations.
//!
//! The Python reference a learner would use is fairlearn (group fairness
//! metrics, threshold post-processing) plus shap (SHAP values and plots).
//! This crate recomputes their definitions exactly, from counts and from the
//! model, so every number can be checked against them
//! (`scripts/reference.py`, `tests/`):
//!
//! - [`table`] + [`pipeline`]: the tabular model the audit runs on — Adult (or
//!   any CSV) cleaned, split deterministically (`position % 5 == 0` → test),
//!   standardised and one-hot encoded, and fitted with phase 1's Newton solver
//!   to scikit-learn's exact optimum; saved as JSON with its preprocessing.
//! - [`fairness`]: fairlearn's `MetricFrame` and aggregate metrics
//!   (demographic parity, equalized odds, equal opportunity), disparate
//!   impact and the four-fifths rule, intersectional groups, bootstrap
//!   intervals; [`report`] renders it as a terminal table, Markdown, HTML
//!   with bar charts and JSON with fairlearn's names.
//! - [`mitigation`]: per-group decision thresholds for demographic parity or
//!   equalized odds, with the accuracy they cost.
//! - [`textbias`]: a counterfactual template audit of the phase-2 sentiment
//!   network (sentences that differ only in an identity term).
//! - [`shap`]: linear SHAP, KernelSHAP (shap 0.51's sampling and solver),
//!   exact Shapley values, token-level text explanations, and shap's plots.
//!
//! ```
//! use roadmap_audit::fairness::{AuditInput, AuditOptions, FairnessReport, SensitiveColumn};
//! let input = AuditInput {
//!     source_name: "example".into(),
//!     y_true: vec![1, 0, 1, 0],
//!     y_pred: vec![1, 0, 0, 0],
//!     scores: None,
//!     sensitive: vec![SensitiveColumn { name: "sex".into(), values: vec!["F".into(), "F".into(), "M".into(), "M".into()] }],
//! };
//! let report = FairnessReport::compute(&input, &AuditOptions { bootstrap: 0, ..Default::default() }).unwrap();
//! let dpd = report.audits[0].aggregates.iter().find(|a| a.name == "demographic_parity_difference").unwrap();
//! assert_eq!(dpd.value.value, Some(0.5));
//! ```

pub mod error;
pub mod fairness;
pub mod mitigation;
pub mod pipeline;
pub mod report;
pub mod shap;
pub mod table;
pub mod textbias;

pub use error::{AuditError, Result};
pub use fairness::{AuditInput, AuditOptions, FairnessReport};
pub use pipeline::{TabularModel, TabularSpec};
pub use shap::text::TextModel;
pub use shap::Explanation;
pub use table::Table;
