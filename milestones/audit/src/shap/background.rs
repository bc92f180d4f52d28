//! The background data set that "absent" features are drawn from, and its
//! k-means summary (`shap.kmeans`).
//!
//! KernelSHAP evaluates the model once per background row for every sampled
//! coalition, so the training set (tens of thousands of rows) is summarised
//! first. shap 0.51's `shap.kmeans(X, k)` does it in three steps, reproduced here:
//!
//! 1. k-means with k clusters (`sklearn.cluster.KMeans(n_clusters=k,
//!    random_state=0, n_init=10)`: k-means++ initialisation, Lloyd iterations,
//!    best of 10 runs by inertia). Here: `linfa-clustering`'s `KMeans` with
//!    the same settings (k-means++, 10 runs, at most 300 iterations, stop
//!    when the summed squared centre shift ≤ 10⁻⁴ × mean column variance),
//!    its default generator and seed, and a slice-based Euclidean distance. The random generators differ from scikit-learn's, so on data
//!    with several equally good clusterings the centres can differ; the
//!    objective is the same.
//! 2. Each centre's coordinate j is replaced by the value of column j closest
//!    to it (the first such row, `np.argmin(np.abs(X[:, j] − c))`), so a one-hot
//!    column stays 0 or 1 — done exactly as shap does, in [`Background::from_centres`].
//! 3. Each centre is weighted by the number of rows assigned to it
//!    (`np.bincount(labels_)`), and the weights are normalised to sum to 1.

use linfa::traits::{Fit, Predict};
use linfa::DatasetBase;
use linfa_clustering::KMeans;
use linfa_nn::distance::Distance;
use ndarray::{Array2, ArrayView, ArrayView2, Dimension};
use rand_xoshiro::rand_core::SeedableRng;
use rand_xoshiro::Xoshiro256Plus;

use crate::error::{AuditError, Result};

/// Euclidean distance for linfa's k-means, computed on contiguous slices.
///
/// Identical in value to linfa's `L2Dist` (up to summation order), which
/// goes through ndarray's generic element-wise zip: that took 75 % of the
/// k-means time on Adult. Four running sums over plain slices let the
/// compiler use vector instructions.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SliceL2;

impl Distance<f64> for SliceL2 {
    fn distance<D: Dimension>(&self, a: ArrayView<f64, D>, b: ArrayView<f64, D>) -> f64 {
        self.rdistance(a, b).sqrt()
    }

    fn rdistance<D: Dimension>(&self, a: ArrayView<f64, D>, b: ArrayView<f64, D>) -> f64 {
        match (a.as_slice(), b.as_slice()) {
            (Some(x), Some(y)) => {
                let mut acc = [0.0f64; 4];
                let (xc, yc) = (x.chunks_exact(4), y.chunks_exact(4));
                let tail: f64 = xc
                    .remainder()
                    .iter()
                    .zip(yc.remainder())
                    .map(|(p, q)| (p - q) * (p - q))
                    .sum();
                for (p, q) in xc.zip(yc) {
                    for i in 0..4 {
                        acc[i] += (p[i] - q[i]) * (p[i] - q[i]);
                    }
                }
                acc.iter().sum::<f64>() + tail
            }
            _ => a.iter().zip(b.iter()).map(|(p, q)| (p - q) * (p - q)).sum(),
        }
    }

    fn rdist_to_dist(&self, rdist: f64) -> f64 {
        rdist.sqrt()
    }

    fn dist_to_rdist(&self, dist: f64) -> f64 {
        dist * dist
    }
}

/// Background rows and their weights (summing to 1).
#[derive(Debug, Clone, PartialEq)]
pub struct Background {
    pub data: Array2<f64>,
    pub weights: Vec<f64>,
}

impl Background {
    /// Rows with equal weights (`weights = None`) or the given ones, normalised.
    pub fn new(data: Array2<f64>, weights: Option<Vec<f64>>) -> Result<Self> {
        let n = data.nrows();
        if n == 0 {
            return Err(AuditError::BadParameter {
                what: "the background data",
                expected: "at least one row",
                got: "0 rows".into(),
            });
        }
        super::check_rows(data.view(), data.ncols())?;
        let w = weights.unwrap_or_else(|| vec![1.0; n]);
        crate::error::check_len("background weights", w.len(), n, "background rows")?;
        let total: f64 = w.iter().sum();
        if w.iter().any(|&v| !v.is_finite() || v < 0.0) || total.is_nan() || total <= 0.0 {
            return Err(AuditError::BadParameter {
                what: "background weights",
                expected: "finite, non-negative and not all zero",
                got: format!("{w:?}"),
            });
        }
        Ok(Background {
            data,
            weights: w.iter().map(|v| v / total).collect(),
        })
    }

