//! Experiments as data: `experiments.toml`, validated with line numbers.
//!
//! An experiment is configuration, not code, so a learner can start, stop or
//! re-weight one without a rebuild, and a reviewer can read exactly what ran.
//! The file ([`EXAMPLE`] and `examples/experiments.toml`):
//!
//! ```toml
//! [[experiment]]
//! key = "fusion-rrf"                # unique; also the default hash seed
//! seed = "fusion-rrf-2026"          # optional (GrowthBook: seed, else key)
//! hash_version = 2                  # GrowthBook's hash: 1 or 2 (default 2)
//! coverage = 1.0                    # share of users in the experiment, 0..=1
//! status = "running"                # draft | running | stopped
//! start = 2026-12-01T00:00:00Z      # RFC 3339 with an offset (or a string)
//! stop = 2027-01-01T00:00:00Z       # optional
//! namespace = { name = "rag", range = [0.0, 0.5] }   # optional, mutually exclusive experiments
//!
//! [[experiment.variant]]            # the first variant is the control
//! name = "convex"
//! weight = 0.5
//! overrides = { fusion = "convex", alpha = 0.5 }
//!
//! [[experiment.variant]]
//! name = "rrf"
//! weight = 0.5
//! overrides = { fusion = "rrf", rrf_k = 60 }
//! ```
//!
//! Every problem in a file is reported at once, each with its line: weights
//! that do not sum to 1 (within 1e-6), unknown override keys (the list is
//! [`crate::overrides::OVERRIDE_KEYS`]), duplicate experiment keys or variant
//! names, coverage outside `[0, 1]`, an unknown status, unparsable or
//! inverted times. TOML syntax errors (including a key written twice in one
//! table) come from the `toml` parser, also with their line.
//!
//! [`check_update`] guards a running experiment: changing its seed, hash
//! version, variants or weights (or shrinking its coverage or namespace)
//! moves users who were already exposed to another arm, so such a change is
//! refused unless forced.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::assign::{Assigner, Assignment, HashVersion, Namespace};
use crate::overrides::Overrides;

/// The shipped example: convex vs RRF fusion, extractive vs local LLM.
pub const EXAMPLE: &str = include_str!("../examples/experiments.toml");

/// How far the weights may be from summing to 1 (rounding in hand-written decimals).
pub const WEIGHT_TOLERANCE: f64 = 1e-6;

/// One problem in an experiments file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Problem {
    /// 1-based line (0 when the problem has no place, e.g. an empty file).
    pub line: usize,
    pub message: String,
}

/// Why an experiments file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the experiments file {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a valid experiments file:\n{}", list(path, problems))]
    Invalid {
        path: String,
        problems: Vec<Problem>,
    },
    #[error("no experiment `{key}` in {path}{hint}")]
    UnknownExperiment {
        key: String,
        path: String,
        hint: String,
    },
}

fn list(path: &str, problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| format!("  {path}:{}: {}", p.line, p.message))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Lifecycle of an experiment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Being written: nobody is assigned.
    Draft,
    /// Assigning users between `start` and `stop`.
    Running,
    /// No new assignments; the collected data can still be analysed.
    Stopped,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Status::Draft => "draft",
            Status::Running => "running",
            Status::Stopped => "stopped",
        })
    }
}

/// One arm of an experiment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Variant {
    pub name: String,
    pub weight: f64,
    pub overrides: Overrides,
}

/// A validated experiment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Experiment {
    pub key: String,
    /// Hash seed (GrowthBook: `seed`, else the key).
    pub seed: String,
    pub hash_version: HashVersion,
    pub coverage: f64,
    pub status: Status,
    pub start: Option<DateTime<Utc>>,
    pub stop: Option<DateTime<Utc>>,
    pub namespace: Option<Namespace>,
    pub description: Option<String>,
    /// Variant 0 is the control.
    pub variants: Vec<Variant>,
    /// Line of the `[[experiment]]` header, for messages.
    #[serde(skip)]
    pub line: usize,
}

/// Why a user got no variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Inactive {
    Draft,
    Stopped,
    NotStarted,
    Ended,
}

