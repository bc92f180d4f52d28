//! The SmolLM2 tokenizer, rebuilt from the GGUF file's own metadata.
//!
//! The GGUF ships no `tokenizer.json`, but it carries everything a byte-level BPE needs:
//! `tokenizer.ggml.tokens` (49,152 strings, the id is the position), `tokenizer.ggml.merges`
//! (48,900 `"left right"` pairs, ranked by position) and `tokenizer.ggml.token_type` (3 = control
//! token such as `<|im_start|>`). We hand those to the `tokenizers` crate instead of writing BPE.
//!
//! Why not candle's `TokenizerFromGguf`: it does not know `tokenizer.ggml.pre = "smollm"` and falls
//! back to GPT-2's pipeline with a prefix space, which encodes "Hello world" as [38699, 905] instead
//! of [19556, 905]. SmolLM2's own `tokenizer.json` uses this pipeline, reproduced here:
//!
//! - pre-tokenizer `Sequence[Digits(individual_digits = true), ByteLevel(add_prefix_space = false,
//!   use_regex = true)]`: every digit is its own piece, then GPT-2's regex splits words, and each
//!   byte is mapped to a printable character (the "byte-level" alphabet the vocabulary is written in);
//! - model: BPE over those characters, merges applied by rank;
//! - decoder: ByteLevel (characters back to bytes, then UTF-8);
//! - no post-processor (no BOS is added: ChatML prompts bring their own `<|im_start|>`);
//! - the control tokens are registered as special tokens, so `<|im_start|>` in a prompt becomes id 1
//!   instead of being spelled out with ordinary pieces.

use candle_core::quantized::gguf_file;
use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::models::bpe::{Vocab, BPE};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::{AddedToken, Tokenizer};

use crate::LlmError;

/// `tokenizer.ggml.token_type` value of a control token (llama.cpp's `LLAMA_TOKEN_TYPE_CONTROL`).
const TOKEN_TYPE_CONTROL: i64 = 3;

/// A byte-level BPE tokenizer for the model in one GGUF file, with its special token ids.
#[derive(Clone)]
pub struct GgufTokenizer {
    inner: Tokenizer,
    /// `<|im_start|>`: opens a ChatML turn.
    pub im_start: u32,
    /// `<|im_end|>`: closes a turn; the model emits it when its answer is complete.
    pub im_end: u32,
    /// `tokenizer.ggml.eos_token_id` (for SmolLM2-Instruct this is `<|im_end|>` too).
    pub eos: Option<u32>,
}

impl std::fmt::Debug for GgufTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GgufTokenizer")
            .field("vocab_size", &self.vocab_size())
            .field("im_start", &self.im_start)
            .field("im_end", &self.im_end)
            .field("eos", &self.eos)
            .finish()
    }
}

fn meta<'a>(ct: &'a gguf_file::Content, key: &str) -> Result<&'a gguf_file::Value, LlmError> {
    ct.metadata.get(key).ok_or_else(|| LlmError::Gguf {
        what: format!(
            "metadata key `{key}` is missing; is this a GGUF with an embedded tokenizer?"
        ),
    })
}

fn string_array(ct: &gguf_file::Content, key: &str) -> Result<Vec<String>, LlmError> {
    let arr = meta(ct, key)?.to_vec().map_err(|_| LlmError::Gguf {
        what: format!("metadata key `{key}` is not an array"),
    })?;
    arr.iter()
        .enumerate()
        .map(|(i, v)| {
            v.to_string().cloned().map_err(|_| LlmError::Gguf {
                what: format!("`{key}`[{i}] is not a string"),
            })
        })
        .collect()
}

fn int_value(v: &gguf_file::Value) -> Option<i64> {
    use gguf_file::Value::*;
    Some(match v {
        U8(x) => *x as i64,
        I8(x) => *x as i64,
        U16(x) => *x as i64,
        I16(x) => *x as i64,
        U32(x) => *x as i64,
        I32(x) => *x as i64,
        U64(x) => *x as i64,
        I64(x) => *x,
        _ => return None,
    })
}

