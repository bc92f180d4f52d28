//! Least angle regression (LAR), only as far as KernelSHAP needs it: which
//! features enter the active set, in which order, within `max_iter` steps.
//!
//! shap 0.51's KernelExplainer selects features before its final regression
//! (default `l1_reg="num_features(10)"`): it calls
//! `sklearn.linear_model.lars_path(X, y, max_iter=10)` and keeps the active
//! set. No Rust crate implements LAR, and the selected set depends on every
//! detail of scikit-learn's loop, so this is a line-by-line port of
//! `sklearn.linear_model._least_angle._lars_path_solver` (scikit-learn 1.9.1)
//! for `method="lar"`, `Gram=None`, `alpha_min=0`:
//!
//! ```text
//!   c = Xᵀy (correlations);  repeat:
//!     C = max |cⱼ| over inactive j;  stop if C / n_samples ≤ ε_f32
//!     add that j (sign sⱼ = sign cⱼ), extending the Cholesky factor L of XₐᵀXₐ
//!     (a new pivot below 1e-7 means a degenerate column: it is skipped, with
//!     scikit-learn's own bookkeeping of the swap)
//!     solve LLᵀ u = s, A = (sᵀu)^(−1/2), u ← A·u          (equiangular direction Xₐu)
//!     a = X_inactiveᵀ Xₐ u, rounded to 15 decimals
//!     γ = min⁺{ (C − cⱼ)/(A − aⱼ), (C + cⱼ)/(A + aⱼ) } ∪ {C/A}
//!     (a coefficient that would cross zero flips its sign and blocks the next
//!     addition, as scikit-learn does for "lar")
//!     β ← β + γu,  c ← c − γa
//! ```
//!
//! (Efron, Hastie, Johnstone & Tibshirani 2004, "Least Angle Regression".)

use linfa_linalg::triangular::{SolveTriangularInplace, UPLO};
use ndarray::{Array2, ArrayView1, ArrayView2};

/// `numpy.finfo(numpy.float32).tiny`, added to denominators by scikit-learn.
const TINY32: f64 = f32::MIN_POSITIVE as f64;
/// `numpy.finfo(numpy.float32).eps`, scikit-learn's `equality_tolerance`.
const EQUALITY_TOLERANCE: f64 = f32::EPSILON as f64;

/// The smallest strictly positive value, or `f64::MAX` (`sklearn.utils.arrayfuncs.min_pos`).
fn min_pos(v: impl Iterator<Item = f64>) -> f64 {
    v.filter(|&x| x > 0.0).fold(f64::MAX, f64::min)
}

/// `numpy.around(x, 15)`: scale by 10¹⁵, round half to even, scale back.
fn around15(x: f64) -> f64 {
    (x * 1e15).round_ties_even() / 1e15
}

/// Solves `L Lᵀ x = b` for lower-triangular `L` (LAPACK `potrs`).
fn cho_solve(l: &Array2<f64>, b: &[f64]) -> Vec<f64> {
    let mut x = Array2::from_shape_vec((b.len(), 1), b.to_vec()).expect("a column");
    // A zero pivot cannot occur: pivots are at least f64::EPSILON (see below).
    l.solve_triangular_inplace(&mut x, UPLO::Lower)
        .expect("square lower factor");
    l.t()
        .solve_triangular_inplace(&mut x, UPLO::Upper)
        .expect("square upper factor");
    x.into_raw_vec_and_offset().0
}

