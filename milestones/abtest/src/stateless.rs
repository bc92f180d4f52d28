//! Stateless entry points for the command line: one statistic or one
//! assignment from its arguments, no experiments file or store needed.
//!
//! ```text
//! roadmap ab stats srm --counts 5100,4900 [--weights 0.5,0.5]
//! roadmap ab stats proportions --a 480/5000 --b 540/5000
//! roadmap ab stats welch --a A.csv --b B.csv
//! roadmap ab assign --seed SEED --weights 0.5,0.5 --user ID --hash-version 2
//! ```
//!
//! The parsers turn the argument text into numbers and say exactly which
//! piece is wrong (`count 2 of "5100,49x0" is "49x0", not a whole number`);
//! the functions return the same result types the report uses, which
//! serialise to JSON for `--json` and print with [`crate::render`].

use std::path::Path;

use serde::Serialize;

use crate::assign::{Assigner, HashVersion, Range};
use crate::stats::proportions::{two_proportions, Proportion, ProportionsTest};
use crate::stats::srm::{srm, Srm};
use crate::stats::welch::{welch, WelchTest};
use crate::stats::{StatsError, Summary};

/// An argument that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ArgError {
    #[error("{what} {index} of \"{arg}\" is \"{item}\", not {expected}")]
    BadItem {
        what: &'static str,
        index: usize,
        arg: String,
        item: String,
        expected: &'static str,
    },
    #[error("\"{0}\" is empty: give comma-separated values, e.g. 5100,4900")]
    Empty(String),
    #[error("\"{arg}\" is not SUCCESSES/TRIALS (e.g. 480/5000): {problem}")]
    BadFraction { arg: String, problem: String },
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}, line {line}: \"{value}\" is not a number; give one number per line (a header line first is allowed)")]
    BadValue {
        path: String,
        line: u64,
        value: String,
    },
    #[error("{path}: {problem}")]
    BadFile { path: String, problem: String },
    #[error("the weights {weights:?} sum to {sum}, not 1")]
    WeightSum { weights: Vec<f64>, sum: f64 },
    #[error("coverage {0} is outside 0..=1")]
    Coverage(f64),
    #[error("hash version {0} does not exist: use 1 or 2")]
    HashVersion(i64),
    #[error("the user key is empty: anonymous users are not assigned")]
    EmptyUser,
    #[error(transparent)]
    Stats(#[from] StatsError),
}

fn items(arg: &str) -> Result<Vec<&str>, ArgError> {
    if arg.trim().is_empty() {
        return Err(ArgError::Empty(arg.to_owned()));
    }
    Ok(arg.split(',').map(str::trim).collect())
}

/// `"5100,4900"` → `[5100, 4900]`.
pub fn parse_counts(arg: &str) -> Result<Vec<u64>, ArgError> {
    items(arg)?
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            s.parse::<u64>().map_err(|_| ArgError::BadItem {
                what: "count",
                index: i + 1,
                arg: arg.to_owned(),
                item: s.to_owned(),
                expected: "a whole number ≥ 0",
            })
        })
        .collect()
}

/// `"0.5,0.5"` → `[0.5, 0.5]` (positive finite numbers).
pub fn parse_weights(arg: &str) -> Result<Vec<f64>, ArgError> {
    items(arg)?
        .into_iter()
        .enumerate()
        .map(|(i, s)| match s.parse::<f64>() {
            Ok(w) if w.is_finite() && w > 0.0 => Ok(w),
            _ => Err(ArgError::BadItem {
                what: "weight",
                index: i + 1,
                arg: arg.to_owned(),
                item: s.to_owned(),
                expected: "a positive number",
            }),
        })
        .collect()
}

/// `"480/5000"` → `(480, 5000)`.
pub fn parse_fraction(arg: &str) -> Result<(u64, u64), ArgError> {
    let bad = |problem: &str| ArgError::BadFraction {
        arg: arg.to_owned(),
        problem: problem.to_owned(),
    };
    let (x, n) = arg.split_once('/').ok_or_else(|| bad("no `/`"))?;
    let x: u64 = x
        .trim()
        .parse()
        .map_err(|_| bad("the successes are not a whole number"))?;
    let n: u64 = n
        .trim()
        .parse()
        .map_err(|_| bad("the trials are not a whole number"))?;
    if n == 0 {
        return Err(bad("zero trials"));
    }
    if x > n {
        return Err(bad("more successes than trials"));
    }
    Ok((x, n))
}

/// Reads one number per line from a CSV file (first column; a non-numeric
/// first line is taken as a header; blank lines are skipped).
pub fn read_values(path: &Path) -> Result<Vec<f64>, ArgError> {
    let shown = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|source| ArgError::Io {
        path: shown.clone(),
        source,
    })?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(file);
    let mut values = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| ArgError::BadFile {
            path: shown.clone(),
            problem: e.to_string(),
        })?;
        let line = record.position().map_or(i as u64 + 1, |p| p.line());
        let Some(field) = record.get(0).map(str::trim) else {
            continue;
        };
        if field.is_empty() && record.len() <= 1 {
            continue;
        }
        match field.parse::<f64>() {
            Ok(v) if v.is_finite() => values.push(v),
            _ if i == 0 => {}
            _ => {
                return Err(ArgError::BadValue {
                    path: shown,
                    line,
                    value: field.to_owned(),
                })
            }
        }
    }
    Ok(values)
}