impl GgufTokenizer {
    /// Builds the tokenizer from the metadata of an already-read GGUF header.
    pub fn from_gguf(ct: &gguf_file::Content) -> Result<Self, LlmError> {
        let model = meta(ct, "tokenizer.ggml.model")?
            .to_string()
            .map_err(|_| LlmError::Gguf {
                what: "`tokenizer.ggml.model` is not a string".into(),
            })?;
        if model != "gpt2" {
            return Err(LlmError::Gguf {
                what: format!(
                    "tokenizer.ggml.model is `{model}`; only byte-level BPE (`gpt2`) vocabularies are supported"
                ),
            });
        }
        let tokens = string_array(ct, "tokenizer.ggml.tokens")?;
        let merges: Vec<(String, String)> = string_array(ct, "tokenizer.ggml.merges")?
            .into_iter()
            .enumerate()
            .map(|(i, m)| {
                m.split_once(' ')
                    .map(|(a, b)| (a.to_string(), b.to_string()))
                    .ok_or_else(|| LlmError::Gguf {
                        what: format!("merge #{i} `{m}` is not two space-separated pieces"),
                    })
            })
            .collect::<Result<_, _>>()?;
        let types: Vec<i64> = match ct.metadata.get("tokenizer.ggml.token_type") {
            Some(v) => v
                .to_vec()
                .map_err(|_| LlmError::Gguf {
                    what: "`tokenizer.ggml.token_type` is not an array".into(),
                })?
                .iter()
                .map(|v| int_value(v).unwrap_or(1))
                .collect(),
            None => vec![1; tokens.len()],
        };

        let vocab: Vocab = tokens
            .iter()
            .enumerate()
            .map(|(i, t)| (t.clone(), i as u32))
            .collect();
        let bpe = BPE::builder()
            .vocab_and_merges(vocab, merges)
            .build()
            .map_err(|e| LlmError::Tokenizer(format!("building the BPE model: {e}")))?;
        let mut inner = Tokenizer::new(bpe);
        inner.with_pre_tokenizer(Some(Sequence::new(vec![
            Digits::new(true).into(),
            ByteLevel::new(false, true, true).into(),
        ])));
        inner.with_decoder(Some(ByteLevelDecoder::default()));
        let specials: Vec<AddedToken> = tokens
            .iter()
            .zip(&types)
            .filter(|(_, &ty)| ty == TOKEN_TYPE_CONTROL)
            .map(|(t, _)| AddedToken::from(t.clone(), true))
            .collect();
        inner
            .add_special_tokens(specials)
            .map_err(|e| LlmError::Tokenizer(format!("registering the control tokens: {e}")))?;

        let id = |name: &str| -> Result<u32, LlmError> {
            inner.token_to_id(name).ok_or_else(|| LlmError::Gguf {
                what: format!("the vocabulary has no `{name}` token; is this a ChatML model?"),
            })
        };
        let im_start = id("<|im_start|>")?;
        let im_end = id("<|im_end|>")?;
        let eos = ct
            .metadata
            .get("tokenizer.ggml.eos_token_id")
            .and_then(int_value)
            .map(|v| v as u32);
        Ok(Self {
            inner,
            im_start,
            im_end,
            eos,
        })
    }

    /// Reads only the GGUF header of `path` and builds the tokenizer (no weights are loaded).
    pub fn from_gguf_file(path: &std::path::Path) -> Result<Self, LlmError> {
        let mut file = std::fs::File::open(path).map_err(|source| LlmError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let ct = gguf_file::Content::read(&mut file).map_err(|e| LlmError::Gguf {
            what: format!("{}: not a readable GGUF file: {e}", path.display()),
        })?;
        Self::from_gguf(&ct)
    }

    /// Token ids of `text`. Special tokens written in the text (`<|im_start|>`) become their ids,
    /// as llama.cpp does with `special = true`.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, LlmError> {
        let enc = self
            .inner
            .encode_fast(text, false)
            .map_err(|e| LlmError::Tokenizer(format!("encoding: {e}")))?;
        Ok(enc.get_ids().to_vec())
    }

    /// Text of `ids`; special tokens are dropped when `skip_special` is true.
    pub fn decode(&self, ids: &[u32], skip_special: bool) -> Result<String, LlmError> {
        self.inner
            .decode(ids, skip_special)
            .map_err(|e| LlmError::Tokenizer(format!("decoding: {e}")))
    }

    /// Number of tokens in the vocabulary, special tokens included.
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// The wrapped `tokenizers` tokenizer (for incremental decoding with `decode_stream`).
    pub fn inner(&self) -> &Tokenizer {
        &self.inner
    }
}
