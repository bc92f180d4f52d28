//! The multi-layer perceptron and its training loop.
//!
//! ```text
//! X (sparse TF-IDF, n×d) → [W₀,b₀] → ReLU → dropout → [W₁,b₁] → ReLU → dropout … → [W_L,b_L] → σ → p
//! ```
//!
//! Layer 0 reads the sparse input ([`crate::layers::sparse_linear_forward`]);
//! the others are dense. The last layer has one output, the logit of
//! "positive". Training minimises the mean binary cross-entropy with
//! mini-batch AdamW; after every epoch the loss on a validation split decides
//! whether to keep going (early stopping) and the best epoch's weights win.
//! One seeded ChaCha8 generator drives initialisation, shuffling and dropout,
//! so a run is reproducible bit for bit (rayon splits only independent rows).

use ndarray::{Array1, Array2};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use rayon::prelude::*;

use crate::features::Csr;
use crate::layers::*;
use crate::Error;

/// Hyper-parameters of the network and its training.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct TrainConfig {
    /// Width of each hidden layer.
    pub hidden: Vec<usize>,
    /// Dropout probability after each hidden layer.
    pub dropout: f32,
    /// Adam step size.
    pub lr: f32,
    /// Decoupled weight decay λ (AdamW), applied to weights, not biases.
    pub weight_decay: f32,
    pub batch_size: usize,
    /// Upper bound on epochs; early stopping usually ends sooner.
    pub max_epochs: usize,
    /// Epochs without a better validation loss before stopping (0 = never stop early).
    pub patience: usize,
    pub seed: u64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            hidden: vec![128],
            dropout: 0.5,
            lr: 1e-3,
            weight_decay: 1e-4,
            batch_size: 128,
            max_epochs: 20,
            patience: 3,
            seed: 42,
        }
    }
}

impl TrainConfig {
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |m: String| Err(Error::Config(m));
        if self.hidden.is_empty() || self.hidden.contains(&0) {
            return bad(format!(
                "hidden layer sizes must be at least 1, got {:?}",
                self.hidden
            ));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return bad(format!("dropout must be in [0, 1), got {}", self.dropout));
        }
        if !(self.lr > 0.0 && self.lr.is_finite()) {
            return bad(format!("learning rate must be positive, got {}", self.lr));
        }
        if !(self.weight_decay >= 0.0 && self.weight_decay.is_finite()) {
            return bad(format!(
                "weight decay must be >= 0, got {}",
                self.weight_decay
            ));
        }
        if self.batch_size == 0 || self.max_epochs == 0 {
            return bad("batch size and epochs must be at least 1".into());
        }
        Ok(())
    }
}

/// The network's parameters: `weights[k]` is `in×out`, `biases[k]` has `out` entries.
#[derive(Debug, Clone, PartialEq)]
pub struct Mlp {
    pub weights: Vec<Array2<f32>>,
    pub biases: Vec<Array1<f32>>,
}

/// What the forward pass keeps for the backward pass.
pub struct Cache {
    /// Pre-activations of the hidden layers.
    z: Vec<Array2<f32>>,
    /// Inputs of layers 1..=L (hidden activations after dropout).
    a: Vec<Array2<f32>>,
    masks: Vec<Option<Array2<f32>>>,
}

/// Gradients of every parameter; layer 0's weight gradient is row-sparse.
pub struct Grads {
    pub w0: RowSparseGrad,
    pub weights: Vec<Array2<f32>>,
    pub biases: Vec<Array1<f32>>,
}

impl Mlp {
    /// He initialisation: `W ~ N(0, 2/fan_in)` (keeps ReLU activations' variance
    /// stable across layers), `b = 0`.
    pub fn init(n_inputs: usize, hidden: &[usize], rng: &mut impl Rng) -> Mlp {
        let mut sizes = vec![n_inputs];
        sizes.extend_from_slice(hidden);
        sizes.push(1);
        let mut mlp = Mlp {
            weights: Vec::new(),
            biases: Vec::new(),
        };
        for pair in sizes.windows(2) {
            let std = (2.0 / pair[0] as f32).sqrt();
            mlp.weights
                .push(Array2::from_shape_simple_fn((pair[0], pair[1]), || {
                    std * rng.sample::<f32, _>(StandardNormal)
                }));
            mlp.biases.push(Array1::zeros(pair[1]));
        }
        mlp
    }

