//! The statistics of an experiment report, each one a documented definition
//! checked against the library a data scientist would use
//! (`tests/reference_stats.rs` reads fixtures written by
//! `scripts/reference.py` with scipy 1.17.1, statsmodels 0.15.0 and gbstats
//! 0.8.0, GrowthBook's own stats engine):
//!
//! | module | statistic | reference |
//! |---|---|---|
//! | [`srm`] | sample-ratio mismatch, χ² goodness of fit | `scipy.stats.chisquare`, gbstats `check_srm` |
//! | [`proportions`] | two-proportion z-test, CI of the difference | statsmodels `proportions_ztest`, `confint_proportions_2indep` |
//! | [`welch`] | Welch's t-test, Welch–Satterthwaite df | `scipy.stats.ttest_ind(equal_var=False)` |
//! | [`lift`] | relative lift, delta-method interval | gbstats `TwoSidedTTest` (frequentist engine) |
//! | [`sequential`] | always-valid mSPRT p-value and confidence sequence | gbstats `SequentialTwoSidedTTest` |
//! | [`bayes`] | chance to beat control, credible interval | gbstats `EffectBayesianABTest` |
//!
//! Every test works on per-variant sufficient statistics ([`Summary`]: `n`,
//! mean, per-unit variance), so the report can be fed either from raw
//! per-user values or from `COUNT`/`SUM`/`SUM(x·x)` computed inside a
//! database ([`Moments`]). Distributions come from `statrs`.

pub mod bayes;
pub mod lift;
pub mod proportions;
pub mod sequential;
pub mod srm;
pub mod welch;

use serde::Serialize;
use statrs::distribution::{ChiSquared, ContinuousCDF, Normal, StudentsT};

/// Bad input to a statistic: what is wrong and how to fix it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StatsError {
    #[error("{group} has {n} units; {test} needs at least {need}")]
    TooFewUnits {
        group: String,
        n: u64,
        need: u64,
        test: &'static str,
    },
    #[error("{what} is {value}: every value must be a finite number")]
    NonFinite { what: String, value: f64 },
    #[error("{group}: {successes} successes out of {n} trials; successes must be between 0 and the trials")]
    BadProportion {
        group: String,
        successes: u64,
        n: u64,
    },
    #[error("alpha = {0}: the significance level must be strictly between 0 and 1 (e.g. 0.05)")]
    BadAlpha(f64),
    #[error("{0}")]
    Undefined(String),
    #[error(
        "{counts} counts but {weights} weights: give one weight per variant, in the same order"
    )]
    LengthMismatch { counts: usize, weights: usize },
    #[error("weight {value} for variant {index}: weights must be positive finite numbers")]
    BadWeight { index: usize, value: f64 },
    #[error(
        "the sequential tuning parameter (planned sample size) must be a positive number, got {0}"
    )]
    BadTuning(f64),
    #[error("prior variance {0}: a proper prior needs a positive finite variance")]
    BadPrior(f64),
}

/// What one variant contributes to a test: the number of units (users), their
/// mean, and the **per-unit variance** the tests use.
///
/// The variance is the sample variance `Σ(x − x̄)²/(n − 1)` for a continuous
/// metric ([`Summary::from_values`], [`Summary::from_moments`]) and
/// `p(1 − p)` for a proportion ([`Summary::proportion`]), which is exactly what
/// GrowthBook's `SampleMeanStatistic` and `ProportionStatistic` use.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Summary {
    pub n: u64,
    pub mean: f64,
    pub variance: f64,
}

/// Sufficient statistics as a database computes them in one pass:
/// `n = COUNT(x)`, `sum = SUM(x − c)`, `sum_sq = SUM((x − c)²)` for a shift
/// `c` (`shift`, default 0).
///
/// The shift is optional and exists for precision: the one-pass variance
/// `(Σy² − (Σy)²/n)/(n − 1)` loses about `log10(ȳ²/s²)` significant digits to
/// cancellation, so summing `y = x − c` with `c` near the mean (any rough
/// guess, such as a previous report's mean) keeps every digit. Binary metrics
/// need no shift.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct Moments {
    pub n: u64,
    pub sum: f64,
    pub sum_sq: f64,
    #[serde(default)]
    pub shift: f64,
}