    /// The `shap.kmeans(x, k)` summary of `x` (see the module docs).
    pub fn kmeans(x: ArrayView2<f64>, k: usize) -> Result<Self> {
        if k == 0 || k > x.nrows() {
            return Err(AuditError::BadParameter {
                what: "the number of k-means centres",
                expected: "between 1 and the number of rows",
                got: format!("{k} for {} rows", x.nrows()),
            });
        }
        super::check_rows(x, x.ncols())?;
        // scikit-learn stops when the summed squared centre shift is at most
        // tol · mean column variance (tol = 1e-4); linfa compares the shift's
        // Euclidean norm, so the same rule is its square root.
        let mean_var = x.var_axis(ndarray::Axis(0), 0.0).mean().unwrap_or(0.0);
        let tolerance = (1e-4 * mean_var).sqrt().max(f64::MIN_POSITIVE);
        let data = DatasetBase::from(x.to_owned());
        // linfa's default generator and seed, with the distance below.
        let model = KMeans::params_with(k, Xoshiro256Plus::seed_from_u64(42), SliceL2)
            .n_runs(10)
            .max_n_iterations(300)
            .tolerance(tolerance)
            .fit(&data)
            .map_err(|e| AuditError::KMeans(e.to_string()))?;
        let labels = model.predict(&x.to_owned());
        Background::from_centres(
            x,
            model.centroids().view(),
            labels.as_slice().expect("contiguous"),
        )
    }

    /// Steps 2 and 3 of `shap.kmeans`: rounds `centres` to data values and
    /// weights them by cluster size (`labels` = each row's cluster). Empty
    /// clusters get weight 0 and are dropped.
    pub fn from_centres(
        x: ArrayView2<f64>,
        centres: ArrayView2<f64>,
        labels: &[usize],
    ) -> Result<Self> {
        let (k, d) = centres.dim();
        crate::error::check_len(
            "k-means labels",
            labels.len(),
            x.nrows(),
            "one per data row",
        )?;
        crate::error::check_len(
            "k-means centre columns",
            d,
            x.ncols(),
            "one per data column",
        )?;
        let mut counts = vec![0.0; k];
        for &l in labels {
            *counts
                .get_mut(l)
                .ok_or_else(|| AuditError::KMeans(format!("label {l} for {k} centres")))? += 1.0;
        }
        let mut rounded = centres.to_owned();
        for j in 0..d {
            // Distinct values of column j, sorted, each with the first row holding it.
            let mut first: Vec<(f64, usize)> = Vec::new();
            let mut seen = std::collections::HashMap::new();
            for (r, &v) in x.column(j).iter().enumerate() {
                let v = v + 0.0; // −0 and +0 are one value, as for np.abs(x − c)
                if let std::collections::hash_map::Entry::Vacant(e) = seen.entry(v.to_bits()) {
                    e.insert(());
                    first.push((v, r));
                }
            }
            first.sort_by(|a, b| a.0.total_cmp(&b.0));
            for i in 0..k {
                let c = centres[[i, j]];
                // The nearest values are the neighbours of c in sorted order; on
                // a tie np.argmin returns the earlier row.
                let at = first.partition_point(|&(v, _)| v < c);
                let candidates = [at.checked_sub(1), (at < first.len()).then_some(at)];
                let best = candidates
                    .into_iter()
                    .flatten()
                    .map(|q| first[q])
                    .min_by(|a, b| {
                        (a.0 - c)
                            .abs()
                            .total_cmp(&(b.0 - c).abs())
                            .then(a.1.cmp(&b.1))
                    })
                    .expect("the data has rows");
                rounded[[i, j]] = best.0;
            }
        }
        let keep: Vec<usize> = (0..k).filter(|&i| counts[i] > 0.0).collect();
        let data = rounded.select(ndarray::Axis(0), &keep);
        Background::new(data, Some(keep.iter().map(|&i| counts[i]).collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn centres_are_rounded_to_data_values_and_weighted_by_size() {
        let x = array![[0.0, 1.0], [0.2, 0.0], [5.0, 1.0], [5.4, 1.0], [5.2, 0.0]];
        let centres = array![[0.1, 0.5], [5.2, 0.67]];
        let b = Background::from_centres(x.view(), centres.view(), &[0, 0, 1, 1, 1]).unwrap();
        // 0.1 is equally far from 0.0 and 0.2: the first row wins, as np.argmin.
        assert_eq!(b.data, array![[0.0, 1.0], [5.2, 1.0]]);
        assert_eq!(b.weights, [0.4, 0.6]);
    }

    #[test]
    fn kmeans_finds_two_obvious_clusters() {
        let x = array![
            [0.0, 0.0],
            [0.1, 0.0],
            [0.0, 0.1],
            [9.0, 9.0],
            [9.1, 9.0],
            [9.0, 9.1]
        ];
        let b = Background::kmeans(x.view(), 2).unwrap();
        let mut w = b.weights.clone();
        w.sort_by(f64::total_cmp);
        assert_eq!(w, [0.5, 0.5]);
        // Centres (0.033, 0.033) and (9.033, 9.033) round to the nearest data values.
        let mut rows: Vec<Vec<f64>> = b.data.rows().into_iter().map(|r| r.to_vec()).collect();
        rows.sort_by(|a, b| a[0].total_cmp(&b[0]));
        assert_eq!(rows, [[0.0, 0.0], [9.0, 9.0]]);
        assert!(Background::kmeans(x.view(), 7).is_err());
        assert!(Background::new(Array2::zeros((0, 2)), None).is_err());
    }
}
