//! The sentence embedder: text in, one L2-normalised 384-dim vector per text out.
//!
//! It reproduces sentence-transformers' `all-MiniLM-L6-v2` pipeline:
//! WordPiece tokenisation (the model's own `tokenizer.json`), truncation at
//! 256 tokens ([CLS] and [SEP] included), the BERT encoder ([`crate::bert`]),
//! mean pooling over the real tokens and L2 normalisation.
//!
//! The shipped `tokenizer.json` pads every input to 128 tokens and truncates
//! at 128; sentence-transformers overrides both (pad to the longest input of a
//! batch, truncate at `max_seq_length` = 256). Here truncation is set to 256
//! and padding is switched off altogether: the forward pass packs sentences
//! without padding, which gives the same vectors.
//!
//! Inputs are sorted by token count before they are cut into batches, so a
//! batch holds sentences of similar length (in a padded implementation this is
//! what keeps padding small; here it keeps the attention blocks even across
//! threads), and the results are put back in input order.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use tokenizers::{Tokenizer, TruncationDirection, TruncationParams, TruncationStrategy};

use crate::bert::{BertConfig, BertWeights, Par, Seq};
use crate::error::EmbedError;

/// The sha256 of the pinned all-MiniLM-L6-v2 `model.safetensors`.
pub const MINILM_SHA256: &str = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db";
/// The id reported for the pinned model.
pub const MINILM_ID: &str = "all-MiniLM-L6-v2";

/// How the embedder runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbedderOptions {
    /// Worker threads for the forward pass and tokenisation (≥ 1).
    pub threads: usize,
    /// Sentences per forward pass (≥ 1).
    pub batch_size: usize,
    /// Longest input in tokens, [CLS] and [SEP] included; longer ones are cut
    /// (sentence-transformers' `max_seq_length`).
    pub max_seq_len: usize,
}

impl Default for EmbedderOptions {
    fn default() -> Self {
        Self {
            threads: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            batch_size: 32,
            max_seq_len: 256,
        }
    }
}

/// A loaded sentence-embedding model. `Send + Sync`: share it behind an `Arc`;
/// concurrent calls each run on the embedder's thread pool.
pub struct Embedder {
    weights: BertWeights,
    tokenizer: Tokenizer,
    counter: Tokenizer,
    par: Par,
    /// A one-thread context, for data-parallel batches (each thread runs whole sentences).
    solo: Par,
    opts: EmbedderOptions,
    model_id: String,
    weights_sha256: String,
    model_dir: PathBuf,
}

/// The files a model directory must hold.
pub const MODEL_FILES: [&str; 3] = ["model.safetensors", "tokenizer.json", "config.json"];