    pub fn n_inputs(&self) -> usize {
        self.weights[0].nrows()
    }
    /// Layer widths from input to output, e.g. `[d, 128, 1]`.
    pub fn layer_sizes(&self) -> Vec<usize> {
        let mut s = vec![self.n_inputs()];
        s.extend(self.weights.iter().map(|w| w.ncols()));
        s
    }
    pub fn n_parameters(&self) -> usize {
        self.weights.iter().map(|w| w.len()).sum::<usize>()
            + self.biases.iter().map(|b| b.len()).sum::<usize>()
    }

    /// Training forward pass (dropout on when `dropout > 0`); returns the logits.
    pub fn forward_train(&self, x: &Csr, dropout: f32, rng: &mut impl Rng) -> (Vec<f32>, Cache) {
        let last = self.weights.len() - 1;
        let mut cache = Cache {
            z: Vec::new(),
            a: Vec::new(),
            masks: Vec::new(),
        };
        let mut z = sparse_linear_forward(x, &self.weights[0], &self.biases[0]);
        for k in 1..=last {
            let mut a = relu_forward(&z);
            let mask = (dropout > 0.0).then(|| dropout_mask(a.dim(), dropout, rng));
            if let Some(m) = &mask {
                a = dropout_forward(&a, m);
            }
            let z_next = linear_forward(&a, &self.weights[k], &self.biases[k]);
            cache.z.push(std::mem::replace(&mut z, z_next));
            cache.a.push(a);
            cache.masks.push(mask);
        }
        (z.column(0).to_vec(), cache)
    }

    /// Backward pass from `∂L/∂logits`, layer by layer in reverse, applying each
    /// layer's backward function to the gradient flowing in from above.
    pub fn backward(&self, x: &Csr, cache: &Cache, dlogits: &[f32]) -> Grads {
        let last = self.weights.len() - 1;
        let mut dz = Array2::from_shape_vec((dlogits.len(), 1), dlogits.to_vec()).expect("shape");
        let mut weights = vec![Array2::zeros((0, 0)); last];
        let mut biases = vec![Array1::zeros(0); last];
        for k in (1..=last).rev() {
            let (da, dw, db) = linear_backward(&cache.a[k - 1], &self.weights[k], &dz);
            weights[k - 1] = dw;
            biases[k - 1] = db;
            let da = match &cache.masks[k - 1] {
                Some(m) => dropout_backward(&da, m),
                None => da,
            };
            dz = relu_backward(&cache.z[k - 1], &da);
        }
        let (w0, b0) = sparse_linear_backward(x, &dz);
        biases.insert(0, b0);
        Grads {
            w0,
            weights,
            biases,
        }
    }

    /// Inference: the logit of every row (no dropout).
    pub fn logits(&self, x: &Csr) -> Vec<f32> {
        let last = self.weights.len() - 1;
        let mut z = sparse_linear_forward(x, &self.weights[0], &self.biases[0]);
        for k in 1..=last {
            z = linear_forward(&relu_forward(&z), &self.weights[k], &self.biases[k]);
        }
        z.column(0).to_vec()
    }

    /// `P(positive)` for every row.
    pub fn predict_proba(&self, x: &Csr) -> Vec<f32> {
        self.logits(x).into_iter().map(sigmoid).collect()
    }
}

/// Adam with decoupled weight decay (AdamW, Loshchilov & Hutter 2019) for one
/// parameter array, at step `t` (1-based), gradient `g`:
///
/// ```text
/// m ← β₁ m + (1−β₁) g            v ← β₂ v + (1−β₂) g²
/// m̂ = m / (1−β₁ᵗ)                v̂ = v / (1−β₂ᵗ)
/// θ ← θ − lr · ( m̂ / (√v̂ + ε) + λ θ )
/// ```
///
/// `g = None` means a zero gradient (a feature absent from the batch): the
/// moments still decay and the step still applies, exactly as dense Adam would.
#[derive(Debug, Clone)]
pub struct AdamW {
    pub lr: f32,
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    pub weight_decay: f32,
    t: i32,
    m: Vec<Vec<f32>>,
    v: Vec<Vec<f32>>,
}

struct StepConsts {
    lr: f32,
    b1: f32,
    b2: f32,
    c1: f32,
    c2: f32,
    eps: f32,
    decay: f32,
}

