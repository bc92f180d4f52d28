//! A BERT encoder forward pass for inference, on packed (unpadded) batches.
//!
//! The weights are read with candle from the model's safetensors file; the
//! forward pass is composed here from `gemm` matrix products (the kernels
//! candle itself calls, with their AVX-512 microkernels on) and the vectorised
//! kernels of [`crate::kernels`]. Composing it by hand is what makes it fast:
//!
//! - **No padding.** sentence-transformers pads every sentence of a batch to
//!   the longest one and masks the padding out of attention. A padded
//!   position never influences a real one (its key gets weight e^{-∞} = 0 in
//!   every softmax) and mean pooling ignores it, so its whole computation is
//!   wasted. Here the tokens of all sentences of a batch are packed one after
//!   the other into a `[T, H]` matrix (T = total real tokens); the dense layers
//!   run on all of them at once and attention runs per sentence on its own
//!   rows. The result equals the padded computation up to float rounding.
//! - **Fused steps.** Q, K and V are one `[H, 3H]` product; bias + GELU, and
//!   bias + residual + LayerNorm, are one pass over the output each.
//! - **Two kinds of parallelism**, on the embedder's own thread pool: big
//!   products split their rows between threads; small ones (a single short
//!   sentence) split their output columns; attention splits (sentence, head)
//!   pairs.
//!
//! The maths of one encoder layer, for the token matrix X:
//!
//! ```text
//! Q, K, V = X·W_q + b_q, X·W_k + b_k, X·W_v + b_v        (per head h: 64 columns each)
//! A_h     = softmax(Q_h K_hᵀ / √64) · V_h                  (rows of one sentence only)
//! X₁      = LayerNorm(X + concat_h(A_h)·W_o + b_o)
//! X₂      = LayerNorm(X₁ + GELU(X₁·W₁ + b₁)·W₂ + b₂)
//! ```

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor};
use rayon::prelude::*;
use serde::Deserialize;

use crate::error::EmbedError;
use crate::kernels;

/// The fields of a Hugging Face BERT `config.json` the forward pass needs.
#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq)]
pub struct BertConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    pub max_position_embeddings: usize,
    #[serde(default = "default_type_vocab")]
    pub type_vocab_size: usize,
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f64,
    #[serde(default = "default_act")]
    pub hidden_act: String,
}

fn default_type_vocab() -> usize {
    2
}
fn default_eps() -> f64 {
    1e-12
}
fn default_act() -> String {
    "gelu".into()
}

impl BertConfig {
    /// Reads and checks `config.json`.
    pub fn from_file(path: &Path) -> Result<Self, EmbedError> {
        let text = std::fs::read_to_string(path).map_err(|e| EmbedError::io(path, e))?;
        let cfg: BertConfig = serde_json::from_str(&text).map_err(|e| EmbedError::BadModel {
            path: path.to_path_buf(),
            reason: format!("config.json is not a BERT config: {e}"),
        })?;
        if !cfg.hidden_size.is_multiple_of(cfg.num_attention_heads) {
            return Err(EmbedError::BadModel {
                path: path.to_path_buf(),
                reason: format!(
                    "hidden_size {} is not a multiple of num_attention_heads {}",
                    cfg.hidden_size, cfg.num_attention_heads
                ),
            });
        }
        if cfg.hidden_act != "gelu" {
            return Err(EmbedError::BadModel {
                path: path.to_path_buf(),
                reason: format!(
                    "activation `{}` is not supported (only the exact `gelu`)",
                    cfg.hidden_act
                ),
            });
        }
        Ok(cfg)
    }
}

/// A dense layer y = x·W + b, with W stored transposed to `[in, out]` row-major
/// (PyTorch stores `[out, in]`), so a product reads it along rows.
pub(crate) struct Linear {
    w: Vec<f32>,
    b: Vec<f32>,
    k: usize,
    n: usize,
}

struct LayerNorm {
    gamma: Vec<f32>,
    beta: Vec<f32>,
}