impl Moments {
    /// Empty sums of `x − shift`.
    pub fn with_shift(shift: f64) -> Moments {
        Moments {
            shift,
            ..Moments::default()
        }
    }

    /// Adds one value.
    pub fn push(&mut self, x: f64) {
        let y = x - self.shift;
        self.n += 1;
        self.sum += y;
        self.sum_sq += y * y;
    }
}

impl Summary {
    /// Mean and sample variance (two passes, `roadmap_common::stats`).
    pub fn from_values(group: &str, values: &[f64]) -> Result<Summary, StatsError> {
        if let Some(&bad) = values.iter().find(|v| !v.is_finite()) {
            return Err(StatsError::NonFinite {
                what: format!("a value of {group}"),
                value: bad,
            });
        }
        let n = values.len() as u64;
        let mean = roadmap_common::stats::mean(values);
        let variance = roadmap_common::stats::variance(values, 1);
        Ok(Summary {
            n,
            mean: if n == 0 { 0.0 } else { mean },
            variance: if n < 2 { 0.0 } else { variance },
        })
    }

    /// From database sums of `y = x − c`: `mean = c + Σy/n`,
    /// `variance = (Σy² − (Σy)²/n)/(n − 1)` (GrowthBook's
    /// `SampleMeanStatistic.variance`, which has `c = 0`; see [`Moments`] on
    /// the shift). A tiny negative variance from rounding is clamped to 0.
    pub fn from_moments(group: &str, m: Moments) -> Result<Summary, StatsError> {
        for (what, v) in [
            ("sum", m.sum),
            ("sum of squares", m.sum_sq),
            ("shift", m.shift),
        ] {
            if !v.is_finite() {
                return Err(StatsError::NonFinite {
                    what: format!("the {what} of {group}"),
                    value: v,
                });
            }
        }
        let n = m.n as f64;
        let mean = if m.n == 0 { 0.0 } else { m.shift + m.sum / n };
        let variance = if m.n < 2 {
            0.0
        } else {
            ((m.sum_sq - m.sum * m.sum / n) / (n - 1.0)).max(0.0)
        };
        Ok(Summary {
            n: m.n,
            mean,
            variance,
        })
    }

    /// A proportion `p = successes/n` with per-unit variance `p(1 − p)`.
    pub fn proportion(group: &str, successes: u64, n: u64) -> Result<Summary, StatsError> {
        if successes > n {
            return Err(StatsError::BadProportion {
                group: group.to_owned(),
                successes,
                n,
            });
        }
        let p = if n == 0 {
            0.0
        } else {
            successes as f64 / n as f64
        };
        Ok(Summary {
            n,
            mean: p,
            variance: p * (1.0 - p),
        })
    }

    /// `variance / n`: the squared standard error of the mean.
    pub fn var_of_mean(&self) -> f64 {
        self.variance / self.n as f64
    }
}

pub(crate) fn check_alpha(alpha: f64) -> Result<(), StatsError> {
    if alpha > 0.0 && alpha < 1.0 {
        Ok(())
    } else {
        Err(StatsError::BadAlpha(alpha))
    }
}

pub(crate) fn need_units(
    group: &str,
    s: &Summary,
    need: u64,
    test: &'static str,
) -> Result<(), StatsError> {
    if s.n < need {
        return Err(StatsError::TooFewUnits {
            group: group.to_owned(),
            n: s.n,
            need,
            test,
        });
    }
    Ok(())
}

/// `1 − Φ(x)` for the standard normal, accurate in the far tail.
pub(crate) fn normal_sf(x: f64) -> f64 {
    std_normal().sf(x)
}

/// `Φ⁻¹(p)`, for `p` in `(0, 1)` (callers check alpha first).
pub(crate) fn normal_ppf(p: f64) -> f64 {
    std_normal().inverse_cdf(p)
}

fn std_normal() -> Normal {
    Normal::new(0.0, 1.0).expect("the standard normal is valid")
}

fn students_t(df: f64) -> Result<StudentsT, StatsError> {
    StudentsT::new(0.0, 1.0, df).map_err(|_| {
        StatsError::Undefined(format!(
            "the degrees of freedom came out as {df}; both groups need at least two distinct values"
        ))
    })
}