#[inline]
fn adamw_update(p: &mut [f32], m: &mut [f32], v: &mut [f32], g: Option<&[f32]>, k: &StepConsts) {
    match g {
        Some(g) => {
            for i in 0..p.len() {
                m[i] = k.b1 * m[i] + (1.0 - k.b1) * g[i];
                v[i] = k.b2 * v[i] + (1.0 - k.b2) * g[i] * g[i];
                p[i] -= k.lr * ((m[i] * k.c1) / ((v[i] * k.c2).sqrt() + k.eps) + k.decay * p[i]);
            }
        }
        None => {
            for i in 0..p.len() {
                m[i] *= k.b1;
                v[i] *= k.b2;
                p[i] -= k.lr * ((m[i] * k.c1) / ((v[i] * k.c2).sqrt() + k.eps) + k.decay * p[i]);
            }
        }
    }
}

impl AdamW {
    pub fn new(mlp: &Mlp, lr: f32, weight_decay: f32) -> Self {
        let sizes = mlp
            .weights
            .iter()
            .map(|w| w.len())
            .chain(mlp.biases.iter().map(|b| b.len()));
        let zeros: Vec<Vec<f32>> = sizes.map(|n| vec![0.0; n]).collect();
        AdamW {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay,
            t: 0,
            m: zeros.clone(),
            v: zeros,
        }
    }

    fn consts(&self, decay: bool) -> StepConsts {
        StepConsts {
            lr: self.lr,
            b1: self.beta1,
            b2: self.beta2,
            c1: 1.0 / (1.0 - self.beta1.powi(self.t)),
            c2: 1.0 / (1.0 - self.beta2.powi(self.t)),
            eps: self.eps,
            decay: if decay { self.weight_decay } else { 0.0 },
        }
    }

    /// One step on every parameter of `mlp`.
    pub fn step(&mut self, mlp: &mut Mlp, grads: &Grads) {
        self.t += 1;
        let n_w = mlp.weights.len();
        let kw = self.consts(true);
        let kb = self.consts(false);
        // Layer 0: rows of W₀ in parallel; `slot[j]` finds row j's gradient, if any.
        let h = mlp.weights[0].ncols();
        let mut slot = vec![u32::MAX; mlp.weights[0].nrows()];
        for (k, &r) in grads.w0.rows.iter().enumerate() {
            slot[r as usize] = k as u32;
        }
        let gvals = grads.w0.values.as_slice().expect("standard layout");
        let (m0, v0) = (&mut self.m[0], &mut self.v[0]);
        mlp.weights[0]
            .as_slice_mut()
            .expect("standard layout")
            .par_chunks_mut(h)
            .zip(m0.par_chunks_mut(h))
            .zip(v0.par_chunks_mut(h))
            .zip(slot.par_iter())
            .with_min_len(256)
            .for_each(|(((p, m), v), &s)| {
                let g = (s != u32::MAX).then(|| &gvals[s as usize * h..(s as usize + 1) * h]);
                adamw_update(p, m, v, g, &kw);
            });
        for k in 1..n_w {
            let g = grads.weights[k - 1].as_standard_layout();
            let p = mlp.weights[k].as_slice_mut().expect("standard layout");
            adamw_update(
                p,
                &mut self.m[k],
                &mut self.v[k],
                Some(g.as_slice().unwrap()),
                &kw,
            );
        }
        for k in 0..n_w {
            let p = mlp.biases[k].as_slice_mut().expect("contiguous");
            adamw_update(
                p,
                &mut self.m[n_w + k],
                &mut self.v[n_w + k],
                Some(grads.biases[k].as_slice().unwrap()),
                &kb,
            );
        }
    }
}

/// Loss and accuracy of one epoch (evaluated without dropout).
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct EpochStats {
    pub epoch: usize,
    pub train_loss: f32,
    pub train_accuracy: f32,
    pub val_loss: Option<f32>,
    pub val_accuracy: Option<f32>,
}

/// The result of [`train`].
#[derive(Debug, Clone)]
pub struct Trained {
    /// Weights of the best epoch (lowest validation loss; the last one without validation).
    pub mlp: Mlp,
    pub history: Vec<EpochStats>,
    /// 1-based epoch whose weights were kept.
    pub best_epoch: usize,
}

/// Mean BCE and accuracy (threshold 0.5) of `mlp` on a data set.
pub fn evaluate(mlp: &Mlp, x: &Csr, y: &[f32]) -> (f32, f32) {
    let z = mlp.logits(x);
    let loss = sigmoid_bce_forward(&z, y);
    let correct = z
        .iter()
        .zip(y)
        .filter(|(&z, &y)| (z > 0.0) == (y > 0.5))
        .count();
    (loss, correct as f32 / y.len().max(1) as f32)
}