struct Layer {
    qkv: Linear,
    attn_out: Linear,
    ln1: LayerNorm,
    ffn_in: Linear,
    ffn_out: Linear,
    ln2: LayerNorm,
}

/// All weights of the encoder, in the layouts the forward pass reads.
pub struct BertWeights {
    cfg: BertConfig,
    word: Vec<f32>,
    position: Vec<f32>,
    token_type: Vec<f32>,
    emb_ln: LayerNorm,
    layers: Vec<Layer>,
}

struct TensorSource {
    tensors: HashMap<String, Tensor>,
    prefix: &'static str,
    path: std::path::PathBuf,
}

impl TensorSource {
    fn get(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>, EmbedError> {
        let full = format!("{}{}", self.prefix, name);
        let bad = |reason: String| EmbedError::BadModel {
            path: self.path.clone(),
            reason,
        };
        let t = self
            .tensors
            .get(&full)
            .ok_or_else(|| bad(format!("tensor `{full}` is missing")))?;
        if t.dims() != shape {
            return Err(bad(format!(
                "tensor `{full}` has shape {:?}, expected {shape:?}",
                t.dims()
            )));
        }
        t.to_dtype(DType::F32)
            .and_then(|t| t.flatten_all())
            .and_then(|t| t.to_vec1::<f32>())
            .map_err(|e| bad(format!("tensor `{full}`: {e}")))
    }

    fn linear(&self, name: &str, k: usize, n: usize) -> Result<Linear, EmbedError> {
        let w = self.get(&format!("{name}.weight"), &[n, k])?;
        let b = self.get(&format!("{name}.bias"), &[n])?;
        Ok(Linear {
            w: transpose(&w, n, k),
            b,
            k,
            n,
        })
    }

    fn layer_norm(&self, name: &str, h: usize) -> Result<LayerNorm, EmbedError> {
        Ok(LayerNorm {
            gamma: self.get(&format!("{name}.weight"), &[h])?,
            beta: self.get(&format!("{name}.bias"), &[h])?,
        })
    }
}

fn transpose(a: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut t = vec![0.0; a.len()];
    for r in 0..rows {
        for c in 0..cols {
            t[c * rows + r] = a[r * cols + c];
        }
    }
    t
}

impl BertWeights {
    /// Loads the encoder from a safetensors file (tensor names with or without
    /// a `bert.` prefix; the pooler is not used).
    pub fn load(safetensors: &Path, cfg: BertConfig) -> Result<Self, EmbedError> {
        let tensors = candle_core::safetensors::load(safetensors, &Device::Cpu).map_err(|e| {
            EmbedError::BadModel {
                path: safetensors.to_path_buf(),
                reason: format!("cannot read safetensors: {e}"),
            }
        })?;
        let prefix = if tensors.contains_key("embeddings.word_embeddings.weight") {
            ""
        } else {
            "bert."
        };
        let src = TensorSource {
            tensors,
            prefix,
            path: safetensors.to_path_buf(),
        };
        let h = cfg.hidden_size;
        let word = src.get("embeddings.word_embeddings.weight", &[cfg.vocab_size, h])?;
        let position = src.get(
            "embeddings.position_embeddings.weight",
            &[cfg.max_position_embeddings, h],
        )?;
        let token_type = src.get(
            "embeddings.token_type_embeddings.weight",
            &[cfg.type_vocab_size, h],
        )?;
        let emb_ln = src.layer_norm("embeddings.LayerNorm", h)?;
        let mut layers = Vec::with_capacity(cfg.num_hidden_layers);
        for i in 0..cfg.num_hidden_layers {
            let p = format!("encoder.layer.{i}");
            let q = src.linear(&format!("{p}.attention.self.query"), h, h)?;
            let k = src.linear(&format!("{p}.attention.self.key"), h, h)?;
            let v = src.linear(&format!("{p}.attention.self.value"), h, h)?;
            // One [H, 3H] matrix: row r is [q_r | k_r | v_r].
            let mut w = Vec::with_capacity(3 * h * h);
            for r in 0..h {
                for part in [&q, &k, &v] {
                    w.extend_from_slice(&part.w[r * h..(r + 1) * h]);
                }
            }
            let b = [q.b, k.b, v.b].concat();
            layers.push(Layer {
                qkv: Linear {
                    w,
                    b,
                    k: h,
                    n: 3 * h,
                },
                attn_out: src.linear(&format!("{p}.attention.output.dense"), h, h)?,
                ln1: src.layer_norm(&format!("{p}.attention.output.LayerNorm"), h)?,
                ffn_in: src.linear(&format!("{p}.intermediate.dense"), h, cfg.intermediate_size)?,
                ffn_out: src.linear(&format!("{p}.output.dense"), cfg.intermediate_size, h)?,
                ln2: src.layer_norm(&format!("{p}.output.LayerNorm"), h)?,
            });
        }
        Ok(Self {
            cfg,
            word,
            position,
            token_type,
            emb_ln,
            layers,
        })
    }