impl Embedder {
    /// Loads a model directory holding `model.safetensors`, `tokenizer.json`
    /// and `config.json` (what the asset manager returns for `all-minilm-l6-v2`).
    pub fn load(model_dir: &Path, opts: EmbedderOptions) -> Result<Self, EmbedError> {
        if opts.threads == 0 || opts.batch_size == 0 {
            return Err(EmbedError::Options(format!(
                "threads ({}) and batch size ({}) must be at least 1",
                opts.threads, opts.batch_size
            )));
        }
        let missing: Vec<String> = MODEL_FILES
            .iter()
            .filter(|f| !model_dir.join(f).is_file())
            .map(|f| f.to_string())
            .collect();
        if !missing.is_empty() {
            return Err(EmbedError::MissingModelFiles {
                dir: model_dir.to_path_buf(),
                missing,
            });
        }
        let cfg = BertConfig::from_file(&model_dir.join("config.json"))?;
        if opts.max_seq_len < 2 || opts.max_seq_len > cfg.max_position_embeddings {
            return Err(EmbedError::Options(format!(
                "max_seq_len {} must be between 2 and the model's {} positions",
                opts.max_seq_len, cfg.max_position_embeddings
            )));
        }
        let st_path = model_dir.join("model.safetensors");
        let weights_sha256 = sha256_file(&st_path)?;
        let weights = BertWeights::load(&st_path, cfg)?;

        let tok_path = model_dir.join("tokenizer.json");
        let tok_err = |e: &dyn std::fmt::Display| EmbedError::Tokenizer {
            path: tok_path.clone(),
            reason: e.to_string(),
        };
        let mut counter = Tokenizer::from_file(&tok_path).map_err(|e| tok_err(&e))?;
        counter.with_padding(None);
        counter.with_truncation(None).map_err(|e| tok_err(&e))?;
        let mut tokenizer = counter.clone();
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: opts.max_seq_len,
                strategy: TruncationStrategy::LongestFirst,
                stride: 0,
                direction: TruncationDirection::Right,
            }))
            .map_err(|e| tok_err(&e))?;

        let model_id = if weights_sha256 == MINILM_SHA256 {
            MINILM_ID.to_string()
        } else {
            format!("bert-{}", &weights_sha256[..12])
        };
        Ok(Self {
            weights,
            tokenizer,
            counter,
            par: Par::new(opts.threads)?,
            solo: Par::new(1)?,
            opts,
            model_id,
            weights_sha256,
            model_dir: model_dir.to_path_buf(),
        })
    }

    /// Embeds `texts`: one L2-normalised vector per text, in input order.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        self.embed_with_progress(texts, &mut |_| {})
    }

    /// [`Embedder::embed`], calling `progress(n)` after each batch with the
    /// number of texts just finished.
    pub fn embed_with_progress(
        &self,
        texts: &[&str],
        progress: &mut dyn FnMut(usize),
    ) -> Result<Vec<Vec<f32>>, EmbedError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let encodings = self.par.install(|| {
            let inputs: Vec<&str> = texts.to_vec();
            self.tokenizer
                .encode_batch(inputs, true)
                .map_err(|e| EmbedError::Encode(e.to_string()))
        })?;
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(encodings[i].get_ids().len()));
        let mut out: Vec<Vec<f32>> = vec![Vec::new(); texts.len()];
        for batch in order.chunks(self.opts.batch_size) {
            let seqs: Vec<Seq<'_>> = batch
                .iter()
                .map(|&i| Seq {
                    ids: encodings[i].get_ids(),
                    type_ids: encodings[i].get_type_ids(),
                })
                .collect();
            let vecs = self.forward(&seqs);
            for (&i, v) in batch.iter().zip(vecs) {
                out[i] = v;
            }
            progress(batch.len());
        }
        Ok(out)
    }

    /// One forward pass over a batch. With several threads and enough
    /// sentences, the batch is cut into contiguous groups of about equal token
    /// counts and each thread runs whole groups on its own (data parallelism:
    /// no synchronisation between layers, which matters when the cores are
    /// shared with other work). Otherwise the layers themselves are split
    /// across threads (intra-op parallelism), which is what keeps both cores
    /// busy for a single sentence. The results are the same either way.
    fn forward(&self, seqs: &[Seq<'_>]) -> Vec<Vec<f32>> {
        let t = self.par.threads;
        if t == 1 || seqs.len() < 2 * t {
            return self
                .par
                .install(|| self.weights.embed_packed(&self.par, seqs));
        }
        let groups = (2 * t).min(seqs.len());
        let total: usize = seqs.iter().map(|s| s.ids.len()).sum();
        let mut bounds = vec![0];
        let mut acc = 0;
        for (i, s) in seqs.iter().enumerate() {
            acc += s.ids.len();
            if acc * groups >= total * bounds.len() && bounds.len() < groups && i + 1 < seqs.len() {
                bounds.push(i + 1);
            }
        }
        bounds.push(seqs.len());
        self.par.install(|| {
            use rayon::prelude::*;
            bounds
                .par_windows(2)
                .map(|w| self.weights.embed_packed(&self.solo, &seqs[w[0]..w[1]]))
                .collect::<Vec<_>>()
                .into_iter()
                .flatten()
                .collect()
        })
    }

    /// The embedding width (384 for all-MiniLM-L6-v2).
    pub fn dim(&self) -> usize {
        self.weights.config().hidden_size
    }

    /// `all-MiniLM-L6-v2` for the pinned weights, else `bert-` and the first
    /// 12 hex digits of the weights' sha256: a cache key that changes with the weights.
    pub fn model_id(&self) -> &str {
        &self.model_id
    }

    /// The sha256 of `model.safetensors`, hex.
    pub fn weights_sha256(&self) -> &str {
        &self.weights_sha256
    }

    pub fn model_dir(&self) -> &Path {
        &self.model_dir
    }

    pub fn options(&self) -> &EmbedderOptions {
        &self.opts
    }

    /// The number of tokens `text` becomes in this model's tokenizer, [CLS] and
    /// [SEP] included, before truncation: a text fits the model whole when this
    /// is at most `options().max_seq_len`.
    pub fn count_tokens(&self, text: &str) -> usize {
        self.counter
            .encode(text, true)
            .map(|e| e.get_ids().len())
            .unwrap_or(0)
    }

    /// The tokenizer as the embedder uses it (truncation at `max_seq_len`, no padding).
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }
}

fn sha256_file(path: &Path) -> Result<String, EmbedError> {
    let mut f = std::fs::File::open(path).map_err(|e| EmbedError::io(path, e))?;
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h).map_err(|e| EmbedError::io(path, e))?;
    Ok(hex::encode(h.finalize()))
}

/// Cosine similarity of two vectors (their dot product when both are unit length).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let ab = crate::kernels::dot(a, b);
    let aa = crate::kernels::dot(a, a);
    let bb = crate::kernels::dot(b, b);
    ab / (aa.sqrt() * bb.sqrt()).max(f32::MIN_POSITIVE)
}