/// Trains a fresh network. `on_epoch` sees each epoch's statistics (progress bars).
pub fn train(
    x: &Csr,
    y: &[f32],
    val: Option<(&Csr, &[f32])>,
    cfg: &TrainConfig,
    mut on_epoch: impl FnMut(&EpochStats),
) -> Result<Trained, Error> {
    cfg.validate()?;
    if x.n_rows() != y.len() || x.n_rows() == 0 {
        return Err(Error::Dataset(format!(
            "{} feature rows for {} labels",
            x.n_rows(),
            y.len()
        )));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let mut mlp = Mlp::init(x.n_cols, &cfg.hidden, &mut rng);
    let mut opt = AdamW::new(&mlp, cfg.lr, cfg.weight_decay);
    let mut order: Vec<usize> = (0..y.len()).collect();
    let mut history = Vec::new();
    let mut best: Option<(f32, usize, Mlp)> = None;
    for epoch in 1..=cfg.max_epochs {
        order.shuffle(&mut rng);
        for batch in order.chunks(cfg.batch_size) {
            let xb = x.select_rows(batch);
            let yb: Vec<f32> = batch.iter().map(|&i| y[i]).collect();
            let (z, cache) = mlp.forward_train(&xb, cfg.dropout, &mut rng);
            let dz = sigmoid_bce_backward(&z, &yb);
            let grads = mlp.backward(&xb, &cache, &dz);
            opt.step(&mut mlp, &grads);
        }
        let (train_loss, train_accuracy) = evaluate(&mlp, x, y);
        let v = val.map(|(xv, yv)| evaluate(&mlp, xv, yv));
        let stats = EpochStats {
            epoch,
            train_loss,
            train_accuracy,
            val_loss: v.map(|v| v.0),
            val_accuracy: v.map(|v| v.1),
        };
        on_epoch(&stats);
        history.push(stats);
        if !train_loss.is_finite() {
            return Err(Error::Config(format!(
                "training diverged at epoch {epoch} (loss {train_loss}): lower --lr"
            )));
        }
        let score = v.map_or(-(epoch as f32), |v| v.0);
        match &best {
            Some((s, _, _)) if score >= *s => {}
            _ => best = Some((score, epoch, mlp.clone())),
        }
        let best_epoch = best.as_ref().map_or(epoch, |b| b.1);
        if val.is_some() && cfg.patience > 0 && epoch - best_epoch >= cfg.patience {
            break;
        }
    }
    let (_, best_epoch, mlp) = best.expect("at least one epoch");
    Ok(Trained {
        mlp,
        history,
        best_epoch,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy() -> (Csr, Vec<f32>) {
        // Feature 0 means positive, feature 1 negative, 2 is noise.
        let mut x = Csr::empty(3);
        let mut y = Vec::new();
        for i in 0..200 {
            let pos = i % 2 == 0;
            let noise = (i % 7) as f32 / 7.0;
            x.push_row(&[(if pos { 0 } else { 1 }, 1.0), (2, noise)]);
            y.push(if pos { 1.0 } else { 0.0 });
        }
        (x, y)
    }

    /// The whole network, end to end: analytic gradients of the mean BCE
    /// (with a fixed dropout mask) match central differences for every
    /// parameter of every layer.
    #[test]
    fn whole_network_gradient_check() {
        let mut x = Csr::empty(5);
        x.push_row(&[(0, 0.5), (3, 1.0)]);
        x.push_row(&[(1, 0.7), (2, -0.4), (4, 0.2)]);
        x.push_row(&[(0, 1.0), (4, 0.9)]);
        let y = [1.0, 0.0, 1.0];
        let loss = |m: &Mlp| {
            // Same seed → same dropout masks in every evaluation.
            let (z, _) = m.forward_train(&x, 0.3, &mut ChaCha8Rng::seed_from_u64(99));
            f64::from(sigmoid_bce_forward(&z, &y))
        };
        // A step across a ReLU kink would make the central difference meaningless:
        // take the first initialisation whose pre-activations all keep clear of 0.
        let (mlp, cache, z) = (0..100)
            .find_map(|seed| {
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                let mut mlp = Mlp::init(5, &[4, 3], &mut rng);
                for b in &mut mlp.biases {
                    b.mapv_inplace(|_| rng.random::<f32>() * 0.2);
                }
                let (z, cache) = mlp.forward_train(&x, 0.3, &mut ChaCha8Rng::seed_from_u64(99));
                let closest = cache
                    .z
                    .iter()
                    .flat_map(|z| z.iter())
                    .map(|v| v.abs())
                    .fold(f32::INFINITY, f32::min);
                (closest > 0.02).then_some((mlp, cache, z))
            })
            .expect("some seed keeps clear of the kink");
        let g = mlp.backward(&x, &cache, &sigmoid_bce_backward(&z, &y));
        let eps = 1e-3f32;
        let mut checked = 0;
        for k in 0..mlp.weights.len() {
            let analytic_w = if k == 0 {
                g.w0.to_dense(5)
            } else {
                g.weights[k - 1].clone()
            };
            for idx in ndarray::indices_of(&mlp.weights[k]) {
                let (mut p, mut m) = (mlp.clone(), mlp.clone());
                p.weights[k][idx] += eps;
                m.weights[k][idx] -= eps;
                let numeric = (loss(&p) - loss(&m)) / (2.0 * f64::from(eps));
                let a = f64::from(analytic_w[idx]);
                assert!(
                    (numeric - a).abs() < 2e-3 + 2e-2 * a.abs(),
                    "W{k}{idx:?}: {numeric} vs {a}"
                );
                checked += 1;
            }
            for i in 0..mlp.biases[k].len() {
                let (mut p, mut m) = (mlp.clone(), mlp.clone());
                p.biases[k][i] += eps;
                m.biases[k][i] -= eps;
                let numeric = (loss(&p) - loss(&m)) / (2.0 * f64::from(eps));
                let a = f64::from(g.biases[k][i]);
                assert!(
                    (numeric - a).abs() < 2e-3 + 2e-2 * a.abs(),
                    "b{k}[{i}]: {numeric} vs {a}"
                );
            }
        }
        assert_eq!(checked, 5 * 4 + 4 * 3 + 3);
    }

    #[test]
    fn adamw_first_step_is_lr_times_sign() {
        // At t = 1, m̂ = g and v̂ = g², so the step is lr·g/|g| (+ decay).
        let mut mlp = Mlp {
            weights: vec![Array2::from_elem((2, 1), 1.0)],
            biases: vec![Array1::zeros(1)],
        };
        let mut opt = AdamW::new(&mlp, 0.1, 0.5);
        let grads = Grads {
            w0: RowSparseGrad {
                rows: vec![1],
                values: Array2::from_elem((1, 1), -3.0),
            },
            weights: vec![],
            biases: vec![Array1::from_elem(1, 2.0)],
        };
        opt.step(&mut mlp, &grads);
        // row 0: no gradient → only decay: 1 − 0.1·0.5·1; row 1: 1 + 0.1 − 0.05.
        assert!((mlp.weights[0][[0, 0]] - 0.95).abs() < 1e-6);
        assert!((mlp.weights[0][[1, 0]] - 1.05).abs() < 1e-6);
        assert!((mlp.biases[0][0] + 0.1).abs() < 1e-6, "no decay on biases");
    }

    #[test]
    fn learns_a_separable_toy_problem_reproducibly() {
        let (x, y) = toy();
        let cfg = TrainConfig {
            hidden: vec![8],
            max_epochs: 30,
            lr: 0.01,
            batch_size: 16,
            ..Default::default()
        };
        let a = train(&x, &y, Some((&x, &y)), &cfg, |_| {}).unwrap();
        let (loss, acc) = evaluate(&a.mlp, &x, &y);
        assert_eq!(acc, 1.0);
        assert!(loss < 0.1, "loss {loss}");
        let b = train(&x, &y, Some((&x, &y)), &cfg, |_| {}).unwrap();
        assert_eq!(a.mlp, b.mlp, "same seed, same weights");
        let c = train(
            &x,
            &y,
            None,
            &TrainConfig {
                seed: 1,
                ..cfg.clone()
            },
            |_| {},
        )
        .unwrap();
        assert_ne!(a.mlp, c.mlp);
    }

    #[test]
    fn rejects_bad_config() {
        let (x, y) = toy();
        for cfg in [
            TrainConfig {
                hidden: vec![],
                ..Default::default()
            },
            TrainConfig {
                dropout: 1.0,
                ..Default::default()
            },
            TrainConfig {
                lr: 0.0,
                ..Default::default()
            },
            TrainConfig {
                batch_size: 0,
                ..Default::default()
            },
        ] {
            assert!(matches!(
                train(&x, &y, None, &cfg, |_| {}),
                Err(Error::Config(_))
            ));
        }
    }
}