/// The outcome of asking an experiment for a user's variant.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Decision<'a> {
    /// Serve this variant's overrides and log an exposure.
    Assigned {
        index: usize,
        variant: &'a str,
        overrides: &'a Overrides,
    },
    /// Outside coverage or namespace: serve the service defaults, log nothing.
    NotInExperiment,
    /// The experiment is not assigning now.
    Inactive { reason: Inactive },
}

impl Experiment {
    pub fn weights(&self) -> Vec<f64> {
        self.variants.iter().map(|v| v.weight).collect()
    }

    pub fn variant_names(&self) -> Vec<&str> {
        self.variants.iter().map(|v| v.name.as_str()).collect()
    }

    /// Index of a variant by name.
    pub fn variant_index(&self, name: &str) -> Option<usize> {
        self.variants.iter().position(|v| v.name == name)
    }

    /// The GrowthBook assignment rule of this experiment.
    pub fn assigner(&self) -> Assigner {
        Assigner::new(
            &self.seed,
            self.hash_version,
            &self.weights(),
            self.coverage,
        )
        .with_namespace(self.namespace.clone())
    }

    /// Whether the experiment assigns users at `now`: running, started, not ended.
    pub fn activity(&self, now: DateTime<Utc>) -> Result<(), Inactive> {
        match self.status {
            Status::Draft => Err(Inactive::Draft),
            Status::Stopped => Err(Inactive::Stopped),
            Status::Running => {
                if self.start.is_some_and(|s| now < s) {
                    Err(Inactive::NotStarted)
                } else if self.stop.is_some_and(|s| now >= s) {
                    Err(Inactive::Ended)
                } else {
                    Ok(())
                }
            }
        }
    }

    /// The variant of `user` at `now`. For many calls build [`Experiment::assigner`] once.
    pub fn decide(&self, user: &str, now: DateTime<Utc>) -> Decision<'_> {
        if let Err(reason) = self.activity(now) {
            return Decision::Inactive { reason };
        }
        match self.assigner().assign(user) {
            Assignment::Variant { index } => Decision::Assigned {
                index,
                variant: &self.variants[index].name,
                overrides: &self.variants[index].overrides,
            },
            Assignment::NotInExperiment => Decision::NotInExperiment,
        }
    }
}

/// All experiments of a file, in file order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExperimentsFile {
    /// Where it was read from (for messages).
    pub path: String,
    pub experiments: Vec<Experiment>,
}

