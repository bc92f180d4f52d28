//! A llama-architecture decoder (SmolLM2) on candle's quantized CPU kernels.
//!
//! The forward pass follows candle-transformers' `quantized_llama` (same weights, same maths), but
//! this copy is laid out for speed on a small model, where per-operation overhead matters as much
//! as the arithmetic:
//!
//! - **Weight format chosen at load** ([`WeightFormat`]): the file's Q4_1 tensors as shipped go
//!   through candle's scalar Q4_1 dot product; requantised to Q8_0 in memory they use its SIMD
//!   Q8_0 kernels (AVX2, and AVX512-VNNI repacked tiles where the shapes allow).
//! - **Zero-padded columns** (Q8_0 path, CPUs with VNNI): see [`pad_for_tiles`]; this more than
//!   triples prompt speed here.
//! - **Fused projections** (Q8_0 path): the q, k and v weights are stacked into one matrix and so
//!   are gate and up, so each layer does three quantized matmuls per token instead of seven.
//! - **Pre-allocated KV cache** (`candle_nn::kv_cache`): new keys/values are written in place
//!   instead of concatenating the whole cache at every token.
//! - **Grouped-query attention without copies**: SmolLM2 has 9 query heads sharing 3 key/value
//!   heads. Instead of repeating k and v three times, the 3 query heads of a group are stacked as
//!   extra rows of one matrix, so one batched matmul per group serves them all.
//!
//! The maths per layer, for hidden states `x` (one row per token):
//!
//! ```text
//! h   = x + W_o · Attn(RoPE(W_q·n), RoPE(W_k·n), W_v·n),   n = RMSNorm(x)
//! out = h + W_down · (SiLU(W_gate·m) ⊙ W_up·m),             m = RMSNorm(h)
//! Attn(q, k, v) = softmax(q·kᵀ / √d + causal mask) · v
//! RMSNorm(x) = x / sqrt(mean(x²) + ε) ⊙ γ
//! ```
//!
//! RoPE rotates each consecutive pair `(x₂ᵢ, x₂ᵢ₊₁)` of a head by the angle `pos · θ⁻²ⁱᐟᵈ`
//! (interleaved layout, which is how GGUF stores llama's q/k weights). The logits are
//! `E · RMSNorm(h_last)` where `E` is the token-embedding matrix (tied output weights).

use std::path::Path;

use candle_core::quantized::{gguf_file, GgmlDType, QMatMul, QTensor};
use candle_core::{DType, Device, IndexOp, Module, Tensor, D};
use candle_nn::kv_cache::KvCache;

use crate::LlmError;

/// How the quantized weights are held in memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum WeightFormat {
    /// The file's own tensors (Q4_1 for SmolLM2): smallest, but candle has no SIMD Q4_1 kernel.
    AsShipped,
    /// Dequantized then requantised to Q8_0 at load, with fused q/k/v and gate/up projections:
    /// about 1.9x the memory of Q4_1, but candle's SIMD Q8_0 kernels make it the fastest path here.
    #[default]
    Q8_0,
}

impl std::str::FromStr for WeightFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "as-shipped" | "asshipped" | "native" | "q4_1" => Ok(Self::AsShipped),
            "q8_0" | "q8" => Ok(Self::Q8_0),
            other => Err(format!(
                "unknown weight format `{other}`: use `q8_0` or `as-shipped`"
            )),
        }
    }
}

impl std::fmt::Display for WeightFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::AsShipped => "as-shipped",
            Self::Q8_0 => "q8_0",
        })
    }
}

/// Hyper-parameters read from the GGUF's `llama.*` metadata.
#[derive(Clone, Debug)]
pub struct Config {
    pub n_layer: usize,
    pub n_embd: usize,
    pub n_ff: usize,
    pub n_head: usize,
    pub n_kv_head: usize,
    pub head_dim: usize,
    pub rope_base: f32,
    pub rms_eps: f64,
    /// Positions the model was trained for (`llama.context_length`).
    pub train_ctx: usize,
    pub vocab_size: usize,
}

