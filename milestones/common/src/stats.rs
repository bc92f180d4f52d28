//! Descriptive statistics every milestone shares: mean, variance and standard
//! deviation (population *and* sample, named so nobody mixes them up), and
//! percentiles.
//!
//! Each function names the definition it implements and the NumPy call it
//! equals, so a learner can check a number in one line of Python.

/// Arithmetic mean `Σx / n`; `NaN` for an empty slice (as `numpy.mean`).
pub fn mean(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.iter().sum::<f64>() / values.len() as f64
}

/// Variance with `ddof` delta degrees of freedom: `Σ(x − x̄)² / (n − ddof)`,
/// computed in two passes (mean first) for accuracy. `ddof = 0` is the
/// population variance (`numpy.var(x)`), `ddof = 1` the sample variance
/// (`numpy.var(x, ddof=1)`, `statistics.variance`). `NaN` when `n ≤ ddof`.
pub fn variance(values: &[f64], ddof: usize) -> f64 {
    let n = values.len();
    if n <= ddof {
        return f64::NAN;
    }
    let m = mean(values);
    values.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - ddof) as f64
}

/// Population standard deviation `√(Σ(x − x̄)² / n)` (`numpy.std(x)`; what
/// scikit-learn's `StandardScaler` divides by).
pub fn std_population(values: &[f64]) -> f64 {
    variance(values, 0).sqrt()
}

/// Sample standard deviation `√(Σ(x − x̄)² / (n − 1))` (`numpy.std(x, ddof=1)`,
/// `pandas.Series.std()`); `NaN` for fewer than two values.
pub fn std_sample(values: &[f64]) -> f64 {
    variance(values, 1).sqrt()
}

/// The `p`-th percentile (`p` in 0..=100) of **sorted** values by linear
/// interpolation between closest ranks: rank `r = p/100 · (n − 1)`, result
/// `x[⌊r⌋] + (x[⌈r⌉] − x[⌊r⌋]) · (r − ⌊r⌋)`. This is NumPy's default
/// (`numpy.percentile(x, p)`, method `"linear"`). `NaN` for an empty slice.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    debug_assert!(
        sorted
            .windows(2)
            .all(|w| w[0] <= w[1] || w[0].is_nan() || w[1].is_nan()),
        "percentile needs sorted input"
    );
    let rank = (p.clamp(0.0, 100.0) / 100.0) * (sorted.len() - 1) as f64;
    let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo as f64)
}

/// Sorts a copy of `values` (NaNs last) and returns the requested percentiles.
pub fn percentiles(values: &[f64], ps: &[f64]) -> Vec<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    ps.iter().map(|&p| percentile(&sorted, p)).collect()
}

/// Median = the 50th percentile of the sorted copy (`numpy.median`).
pub fn median(values: &[f64]) -> f64 {
    percentiles(values, &[50.0])[0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_numpy() {
        // numpy: np.var(x) = 2.0, np.var(x, ddof=1) = 2.5, np.percentile(x, 95) = 4.8
        let x = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(mean(&x), 3.0);
        assert_eq!(variance(&x, 0), 2.0);
        assert_eq!(variance(&x, 1), 2.5);
        assert_eq!(std_population(&x), 2f64.sqrt());
        assert_eq!(std_sample(&x), 2.5f64.sqrt());
        assert_eq!(percentile(&x, 50.0), 3.0);
        assert_eq!(percentile(&x, 0.0), 1.0);
        assert_eq!(percentile(&x, 100.0), 5.0);
        assert!((percentile(&x, 95.0) - 4.8).abs() < 1e-12);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
    }

    #[test]
    fn degenerate_inputs_are_nan_not_panics() {
        assert!(mean(&[]).is_nan());
        assert!(std_sample(&[1.0]).is_nan());
        assert_eq!(std_population(&[1.0]), 0.0);
        assert!(percentile(&[], 50.0).is_nan());
    }
}
