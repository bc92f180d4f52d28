//! The analysis engine: from exposures and outcomes to an experiment report
//! (per-variant summaries, health checks, effects against the control).
//!
//! **Unit of analysis: the user.** Users are what is randomised, so each
//! contributes one value per metric (the tests assume independent units; a
//! chatty user's 50 requests are not 50 independent observations). A binary
//! metric is 0/1 per user, a continuous one a number per user; a user without
//! a value for a metric (no feedback given, no gold answer) is left out of
//! that metric only. How the store reduces a user's requests to one value is
//! its choice; the recommended definitions are in [`METRICS`].
//!
//! **Two ways in**, one report:
//!
//! - [`aggregate`] takes per-user rows ([`UserRow`]) in memory;
//! - a database computes the same [`ExperimentData`] itself, which is what
//!   keeps `roadmap ab report` on 1,000,000 exposures under a second: per
//!   variant only `COUNT`, `SUM` and `SUM(x·x)` per metric ([`Moments`]) plus
//!   three health counts, so the report needs O(variants × metrics) numbers,
//!   not the rows. The README ("SQL fast path") has the query.
//!
//! **Health** (GrowthBook / Statsig practice): sample-ratio mismatch against the
//! configured weights ([`crate::stats::srm`]), users seen in several variants
//! (excluded from the analysis: they got both treatments), users whose first
//! exposure precedes the experiment's start (excluded: they were not
//! randomised by this experiment), exposures naming a variant the experiment
//! does not have (excluded).
//!
//! **Effects**, per metric and treatment variant against variant 0 (the
//! control): the two-proportion z-test (binary) or Welch's t-test
//! (continuous), the relative lift with its delta-method interval, the mSPRT
//! sequential test and the Bayesian chance to win (all in [`crate::stats`]).
//! A statistic that cannot be computed (a variant with no users, a constant
//! metric, a zero control mean) is `null` in the JSON with the reason next to
//! it; the report never contains NaN or infinity.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::config::{Experiment, Status};
use crate::stats::bayes::{chance_to_win, BayesTest, Prior};
use crate::stats::lift::{relative_lift, LiftTest};
use crate::stats::proportions::{two_proportions, Proportion, ProportionsTest};
use crate::stats::sequential::{sequential_lift, SequentialTest, DEFAULT_TUNING};
use crate::stats::srm::{srm, Srm, SrmVerdict};
use crate::stats::welch::{welch, WelchTest};
use crate::stats::{finite, Moments, StatsError, Summary};

/// Binary (0/1 per user) or continuous.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricKind {
    Binary,
    Continuous,
}

/// Which direction is an improvement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    HigherIsBetter,
    LowerIsBetter,
    /// Reported, never called better or worse (answer length).
    Neutral,
}

/// A metric of the report.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Metric {
    pub key: &'static str,
    pub label: &'static str,
    pub kind: MetricKind,
    pub direction: Direction,
    pub unit: &'static str,
}

/// The RAG service's metrics, with the recommended per-user definitions:
///
/// - `thumbs_up`: 1 if the user's feedback was positive (last vote counts);
///   users who gave no feedback have no value.
/// - `grounded`: 1 if every answer the user got was grounded in its citations.
/// - `no_answer`: 1 if the service declined to answer at least once.
/// - `latency_ms`: the user's mean request latency.
/// - `answer_length`: the user's mean answer length in characters.
/// - `answer_f1`: mean SQuAD token F1 against gold answers (replays only).
pub const METRICS: [Metric; 6] = [
    Metric {
        key: "thumbs_up",
        label: "thumbs-up rate",
        kind: MetricKind::Binary,
        direction: Direction::HigherIsBetter,
        unit: "",
    },
    Metric {
        key: "grounded",
        label: "grounded rate",
        kind: MetricKind::Binary,
        direction: Direction::HigherIsBetter,
        unit: "",
    },
    Metric {
        key: "no_answer",
        label: "no-answer rate",
        kind: MetricKind::Binary,
        direction: Direction::LowerIsBetter,
        unit: "",
    },
    Metric {
        key: "latency_ms",
        label: "latency",
        kind: MetricKind::Continuous,
        direction: Direction::LowerIsBetter,
        unit: "ms",
    },
    Metric {
        key: "answer_length",
        label: "answer length",
        kind: MetricKind::Continuous,
        direction: Direction::Neutral,
        unit: "chars",
    },
    Metric {
        key: "answer_f1",
        label: "answer F1",
        kind: MetricKind::Continuous,
        direction: Direction::HigherIsBetter,
        unit: "",
    },
];

