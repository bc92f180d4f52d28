//! [`LocalLlm`]: the model, its tokenizer and the generation loop.
//!
//! Generation is the usual autoregressive loop: feed the whole prompt once (prefill, which fills
//! the KV cache and yields the logits of the first new token), then repeatedly pick a token and
//! feed just that token. Picking is greedy (`argmax`) at temperature 0; otherwise the logits are
//! divided by the temperature, turned into probabilities with a softmax, cut to the smallest set
//! whose mass reaches `top_p` (nucleus sampling) and sampled with a seeded RNG, so a given seed
//! reproduces its answer. Sampling is candle-transformers' `LogitsProcessor`.
//!
//! Text is streamed through a callback as soon as it is complete UTF-8: one byte-level token can
//! hold half of a multi-byte character, so `tokenizers`' `DecodeStream` holds such bytes back until
//! the character is whole. Generation stops at `<|im_end|>` (or the GGUF's EOS token), at
//! `max_tokens`, at the end of the context, or when the callback asks to stop.

use std::path::{Path, PathBuf};
use std::time::Instant;

use candle_core::D;
use candle_transformers::generation::LogitsProcessor;
use serde::{Deserialize, Serialize};

use crate::chat::{chatml, ChatMessage};
use crate::model::{Llama, WeightFormat};
use crate::{GgufTokenizer, LlmError, SMOLLM2_FILE, SMOLLM2_ID};

/// How to load the model.
#[derive(Clone, Debug)]
pub struct LoadOptions {
    pub format: WeightFormat,
    /// Largest prompt + answer length in tokens (the KV cache is allocated for it).
    pub max_ctx: usize,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            format: WeightFormat::default(),
            max_ctx: 2048,
        }
    }
}

/// Sampling and length settings of one generation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GenParams {
    /// Most tokens to generate.
    pub max_tokens: usize,
    /// 0 = greedy (always the most likely token); higher = more random.
    pub temperature: f64,
    /// Nucleus sampling: sample only among the most likely tokens whose probabilities add up to
    /// this (ignored when greedy). `None` = all tokens.
    pub top_p: Option<f64>,
    /// RNG seed for sampling.
    pub seed: u64,
}

impl Default for GenParams {
    fn default() -> Self {
        Self {
            max_tokens: 256,
            temperature: 0.0,
            top_p: None,
            seed: 42,
        }
    }
}

impl GenParams {
    pub fn validate(&self) -> Result<(), LlmError> {
        if !(self.temperature.is_finite() && (0.0..=2.0).contains(&self.temperature)) {
            return Err(LlmError::BadRequest(format!(
                "temperature must be between 0 and 2, got {}",
                self.temperature
            )));
        }
        if let Some(p) = self.top_p {
            if !(p > 0.0 && p <= 1.0) {
                return Err(LlmError::BadRequest(format!(
                    "top_p must be in (0, 1], got {p}"
                )));
            }
        }
        if self.max_tokens == 0 {
            return Err(LlmError::BadRequest("max_tokens must be at least 1".into()));
        }
        Ok(())
    }
}

/// Why generation ended (OpenAI's `finish_reason` values).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FinishReason {
    /// The model closed its turn (`<|im_end|>`) or the caller stopped it.
    Stop,
    /// `max_tokens` or the context size was reached.
    Length,
}

/// The result of one generation.
#[derive(Clone, Debug, Serialize)]
pub struct Generation {
    pub text: String,
    pub tokens: Vec<u32>,
    pub prompt_tokens: usize,
    pub finish_reason: FinishReason,
    /// Prompt tokens per second of the prefill.
    pub prompt_tps: f64,
    /// From the start of the call (tokenization included) to the first token's id.
    pub ttft_ms: f64,
    /// Generated tokens after the first, per second.
    pub gen_tps: f64,
}

/// A local chat model: SmolLM2 weights on candle plus its GGUF tokenizer.
pub struct LocalLlm {
    model: Llama,
    tokenizer: GgufTokenizer,
    id: String,
    path: PathBuf,
}

impl std::fmt::Debug for LocalLlm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalLlm")
            .field("id", &self.id)
            .field("path", &self.path)
            .field("format", &self.model.format())
            .finish()
    }
}