/// The active set of `lars_path(x, y, max_iter=max_iter, method="lar")[1]`:
/// feature indices in the order they entered.
pub fn lar_active_set(x: ArrayView2<f64>, y: ArrayView1<f64>, max_iter: usize) -> Vec<usize> {
    let (n_samples, n_features) = x.dim();
    // Working copy whose columns get swapped, as scikit-learn's X.copy("F").
    let mut cols: Vec<Vec<f64>> = (0..n_features).map(|j| x.column(j).to_vec()).collect();
    let yv = y.to_vec();
    let mut cov: Vec<f64> = cols.iter().map(|c| dot(c, &yv)).collect();
    let max_features = max_iter.min(n_features);
    let mut l = Array2::<f64>::zeros((max_features.max(1), max_features.max(1)));
    let mut active: Vec<usize> = Vec::new();
    let mut indices: Vec<usize> = (0..n_features).collect();
    let mut sign_active = vec![0.0f64; max_features];
    let mut coef = vec![0.0f64; n_features];
    let (mut n_iter, mut n_active) = (0usize, 0usize);
    let mut drop = false;
    loop {
        let (c_idx, c_signed) = if cov.is_empty() {
            (0, 0.0)
        } else {
            // np.argmax: the first maximum.
            let mut best = 0;
            for (i, v) in cov.iter().enumerate() {
                if v.abs() > cov[best].abs() {
                    best = i;
                }
            }
            (best, cov[best])
        };
        let c = c_signed.abs();
        let alpha = c / n_samples as f64;
        if alpha <= EQUALITY_TOLERANCE {
            break;
        }
        if n_iter >= max_iter || n_active >= n_features {
            break;
        }
        if !drop {
            sign_active[n_active] = if c_signed > 0.0 { 1.0 } else { -1.0 };
            let (m, n) = (n_active, c_idx + n_active);
            cov.swap(c_idx, 0);
            indices.swap(n, m);
            let shortened: Vec<f64> = cov[1..].to_vec();
            cols.swap(n, m);
            let cc = dot(&cols[n_active], &cols[n_active]);
            for k in 0..n_active {
                l[[n_active, k]] = dot(&cols[n_active], &cols[k]);
            }
            if n_active > 0 {
                let mut row = Array2::from_shape_fn((n_active, 1), |(k, _)| l[[n_active, k]]);
                l.slice(ndarray::s![..n_active, ..n_active])
                    .solve_triangular_inplace(&mut row, UPLO::Lower)
                    .expect("pivots are at least machine epsilon");
                for k in 0..n_active {
                    l[[n_active, k]] = row[[k, 0]];
                }
            }
            let v: f64 = (0..n_active)
                .map(|k| l[[n_active, k]] * l[[n_active, k]])
                .sum();
            let diag = (cc - v).abs().sqrt().max(f64::EPSILON);
            l[[n_active, n_active]] = diag;
            if diag < 1e-7 {
                // Degenerate regressor: scikit-learn zeroes its correlation and
                // swaps the correlations back, but not the columns or indices.
                cov[0] = 0.0;
                cov.swap(c_idx, 0);
                continue;
            }
            cov = shortened;
            active.push(indices[n_active]);
            n_active += 1;
        }
        let lk = l.slice(ndarray::s![..n_active, ..n_active]).to_owned();
        let signs = &sign_active[..n_active];
        let mut ls = cho_solve(&lk, signs);
        let aa;
        if ls.len() == 1 && ls[0] == 0.0 {
            ls[0] = 1.0;
            aa = 1.0;
        } else {
            let mut a = 1.0 / dot(&ls, signs).sqrt();
            let mut i = 0;
            // scikit-learn adds the jitter to one copy, so it accumulates.
            let mut l2 = lk.clone();
            while !a.is_finite() {
                for d in 0..n_active {
                    l2[[d, d]] += 2f64.powi(i) * f64::EPSILON;
                }
                ls = cho_solve(&l2, signs);
                a = 1.0 / dot(&ls, signs).max(f64::EPSILON).sqrt();
                i += 1;
            }
            aa = a;
            for v in &mut ls {
                *v *= aa;
            }
        }
        let mut eq_dir = vec![0.0; n_samples];
        for (k, &u) in ls.iter().enumerate() {
            for (e, &xv) in eq_dir.iter_mut().zip(&cols[k]) {
                *e += xv * u;
            }
        }
        let corr_eq_dir: Vec<f64> = cols[n_active..]
            .iter()
            .map(|col| around15(dot(col, &eq_dir)))
            .collect();
        let g1 = min_pos(
            cov.iter()
                .zip(&corr_eq_dir)
                .map(|(&cj, &a)| (c - cj) / (aa - a + TINY32)),
        );
        let g2 = min_pos(
            cov.iter()
                .zip(&corr_eq_dir)
                .map(|(&cj, &a)| (c + cj) / (aa + a + TINY32)),
        );
        let gamma = g1.min(g2).min(c / aa);
        drop = false;
        let z: Vec<f64> = active
            .iter()
            .zip(&ls)
            .map(|(&j, &u)| -coef[j] / (u + TINY32))
            .collect();
        let z_pos = min_pos(z.iter().copied());
        if z_pos < gamma {
            for (k, &zk) in z.iter().enumerate() {
                if zk == z_pos {
                    sign_active[k] = -sign_active[k];
                }
            }
            drop = true;
        }
        n_iter += 1;
        for (&j, &u) in active.iter().zip(&ls) {
            coef[j] += gamma * u;
        }
        for (cj, a) in cov.iter_mut().zip(&corr_eq_dir) {
            *cj -= gamma * a;
        }
    }
    active
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{array, Array1};

    #[test]
    fn enters_the_most_correlated_feature_first() {
        // y is mostly column 2, a little column 0, nothing of column 1.
        let x = array![
            [1.0, 0.5, 0.0],
            [0.0, 1.0, 1.0],
            [1.0, -0.5, 2.0],
            [0.5, 0.0, -1.0],
            [-1.0, 0.3, 0.5]
        ];
        let y: Array1<f64> = x.column(2).mapv(|v| 3.0 * v) + x.column(0).mapv(|v| 0.5 * v);
        let active = lar_active_set(x.view(), y.view(), 10);
        assert_eq!(active[0], 2);
        assert_eq!(active[1], 0);
        assert_eq!(lar_active_set(x.view(), y.view(), 1), [2]);
    }

    #[test]
    fn stops_when_correlations_vanish() {
        let x = array![[1.0, 0.0], [0.0, 1.0]];
        assert!(lar_active_set(x.view(), array![0.0, 0.0].view(), 10).is_empty());
    }

    #[test]
    fn rounding_helpers_match_numpy() {
        assert_eq!(around15(1.2345678901234567e-16), 0.0);
        assert_eq!(around15(0.5), 0.5);
        assert_eq!(min_pos([-1.0, 0.0, 3.0, 2.0].into_iter()), 2.0);
        assert_eq!(min_pos([-1.0].into_iter()), f64::MAX);
    }
}