/// Bad input to the analysis.
#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    #[error("row {row} (user `{user}`): {values} metric values for {metrics} metrics; give one (possibly empty) value per metric, in the metric list's order")]
    RowShape {
        row: usize,
        user: String,
        values: usize,
        metrics: usize,
    },
    #[error("row {row} (user `{user}`): {metric} is {value}; a binary metric must be 0 or 1")]
    NotBinary {
        row: usize,
        user: String,
        metric: &'static str,
        value: f64,
    },
    #[error(
        "row {row} (user `{user}`): {metric} is {value}; metric values must be finite numbers"
    )]
    NonFinite {
        row: usize,
        user: String,
        metric: &'static str,
        value: f64,
    },
    #[error("row {row}: user `{user}` appears twice in variant `{variant}`; give one row per user and variant")]
    DuplicateUser {
        row: usize,
        user: String,
        variant: String,
    },
    #[error("row {row}: the user key is empty; anonymous requests are not analysed")]
    EmptyUser { row: usize },
    #[error("the data has {found} variants but experiment `{key}` has {expected}: aggregate per configured variant, in order")]
    VariantCount {
        key: String,
        expected: usize,
        found: usize,
    },
    #[error("variant {variant} has {found} metric sums but the metric list has {expected}")]
    MetricCount {
        variant: usize,
        expected: usize,
        found: usize,
    },
    #[error("variant {variant}, metric {metric}: {message}")]
    BadSums {
        variant: usize,
        metric: &'static str,
        message: String,
    },
    #[error("alpha = {0}: the significance level must be strictly between 0 and 1 (e.g. 0.05)")]
    BadAlpha(f64),
    #[error(transparent)]
    Stats(#[from] StatsError),
}

/// One user in one variant: the in-memory input of [`aggregate`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UserRow {
    pub user: String,
    /// Variant name as logged.
    pub variant: String,
    pub first_exposure: DateTime<Utc>,
    /// Requests this user made in this variant.
    pub exposures: u64,
    /// One value per metric of the metric list (same order); `None` = not observed.
    pub values: Vec<Option<f64>>,
}

/// What the report needs of one variant: what a `GROUP BY variant` yields.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct VariantData {
    /// Analysed users (distinct, single-variant, exposed after the start).
    pub users: u64,
    /// Their exposures (requests).
    pub exposures: u64,
    /// Per metric, in the metric list's order.
    pub metrics: Vec<Moments>,
}

/// The sufficient statistics of a whole experiment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct ExperimentData {
    /// In the experiment's variant order (variant 0 = control).
    pub variants: Vec<VariantData>,
    /// Distinct users logged in more than one variant (excluded).
    pub users_in_several_variants: u64,
    /// Users whose first exposure precedes the experiment's start (excluded).
    pub users_exposed_before_start: u64,
    /// Users logged under a variant name the experiment does not define (excluded).
    pub users_in_unknown_variants: u64,
}

