//! Capstone part `quality` (issue 13): validation and drift detection on data
//! whose faults are planted, so the expected answer is known exactly.
//!
//! The `adult-census` asset (32,561 rows × 15 columns) is split in halves:
//! reference = rows `[0, n/2)`, current = rows `[n/2, n)` (the split of the
//! quality crate's Adult example and benchmark). From the current half the part
//! derives, in memory:
//!
//! - a **corrupted** copy with [`CORRUPTIONS`] planted cells (a word in an int
//!   column, values outside their range, categories outside their set);
//! - a **shifted** copy with a documented population change: `age` + 8 years
//!   for every row, every 3rd row works 60 `hours-per-week`, every 4th row's
//!   `workclass` becomes `Self-emp-inc`.
//!
//! Checks, against the Adult schema (`milestones/quality/benches/adult_schema.toml`,
//! pandera's schema of the benchmark) with pandera-style lazy validation and
//! Evidently 0.7's `DataDriftPreset` defaults (per-column test chosen by type
//! and size, dataset drift when ≥ half the columns drift):
//!
//! 1. `clean`: the untouched current half has no failure case;
//! 2. `corrupted`: the corrupted copy's failure cases are exactly the planted
//!    cells — same column, row index and value, nothing more, nothing less;
//! 3. `undrifted`: reference vs current half: no column drifts;
//! 4. `drifted`: reference vs shifted half: exactly `age`, `hours-per-week` and
//!    `workclass` drift (3 of 15 columns: below Evidently's 0.5 share, so the
//!    dataset-level verdict stays "no drift", as Evidently would say).
//!
//! Artifacts: `failure_cases.csv` (pandera's columns), `drift.json` and
//! `drift.html` (the shifted comparison).

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, Result};
use roadmap_quality::drift::{drift_readers, DriftOptions, DriftReport};
use roadmap_quality::validate::{validate_reader, ValidateOptions, ValidationReport};
use roadmap_quality::Schema;
use serde_json::json;

use super::{Ran, Reporter, Settings};

pub const METRICS: &[&str] = &[
    "quality_clean_failures",
    "quality_planted_failures",
    "quality_found_failures",
    "quality_undrifted_columns_drifted",
    "quality_shifted_columns_drifted",
    "quality_shifted_share_drifted",
];

/// `(row of the current half, column, planted value)`: each must give one failure case.
pub const CORRUPTIONS: [(u64, &str, &str); 6] = [
    (3, "age", "unknown"),
    (7, "age", "150"),
    (11, "hours-per-week", "-5"),
    (12, "sex", "F"),
    (20, "education-num", "0"),
    (25, "race", "Martian"),
];

/// The columns the shift changes, which must be the drifted ones.
pub const SHIFTED_COLUMNS: [&str; 3] = ["age", "hours-per-week", "workclass"];

/// The Adult schema: pandera's schema of the quality crate's side-by-side benchmark in its TOML
/// (six int columns with their ranges, nine string columns with Adult's sorted values).
const ADULT_SCHEMA: &str = include_str!("../../../milestones/quality/benches/adult_schema.toml");
const ADULT_ASSET: &str = "adult-census";
const ADULT_FILE: &str = "adult.csv";