impl ExperimentsFile {
    /// Reads and validates a file.
    pub fn load(path: &Path) -> Result<ExperimentsFile, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.display().to_string(),
            source,
        })?;
        parse(&text, &path.display().to_string())
    }

    /// The experiment with this key, or an error listing the keys there are.
    pub fn get(&self, key: &str) -> Result<&Experiment, ConfigError> {
        self.experiments
            .iter()
            .find(|e| e.key == key)
            .ok_or_else(|| {
                let keys: Vec<&str> = self.experiments.iter().map(|e| e.key.as_str()).collect();
                let close = crate::overrides::did_you_mean(key, &keys);
                let hint = if keys.is_empty() {
                    ": the file defines no experiments".to_owned()
                } else {
                    format!("{close}; it defines: {}", keys.join(", "))
                };
                ConfigError::UnknownExperiment {
                    key: key.to_owned(),
                    path: self.path.clone(),
                    hint,
                }
            })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    experiment: Vec<Spanned<RawExperiment>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExperiment {
    key: Spanned<String>,
    seed: Option<Spanned<String>>,
    hash_version: Option<Spanned<i64>>,
    coverage: Option<Spanned<f64>>,
    status: Spanned<String>,
    start: Option<Spanned<toml::Value>>,
    stop: Option<Spanned<toml::Value>>,
    namespace: Option<Spanned<RawNamespace>>,
    description: Option<String>,
    #[serde(default)]
    variant: Vec<Spanned<RawVariant>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNamespace {
    name: String,
    range: (f64, f64),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVariant {
    name: Spanned<String>,
    weight: Spanned<f64>,
    #[serde(default)]
    overrides: BTreeMap<Spanned<String>, Spanned<toml::Value>>,
}

/// 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

fn parse_time(value: &toml::Value) -> Result<DateTime<Utc>, String> {
    let text = match value {
        toml::Value::Datetime(d) => d.to_string(),
        toml::Value::String(s) => s.clone(),
        other => {
            return Err(format!(
                "is {} ({}), not a date-time",
                other,
                other.type_str()
            ))
        }
    };
    DateTime::parse_from_rfc3339(&text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            format!("`{text}` is not an RFC 3339 date-time with an offset ({e}); write e.g. 2026-12-01T00:00:00Z")
        })
}

/// Parses and validates the text of an experiments file; `path` is only
/// used in messages.
pub fn parse(text: &str, path: &str) -> Result<ExperimentsFile, ConfigError> {
    let invalid = |problems: Vec<Problem>| ConfigError::Invalid {
        path: path.to_owned(),
        problems,
    };
    let raw: RawFile = toml::from_str(text).map_err(|e| {
        invalid(vec![Problem {
            line: e.span().map(|s| line_of(text, s.start)).unwrap_or(0),
            message: e.message().trim().to_owned(),
        }])
    })?;
    let mut problems = Vec::new();
    let mut experiments = Vec::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for raw_exp in raw.experiment {
        let exp_line = line_of(text, raw_exp.span().start);
        let raw_exp = raw_exp.into_inner();
        let at = |span: std::ops::Range<usize>| line_of(text, span.start);
        let mut problem = |line: usize, message: String| problems.push(Problem { line, message });

        let key = raw_exp.key.get_ref().clone();
        let key_line = at(raw_exp.key.span());
        if !valid_key(&key) {
            problem(
                key_line,
                format!("experiment key `{key}` must be non-empty and use only letters, digits, `-`, `_` and `.`"),
            );
        }
        if let Some(first) = seen.get(&key) {
            problem(
                key_line,
                format!("duplicate experiment key `{key}` (first defined on line {first}); keys must be unique"),
            );
        } else {
            seen.insert(key.clone(), key_line);
        }
        let seed = match &raw_exp.seed {
            Some(s) if s.get_ref().is_empty() => {
                problem(
                    at(s.span()),
                    "seed is empty: remove it to use the key, or give a non-empty seed".into(),
                );
                key.clone()
            }
            Some(s) => s.get_ref().clone(),
            None => key.clone(),
        };
        let hash_version = match &raw_exp.hash_version {
            None => HashVersion::V2,
            Some(v) => HashVersion::from_number(*v.get_ref()).unwrap_or_else(|| {
                problem(at(v.span()), format!("hash_version {} does not exist: use 2 (or 1 for old GrowthBook experiments)", v.get_ref()));
                HashVersion::V2
            }),
        };
        let coverage = match &raw_exp.coverage {
            None => 1.0,
            Some(c) => {
                let v = *c.get_ref();
                if !(0.0..=1.0).contains(&v) {
                    problem(at(c.span()), format!("coverage {v} is outside 0..=1 (it is the share of users in the experiment)"));
                }
                v
            }
        };
        let status = match raw_exp.status.get_ref().as_str() {
            "draft" => Status::Draft,
            "running" => Status::Running,
            "stopped" => Status::Stopped,
            other => {
                problem(
                    at(raw_exp.status.span()),
                    format!("status \"{other}\" is unknown: use draft, running or stopped"),
                );
                Status::Draft
            }
        };
        let mut time = |v: &Option<Spanned<toml::Value>>, name: &str| {
            v.as_ref().and_then(|t| match parse_time(t.get_ref()) {
                Ok(t) => Some(t),
                Err(e) => {
                    problem(at(t.span()), format!("{name} {e}"));
                    None
                }
            })
        };
        let start = time(&raw_exp.start, "start");
        let stop = time(&raw_exp.stop, "stop");
        if let (Some(s), Some(e)) = (start, stop) {
            if e <= s {
                let line = raw_exp.stop.as_ref().map_or(exp_line, |t| at(t.span()));
                problem(line, format!("stop {e} is not after start {s}"));
            }
        }
        if status != Status::Draft && raw_exp.start.is_none() {
            problem(
                at(raw_exp.status.span()),
                format!("a {status} experiment needs a start time (start = 2026-12-01T00:00:00Z)"),
            );
        }
        let namespace = raw_exp.namespace.as_ref().map(|ns| {
            let (lo, hi) = ns.get_ref().range;
            if ns.get_ref().name.is_empty() || !(0.0 <= lo && lo < hi && hi <= 1.0) {
                problem(
                    at(ns.span()),
                    format!("namespace needs a non-empty name and a range [lo, hi] with 0 ≤ lo < hi ≤ 1, got [{lo}, {hi}]"),
                );
            }
            Namespace {
                name: ns.get_ref().name.clone(),
                range: (lo, hi),
            }
        });

        let mut variants = Vec::new();
        let mut names: BTreeMap<String, usize> = BTreeMap::new();
        if raw_exp.variant.len() < 2 {
            problem(
                exp_line,
                format!("experiment `{key}` has {} variant(s): it needs a control and at least one treatment ([[experiment.variant]])", raw_exp.variant.len()),
            );
        }
        for rv in &raw_exp.variant {
            let rv_line = at(rv.span());
            let rv = rv.get_ref();
            let name = rv.name.get_ref().clone();
            let name_line = at(rv.name.span());
            if !valid_key(&name) {
                problem(name_line, format!("variant name `{name}` must be non-empty and use only letters, digits, `-`, `_` and `.`"));
            }
            if let Some(first) = names.get(&name) {
                problem(
                    name_line,
                    format!("duplicate variant name `{name}` in `{key}` (first on line {first})"),
                );
            } else {
                names.insert(name.clone(), name_line);
            }
            let weight = *rv.weight.get_ref();
            if !(weight.is_finite() && weight > 0.0) {
                problem(
                    at(rv.weight.span()),
                    format!("weight {weight} of variant `{name}` must be a positive number"),
                );
            }
            let mut overrides = Overrides::default();
            let mut ok = true;
            for (k, v) in &rv.overrides {
                if let Err(e) = overrides.set(k.get_ref(), v.get_ref()) {
                    problem(at(k.span()), format!("variant `{name}`: {}", e.message));
                    ok = false;
                }
            }
            if ok {
                if let Err(e) = overrides.check_combination() {
                    let line = rv
                        .overrides
                        .keys()
                        .find(|k| k.get_ref() == &e.key)
                        .map_or(rv_line, |k| at(k.span()));
                    problem(line, format!("variant `{name}`: {}", e.message));
                }
            }
            variants.push(Variant {
                name,
                weight,
                overrides,
            });
        }
        let total: f64 = variants.iter().map(|v| v.weight).sum();
        if variants.len() >= 2 && (total - 1.0).abs() > WEIGHT_TOLERANCE {
            let detail = variants
                .iter()
                .map(|v| format!("{} {}", v.name, v.weight))
                .collect::<Vec<_>>()
                .join(", ");
            problem(
                exp_line,
                format!(
                    "the weights of `{key}` sum to {total}, not 1 ({detail}); e.g. 0.5 and 0.5"
                ),
            );
        }
        experiments.push(Experiment {
            key,
            seed,
            hash_version,
            coverage,
            status,
            start,
            stop,
            namespace,
            description: raw_exp.description,
            variants,
            line: exp_line,
        });
    }
    if problems.is_empty() {
        Ok(ExperimentsFile {
            path: path.to_owned(),
            experiments,
        })
    } else {
        problems.sort_by_key(|p| p.line);
        Err(invalid(problems))
    }
}

/// A change that [`check_update`] refused.
#[derive(Debug, thiserror::Error)]
#[error("experiment `{key}` is running; this change would move users who were already exposed to another variant:\n{}\nstop it and start a new experiment (new key or seed), or force the change", .changes.iter().map(|c| format!("  - {c}")).collect::<Vec<_>>().join("\n"))]
pub struct UpdateRefused {
    pub key: String,
    pub changes: Vec<String>,
}

/// Compares a running experiment's `previous` definition with its `next`
/// one. Returns the reshuffling changes that were allowed (empty when none,
/// or all of them when `force`), or refuses them while the experiment runs.
/// Safe changes (raising coverage, editing overrides, times, status, the
/// description) are always allowed: they move nobody between variants.
pub fn check_update(
    previous: &Experiment,
    next: &Experiment,
    force: bool,
) -> Result<Vec<String>, UpdateRefused> {
    let mut changes = Vec::new();
    if previous.seed != next.seed {
        changes.push(format!("seed `{}` → `{}`", previous.seed, next.seed));
    }
    if previous.hash_version != next.hash_version {
        changes.push(format!(
            "hash_version {} → {}",
            previous.hash_version, next.hash_version
        ));
    }
    if previous.variants.len() != next.variants.len() {
        changes.push(format!(
            "variant count {} → {}",
            previous.variants.len(),
            next.variants.len()
        ));
    } else {
        for (i, (a, b)) in previous.variants.iter().zip(&next.variants).enumerate() {
            if a.name != b.name {
                changes.push(format!(
                    "variant {i} `{}` → `{}` (order or name)",
                    a.name, b.name
                ));
            }
            if a.weight != b.weight {
                changes.push(format!(
                    "weight of `{}` {} → {}",
                    a.name, a.weight, b.weight
                ));
            }
        }
    }
    if next.coverage < previous.coverage {
        changes.push(format!(
            "coverage {} → {} (exposed users would drop out)",
            previous.coverage, next.coverage
        ));
    }
    if previous.namespace != next.namespace {
        changes.push("namespace changed".into());
    }
    if changes.is_empty() || force || previous.status != Status::Running {
        Ok(changes)
    } else {
        Err(UpdateRefused {
            key: previous.key.clone(),
            changes,
        })
    }
}

/// [`check_update`] for every experiment present in both files.
pub fn check_file_update(
    previous: &ExperimentsFile,
    next: &ExperimentsFile,
    force: bool,
) -> Result<Vec<String>, UpdateRefused> {
    let mut allowed = Vec::new();
    for p in &previous.experiments {
        if let Some(n) = next.experiments.iter().find(|n| n.key == p.key) {
            allowed.extend(
                check_update(p, n, force)?
                    .into_iter()
                    .map(|c| format!("{}: {c}", p.key)),
            );
        }
    }
    Ok(allowed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(text: &str) -> Vec<Problem> {
        match parse(text, "t.toml") {
            Err(ConfigError::Invalid { problems, .. }) => problems,
            Ok(_) => panic!("accepted:\n{text}"),
            Err(e) => panic!("{e}"),
        }
    }

    const GOOD: &str = r#"
[[experiment]]
key = "fusion"
status = "running"
start = 2026-12-01T00:00:00Z

[[experiment.variant]]
name = "convex"
weight = 0.5
overrides = { fusion = "convex", alpha = 0.5 }

[[experiment.variant]]
name = "rrf"
weight = 0.5
overrides = { fusion = "rrf", rrf_k = 60 }
"#;

    #[test]
    fn the_shipped_example_is_valid() {
        let f = parse(EXAMPLE, "examples/experiments.toml").unwrap();
        assert!(f.experiments.len() >= 2);
        for e in &f.experiments {
            assert!(e.variants.len() >= 2);
        }
    }

    #[test]
    fn a_good_file_has_defaults() {
        let f = parse(GOOD, "t.toml").unwrap();
        let e = f.get("fusion").unwrap();
        assert_eq!(e.seed, "fusion");
        assert_eq!(e.hash_version, HashVersion::V2);
        assert_eq!(e.coverage, 1.0);
        assert_eq!(e.variants[1].overrides.rrf_k, Some(60.0));
        assert_eq!(e.line, 2);
    }

    #[test]
    fn weights_not_summing_to_one_are_reported_at_the_experiment() {
        let p = problems(&GOOD.replace(
            "weight = 0.5\noverrides = { fusion = \"rrf\"",
            "weight = 0.4\noverrides = { fusion = \"rrf\"",
        ));
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].line, 2);
        assert!(p[0].message.contains("sum to 0.9"), "{}", p[0].message);
    }

    #[test]
    fn unknown_override_key_is_reported_on_its_line() {
        let p = problems(&GOOD.replace("rrf_k = 60", "rrf_kk = 60"));
        assert_eq!(p[0].line, 15, "{p:?}");
        assert!(
            p[0].message.contains("did you mean `rrf_k`"),
            "{}",
            p[0].message
        );
    }

    #[test]
    fn duplicate_keys_name_both_lines() {
        let twice = format!("{GOOD}\n{GOOD}");
        let p = problems(&twice);
        assert!(
            p.iter()
                .any(|p| p.line == 19 && p.message.contains("first defined on line 3")),
            "{p:?}"
        );
    }

    #[test]
    fn all_problems_are_reported_at_once() {
        let text = GOOD
            .replace("status = \"running\"", "status = \"live\"\ncoverage = 1.5")
            .replace("start = 2026-12-01T00:00:00Z", "start = \"yesterday\"");
        let p = problems(&text);
        let msgs: Vec<&str> = p.iter().map(|p| p.message.as_str()).collect();
        assert!(
            msgs.iter().any(|m| m.contains("status \"live\"")),
            "{msgs:?}"
        );
        assert!(msgs.iter().any(|m| m.contains("coverage 1.5")), "{msgs:?}");
        assert!(
            msgs.iter()
                .any(|m| m.contains("`yesterday` is not an RFC 3339")),
            "{msgs:?}"
        );
        let lines: Vec<usize> = p.iter().map(|p| p.line).collect();
        assert_eq!(lines, vec![4, 5, 6], "{p:?}");
    }

    #[test]
    fn toml_syntax_errors_keep_their_line() {
        let p = problems("[[experiment]]\nkey = \"a\"\nkey = \"b\"\n");
        assert_eq!(p[0].line, 3, "{p:?}");
        let p = problems("[[experiment]]\nkey = \"a\"\nstatus = \"draft\"\ncolour = 1\n");
        assert_eq!(p[0].line, 4, "{p:?}");
        assert!(p[0].message.contains("colour"), "{p:?}");
    }

    #[test]
    fn inverted_and_offsetless_times_are_refused() {
        let p = problems(&GOOD.replace(
            "start = 2026-12-01T00:00:00Z",
            "start = 2026-12-01T00:00:00Z\nstop = 2026-11-01T00:00:00Z",
        ));
        assert!(p[0].message.contains("not after start"), "{p:?}");
        let p = problems(&GOOD.replace("2026-12-01T00:00:00Z", "2026-12-01T00:00:00"));
        assert!(p[0].message.contains("with an offset"), "{p:?}");
    }

    #[test]
    fn unknown_experiment_suggests_the_closest_key() {
        let f = parse(GOOD, "t.toml").unwrap();
        let e = f.get("fusoin").unwrap_err().to_string();
        assert!(e.contains("did you mean `fusion`"), "{e}");
    }

    #[test]
    fn stopped_and_draft_experiments_assign_nobody() {
        let f = parse(GOOD, "t.toml").unwrap();
        let mut e = f.get("fusion").unwrap().clone();
        let now: DateTime<Utc> = "2026-12-05T00:00:00Z".parse().unwrap();
        assert!(matches!(e.decide("alice", now), Decision::Assigned { .. }));
        let before: DateTime<Utc> = "2026-11-05T00:00:00Z".parse().unwrap();
        assert_eq!(
            e.decide("alice", before),
            Decision::Inactive {
                reason: Inactive::NotStarted
            }
        );
        e.status = Status::Stopped;
        assert_eq!(
            e.decide("alice", now),
            Decision::Inactive {
                reason: Inactive::Stopped
            }
        );
    }

    #[test]
    fn reweighting_a_running_experiment_needs_force() {
        let f = parse(GOOD, "t.toml").unwrap();
        let old = f.get("fusion").unwrap().clone();
        let mut new = old.clone();
        new.variants[0].weight = 0.3;
        new.variants[1].weight = 0.7;
        let err = check_update(&old, &new, false).unwrap_err();
        assert_eq!(err.changes.len(), 2, "{err}");
        assert!(
            err.to_string().contains("weight of `convex` 0.5 → 0.3"),
            "{err}"
        );
        assert_eq!(check_update(&old, &new, true).unwrap().len(), 2);
        let mut safe = old.clone();
        safe.coverage = 1.0;
        safe.variants[1].overrides.rrf_k = Some(30.0);
        assert!(check_update(&old, &safe, false).unwrap().is_empty());
        let mut draft = old.clone();
        draft.status = Status::Draft;
        assert!(check_update(&draft, &new, false).is_ok());
    }
}