/// Reduces per-user rows to [`ExperimentData`]. Rows of one user in several
/// variants, before the start, or in unknown variants are counted and left
/// out. Continuous sums are shifted by the metric's overall mean (see
/// [`Moments`]) so the variances keep full precision.
pub fn aggregate(
    experiment: &Experiment,
    metrics: &[Metric],
    rows: &[UserRow],
) -> Result<ExperimentData, AnalysisError> {
    // A user's first row, and all rows of the (rare) users seen in several
    // variants: one small map entry per user, no list per user.
    let mut first_row: HashMap<&str, usize> = HashMap::with_capacity(rows.len());
    let mut several: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut shift_sum = vec![0.0; metrics.len()];
    let mut shift_n = vec![0u64; metrics.len()];
    for (row, r) in rows.iter().enumerate() {
        if r.user.is_empty() {
            return Err(AnalysisError::EmptyUser { row });
        }
        if r.values.len() != metrics.len() {
            return Err(AnalysisError::RowShape {
                row,
                user: r.user.clone(),
                values: r.values.len(),
                metrics: metrics.len(),
            });
        }
        for (m, (metric, v)) in metrics.iter().zip(&r.values).enumerate() {
            let Some(v) = *v else { continue };
            if !v.is_finite() {
                return Err(AnalysisError::NonFinite {
                    row,
                    user: r.user.clone(),
                    metric: metric.key,
                    value: v,
                });
            }
            if metric.kind == MetricKind::Binary && v != 0.0 && v != 1.0 {
                return Err(AnalysisError::NotBinary {
                    row,
                    user: r.user.clone(),
                    metric: metric.key,
                    value: v,
                });
            }
            shift_sum[m] += v;
            shift_n[m] += 1;
        }
        if let Some(&first) = first_row.get(r.user.as_str()) {
            let seen = several
                .entry(r.user.as_str())
                .or_insert_with(|| vec![first]);
            if seen.iter().any(|&i| rows[i].variant == r.variant) {
                return Err(AnalysisError::DuplicateUser {
                    row,
                    user: r.user.clone(),
                    variant: r.variant.clone(),
                });
            }
            seen.push(row);
        } else {
            first_row.insert(r.user.as_str(), row);
        }
    }
    let shifts: Vec<f64> = metrics
        .iter()
        .enumerate()
        .map(|(m, metric)| match metric.kind {
            MetricKind::Binary => 0.0,
            MetricKind::Continuous if shift_n[m] > 0 => shift_sum[m] / shift_n[m] as f64,
            MetricKind::Continuous => 0.0,
        })
        .collect();
    let mut data = ExperimentData {
        variants: (0..experiment.variants.len())
            .map(|_| VariantData {
                users: 0,
                exposures: 0,
                metrics: shifts.iter().map(|&s| Moments::with_shift(s)).collect(),
            })
            .collect(),
        ..ExperimentData::default()
    };
    data.users_in_several_variants = several.len() as u64;
    // In row order, so the sums (and the report's last bits) do not depend on hashing.
    for r in rows {
        if !several.is_empty() && several.contains_key(r.user.as_str()) {
            continue;
        }
        let Some(v) = experiment.variant_index(&r.variant) else {
            data.users_in_unknown_variants += 1;
            continue;
        };
        if experiment.start.is_some_and(|s| r.first_exposure < s) {
            data.users_exposed_before_start += 1;
            continue;
        }
        let vd = &mut data.variants[v];
        vd.users += 1;
        vd.exposures += r.exposures;
        for (m, value) in r.values.iter().enumerate() {
            if let Some(x) = value {
                vd.metrics[m].push(*x);
            }
        }
    }
    Ok(data)
}

/// Settings of the tests.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct AnalysisOptions {
    /// Significance level of every test and `1 − alpha` intervals (0.05).
    pub alpha: f64,
    /// Planned total users `N*` of the sequential test (GrowthBook: 5000).
    pub sequential_tuning: f64,
    /// Prior of the Bayesian test (GrowthBook default: flat).
    pub prior: Prior,
}

impl Default for AnalysisOptions {
    fn default() -> Self {
        AnalysisOptions {
            alpha: 0.05,
            sequential_tuning: DEFAULT_TUNING,
            prior: Prior::Flat,
        }
    }
}

/// One metric of one variant.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricSummary {
    pub metric: &'static str,
    /// Users with a value.
    pub n: u64,
    /// Rate (binary) or mean (continuous); `null` without users.
    pub mean: Option<f64>,
    /// Standard deviation across users (`n − 1`); `null` below two users.
    pub sd: Option<f64>,
    /// Why `mean` or `sd` is `null`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// One variant's line of the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VariantReport {
    pub name: String,
    pub weight: f64,
    pub overrides: String,
    pub users: u64,
    pub exposures: u64,
    /// Share of analysed users; `null` when nobody was analysed.
    pub share: Option<f64>,
    pub metrics: Vec<MetricSummary>,
}

