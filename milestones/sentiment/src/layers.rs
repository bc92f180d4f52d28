//! The layers, each as a pair of explicit functions: `*_forward` computes the
//! output from the input, `*_backward` takes the gradient of the loss with
//! respect to the output (`dZ = ∂L/∂Z`) and returns the gradients with respect
//! to the input and the parameters. This is the NumPy way of writing a network:
//! no autograd, every derivative written out below and checked against finite
//! differences in the tests.
//!
//! Shapes: a batch has `n` rows; `X` is `n×d`, `W` is `d×h`, `b` has `h` entries.

use ndarray::{Array1, Array2, Axis};
use rand::Rng;
use rayon::prelude::*;

use crate::features::Csr;

/// Rows per rayon task: below this, threading costs more than it saves.
const PAR_ROWS: usize = 64;

/// Dense layer on sparse input: `Z = X W + 1 bᵀ`.
///
/// Row by row, `Z[i,:] = b + Σⱼ X[i,j] · W[j,:]` over the non-zeros of row `i`
/// only: with ~20 non-zeros per row this costs `20·h` multiply-adds instead of
/// `d·h` for a dense product.
pub fn sparse_linear_forward(x: &Csr, w: &Array2<f32>, b: &Array1<f32>) -> Array2<f32> {
    let h = w.ncols();
    assert_eq!(x.n_cols, w.nrows(), "X columns must match W rows");
    let w = w.as_standard_layout();
    let ws = w.as_slice().expect("standard layout");
    let bs = b.as_slice().expect("contiguous bias");
    let mut out = vec![0.0f32; x.n_rows() * h];
    out.par_chunks_mut(h)
        .with_min_len(PAR_ROWS)
        .enumerate()
        .for_each(|(i, zi)| {
            zi.copy_from_slice(bs);
            let (idx, val) = x.row(i);
            for (&j, &v) in idx.iter().zip(val) {
                let wj = &ws[j as usize * h..(j as usize + 1) * h];
                zi.iter_mut().zip(wj).for_each(|(z, &w)| *z += v * w);
            }
        });
    Array2::from_shape_vec((x.n_rows(), h), out).expect("shape")
}

/// A gradient of `W` that is zero except on some rows: the input features
/// present in the batch.
#[derive(Debug, Clone)]
pub struct RowSparseGrad {
    /// The non-zero rows of `dW`, sorted.
    pub rows: Vec<u32>,
    /// `values[k,:] = dW[rows[k],:]`.
    pub values: Array2<f32>,
}

impl RowSparseGrad {
    /// Dense `d×h` copy (tests).
    pub fn to_dense(&self, d: usize) -> Array2<f32> {
        let mut out = Array2::zeros((d, self.values.ncols()));
        for (k, &r) in self.rows.iter().enumerate() {
            out.row_mut(r as usize).assign(&self.values.row(k));
        }
        out
    }
}

/// Backward of [`sparse_linear_forward`]:
///
/// ```text
/// ∂L/∂W = Xᵀ dZ       row j: Σᵢ X[i,j] · dZ[i,:]   (non-zero only where column j occurs)
/// ∂L/∂b = Σᵢ dZ[i,:]
/// ```
///
/// `∂L/∂X` is not needed: the input is data, not a parameter.
pub fn sparse_linear_backward(x: &Csr, dz: &Array2<f32>) -> (RowSparseGrad, Array1<f32>) {
    let h = dz.ncols();
    let mut rows: Vec<u32> = x.indices.clone();
    rows.sort_unstable();
    rows.dedup();
    let mut values = Array2::<f32>::zeros((rows.len(), h));
    for i in 0..x.n_rows() {
        let dzi = dz.row(i);
        let (idx, val) = x.row(i);
        for (&j, &v) in idx.iter().zip(val) {
            let k = rows.binary_search(&j).expect("column is in rows");
            values.row_mut(k).scaled_add(v, &dzi);
        }
    }
    (RowSparseGrad { rows, values }, dz.sum_axis(Axis(0)))
}

/// Dense layer: `Z = X W + 1 bᵀ`.
pub fn linear_forward(x: &Array2<f32>, w: &Array2<f32>, b: &Array1<f32>) -> Array2<f32> {
    x.dot(w) + b
}

/// Backward of [`linear_forward`]:
///
/// ```text
/// ∂L/∂X = dZ Wᵀ        ∂L/∂W = Xᵀ dZ        ∂L/∂b = Σᵢ dZ[i,:]
/// ```
pub fn linear_backward(
    x: &Array2<f32>,
    w: &Array2<f32>,
    dz: &Array2<f32>,
) -> (Array2<f32>, Array2<f32>, Array1<f32>) {
    (dz.dot(&w.t()), x.t().dot(dz), dz.sum_axis(Axis(0)))
}

/// ReLU: `A = max(Z, 0)` element-wise.
pub fn relu_forward(z: &Array2<f32>) -> Array2<f32> {
    z.mapv(|v| v.max(0.0))
}

