//! The two-sample statistics of drift detection, each written next to its definition and checked against
//! the function it equals (scipy 1.17.1, numpy 2.4.6, Evidently 0.7.23).
//!
//! Inputs are what drift detection has after cleaning: numeric samples **sorted** with nulls and ±∞
//! removed (Evidently drops them before any test), and categorical samples as counts aligned over the union
//! of the categories seen on either side.
//!
//! These are the lesson of the milestone (and no Rust crate computes scipy's exact KS p-value, numpy's
//! Sturges edges or Evidently's binning and epsilons), so they are written out here; the distributions
//! they need (χ², normal) come from `statrs`, mean and standard deviation from `roadmap_common::stats`.

use statrs::distribution::{ChiSquared, ContinuousCDF, Normal};

use crate::kolmogorov;

/// Neumaier-compensated sum: numpy sums pairwise (error `O(log n · ε)`), a plain loop accumulates
/// `O(n · ε)`; compensation keeps both within ~1e-15 of the exact sum, so results agree with numpy to far
/// better than the 1e-9 the tests ask for.
pub(crate) fn compensated_sum(values: impl IntoIterator<Item = f64>) -> f64 {
    let (mut sum, mut c, mut plain) = (0.0f64, 0.0f64, 0.0f64);
    for v in values {
        plain += v;
        let t = sum + v;
        if sum.abs() >= v.abs() {
            c += (sum - t) + v;
        } else {
            c += (v - t) + sum;
        }
        sum = t;
    }
    // An infinite or NaN term (χ² with a category the reference lacks) makes the correction NaN.
    if plain.is_finite() {
        sum + c
    } else {
        plain
    }
}

/// Result of the two-sample Kolmogorov–Smirnov test.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct KsTest {
    /// `D = sup_x |F_ref(x) − F_cur(x)|` over the empirical CDFs.
    pub statistic: f64,
    /// Two-sided p-value.
    pub pvalue: f64,
    /// Whether the exact null distribution was used (else Smirnov's asymptotic one).
    pub exact: bool,
}