/// Is the experiment itself trustworthy?
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Health {
    /// `null` with `srm_note` when it cannot be computed (no users).
    pub srm: Option<Srm>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub srm_note: Option<String>,
    pub users_in_several_variants: u64,
    pub users_exposed_before_start: u64,
    pub users_in_unknown_variants: u64,
    /// Variants nobody was analysed in.
    pub empty_variants: Vec<String>,
    /// Human-readable problems, most serious first; empty = healthy.
    pub warnings: Vec<String>,
}

/// The fixed-horizon test of a metric: z-test for rates, Welch for means.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "test", rename_all = "snake_case")]
pub enum AbsoluteTest {
    TwoProportionZ(ProportionsTest),
    Welch(WelchTest),
}

impl AbsoluteTest {
    pub fn p_value(&self) -> f64 {
        match self {
            AbsoluteTest::TwoProportionZ(t) => t.p_value,
            AbsoluteTest::Welch(t) => t.p_value,
        }
    }
    pub fn diff(&self) -> f64 {
        match self {
            AbsoluteTest::TwoProportionZ(t) => t.diff,
            AbsoluteTest::Welch(t) => t.diff,
        }
    }
    /// The interval of the difference (Wald for proportions).
    pub fn ci(&self) -> (f64, f64) {
        match self {
            AbsoluteTest::TwoProportionZ(t) => t.ci_wald,
            AbsoluteTest::Welch(t) => t.ci,
        }
    }
}

/// What the fixed-horizon test says about a treatment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Conclusion {
    /// Significant, in the metric's good direction.
    Better,
    /// Significant, in the bad direction.
    Worse,
    /// Significant on a neutral metric.
    Different,
    /// Not significant at `alpha`.
    Inconclusive,
    /// The test could not be computed (see `notes`).
    NotComputed,
}

/// One metric, one treatment against the control.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Effect {
    pub metric: &'static str,
    pub variant: String,
    pub kind: MetricKind,
    pub direction: Direction,
    pub absolute: Option<AbsoluteTest>,
    pub lift: Option<LiftTest>,
    pub sequential: Option<SequentialTest>,
    pub bayes: Option<BayesTest>,
    pub conclusion: Conclusion,
    /// Why any of the tests above is `null`.
    pub notes: Vec<String>,
}

/// The whole report: what `roadmap ab report` prints, serialises and draws.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub experiment: String,
    pub status: Status,
    pub description: Option<String>,
    pub options: AnalysisOptions,
    pub control: String,
    pub variants: Vec<VariantReport>,
    pub health: Health,
    pub effects: Vec<Effect>,
}

fn summarize(metric: &Metric, m: &Moments, group: &str) -> Result<Summary, StatsError> {
    match metric.kind {
        MetricKind::Binary => Summary::proportion(group, m.sum.round().max(0.0) as u64, m.n),
        MetricKind::Continuous => Summary::from_moments(group, *m),
    }
}

fn check_data(
    experiment: &Experiment,
    metrics: &[Metric],
    data: &ExperimentData,
) -> Result<(), AnalysisError> {
    if data.variants.len() != experiment.variants.len() {
        return Err(AnalysisError::VariantCount {
            key: experiment.key.clone(),
            expected: experiment.variants.len(),
            found: data.variants.len(),
        });
    }
    for (v, vd) in data.variants.iter().enumerate() {
        if vd.metrics.len() != metrics.len() {
            return Err(AnalysisError::MetricCount {
                variant: v,
                expected: metrics.len(),
                found: vd.metrics.len(),
            });
        }
        for (metric, m) in metrics.iter().zip(&vd.metrics) {
            let bad = |message: String| {
                Err(AnalysisError::BadSums {
                    variant: v,
                    metric: metric.key,
                    message,
                })
            };
            if m.n > vd.users {
                return bad(format!("{} values but only {} users", m.n, vd.users));
            }
            if !(m.sum.is_finite() && m.sum_sq.is_finite() && m.shift.is_finite()) {
                return bad("a sum is not a finite number".into());
            }
            if metric.kind == MetricKind::Binary
                && (m.shift != 0.0 || m.sum < 0.0 || m.sum > m.n as f64 || m.sum.fract() != 0.0)
            {
                return bad(format!(
                    "a binary metric needs an unshifted whole count of ones between 0 and n, got sum {} of n {}",
                    m.sum, m.n
                ));
            }
        }
    }
    Ok(())
}