/// Backward of [`relu_forward`]: `∂L/∂Z = dA ⊙ 1[Z > 0]` (the kink at 0 gets
/// the sub-gradient 0).
pub fn relu_backward(z: &Array2<f32>, da: &Array2<f32>) -> Array2<f32> {
    let mut dz = da.clone();
    dz.zip_mut_with(z, |g, &v| {
        if v <= 0.0 {
            *g = 0.0
        }
    });
    dz
}

/// Draws an inverted-dropout mask: each entry is `1/(1−p)` with probability
/// `1−p` and 0 otherwise, so `E[mask] = 1` and inference needs no rescaling.
pub fn dropout_mask(shape: (usize, usize), p: f32, rng: &mut impl Rng) -> Array2<f32> {
    let keep = 1.0 - p;
    let scale = 1.0 / keep;
    Array2::from_shape_simple_fn(shape, || {
        if rng.random::<f32>() < keep {
            scale
        } else {
            0.0
        }
    })
}

/// Dropout (training only): `A' = A ⊙ M` with `M` from [`dropout_mask`].
pub fn dropout_forward(a: &Array2<f32>, mask: &Array2<f32>) -> Array2<f32> {
    a * mask
}

/// Backward of [`dropout_forward`]: `∂L/∂A = dA' ⊙ M`.
pub fn dropout_backward(da: &Array2<f32>, mask: &Array2<f32>) -> Array2<f32> {
    da * mask
}

/// Sigmoid `σ(z) = 1 / (1 + e^(−z))`, evaluated without overflow for large |z|.
pub fn sigmoid(z: f32) -> f32 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// Sigmoid output with mean binary cross-entropy, from the logits `z` (one per row):
///
/// ```text
/// L = (1/n) Σᵢ −[yᵢ ln σ(zᵢ) + (1−yᵢ) ln(1−σ(zᵢ))]
///   = (1/n) Σᵢ [max(zᵢ,0) − yᵢ zᵢ + ln(1 + e^(−|zᵢ|))]
/// ```
///
/// The second form is the same number but never takes `ln 0` or overflows
/// `e^z` (a confident wrong prediction would otherwise give `inf`/`NaN`).
pub fn sigmoid_bce_forward(z: &[f32], y: &[f32]) -> f32 {
    assert_eq!(z.len(), y.len());
    let sum: f64 = z
        .iter()
        .zip(y)
        .map(|(&z, &y)| f64::from(z.max(0.0) - y * z + (-z.abs()).exp().ln_1p()))
        .sum();
    (sum / z.len() as f64) as f32
}

/// Backward of [`sigmoid_bce_forward`]: `∂L/∂zᵢ = (σ(zᵢ) − yᵢ) / n`.
///
/// (With `p = σ(z)`: `∂L/∂p = (p − y) / (p(1−p)) / n` and `∂p/∂z = p(1−p)`,
/// which cancel — the reason sigmoid and cross-entropy are paired.)
pub fn sigmoid_bce_backward(z: &[f32], y: &[f32]) -> Vec<f32> {
    let n = z.len() as f32;
    z.iter()
        .zip(y)
        .map(|(&z, &y)| (sigmoid(z) - y) / n)
        .collect()
}

#[cfg(test)]
mod tests {
    //! Finite-difference gradient checks: for a scalar loss
    //! `L = Σ R ⊙ f(θ)` with a fixed random `R`, the analytic gradient from the
    //! backward function must match `(L(θ+ε) − L(θ−ε)) / 2ε` entry by entry.
    //! Computed in f64 on top of the f32 layers, with a relative tolerance.

    use super::*;
    use ndarray::Array;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use rand_distr::StandardNormal;

    fn randn(shape: (usize, usize), rng: &mut ChaCha8Rng) -> Array2<f32> {
        Array::from_shape_simple_fn(shape, || rng.sample::<f32, _>(StandardNormal))
    }

    fn weighted_sum(a: &Array2<f32>, r: &Array2<f32>) -> f64 {
        a.iter()
            .zip(r)
            .map(|(&a, &r)| f64::from(a) * f64::from(r))
            .sum()
    }

    /// Central difference of `f` at each entry of `theta`, compared with `analytic`.
    fn check(
        name: &str,
        theta: &Array2<f32>,
        analytic: &Array2<f32>,
        f: impl Fn(&Array2<f32>) -> f64,
    ) {
        let eps = 1e-2f32;
        for idx in ndarray::indices_of(theta) {
            let mut plus = theta.clone();
            plus[idx] += eps;
            let mut minus = theta.clone();
            minus[idx] -= eps;
            let numeric = (f(&plus) - f(&minus)) / (2.0 * f64::from(eps));
            let a = f64::from(analytic[idx]);
            let err = (numeric - a).abs() / (1e-3 + numeric.abs().max(a.abs()));
            assert!(
                err < 2e-2,
                "{name}{idx:?}: numeric {numeric} vs analytic {a}"
            );
        }
    }