    pub fn config(&self) -> &BertConfig {
        &self.cfg
    }
}

/// One tokenised sentence, as the forward pass takes it.
#[derive(Debug, Clone, Copy)]
pub struct Seq<'a> {
    pub ids: &'a [u32],
    pub type_ids: &'a [u32],
}

/// The thread pool the forward pass runs on (`None`: the calling thread only).
pub(crate) struct Par {
    pub pool: Option<rayon::ThreadPool>,
    pub threads: usize,
}

impl Par {
    pub fn new(threads: usize) -> Result<Self, EmbedError> {
        let threads = threads.max(1);
        let pool = if threads > 1 {
            Some(
                rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .thread_name(|i| format!("embed-{i}"))
                    .build()
                    .map_err(|e| EmbedError::Threads(e.to_string()))?,
            )
        } else {
            None
        };
        Ok(Self { pool, threads })
    }

    pub fn install<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        match &self.pool {
            Some(p) => p.install(f),
            None => f(),
        }
    }
}

#[derive(Clone, Copy)]
struct SendPtr(*mut f32);
// SAFETY: every task writes a region of the buffer no other task touches.
unsafe impl Send for SendPtr {}
unsafe impl Sync for SendPtr {}

impl SendPtr {
    /// A method (not `.0`) so closures capture the whole `Send` wrapper, not the raw field.
    fn get(self) -> *mut f32 {
        self.0
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Epilogue {
    Bias,
    BiasGelu,
    /// Leave the raw product; the caller fuses the bias into its next pass.
    Nothing,
}

/// out[m × n] = x[m × k] · W (+ bias, + GELU), on the pool.
///
/// Work split: blocks of at least 32 rows when there are enough rows (each
/// thread streams the whole weight matrix once per block, so blocks must not
/// be tiny); otherwise column slices of the weight, so a single short sentence
/// still keeps every thread busy.
fn linear(par: &Par, x: &[f32], m: usize, lin: &Linear, out: &mut [f32], epi: Epilogue) {
    let (k, n) = (lin.k, lin.n);
    debug_assert_eq!(x.len(), m * k);
    debug_assert_eq!(out.len(), m * n);
    let block = |r0: usize, r1: usize, c0: usize, c1: usize, out: SendPtr| {
        let (rows, cols) = (r1 - r0, c1 - c0);
        if rows == 0 || cols == 0 {
            return;
        }
        // SAFETY: x is m×k, W is k×n, out is m×n, all row-major; the block
        // [r0, r1) × [c0, c1) lies inside, and no other task writes it.
        unsafe {
            let dst = out.0.add(r0 * n + c0);
            gemm::gemm(
                rows,
                cols,
                k,
                dst,
                1,
                n as isize,
                false,
                x.as_ptr().add(r0 * k),
                1,
                k as isize,
                lin.w.as_ptr().add(c0),
                1,
                n as isize,
                0.0,
                1.0,
                false,
                false,
                false,
                gemm::Parallelism::None,
            );
            if epi != Epilogue::Nothing {
                for r in r0..r1 {
                    let row = std::slice::from_raw_parts_mut(out.0.add(r * n + c0), cols);
                    match epi {
                        Epilogue::Bias => kernels::bias_inplace(row, &lin.b[c0..c1]),
                        Epilogue::BiasGelu => kernels::bias_gelu_inplace(row, &lin.b[c0..c1]),
                        Epilogue::Nothing => {}
                    }
                }
            }
        }
    };
    let ptr = SendPtr(out.as_mut_ptr());
    let t = par.threads;
    if t == 1 {
        block(0, m, 0, n, ptr);
    } else if m >= 64 * t {
        let chunks = (m / 32).min(4 * t);
        let per = m.div_ceil(chunks);
        (0..chunks)
            .into_par_iter()
            .for_each(|c| block(c * per, ((c + 1) * per).min(m), 0, n, ptr));
    } else {
        // Column slices, multiples of 16 (one AVX-512 register) wide.
        let per = n.div_ceil(t).div_ceil(16) * 16;
        (0..t)
            .into_par_iter()
            .for_each(|c| block(0, m, (c * per).min(n), ((c + 1) * per).min(n), ptr));
    }
}

/// Applies `f` to blocks of whole rows of `buf` (row width `w`), in parallel
/// when there are many rows.
fn rows_par(par: &Par, buf: &mut [f32], w: usize, f: impl Fn(&mut [f32], usize) + Sync) {
    let m = buf.len() / w;
    if par.threads == 1 || m < 64 {
        f(buf, 0);
    } else {
        let per = m.div_ceil(4 * par.threads).max(16);
        buf.par_chunks_mut(per * w)
            .enumerate()
            .for_each(|(i, c)| f(c, i * per));
    }
}

impl BertWeights {
    /// Runs the encoder on a packed batch and returns, per sentence, the
    /// L2-normalised mean of its final hidden states (sentence-transformers'
    /// mean pooling: every real token, [CLS] and [SEP] included, weighs 1).
    pub(crate) fn embed_packed(&self, par: &Par, seqs: &[Seq<'_>]) -> Vec<Vec<f32>> {
        let cfg = &self.cfg;
        let h = cfg.hidden_size;
        let heads = cfg.num_attention_heads;
        let d = h / heads;
        let eps = cfg.layer_norm_eps as f32;
        let starts: Vec<usize> = seqs
            .iter()
            .scan(0, |acc, s| {
                let start = *acc;
                *acc += s.ids.len();
                Some(start)
            })
            .collect();
        let t: usize = seqs.iter().map(|s| s.ids.len()).sum();
        if t == 0 {
            return Vec::new();
        }

        // Embeddings: word + position + token type, then LayerNorm.
        let mut x = vec![0.0f32; t * h];
        for (s, &start) in seqs.iter().zip(&starts) {
            for (p, (&id, &tt)) in s.ids.iter().zip(s.type_ids).enumerate() {
                let row = &mut x[(start + p) * h..(start + p + 1) * h];
                let w = &self.word[id as usize * h..(id as usize + 1) * h];
                let pe = &self.position[p * h..(p + 1) * h];
                let te = &self.token_type[tt as usize * h..(tt as usize + 1) * h];
                for i in 0..h {
                    row[i] = w[i] + pe[i] + te[i];
                }
            }
        }
        rows_par(par, &mut x, h, |c, _| {
            kernels::layernorm_rows(c, &self.emb_ln.gamma, &self.emb_ln.beta, eps)
        });

        let mut qkv = vec![0.0f32; t * 3 * h];
        let mut ctx = vec![0.0f32; t * h];
        let mut tmp = vec![0.0f32; t * h];
        let mut ffn = vec![0.0f32; t * cfg.intermediate_size];
        let scale = 1.0 / (d as f32).sqrt();
        let tasks: Vec<(usize, usize)> = (0..seqs.len())
            .flat_map(|s| (0..heads).map(move |hd| (s, hd)))
            .collect();

        for layer in &self.layers {
            linear(par, &x, t, &layer.qkv, &mut qkv, Epilogue::Bias);

            // Attention, one (sentence, head) at a time, on that sentence's rows only.
            let ctx_ptr = SendPtr(ctx.as_mut_ptr());
            let qkv_ref = &qkv;
            let attend = |&(s, hd): &(usize, usize)| {
                let len = seqs[s].ids.len();
                let row0 = starts[s];
                let mut scores = vec![0.0f32; len * len];
                let ld = (3 * h) as isize;
                // SAFETY: reads stay inside qkv (t × 3h); the write goes to rows
                // [row0, row0+len) and columns [hd·d, (hd+1)·d) of ctx, which
                // belong to this task alone.
                unsafe {
                    let q = qkv_ref.as_ptr().add(row0 * 3 * h + hd * d);
                    let k = q.add(h);
                    let v = q.add(2 * h);
                    // scores = Q Kᵀ · scale  (Kᵀ read through swapped strides).
                    gemm::gemm(
                        len,
                        len,
                        d,
                        scores.as_mut_ptr(),
                        1,
                        len as isize,
                        false,
                        q,
                        1,
                        ld,
                        k,
                        ld,
                        1,
                        0.0,
                        scale,
                        false,
                        false,
                        false,
                        gemm::Parallelism::None,
                    );
                    kernels::softmax_rows(&mut scores, len);
                    gemm::gemm(
                        len,
                        d,
                        len,
                        ctx_ptr.get().add(row0 * h + hd * d),
                        1,
                        h as isize,
                        false,
                        scores.as_ptr(),
                        1,
                        len as isize,
                        v,
                        1,
                        ld,
                        0.0,
                        1.0,
                        false,
                        false,
                        false,
                        gemm::Parallelism::None,
                    );
                }
            };
            if par.threads == 1 {
                tasks.iter().for_each(attend);
            } else {
                tasks.par_iter().for_each(attend);
            }

            // X₁ = LayerNorm(X + ctx·W_o + b_o)
            linear(par, &ctx, t, &layer.attn_out, &mut tmp, Epilogue::Nothing);
            {
                let xr = &x;
                rows_par(par, &mut tmp, h, |c, r0| {
                    let res = &xr[r0 * h..r0 * h + c.len()];
                    kernels::add_bias_residual_layernorm(
                        c,
                        res,
                        &layer.attn_out.b,
                        &layer.ln1.gamma,
                        &layer.ln1.beta,
                        eps,
                    )
                });
            }
            std::mem::swap(&mut x, &mut tmp);

            // X₂ = LayerNorm(X₁ + GELU(X₁·W₁ + b₁)·W₂ + b₂)
            linear(par, &x, t, &layer.ffn_in, &mut ffn, Epilogue::BiasGelu);
            linear(par, &ffn, t, &layer.ffn_out, &mut tmp, Epilogue::Nothing);
            {
                let xr = &x;
                rows_par(par, &mut tmp, h, |c, r0| {
                    let res = &xr[r0 * h..r0 * h + c.len()];
                    kernels::add_bias_residual_layernorm(
                        c,
                        res,
                        &layer.ffn_out.b,
                        &layer.ln2.gamma,
                        &layer.ln2.beta,
                        eps,
                    )
                });
            }
            std::mem::swap(&mut x, &mut tmp);
        }

        // Mean pooling over each sentence's tokens, then L2 normalisation:
        // e = Σ_i x_i / n,  ê = e / ‖e‖.
        seqs.iter()
            .zip(&starts)
            .map(|(s, &start)| {
                let mut e = vec![0.0f32; h];
                for row in x[start * h..(start + s.ids.len()) * h].chunks_exact(h) {
                    for (a, v) in e.iter_mut().zip(row) {
                        *a += v;
                    }
                }
                normalize(&mut e);
                e
            })
            .collect()
    }
}

/// Scales `v` to unit Euclidean length (a zero vector stays zero).
pub fn normalize(v: &mut [f32]) {
    let norm = kernels::dot(v, v).sqrt();
    if norm > 0.0 {
        let inv = 1.0 / norm;
        v.iter_mut().for_each(|a| *a *= inv);
    }
}