/// Builds the report from sufficient statistics.
pub fn analyze(
    experiment: &Experiment,
    metrics: &[Metric],
    data: &ExperimentData,
    options: &AnalysisOptions,
) -> Result<Report, AnalysisError> {
    if !(options.alpha > 0.0 && options.alpha < 1.0) {
        return Err(AnalysisError::BadAlpha(options.alpha));
    }
    check_data(experiment, metrics, data)?;
    let total_users: u64 = data.variants.iter().map(|v| v.users).sum();

    let variants: Vec<VariantReport> = experiment
        .variants
        .iter()
        .zip(&data.variants)
        .map(|(v, vd)| VariantReport {
            name: v.name.clone(),
            weight: v.weight,
            overrides: v.overrides.to_string(),
            users: vd.users,
            exposures: vd.exposures,
            share: (total_users > 0).then(|| vd.users as f64 / total_users as f64),
            metrics: metrics
                .iter()
                .zip(&vd.metrics)
                .map(|(metric, m)| metric_summary(metric, m, &v.name))
                .collect(),
        })
        .collect();

    let health = health(experiment, data, total_users);
    let control = &experiment.variants[0].name;
    let mut effects = Vec::new();
    for (m, metric) in metrics.iter().enumerate() {
        for (variant, vd) in experiment.variants.iter().zip(&data.variants).skip(1) {
            effects.push(effect(
                metric,
                control,
                &data.variants[0].metrics[m],
                &variant.name,
                &vd.metrics[m],
                options,
            ));
        }
    }
    Ok(Report {
        experiment: experiment.key.clone(),
        status: experiment.status,
        description: experiment.description.clone(),
        options: *options,
        control: control.clone(),
        variants,
        health,
        effects,
    })
}

/// [`aggregate`] then [`analyze`].
pub fn analyze_rows(
    experiment: &Experiment,
    metrics: &[Metric],
    rows: &[UserRow],
    options: &AnalysisOptions,
) -> Result<Report, AnalysisError> {
    analyze(
        experiment,
        metrics,
        &aggregate(experiment, metrics, rows)?,
        options,
    )
}

fn metric_summary(metric: &Metric, m: &Moments, group: &str) -> MetricSummary {
    let summary = summarize(metric, m, group).ok();
    let (mean, sd, note) = match (m.n, summary) {
        (0, _) | (_, None) => (
            None,
            None,
            Some(format!("no user of `{group}` has a {} value", metric.label)),
        ),
        (1, Some(s)) => (finite(s.mean), None, Some("one user: no spread".to_owned())),
        (_, Some(s)) => {
            let sd = match metric.kind {
                // The spread across users of a 0/1 value, with n − 1 like the continuous ones.
                MetricKind::Binary => (s.variance * m.n as f64 / (m.n as f64 - 1.0)).sqrt(),
                MetricKind::Continuous => s.variance.sqrt(),
            };
            (finite(s.mean), finite(sd), None)
        }
    };
    MetricSummary {
        metric: metric.key,
        n: m.n,
        mean,
        sd,
        note,
    }
}