/// Several projections of the same input: one stacked matrix, or separate ones.
#[derive(Debug)]
enum Projections {
    /// One matmul whose output columns are split into pieces of these widths.
    Fused(Linear, Vec<usize>),
    Split(Vec<Linear>),
}

/// A quantized matmul whose weight rows may carry `pad` trailing zero columns (see
/// [`pad_for_tiles`]); the input gets the same number of zero columns before the product.
#[derive(Debug)]
struct Linear {
    mm: QMatMul,
    pad: usize,
}

impl Linear {
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        if self.pad == 0 {
            return self.mm.forward(x);
        }
        self.mm.forward(&x.pad_with_zeros(D::Minus1, 0, self.pad)?)
    }
}

impl Projections {
    fn forward(&self, x: &Tensor) -> candle_core::Result<Vec<Tensor>> {
        match self {
            Self::Fused(mm, widths) => {
                let y = mm.forward(x)?;
                let mut start = 0;
                widths
                    .iter()
                    .map(|&w| {
                        let piece = y.narrow(D::Minus1, start, w);
                        start += w;
                        piece
                    })
                    .collect()
            }
            Self::Split(mms) => mms.iter().map(|m| m.forward(x)).collect(),
        }
    }
}

#[derive(Debug)]
struct Layer {
    attn_norm: Tensor,
    qkv: Projections,
    wo: Linear,
    ffn_norm: Tensor,
    gate_up: Projections,
    down: Linear,
    cache: KvCache,
}

/// The loaded model: weights plus the per-conversation KV cache.
#[derive(Debug)]
pub struct Llama {
    config: Config,
    format: WeightFormat,
    embeddings: Tensor,
    layers: Vec<Layer>,
    out_norm: Tensor,
    output: Linear,
    cos: Tensor,
    sin: Tensor,
    max_ctx: usize,
    /// Tokens currently in the KV cache.
    pos: usize,
}

fn md_u32(ct: &gguf_file::Content, key: &str) -> Result<usize, LlmError> {
    ct.metadata
        .get(key)
        .and_then(|v| v.to_u32().ok())
        .map(|v| v as usize)
        .ok_or_else(|| LlmError::Gguf {
            what: format!("metadata `{key}` missing or not an integer"),
        })
}

fn md_f32(ct: &gguf_file::Content, key: &str) -> Option<f32> {
    ct.metadata.get(key).and_then(|v| v.to_f32().ok())
}

/// Column multiple required by candle's repacked x86 Q8_0 kernels (one Q8K super-block).
const TILE_K: usize = 256;