/// `P(T > t)` for Student's t with `df` degrees of freedom.
pub(crate) fn t_sf(t: f64, df: f64) -> Result<f64, StatsError> {
    Ok(students_t(df)?.sf(t))
}

/// The `p` quantile of Student's t with `df` degrees of freedom.
///
/// `statrs` inverts the regularised incomplete beta function, which is good
/// to about 1e-9 relative; two Newton steps on `F(t) − p` with the exact
/// density (`t ← t − (F(t) − p)/f(t)`) bring it to the precision of `F`
/// itself, as scipy's `t.ppf` is. This refinement is the one hand-written
/// numerical step in the module.
pub(crate) fn t_ppf(p: f64, df: f64) -> Result<f64, StatsError> {
    use statrs::distribution::Continuous;
    let dist = students_t(df)?;
    let mut t = dist.inverse_cdf(p);
    for _ in 0..2 {
        let f = dist.pdf(t);
        if f.is_nan() || f <= 0.0 || !t.is_finite() {
            break;
        }
        let step = (dist.cdf(t) - p) / f;
        if !step.is_finite() {
            break;
        }
        t -= step;
    }
    Ok(t)
}

/// `P(X > x)` for the χ² distribution with `df` degrees of freedom.
pub(crate) fn chi2_sf(x: f64, df: f64) -> f64 {
    ChiSquared::new(df)
        .expect("df is a positive count of variants minus one")
        .sf(x)
}

/// `Some(v)` for a finite `v`, `None` otherwise: the report never carries NaN.
pub(crate) fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

/// The issue's example, 480/5000 (control) vs 540/5000, as the unit tests'
/// shared input.
#[cfg(test)]
pub(crate) fn issue_example() -> (Summary, Summary) {
    (
        Summary::proportion("a", 480, 5000).unwrap(),
        Summary::proportion("b", 540, 5000).unwrap(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moments_and_values_agree() {
        let xs = [120.0, 340.5, 98.25, 410.0, 233.0];
        let mut m = Moments::default();
        xs.iter().for_each(|&x| m.push(x));
        let a = Summary::from_values("a", &xs).unwrap();
        let b = Summary::from_moments("a", m).unwrap();
        assert_eq!(a.n, b.n);
        assert!((a.mean - b.mean).abs() < 1e-12);
        assert!((a.variance - b.variance).abs() < 1e-9 * a.variance);
    }

    #[test]
    fn a_shift_rescues_the_one_pass_variance() {
        // Values near 1e8 with spread 1: Σx² ≈ 5e16 swamps the variance unshifted.
        let xs: Vec<f64> = (0..1000).map(|i| 1e8 + (i % 7) as f64).collect();
        let exact = Summary::from_values("a", &xs).unwrap();
        let mut m = Moments::with_shift(1e8);
        xs.iter().for_each(|&x| m.push(x));
        let shifted = Summary::from_moments("a", m).unwrap();
        assert!((shifted.variance - exact.variance).abs() < 1e-12 * exact.variance);
        assert!((shifted.mean - exact.mean).abs() < 1e-6);
    }

    #[test]
    fn proportion_variance_is_p_one_minus_p() {
        let s = Summary::proportion("a", 25, 100).unwrap();
        assert_eq!(s.mean, 0.25);
        assert_eq!(s.variance, 0.1875);
        assert!(matches!(
            Summary::proportion("a", 5, 4),
            Err(StatsError::BadProportion { .. })
        ));
    }

    #[test]
    fn non_finite_values_are_refused() {
        let e = Summary::from_values("B", &[1.0, f64::NAN]).unwrap_err();
        assert!(e.to_string().contains("value of B"), "{e}");
    }

    #[test]
    fn t_quantiles_match_tables() {
        // Classic table values (scipy.stats.t.ppf): 0.975 quantile.
        for (df, q) in [
            (1.0, 12.706204736174694),
            (10.0, 2.228138851986274),
            (1e6, 1.959966356814107),
        ] {
            let t = t_ppf(0.975, df).unwrap();
            assert!((t - q).abs() < 1e-9 * q, "df {df}: {t} vs {q}");
        }
    }
}