/// `roadmap ab stats srm`: counts against weights (equal when `None`).
pub fn srm_from_args(counts: &str, weights: Option<&str>) -> Result<Srm, ArgError> {
    let counts = parse_counts(counts)?;
    let weights = match weights {
        Some(w) => parse_weights(w)?,
        None => vec![1.0; counts.len()],
    };
    Ok(srm(&counts, &weights)?)
}

/// `roadmap ab stats proportions --a X/N --b X/N` (A = control).
pub fn proportions_from_args(a: &str, b: &str, alpha: f64) -> Result<ProportionsTest, ArgError> {
    let (xa, na) = parse_fraction(a)?;
    let (xb, nb) = parse_fraction(b)?;
    Ok(two_proportions(
        Proportion::new("A", xa, na)?,
        Proportion::new("B", xb, nb)?,
        alpha,
    )?)
}

/// `roadmap ab stats welch --a A.csv --b B.csv` (A = control).
pub fn welch_from_files(a: &Path, b: &Path, alpha: f64) -> Result<WelchTest, ArgError> {
    let sa = Summary::from_values("A", &read_values(a)?)?;
    let sb = Summary::from_values("B", &read_values(b)?)?;
    Ok(welch(&sa, &sb, alpha)?)
}

/// The answer of a stateless `roadmap ab assign`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatelessAssignment {
    pub user: String,
    pub seed: String,
    pub hash_version: HashVersion,
    /// GrowthBook's hash of the user in `[0, 1)`.
    pub hash: f64,
    pub ranges: Vec<Range>,
    /// Variant index, or `null` when outside the coverage.
    pub variant: Option<usize>,
}

/// `roadmap ab assign --seed S --weights W --user U --hash-version V [--coverage C]`.
/// Unlike GrowthBook's SDK, weights that do not sum to 1 (±1e-6) are an
/// error here rather than a silent switch to equal weights.
pub fn assign_from_args(
    seed: &str,
    weights: &str,
    user: &str,
    hash_version: i64,
    coverage: f64,
) -> Result<StatelessAssignment, ArgError> {
    let weights = parse_weights(weights)?;
    let sum: f64 = weights.iter().sum();
    if (sum - 1.0).abs() > crate::config::WEIGHT_TOLERANCE {
        return Err(ArgError::WeightSum { weights, sum });
    }
    if !(0.0..=1.0).contains(&coverage) {
        return Err(ArgError::Coverage(coverage));
    }
    let version =
        HashVersion::from_number(hash_version).ok_or(ArgError::HashVersion(hash_version))?;
    if user.is_empty() {
        return Err(ArgError::EmptyUser);
    }
    let assigner = Assigner::new(seed, version, &weights, coverage);
    Ok(StatelessAssignment {
        user: user.to_owned(),
        seed: seed.to_owned(),
        hash_version: version,
        hash: assigner.hash(user),
        ranges: assigner.ranges().to_vec(),
        variant: assigner.assign(user).variant(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn counts_that_are_not_numbers_name_the_piece() {
        let e = parse_counts("5100,49x0").unwrap_err().to_string();
        assert_eq!(
            e,
            "count 2 of \"5100,49x0\" is \"49x0\", not a whole number ≥ 0"
        );
        assert!(parse_counts("").is_err());
        assert!(parse_counts("-3,4").is_err());
        assert_eq!(parse_counts(" 5100, 4900 ").unwrap(), vec![5100, 4900]);
    }

    #[test]
    fn fractions_and_weights() {
        assert_eq!(parse_fraction("480/5000").unwrap(), (480, 5000));
        for bad in ["480", "a/5000", "480/b", "6/5", "1/0"] {
            assert!(parse_fraction(bad).is_err(), "{bad}");
        }
        assert!(parse_weights("0.5,0").is_err());
        let s = srm_from_args("5100,4900", None).unwrap();
        assert!((s.p_value - 0.04550026389635857).abs() < 1e-12);
    }

    #[test]
    fn value_files_allow_a_header_and_report_bad_lines() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("a.csv");
        std::fs::File::create(&good)
            .unwrap()
            .write_all(b"latency_ms\n1.5\n2.5\n\n3.5\n")
            .unwrap();
        assert_eq!(read_values(&good).unwrap(), vec![1.5, 2.5, 3.5]);
        let bad = dir.path().join("b.csv");
        std::fs::File::create(&bad)
            .unwrap()
            .write_all(b"1\n2\nthree\n")
            .unwrap();
        let e = read_values(&bad).unwrap_err().to_string();
        assert!(e.contains("line 3") && e.contains("\"three\""), "{e}");
        assert!(read_values(&dir.path().join("missing.csv")).is_err());
    }

    #[test]
    fn stateless_assignment_checks_its_arguments() {
        let a = assign_from_args("seed", "0.5,0.5", "a", 2, 1.0).unwrap();
        // GrowthBook cases.json: hash("seed", "a", 2) = 0.0505.
        assert_eq!(a.hash, 0.0505);
        assert_eq!(a.variant, Some(0));
        assert!(matches!(
            assign_from_args("s", "0.5,0.4", "a", 2, 1.0),
            Err(ArgError::WeightSum { .. })
        ));
        assert!(matches!(
            assign_from_args("s", "0.5,0.5", "a", 3, 1.0),
            Err(ArgError::HashVersion(3))
        ));
        assert!(matches!(
            assign_from_args("s", "0.5,0.5", "", 2, 1.0),
            Err(ArgError::EmptyUser)
        ));
    }
}