fn health(experiment: &Experiment, data: &ExperimentData, total_users: u64) -> Health {
    let counts: Vec<u64> = data.variants.iter().map(|v| v.users).collect();
    let (srm_result, srm_note) = match srm(&counts, &experiment.weights()) {
        Ok(s) => (Some(s), None),
        Err(e) => (None, Some(e.to_string())),
    };
    let empty_variants: Vec<String> = experiment
        .variants
        .iter()
        .zip(&data.variants)
        .filter(|(_, d)| d.users == 0)
        .map(|(v, _)| v.name.clone())
        .collect();
    let mut warnings = Vec::new();
    if let Some(s) = &srm_result {
        match s.verdict {
            SrmVerdict::Alert => warnings.push(format!(
                "sample-ratio mismatch ALERT: p = {:.2e} < 0.001; users {:?} do not fit weights {:?}; the assignment or logging is broken, do not trust the effects",
                s.p_value, counts, experiment.weights()
            )),
            SrmVerdict::Warn => warnings.push(format!(
                "sample-ratio mismatch warning: p = {:.4} < 0.01; check the assignment and exposure logging",
                s.p_value
            )),
            SrmVerdict::Ok => {}
        }
    }
    if total_users == 0 {
        warnings.push("no users analysed yet".to_owned());
    }
    for name in &empty_variants {
        if total_users > 0 {
            warnings.push(format!("variant `{name}` has no users"));
        }
    }
    if data.users_in_several_variants > 0 {
        warnings.push(format!(
            "{} user(s) were seen in several variants and are excluded (sticky assignment broken, or the experiment was re-weighted)",
            data.users_in_several_variants
        ));
    }
    if data.users_exposed_before_start > 0 {
        warnings.push(format!(
            "{} user(s) were first exposed before the start and are excluded",
            data.users_exposed_before_start
        ));
    }
    if data.users_in_unknown_variants > 0 {
        warnings.push(format!(
            "{} user(s) were logged in variants this experiment does not define and are excluded",
            data.users_in_unknown_variants
        ));
    }
    Health {
        srm: srm_result,
        srm_note,
        users_in_several_variants: data.users_in_several_variants,
        users_exposed_before_start: data.users_exposed_before_start,
        users_in_unknown_variants: data.users_in_unknown_variants,
        empty_variants,
        warnings,
    }
}

/// `Some(value)`, or `None` with the reason added to `notes`.
fn keep<T>(notes: &mut Vec<String>, label: &str, r: Result<T, StatsError>) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(e) => {
            notes.push(format!("{label}: {e}"));
            None
        }
    }
}