impl LocalLlm {
    /// Loads a GGUF file, or `SmolLM2-135M-Instruct.Q4_1.gguf` from a directory.
    pub fn load(path: &Path, opts: &LoadOptions) -> Result<Self, LlmError> {
        let file = if path.is_dir() {
            path.join(SMOLLM2_FILE)
        } else {
            path.to_path_buf()
        };
        if !file.is_file() {
            return Err(LlmError::Io {
                path: file,
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "model file not found (fetch it with the asset manager or pass the directory that holds it)",
                ),
            });
        }
        let (model, ct) = Llama::load(&file, opts.format, opts.max_ctx)?;
        let tokenizer = GgufTokenizer::from_gguf(&ct)?;
        if tokenizer.vocab_size() != model.config().vocab_size {
            return Err(LlmError::Gguf {
                what: format!(
                    "the tokenizer has {} tokens but the embedding matrix has {} rows",
                    tokenizer.vocab_size(),
                    model.config().vocab_size
                ),
            });
        }
        let id = if file.file_name().and_then(|n| n.to_str()) == Some(SMOLLM2_FILE) {
            SMOLLM2_ID.to_string()
        } else {
            file.file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("local")
                .to_string()
        };
        Ok(Self {
            model,
            tokenizer,
            id,
            path: file,
        })
    }

    /// The id clients use to name this model.
    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn tokenizer(&self) -> &GgufTokenizer {
        &self.tokenizer
    }

    pub fn model(&self) -> &Llama {
        &self.model
    }

    /// Mutable model access, for benchmarks that drive the forward pass themselves.
    pub fn model_mut(&mut self) -> &mut Llama {
        &mut self.model
    }

    /// Most tokens (prompt + answer) one request may use.
    pub fn max_ctx(&self) -> usize {
        self.model.max_ctx()
    }

    /// Tokens the ChatML prompt of `messages` takes (the context budget starts from this).
    pub fn count_prompt_tokens(&self, messages: &[ChatMessage]) -> Result<usize, LlmError> {
        Ok(self.tokenizer.encode(&chatml(messages))?.len())
    }

    /// Answers a conversation; see [`LocalLlm::generate`].
    pub fn chat(
        &mut self,
        messages: &[ChatMessage],
        params: &GenParams,
        on_text: impl FnMut(&str) -> bool,
    ) -> Result<Generation, LlmError> {
        if messages.is_empty() {
            return Err(LlmError::BadRequest(
                "the conversation has no messages".into(),
            ));
        }
        self.generate(&chatml(messages), params, on_text)
    }

    /// Continues a raw prompt (already in ChatML). `on_text` receives each new piece of text as
    /// soon as it is complete UTF-8 and returns `false` to stop generating.
    pub fn generate(
        &mut self,
        prompt: &str,
        params: &GenParams,
        mut on_text: impl FnMut(&str) -> bool,
    ) -> Result<Generation, LlmError> {
        params.validate()?;
        let t0 = Instant::now();
        let prompt_ids = self.tokenizer.encode(prompt)?;
        if prompt_ids.is_empty() {
            return Err(LlmError::BadRequest("the prompt is empty".into()));
        }
        let max_ctx = self.model.max_ctx();
        if prompt_ids.len() >= max_ctx {
            return Err(LlmError::ContextOverflow {
                needed: prompt_ids.len() + 1,
                max: max_ctx,
            });
        }
        let max_new = params.max_tokens.min(max_ctx - prompt_ids.len());
        let temperature = (params.temperature > 0.0).then_some(params.temperature);
        let mut sampler = LogitsProcessor::new(params.seed, temperature, params.top_p);
        let stops = [Some(self.tokenizer.im_end), self.tokenizer.eos];

        self.model.reset();
        let t_tok = Instant::now();
        let logits = self.model.forward(&prompt_ids)?;
        let t_pp = Instant::now();
        let mut next = pick(&mut sampler, &logits, temperature.is_none())?;
        let t_first = Instant::now();

        let mut stream = self.tokenizer.inner().decode_stream(true);
        let mut text = String::new();
        let mut tokens = Vec::new();
        let finish = loop {
            if stops.contains(&Some(next)) {
                break FinishReason::Stop;
            }
            tokens.push(next);
            if let Some(piece) = stream
                .step(next)
                .map_err(|e| LlmError::Tokenizer(e.to_string()))?
            {
                text.push_str(&piece);
                if !on_text(&piece) {
                    break FinishReason::Stop;
                }
            }
            if tokens.len() >= max_new {
                break FinishReason::Length;
            }
            let logits = self.model.forward(&[next])?;
            next = pick(&mut sampler, &logits, temperature.is_none())?;
        };
        let t_end = Instant::now();
        let n_after_first = tokens.len().saturating_sub(1) as f64;
        let gen_s = (t_end - t_first).as_secs_f64();
        Ok(Generation {
            text,
            prompt_tokens: prompt_ids.len(),
            tokens,
            finish_reason: finish,
            prompt_tps: prompt_ids.len() as f64 / (t_pp - t_tok).as_secs_f64(),
            ttft_ms: (t_first - t0).as_secs_f64() * 1e3,
            gen_tps: if n_after_first > 0.0 {
                n_after_first / gen_s
            } else {
                f64::NAN
            },
        })
    }
}

/// The next token: argmax when greedy (cheaper than the sampler's softmax), else sampled.
fn pick(
    sampler: &mut LogitsProcessor,
    logits: &candle_core::Tensor,
    greedy: bool,
) -> Result<u32, LlmError> {
    Ok(if greedy {
        logits.argmax(D::Minus1)?.to_scalar::<u32>()?
    } else {
        sampler.sample(logits)?
    })
}