    fn csr_from_dense(m: &Array2<f32>) -> Csr {
        let mut x = Csr::empty(m.ncols());
        for row in m.rows() {
            let r: Vec<(u32, f32)> = row
                .iter()
                .enumerate()
                .filter(|(_, &v)| v != 0.0)
                .map(|(j, &v)| (j as u32, v))
                .collect();
            x.push_row(&r);
        }
        x
    }

    #[test]
    fn sparse_linear_gradients() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        // A sparse input: about half the entries zero, column 5 never used.
        let mut xd = randn((4, 6), &mut rng);
        xd.mapv_inplace(|v| if v > 0.0 { v } else { 0.0 });
        xd.column_mut(5).fill(0.0);
        let x = csr_from_dense(&xd);
        let w = randn((6, 3), &mut rng);
        let b = randn((1, 3), &mut rng);
        let r = randn((4, 3), &mut rng);
        // The sparse product equals the dense one.
        let dense = linear_forward(&xd, &w, &b.row(0).to_owned());
        assert!(
            (&sparse_linear_forward(&x, &w, &b.row(0).to_owned()) - &dense)
                .iter()
                .all(|d| d.abs() < 1e-5)
        );
        let (dw, db) = sparse_linear_backward(&x, &r);
        assert!(
            !dw.rows.contains(&5),
            "an unused feature gets no gradient row"
        );
        check("dW", &w, &dw.to_dense(6), |w| {
            weighted_sum(&sparse_linear_forward(&x, w, &b.row(0).to_owned()), &r)
        });
        check("db", &b, &db.insert_axis(Axis(0)), |b| {
            weighted_sum(&sparse_linear_forward(&x, &w, &b.row(0).to_owned()), &r)
        });
    }

    #[test]
    fn linear_gradients() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let (x, w, b, r) = (
            randn((5, 4), &mut rng),
            randn((4, 3), &mut rng),
            randn((1, 3), &mut rng),
            randn((5, 3), &mut rng),
        );
        let b1 = b.row(0).to_owned();
        let (dx, dw, db) = linear_backward(&x, &w, &r);
        check("dX", &x, &dx, |x| {
            weighted_sum(&linear_forward(x, &w, &b1), &r)
        });
        check("dW", &w, &dw, |w| {
            weighted_sum(&linear_forward(&x, w, &b1), &r)
        });
        check("db", &b, &db.insert_axis(Axis(0)), |b| {
            weighted_sum(&linear_forward(&x, &w, &b.row(0).to_owned()), &r)
        });
    }

    #[test]
    fn relu_gradient() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        // Keep entries away from the kink, where the derivative does not exist.
        let z = randn((6, 5), &mut rng).mapv(|v| if v.abs() < 0.1 { v + 0.3 } else { v });
        let r = randn((6, 5), &mut rng);
        check("dZ", &z, &relu_backward(&z, &r), |z| {
            weighted_sum(&relu_forward(z), &r)
        });
    }

    #[test]
    fn dropout_gradient_and_mask() {
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let a = randn((6, 5), &mut rng);
        let r = randn((6, 5), &mut rng);
        let mask = dropout_mask((6, 5), 0.5, &mut rng);
        assert!(mask.iter().all(|&m| m == 0.0 || m == 2.0));
        assert!(mask.iter().any(|&m| m == 0.0) && mask.iter().any(|&m| m == 2.0));
        check("dA", &a, &dropout_backward(&r, &mask), |a| {
            weighted_sum(&dropout_forward(a, &mask), &r)
        });
        // Inverted dropout keeps the expected activation: mean of a big mask ≈ 1.
        let big = dropout_mask((200, 200), 0.3, &mut rng);
        assert!((big.mean().unwrap() - 1.0).abs() < 0.02);
    }

    #[test]
    fn sigmoid_bce_gradient_and_values() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let z = randn((1, 8), &mut rng) * 3.0;
        let y: Vec<f32> = (0..8).map(|i| (i % 2) as f32).collect();
        let dz = Array2::from_shape_vec((1, 8), sigmoid_bce_backward(z.as_slice().unwrap(), &y))
            .unwrap();
        check("dz", &z, &dz, |z| {
            f64::from(sigmoid_bce_forward(z.as_slice().unwrap(), &y))
        });
        // Known values: L(0, y) = ln 2; a confident mistake is large but finite.
        assert!((sigmoid_bce_forward(&[0.0], &[1.0]) - std::f32::consts::LN_2).abs() < 1e-6);
        assert!((sigmoid_bce_forward(&[-100.0], &[1.0]) - 100.0).abs() < 1e-3);
        assert_eq!(sigmoid(1000.0), 1.0);
        assert_eq!(sigmoid(-1000.0), 0.0);
    }
}