fn effect(
    metric: &Metric,
    control_name: &str,
    control: &Moments,
    name: &str,
    treatment: &Moments,
    options: &AnalysisOptions,
) -> Effect {
    let mut notes = Vec::new();
    let a = keep(
        &mut notes,
        "summary",
        summarize(metric, control, control_name),
    );
    let b = keep(&mut notes, "summary", summarize(metric, treatment, name));
    let (mut absolute, mut lift, mut sequential, mut bayes) = (None, None, None, None);
    if let (Some(a), Some(b)) = (a, b) {
        let (ga, gb) = (
            format!("control `{control_name}`"),
            format!("variant `{name}`"),
        );
        absolute = match metric.kind {
            MetricKind::Binary => keep(
                &mut notes,
                "z-test",
                Proportion::new(&ga, control.sum as u64, control.n)
                    .and_then(|pa| {
                        Ok((pa, Proportion::new(&gb, treatment.sum as u64, treatment.n)?))
                    })
                    .and_then(|(pa, pb)| two_proportions(pa, pb, options.alpha))
                    .map(AbsoluteTest::TwoProportionZ),
            ),
            MetricKind::Continuous => keep(
                &mut notes,
                "welch",
                welch(&a, &b, options.alpha).map(AbsoluteTest::Welch),
            ),
        };
        lift = keep(&mut notes, "lift", relative_lift(&a, &b, options.alpha));
        sequential = keep(
            &mut notes,
            "sequential",
            sequential_lift(&a, &b, options.alpha, options.sequential_tuning),
        );
        bayes = keep(
            &mut notes,
            "bayes",
            chance_to_win(
                &a,
                &b,
                options.prior,
                metric.direction == Direction::LowerIsBetter,
                options.alpha,
            ),
        );
    }
    let conclusion = match &absolute {
        None => Conclusion::NotComputed,
        Some(t) if t.p_value() >= options.alpha => Conclusion::Inconclusive,
        Some(t) => match metric.direction {
            Direction::Neutral => Conclusion::Different,
            Direction::HigherIsBetter if t.diff() > 0.0 => Conclusion::Better,
            Direction::LowerIsBetter if t.diff() < 0.0 => Conclusion::Better,
            _ => Conclusion::Worse,
        },
    };
    Effect {
        metric: metric.key,
        variant: name.to_owned(),
        kind: metric.kind,
        direction: metric.direction,
        absolute,
        lift,
        sequential,
        bayes,
        conclusion,
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse;

    fn experiment() -> Experiment {
        parse(
            r#"
[[experiment]]
key = "e"
status = "running"
start = 2026-12-01T00:00:00Z
[[experiment.variant]]
name = "a"
weight = 0.5
[[experiment.variant]]
name = "b"
weight = 0.5
"#,
            "t.toml",
        )
        .unwrap()
        .experiments
        .remove(0)
    }

    fn row(user: &str, variant: &str, day: u32, values: Vec<Option<f64>>) -> UserRow {
        UserRow {
            user: user.into(),
            variant: variant.into(),
            first_exposure: format!("2026-12-{day:02}T12:00:00Z").parse().unwrap(),
            exposures: 1,
            values,
        }
    }

    const TWO: [Metric; 2] = [METRICS[1], METRICS[3]];

    #[test]
    fn exclusions_are_counted_not_analysed() {
        let rows = vec![
            row("u1", "a", 2, vec![Some(1.0), Some(100.0)]),
            row("u2", "b", 2, vec![Some(0.0), Some(120.0)]),
            row("u3", "a", 2, vec![Some(1.0), None]),
            row("u3", "b", 2, vec![Some(1.0), None]),
            row("u4", "a", 1, vec![Some(1.0), Some(90.0)]),
            row("u0", "a", 3, vec![Some(1.0), Some(90.0)]),
            row("u5", "zzz", 3, vec![None, None]),
        ];
        let d = aggregate(&experiment(), &TWO, &rows).unwrap();
        assert_eq!(d.users_in_several_variants, 1);
        assert_eq!(
            d.users_exposed_before_start, 0,
            "day 1 12:00 is after the start"
        );
        assert_eq!(d.users_in_unknown_variants, 1);
        assert_eq!(d.variants[0].users, 3);
        assert_eq!(d.variants[1].users, 1);
        assert_eq!(d.variants[0].metrics[0].n, 3);
    }

    #[test]
    fn bad_rows_are_errors_with_their_place() {
        let e = aggregate(
            &experiment(),
            &TWO,
            &[row("u", "a", 2, vec![Some(0.5), None])],
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("row 0 (user `u`): grounded is 0.5"),
            "{e}"
        );
        let e = aggregate(&experiment(), &TWO, &[row("u", "a", 2, vec![None])]).unwrap_err();
        assert!(matches!(e, AnalysisError::RowShape { .. }), "{e}");
        let twice = [
            row("u", "a", 2, vec![None, None]),
            row("u", "a", 3, vec![None, None]),
        ];
        assert!(matches!(
            aggregate(&experiment(), &TWO, &twice),
            Err(AnalysisError::DuplicateUser { row: 1, .. })
        ));
    }

    #[test]
    fn conclusions_follow_the_metric_direction() {
        let mut rows = Vec::new();
        for i in 0..400 {
            let (v, latency) = if i % 2 == 0 {
                ("a", 200.0)
            } else {
                ("b", 150.0)
            };
            let jitter = (i % 13) as f64;
            rows.push(row(
                &format!("u{i}"),
                v,
                2,
                vec![Some((i % 3 == 0) as u8 as f64), Some(latency + jitter)],
            ));
        }
        let r = analyze_rows(&experiment(), &TWO, &rows, &AnalysisOptions::default()).unwrap();
        let latency = r.effects.iter().find(|e| e.metric == "latency_ms").unwrap();
        assert_eq!(
            latency.conclusion,
            Conclusion::Better,
            "lower latency is better"
        );
        assert!(latency.bayes.as_ref().unwrap().chance_to_win > 0.99);
        assert!(r.health.warnings.is_empty(), "{:?}", r.health.warnings);
    }
}