/// Whether to pad weight columns to a multiple of [`TILE_K`].
///
/// candle 0.11 runs Q8_0 matmuls through repacked tiles with `vpdpbusd` (AVX512-VNNI or AVX-VNNI)
/// when the inner dimension is a multiple of 256 and the output one of 16; otherwise through a
/// generic AVX2 dot product. SmolLM2's hidden size is 576 = 2.25 × 256, so only `ffn_down`
/// (1536) qualifies. Padding the other matrices with zero columns to 768 (and their inputs with
/// zeros, which leaves every product unchanged) costs a third more weight bytes but unlocks the
/// tiled kernel: measured here on the anchor prompt, 1 thread, busy machine: prompt 376–393 vs
/// 79–103 tokens/s, generation 61–65 vs 38–44 tokens/s. Without VNNI there is nothing to gain.
pub fn pad_for_tiles() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        (is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512vnni"))
            || (is_x86_feature_detected!("avxvnni") && is_x86_feature_detected!("avx2"))
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

impl Config {
    pub fn from_gguf(ct: &gguf_file::Content) -> Result<Self, LlmError> {
        let arch = ct
            .metadata
            .get("general.architecture")
            .and_then(|v| v.to_string().ok())
            .cloned()
            .unwrap_or_default();
        if arch != "llama" {
            return Err(LlmError::Gguf {
                what: format!("architecture is `{arch}`; this loader handles `llama` models only"),
            });
        }
        let n_embd = md_u32(ct, "llama.embedding_length")?;
        let n_head = md_u32(ct, "llama.attention.head_count")?;
        let vocab_size = ct
            .tensor_infos
            .get("token_embd.weight")
            .map(|t| t.shape.dims()[0])
            .ok_or_else(|| LlmError::Gguf {
                what: "tensor `token_embd.weight` is missing".into(),
            })?;
        Ok(Self {
            n_layer: md_u32(ct, "llama.block_count")?,
            n_embd,
            n_ff: md_u32(ct, "llama.feed_forward_length")?,
            n_head,
            n_kv_head: md_u32(ct, "llama.attention.head_count_kv")?,
            head_dim: n_embd / n_head,
            rope_base: md_f32(ct, "llama.rope.freq_base").unwrap_or(10_000.0),
            rms_eps: md_f32(ct, "llama.attention.layer_norm_rms_epsilon").unwrap_or(1e-5) as f64,
            train_ctx: md_u32(ct, "llama.context_length").unwrap_or(2048),
            vocab_size,
        })
    }
}

impl Llama {
    /// Loads `path` with the given weight format; the KV cache holds at most `max_ctx` tokens.
    pub fn load(
        path: &Path,
        format: WeightFormat,
        max_ctx: usize,
    ) -> Result<(Self, gguf_file::Content), LlmError> {
        let io = |source| LlmError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut file = std::fs::File::open(path).map_err(io)?;
        let ct = gguf_file::Content::read(&mut file).map_err(|e| LlmError::Gguf {
            what: format!("{}: not a readable GGUF file: {e}", path.display()),
        })?;
        let model = Self::from_content(&ct, &mut file, format, max_ctx)?;
        Ok((model, ct))
    }

    /// Builds the model from an open GGUF reader whose header is `ct`.
    pub fn from_content<R: std::io::Read + std::io::Seek>(
        ct: &gguf_file::Content,
        reader: &mut R,
        format: WeightFormat,
        max_ctx: usize,
    ) -> Result<Self, LlmError> {
        let cfg = Config::from_gguf(ct)?;
        let dev = Device::Cpu;
        let mut get = |name: &str| -> Result<QTensor, LlmError> {
            ct.tensor(reader, name, &dev).map_err(|e| LlmError::Gguf {
                what: format!("tensor `{name}`: {e}"),
            })
        };
        let max_ctx = max_ctx.clamp(16, cfg.train_ctx.max(16));

        let target = match format {
            WeightFormat::AsShipped => None,
            WeightFormat::Q8_0 => Some(GgmlDType::Q8_0),
        };
        let pad_on = pad_for_tiles();
        // Requantise an f32 weight (rows = outputs), padding its columns when that unlocks tiles.
        let quant = |w: Tensor, dtype: GgmlDType| -> candle_core::Result<Linear> {
            let k = w.dim(1)?;
            let pad = if pad_on {
                k.next_multiple_of(TILE_K) - k
            } else {
                0
            };
            let w = if pad > 0 {
                w.pad_with_zeros(1, 0, pad)?
            } else {
                w
            };
            Ok(Linear {
                mm: QMatMul::from_qtensor(QTensor::quantize(&w, dtype)?)?,
                pad,
            })
        };
        let single = |t: QTensor| -> candle_core::Result<Linear> {
            match target {
                None => Ok(Linear {
                    mm: QMatMul::from_qtensor(t)?,
                    pad: 0,
                }),
                Some(dt) => quant(t.dequantize(&dev)?, dt),
            }
        };
        // Rows of several weight matrices stacked into one (the fused projections).
        let stack = |ts: Vec<QTensor>| -> candle_core::Result<Projections> {
            let Some(dt) = target else {
                return Ok(Projections::Split(
                    ts.into_iter()
                        .map(&single)
                        .collect::<candle_core::Result<_>>()?,
                ));
            };
            let deq = ts
                .iter()
                .map(|t| t.dequantize(&dev))
                .collect::<candle_core::Result<Vec<_>>>()?;
            let widths = deq
                .iter()
                .map(|t| t.dim(0))
                .collect::<candle_core::Result<Vec<_>>>()?;
            Ok(Projections::Fused(
                quant(Tensor::cat(&deq, 0)?, dt)?,
                widths,
            ))
        };

        let embd_q = get("token_embd.weight")?;
        let embeddings = embd_q.dequantize(&dev)?;
        // Tied output weights: the logits reuse the embedding matrix.
        let output_q = match ct.tensor_infos.contains_key("output.weight") {
            true => get("output.weight")?,
            false => embd_q,
        };
        let output = single(output_q)?;
        let out_norm = get("output_norm.weight")?.dequantize(&dev)?;

        let mut layers = Vec::with_capacity(cfg.n_layer);
        for i in 0..cfg.n_layer {
            let p = format!("blk.{i}");
            let q = get(&format!("{p}.attn_q.weight"))?;
            let k = get(&format!("{p}.attn_k.weight"))?;
            let v = get(&format!("{p}.attn_v.weight"))?;
            let wo = get(&format!("{p}.attn_output.weight"))?;
            let gate = get(&format!("{p}.ffn_gate.weight"))?;
            let up = get(&format!("{p}.ffn_up.weight"))?;
            let down = get(&format!("{p}.ffn_down.weight"))?;
            let (qkv, gate_up) = (stack(vec![q, k, v])?, stack(vec![gate, up])?);
            let (wo, down) = (single(wo)?, single(down)?);
            layers.push(Layer {
                attn_norm: get(&format!("{p}.attn_norm.weight"))?.dequantize(&dev)?,
                qkv,
                wo,
                ffn_norm: get(&format!("{p}.ffn_norm.weight"))?.dequantize(&dev)?,
                gate_up,
                down,
                cache: KvCache::new(2, max_ctx),
            });
        }

        // RoPE tables: angle(pos, i) = pos * base^(-2i/d) for the d/2 pairs of a head.
        let half = cfg.head_dim / 2;
        let inv_freq: Vec<f32> = (0..half)
            .map(|i| cfg.rope_base.powf(-((2 * i) as f32) / cfg.head_dim as f32))
            .collect();
        let inv_freq = Tensor::from_vec(inv_freq, (1, half), &dev)?;
        let positions = Tensor::arange(0u32, max_ctx as u32, &dev)?
            .to_dtype(DType::F32)?
            .reshape((max_ctx, 1))?;
        let angles = positions.matmul(&inv_freq)?;
        Ok(Self {
            cos: angles.cos()?,
            sin: angles.sin()?,
            config: cfg,
            format,
            embeddings,
            layers,
            out_norm,
            output,
            max_ctx,
            pos: 0,
        })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn format(&self) -> WeightFormat {
        self.format
    }

    /// Largest number of tokens (prompt + generated) one sequence may hold.
    pub fn max_ctx(&self) -> usize {
        self.max_ctx
    }

    /// Tokens already in the KV cache.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Forgets the current sequence (empties the KV cache).
    pub fn reset(&mut self) {
        for l in &mut self.layers {
            l.cache.reset();
        }
        self.pos = 0;
    }

    /// Feeds `tokens` after those already cached and returns the logits (vocab-sized, f32) that
    /// predict the token following the last one.
    pub fn forward(&mut self, tokens: &[u32]) -> Result<Tensor, LlmError> {
        let s = tokens.len();
        if s == 0 {
            return Err(LlmError::BadRequest(
                "nothing to feed the model: the token list is empty".into(),
            ));
        }
        if self.pos + s > self.max_ctx {
            return Err(LlmError::ContextOverflow {
                needed: self.pos + s,
                max: self.max_ctx,
            });
        }
        Ok(self.forward_inner(tokens)?)
    }

    fn forward_inner(&mut self, tokens: &[u32]) -> candle_core::Result<Tensor> {
        let c = &self.config;
        let (s, pos, hd) = (tokens.len(), self.pos, c.head_dim);
        let group = c.n_head / c.n_kv_head;
        let dev = Device::Cpu;
        let ids = Tensor::new(tokens, &dev)?;
        let mut x = self.embeddings.index_select(&ids, 0)?.unsqueeze(0)?; // (1, s, n_embd)
        let cos = self.cos.narrow(0, pos, s)?;
        let sin = self.sin.narrow(0, pos, s)?;
        // Causal mask, shaped to broadcast over (1, kv_heads, group, s, pos + s):
        // query s may see keys 0..=pos+s.
        let mask = if s > 1 {
            let t = pos + s;
            let m: Vec<u8> = (0..s)
                .flat_map(|i| (0..t).map(move |j| u8::from(j > pos + i)))
                .collect();
            Some(Tensor::from_vec(m, (s, t), &dev)?)
        } else {
            None
        };
        let neg_inf = Tensor::new(f32::NEG_INFINITY, &dev)?;
        let scale = 1.0 / (hd as f64).sqrt();

        for layer in &mut self.layers {
            let n = candle_nn::ops::rms_norm(&x, &layer.attn_norm, c.rms_eps as f32)?;
            let qkv = layer.qkv.forward(&n)?;
            let q = qkv[0]
                .reshape((1, s, c.n_head, hd))?
                .transpose(1, 2)?
                .contiguous()?;
            let k = qkv[1]
                .reshape((1, s, c.n_kv_head, hd))?
                .transpose(1, 2)?
                .contiguous()?;
            let v = qkv[2]
                .reshape((1, s, c.n_kv_head, hd))?
                .transpose(1, 2)?
                .contiguous()?;
            let q = candle_nn::rotary_emb::rope_i(&q, &cos, &sin)?;
            let k = candle_nn::rotary_emb::rope_i(&k, &cos, &sin)?;
            let (k, v) = layer.cache.append(&k, &v)?; // (1, kv_heads, pos + s, hd)
            let t = pos + s;
            // Query head h uses kv head h / group: stack each group's queries as rows.
            let q = q.reshape((1, c.n_kv_head, group * s, hd))?;
            let att = (q.matmul(&k.t()?)? * scale)?; // (1, kv_heads, group * s, t)
            let att = match &mask {
                None => att,
                Some(m) => {
                    let att = att.reshape((1, c.n_kv_head, group, s, t))?;
                    let m = m.broadcast_as(att.shape())?;
                    m.where_cond(&neg_inf.broadcast_as(att.shape())?, &att)?
                        .reshape((1, c.n_kv_head, group * s, t))?
                }
            };
            let att = candle_nn::ops::softmax_last_dim(&att)?;
            let y = att.matmul(&v)?; // (1, kv_heads, group * s, hd)
            let y = y
                .reshape((1, c.n_head, s, hd))?
                .transpose(1, 2)?
                .reshape((1, s, c.n_embd))?;
            let h = (layer.wo.forward(&y)? + &x)?;

            let m = candle_nn::ops::rms_norm(&h, &layer.ffn_norm, c.rms_eps as f32)?;
            let gu = layer.gate_up.forward(&m)?;
            let act = (candle_nn::ops::silu(&gu[0])? * &gu[1])?;
            x = (layer.down.forward(&act)? + h)?;
        }
        self.pos += s;
        let last = x.i((.., s - 1, ..))?.contiguous()?;
        let last = candle_nn::ops::rms_norm(&last, &self.out_norm, c.rms_eps as f32)?;
        self.output.forward(&last)?.squeeze(0)
    }
}