pub fn run(s: &Settings, rep: &mut Reporter) -> Result<Ran> {
    let dir = match roadmap_common::assets::ensure(&s.cache_dir, ADULT_ASSET) {
        Ok(d) => d,
        Err(e) => {
            return Ok(Ran::Skipped(format!(
            "the Adult census data is not available ({e}); `roadmap assets fetch {ADULT_ASSET}` \
                 fetches it, or point ROADMAP_ADULT_CENSUS_DIR at a folder holding {ADULT_FILE}"
        )))
        }
    };
    let path = dir.join(ADULT_FILE);
    let schema = Schema::parse(ADULT_SCHEMA, "the Adult schema")
        .context("the built-in Adult schema does not parse (a bug in this version of roadmap)")?;
    let data = Halves::read(&path)?;
    rep.progress(&format!(
        "{} rows: reference {} rows, current {} rows",
        data.reference.len() + data.current.len(),
        data.reference.len(),
        data.current.len()
    ));
    let mut metrics = BTreeMap::new();

    // 1–2: validation.
    let opts = ValidateOptions::default();
    let clean = validate_reader(&schema, data.csv(&data.current).as_slice(), &opts)
        .context("cannot validate the current half")?;
    rep.check(
        "clean",
        !clean.has_failures(),
        format!(
            "the untouched current half ({} rows) against the Adult schema: {} failure cases{}",
            clean.rows,
            clean.failure_count,
            first_failures(&clean)
        ),
    );
    metrics.insert(
        "quality_clean_failures".to_string(),
        clean.failure_count as f64,
    );

    let corrupted = data.corrupted()?;
    let report = validate_reader(&schema, data.csv(&corrupted).as_slice(), &opts)
        .context("cannot validate the corrupted copy")?;
    let expected: BTreeSet<(u64, String, String)> = CORRUPTIONS
        .iter()
        .map(|(r, c, v)| (*r, c.to_string(), v.to_string()))
        .collect();
    let found: BTreeSet<(u64, String, String)> = report
        .failure_cases
        .iter()
        .map(|f| {
            (
                f.index.unwrap_or(u64::MAX),
                f.column.clone().unwrap_or_default(),
                f.failure_case.clone().unwrap_or_default(),
            )
        })
        .collect();
    let exact = found == expected && report.failure_count == expected.len() as u64;
    rep.check(
        "corrupted",
        exact,
        format!(
            "{} cells planted, {} failure cases found{}: {}",
            expected.len(),
            report.failure_count,
            if exact {
                ", exactly the planted ones"
            } else {
                " — NOT the planted set"
            },
            report
                .failure_cases
                .iter()
                .map(|f| format!(
                    "row {} {} {} `{}`",
                    f.index.map_or("-".into(), |i| i.to_string()),
                    f.column.as_deref().unwrap_or("-"),
                    f.check,
                    f.failure_case.as_deref().unwrap_or("")
                ))
                .collect::<Vec<_>>()
                .join("; ")
        ),
    );
    metrics.insert(
        "quality_planted_failures".to_string(),
        expected.len() as f64,
    );
    metrics.insert(
        "quality_found_failures".to_string(),
        report.failure_count as f64,
    );
    let failures_path = s.artifact_dir.join("failure_cases.csv");
    report
        .write_failures_csv(std::fs::File::create(&failures_path)?)
        .context("cannot write the failure cases")?;

    // 3–4: drift.
    rep.progress("drift: reference half vs current half, then vs the shifted half");
    let dopts = DriftOptions::default().with_schema(&schema);
    let same = drift_readers(
        data.csv(&data.reference).as_slice(),
        data.csv(&data.current).as_slice(),
        &dopts,
    )
    .context("cannot compare the halves")?;
    let same_drifted = drifted(&same);
    rep.check(
        "undrifted",
        same_drifted.is_empty() && !same.dataset_drift,
        format!(
            "reference vs current half: {} of {} columns drift{}",
            same.number_drifted,
            same.number_of_columns,
            list(&same_drifted)
        ),
    );
    metrics.insert(
        "quality_undrifted_columns_drifted".to_string(),
        same.number_drifted as f64,
    );

    let shifted = data.shifted()?;
    let moved = drift_readers(
        data.csv(&data.reference).as_slice(),
        data.csv(&shifted).as_slice(),
        &dopts,
    )
    .context("cannot compare the reference half with the shifted half")?;
    let moved_drifted = drifted(&moved);
    let want: BTreeSet<String> = SHIFTED_COLUMNS.iter().map(|c| c.to_string()).collect();
    rep.check(
        "drifted",
        moved_drifted == want,
        format!(
            "reference vs shifted half: {} of {} columns drift{} (shifted: {}); share {:.2}, dataset drift {}",
            moved.number_drifted,
            moved.number_of_columns,
            list(&moved_drifted),
            SHIFTED_COLUMNS.join(", "),
            moved.share_drifted,
            if moved.dataset_drift { "yes" } else { "no (share < 0.5)" }
        ),
    );
    metrics.insert(
        "quality_shifted_columns_drifted".to_string(),
        moved.number_drifted as f64,
    );
    metrics.insert(
        "quality_shifted_share_drifted".to_string(),
        moved.share_drifted,
    );
    std::fs::write(
        s.artifact_dir.join("drift.json"),
        serde_json::to_vec_pretty(&moved.to_json())?,
    )?;
    std::fs::write(s.artifact_dir.join("drift.html"), moved.to_html()?)?;

    Ok(Ran::Done {
        metrics,
        details: json!({
            "failure_cases": report.failure_cases,
            "undrifted_columns_drifted": same_drifted,
            "shifted_columns_drifted": moved_drifted,
        }),
    })
}