/// Two-sample, two-sided Kolmogorov–Smirnov test = `scipy.stats.ks_2samp(a, b)` (method `"auto"`).
///
/// **Statistic.** Both empirical CDFs are right-continuous step functions, `F(x) = #{xᵢ ≤ x}/n`, and are
/// compared at every observed value (ties handled by counting all equal values at once, like scipy's
/// `searchsorted(side="right")`): `D = max(max(F₁ − F₂), max(F₂ − F₁))`.
///
/// **p-value.** When `max(n₁, n₂) ≤ 10 000` the exact null distribution is used: `D` is rounded to the
/// lattice `h/lcm(n₁, n₂)` (round half to even, as `numpy.round`) and `P(D ≥ h/lcm)` is counted with
/// [`kolmogorov::prob_outside_square`] (equal sizes) or [`kolmogorov::prob_outside_band`]. If that
/// overflows, or for larger samples, the asymptotic `kstwo.sf(D, round(n₁n₂/(n₁ + n₂)))` is used
/// ([`kolmogorov::kolmogn_sf`]). The p-value is clipped to `[0, 1]`.
///
/// Both slices must be sorted ascending, finite and non-empty (`None` otherwise).
pub fn ks_2samp(a: &[f64], b: &[f64]) -> Option<KsTest> {
    if a.is_empty() || b.is_empty() {
        return None;
    }
    let (n1, n2) = (a.len(), b.len());
    let (fn1, fn2) = (n1 as f64, n2 as f64);
    // Walk the merged distinct values; at each, both CDFs count every element ≤ it.
    let (mut i, mut j) = (0usize, 0usize);
    let (mut max_s, mut min_s) = (f64::NEG_INFINITY, f64::INFINITY);
    while i < n1 || j < n2 {
        let x = match (a.get(i), b.get(j)) {
            (Some(&x), Some(&y)) => x.min(y),
            (Some(&x), None) => x,
            (None, Some(&y)) => y,
            (None, None) => break,
        };
        while i < n1 && a[i] <= x {
            i += 1;
        }
        while j < n2 && b[j] <= x {
            j += 1;
        }
        let diff = i as f64 / fn1 - j as f64 / fn2;
        max_s = max_s.max(diff);
        min_s = min_s.min(diff);
    }
    let min_s = (-min_s).clamp(0.0, 1.0);
    let d = if min_s > max_s { min_s } else { max_s };

    // Smirnov's asymptotic distribution: kstwo(round(n₁n₂/(n₁ + n₂))).
    let en = (fn1.max(fn2) * fn1.min(fn2) / (fn1 + fn2)).round_ties_even() as u64;
    let asymptotic = |d: f64| KsTest {
        statistic: d,
        pvalue: kolmogorov::kolmogn_sf(en, d).clamp(0.0, 1.0),
        exact: false,
    };
    if n1.max(n2) > 10_000 {
        return Some(asymptotic(d));
    }
    let g = gcd(n1 as u64, n2 as u64);
    let lcm = (n1 as u64 / g) * n2 as u64;
    let h = (d * lcm as f64).round_ties_even() as u64;
    let d_lattice = h as f64 / lcm as f64;
    if h == 0 {
        return Some(KsTest {
            statistic: d_lattice,
            pvalue: 1.0,
            exact: true,
        });
    }
    let p = if n1 == n2 {
        kolmogorov::prob_outside_square(n1 as u64, h)
    } else {
        kolmogorov::prob_outside_band(n1 as u64, n2 as u64, g, h)
    };
    if p.is_finite() && (0.0..=1.0).contains(&p) {
        Some(KsTest {
            statistic: d_lattice,
            pvalue: p,
            exact: true,
        })
    } else {
        // scipy falls back to the asymptotic distribution with the lattice-rounded statistic.
        Some(asymptotic(d_lattice))
    }
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// First Wasserstein (earth mover's) distance between two samples = `scipy.stats.wasserstein_distance(u, v)`:
/// `W₁ = ∫ |U(x) − V(x)| dx`, evaluated exactly on the step CDFs as
/// `Σₖ |U(zₖ) − V(zₖ)| · (zₖ₊₁ − zₖ)` over the sorted pooled values `z`. Inputs sorted, non-empty.
pub fn wasserstein_distance(u: &[f64], v: &[f64]) -> f64 {
    if u.is_empty() || v.is_empty() {
        return f64::NAN;
    }
    let (nu, nv) = (u.len() as f64, v.len() as f64);
    let (mut i, mut j) = (0usize, 0usize);
    let mut terms = Vec::with_capacity(u.len() + v.len());
    // Each step: the next pooled value z_k (ties produce zero-width steps, which add nothing).
    let next = |i: usize, j: usize| -> Option<f64> {
        match (u.get(i), v.get(j)) {
            (Some(&x), Some(&y)) => Some(x.min(y)),
            (Some(&x), None) => Some(x),
            (None, Some(&y)) => Some(y),
            (None, None) => None,
        }
    };
    let mut z = match next(0, 0) {
        Some(z) => z,
        None => return f64::NAN,
    };
    loop {
        while i < u.len() && u[i] <= z {
            i += 1;
        }
        while j < v.len() && v[j] <= z {
            j += 1;
        }
        let Some(z_next) = next(i, j) else { break };
        terms.push((i as f64 / nu - j as f64 / nv).abs() * (z_next - z));
        z = z_next;
    }
    compensated_sum(terms)
}

/// Evidently's normed Wasserstein distance (`wasserstein` stattest): `W₁(ref, cur) / max(σ_ref, 0.001)`
/// where `σ_ref` is the **population** standard deviation of the reference (`numpy.std`, ddof 0).
/// Returns `(raw, normed)`.
pub fn wasserstein_normed(reference: &[f64], current: &[f64]) -> (f64, f64) {
    let raw = wasserstein_distance(reference, current);
    let norm = roadmap_common::stats::std_population(reference).max(0.001);
    (raw, raw / norm)
}

/// Pearson's χ² of the current counts against the reference proportions, as Evidently's `chisquare`
/// stattest calls `scipy.stats.chisquare(f_obs, f_exp)`: over the union of categories,
/// `f_exp = ref_count · (n_cur / n_ref)`, `f_obs = cur_count`, `χ² = Σ (f_obs − f_exp)² / f_exp`, and
/// `p = P(χ²_{k−1} ≥ χ²)` with `k` categories. A category absent from the reference has `f_exp = 0`, so
/// `χ² = ∞` and `p = 0` (scipy does the same, with a warning). Returns `(statistic, p_value)`;
/// `p` is NaN for a single category (0 degrees of freedom), as in scipy.
pub fn chisquare(ref_counts: &[u64], cur_counts: &[u64]) -> (f64, f64) {
    let n_ref: u64 = ref_counts.iter().sum();
    let n_cur: u64 = cur_counts.iter().sum();
    if n_ref == 0 || n_cur == 0 {
        return (f64::NAN, f64::NAN);
    }
    let k_norm = n_cur as f64 / n_ref as f64;
    let stat = compensated_sum(ref_counts.iter().zip(cur_counts).map(|(&r, &c)| {
        let e = r as f64 * k_norm;
        let d = c as f64 - e;
        d * d / e
    }));
    let dof = ref_counts.len() as f64 - 1.0;
    if dof < 1.0 || stat.is_nan() {
        return (stat, f64::NAN);
    }
    if stat.is_infinite() {
        return (stat, 0.0);
    }
    let p = ChiSquared::new(dof).map(|d| d.sf(stat)).unwrap_or(f64::NAN);
    (stat, p)
}

/// Two-proportion z-test, Evidently's `z` stattest (for binary columns): the first category in sorted
/// order is coded 0, the other 1; with proportions `p₁ = ones_ref/n₁`, `p₂ = ones_cur/n₂` and pooled
/// `P = (p₁n₁ + p₂n₂)/(n₁ + n₂)`, `z = (p₁ − p₂)/√(P(1 − P)(1/n₁ + 1/n₂))` and the two-sided
/// `p = 2(1 − Φ(|z|))` (computed as Evidently does, `1 − cdf`, not `sf`). When both sides hold the same
/// single value, `p = 1` (and `z = 0`). `counts` are aligned in sorted category order, at most two.
/// Returns `(z, p_value)`.
pub fn z_test(ref_counts: &[u64], cur_counts: &[u64]) -> (f64, f64) {
    let n1: u64 = ref_counts.iter().sum();
    let n2: u64 = cur_counts.iter().sum();
    if n1 == 0 || n2 == 0 || ref_counts.len() > 2 {
        return (f64::NAN, f64::NAN);
    }
    // With the categories aligned over the union, "both sides hold the same single value" means there
    // is only one category at all.
    if ref_counts.len() == 1 {
        return (0.0, 1.0);
    }
    let (n1f, n2f) = (n1 as f64, n2 as f64);
    let p1 = ref_counts[1] as f64 / n1f;
    let p2 = cur_counts[1] as f64 / n2f;
    let pooled = (p1 * n1f + p2 * n2f) / (n1f + n2f);
    let z = (p1 - p2) / (pooled * (1.0 - pooled) * (1.0 / n1f + 1.0 / n2f)).sqrt();
    let normal = Normal::new(0.0, 1.0).expect("standard normal is valid");
    (z, 2.0 * (1.0 - normal.cdf(z.abs())))
}

/// Jensen–Shannon **distance** = `scipy.spatial.distance.jensenshannon(p, q)` (natural log): both vectors
/// are normalised to sum 1, `m = (p + q)/2`, and
/// `JS = √((KL(p‖m) + KL(q‖m)) / 2)` with `KL(p‖m) = Σ pᵢ ln(pᵢ/mᵢ)` (terms with `pᵢ = 0` are 0).
/// It lies in `[0, √ln 2 ≈ 0.833]`.
pub fn jensenshannon(p: &[f64], q: &[f64]) -> f64 {
    let sp: f64 = compensated_sum(p.iter().copied());
    let sq: f64 = compensated_sum(q.iter().copied());
    let rel_entr = |x: f64, y: f64| {
        if x > 0.0 && y > 0.0 {
            x * (x / y).ln()
        } else if x == 0.0 {
            0.0
        } else {
            f64::INFINITY
        }
    };
    let mut left = Vec::with_capacity(p.len());
    let mut right = Vec::with_capacity(p.len());
    for (&a, &b) in p.iter().zip(q) {
        let (a, b) = (a / sp, b / sq);
        let m = (a + b) / 2.0;
        left.push(rel_entr(a, m));
        right.push(rel_entr(b, m));
    }
    let js = compensated_sum(left) + compensated_sum(right);
    (js / 2.0).sqrt()
}

/// Population stability index, Evidently's `psi` stattest: `PSI = Σ (rᵢ − cᵢ) · ln(rᵢ / cᵢ)` over the
/// bins Evidently uses (see `crate::drift`: Sturges bins or one bin per value), with empty bins already
/// replaced by [`fill_zeroes`].
pub fn psi(reference: &[f64], current: &[f64]) -> f64 {
    compensated_sum(
        reference
            .iter()
            .zip(current)
            .map(|(&r, &c)| (r - c) * (r / c).ln()),
    )
}

/// Evidently's epsilon for empty bins (`get_binned_data(…, feel_zeroes=True)`): every zero share in a
/// vector becomes `min_nonzero / 10⁶` when the smallest non-zero share is ≤ 0.0001, else `0.0001`. Each
/// side (reference, current) is filled separately. Without it PSI would take `ln 0`.
pub fn fill_zeroes(shares: &mut [f64]) {
    let min_nonzero = shares
        .iter()
        .copied()
        .filter(|&x| x != 0.0)
        .fold(f64::INFINITY, f64::min);
    if !min_nonzero.is_finite() {
        return;
    }
    let eps = if min_nonzero <= 0.0001 {
        min_nonzero / 1e6
    } else {
        0.0001
    };
    for s in shares.iter_mut().filter(|s| **s == 0.0) {
        *s = eps;
    }
}

/// Bin edges of `numpy.histogram_bin_edges(pooled, bins="sturges")`: width
/// `w = (max − min)/(log₂ n + 1)` for `n` pooled values (at least 1 for integer data), `k = ⌈(max − min)/w⌉`
/// equal bins, edges `min + i·(max − min)/k` for `i < k` and exactly `max` last (`numpy.linspace`); a
/// constant sample gets the single bin `[v − 0.5, v + 0.5]`.
pub fn sturges_edges(min: f64, max: f64, n: usize, integer: bool) -> Vec<f64> {
    let (first, last) = if min == max {
        (min - 0.5, max + 0.5)
    } else {
        (min, max)
    };
    let n_bins = if n == 0 {
        1
    } else {
        let mut width = (max - min) / ((n as f64).log2() + 1.0);
        if width != 0.0 {
            if integer && width < 1.0 {
                width = 1.0;
            }
            ((last - first) / width).ceil() as usize
        } else {
            1
        }
    };
    let step = (last - first) / n_bins as f64;
    let mut edges: Vec<f64> = (0..=n_bins).map(|i| i as f64 * step + first).collect();
    if let Some(e) = edges.last_mut() {
        *e = last;
    }
    edges
}

/// Counts of a **sorted** sample in the bins `[e₀, e₁), [e₁, e₂), …, [e_{k−1}, e_k]` (last bin closed), as
/// `numpy.histogram(sample, edges)` counts them.
pub fn histogram(sorted: &[f64], edges: &[f64]) -> Vec<u64> {
    if edges.len() < 2 {
        return Vec::new();
    }
    let k = edges.len() - 1;
    let cum: Vec<usize> = edges
        .iter()
        .enumerate()
        .map(|(i, &e)| {
            if i < k {
                sorted.partition_point(|&x| x < e)
            } else {
                sorted.partition_point(|&x| x <= e)
            }
        })
        .collect();
    cum.windows(2).map(|w| (w[1] - w[0]) as u64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ks_statistic_and_exact_p_on_a_small_case() {
        // scipy.stats.ks_2samp([1,2,3,4,5], [3,4,5,6,7,8]) -> (0.5, 0.35714285714285715)
        let r = ks_2samp(&[1.0, 2.0, 3.0, 4.0, 5.0], &[3.0, 4.0, 5.0, 6.0, 7.0, 8.0]).unwrap();
        assert_eq!(r.statistic, 0.5);
        assert!(
            (r.pvalue - 0.35714285714285715).abs() < 1e-12,
            "{}",
            r.pvalue
        );
        assert!(r.exact);
    }

    #[test]
    fn wasserstein_matches_scipy_docstring() {
        // scipy docs: wasserstein_distance([0, 1, 3], [5, 6, 8]) == 5.0
        assert_eq!(
            wasserstein_distance(&[0.0, 1.0, 3.0], &[5.0, 6.0, 8.0]),
            5.0
        );
        assert_eq!(wasserstein_distance(&[1.0, 1.0], &[1.0]), 0.0);
    }

    #[test]
    fn sturges_edges_match_numpy() {
        // numpy.histogram_bin_edges(np.arange(10), "sturges") -> [0, 1.8, 3.6, 5.4, 7.2, 9]
        // (width 9/(log2(10) + 1) = 2.08, so ⌈9/2.08⌉ = 5 bins)
        let edges = sturges_edges(0.0, 9.0, 10, true);
        let want = [0.0, 1.8, 3.6, 5.4, 7.2, 9.0];
        assert_eq!(edges.len(), want.len());
        assert!(
            edges.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-12),
            "{edges:?}"
        );
        // a constant sample: one bin [v − 0.5, v + 0.5]
        assert_eq!(sturges_edges(2.0, 2.0, 5, false), vec![1.5, 2.5]);
        assert_eq!(
            histogram(&[0.0, 3.0, 3.0, 8.0, 9.0], &[0.0, 3.0, 6.0, 9.0]),
            vec![1, 2, 2]
        );
    }

    #[test]
    fn epsilon_rule_matches_evidently() {
        let mut a = [0.5, 0.5, 0.0];
        fill_zeroes(&mut a);
        assert_eq!(a[2], 0.0001);
        let mut b = [0.99995, 0.00005, 0.0];
        fill_zeroes(&mut b);
        assert_eq!(b[2], 0.00005 / 1e6);
    }
}