/// The names of the drifted columns.
fn drifted(r: &DriftReport) -> BTreeSet<String> {
    r.columns
        .iter()
        .filter(|c| c.drifted)
        .map(|c| c.column.clone())
        .collect()
}

fn list(cols: &BTreeSet<String>) -> String {
    if cols.is_empty() {
        String::new()
    } else {
        format!(" ({})", cols.iter().cloned().collect::<Vec<_>>().join(", "))
    }
}

fn first_failures(r: &ValidationReport) -> String {
    if !r.has_failures() {
        return String::new();
    }
    let shown: Vec<String> = r
        .failure_cases
        .iter()
        .take(3)
        .map(|f| {
            format!(
                "{} {} `{}`",
                f.column.as_deref().unwrap_or("-"),
                f.check,
                f.failure_case.as_deref().unwrap_or("")
            )
        })
        .collect();
    format!(" (first: {})", shown.join("; "))
}

/// Adult's rows, split in halves.
struct Halves {
    headers: csv::StringRecord,
    reference: Vec<csv::StringRecord>,
    current: Vec<csv::StringRecord>,
}

impl Halves {
    fn read(path: &std::path::Path) -> Result<Halves> {
        let mut r = csv::Reader::from_path(path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        let headers = r.headers()?.clone();
        let mut rows: Vec<csv::StringRecord> = r
            .records()
            .collect::<Result<_, _>>()
            .with_context(|| format!("cannot read {}", path.display()))?;
        anyhow::ensure!(
            rows.len() >= 100,
            "{} has {} rows; the check needs the whole Adult file",
            path.display(),
            rows.len()
        );
        let current = rows.split_off(rows.len() / 2);
        Ok(Halves {
            headers,
            reference: rows,
            current,
        })
    }

    fn col(&self, name: &str) -> Result<usize> {
        self.headers
            .iter()
            .position(|h| h == name)
            .with_context(|| format!("the Adult file has no column `{name}`"))
    }

    /// The rows as CSV text with the header.
    fn csv(&self, rows: &[csv::StringRecord]) -> Vec<u8> {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(&self.headers).expect("in memory");
        for r in rows {
            w.write_record(r).expect("in memory");
        }
        w.into_inner().expect("in memory")
    }

    /// The current half with [`CORRUPTIONS`] planted.
    fn corrupted(&self) -> Result<Vec<csv::StringRecord>> {
        let mut rows = self.current.clone();
        for (row, col, value) in CORRUPTIONS {
            let c = self.col(col)?;
            let r = &mut rows[row as usize];
            let mut f: Vec<String> = r.iter().map(str::to_string).collect();
            f[c] = value.to_string();
            *r = csv::StringRecord::from(f);
        }
        Ok(rows)
    }

    /// The current half with the documented population shift.
    fn shifted(&self) -> Result<Vec<csv::StringRecord>> {
        let (age, hours, workclass) = (
            self.col("age")?,
            self.col("hours-per-week")?,
            self.col("workclass")?,
        );
        self.current
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let mut f: Vec<String> = r.iter().map(str::to_string).collect();
                let a: i64 = f[age].trim().parse().with_context(|| {
                    format!("current row {i}: age `{}` is not a number", f[age])
                })?;
                f[age] = (a + 8).to_string();
                if i % 3 == 0 {
                    f[hours] = "60".into();
                }
                if i % 4 == 0 {
                    f[workclass] = "Self-emp-inc".into();
                }
                Ok(csv::StringRecord::from(f))
            })
            .collect()
    }
}
