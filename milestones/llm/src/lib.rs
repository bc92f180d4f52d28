//! Phase 5, part 2: the LLM layer of the RAG chatbot.
//!
//! - [`tokenizer`]: SmolLM2's byte-level BPE tokenizer, built from the GGUF metadata.
//! - [`model`]: the llama decoder on candle's quantized CPU kernels (Q4_1 as shipped, or
//!   requantised to Q8_0 at load: the faster path measured here).
//! - [`chat`]: ChatML prompt formatting and the context budget (trim retrieved pieces to fit).
//! - [`engine`]: [`LocalLlm`], streaming generation with temperature / top-p / seed, stopping on
//!   `<|im_end|>`.
//! - [`server`]: an OpenAI-compatible HTTP server (`/v1/models`, `/v1/chat/completions`, SSE
//!   streaming) around one shared model.
//! - [`client`]: an OpenAI-compatible client (any server: this one, llama.cpp, Ollama, vLLM, OpenAI)
//!   with streaming, timeouts and bounded retries.
//! - [`bench`]: the generation benchmark with the llama.cpp anchor's prompt and definitions.

pub mod bench;
pub mod chat;
pub mod client;
pub mod engine;
pub mod model;
pub mod server;
pub mod tokenizer;

use std::path::PathBuf;

pub use chat::{
    chatml, grounded_conversation, grounded_messages, ChatMessage, GroundedPrompt, Role,
};
pub use engine::{FinishReason, GenParams, Generation, LoadOptions, LocalLlm};
pub use model::WeightFormat;
pub use tokenizer::GgufTokenizer;

/// File name of the SmolLM2 GGUF inside the asset directory.
pub const SMOLLM2_FILE: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";
/// Model id reported by the server (`/v1/models`) and expected by default from clients.
pub const SMOLLM2_ID: &str = "smollm2-135m-instruct";

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("model file: {what}")]
    Gguf { what: String },
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    #[error("tensor computation failed: {0}")]
    Candle(#[from] candle_core::Error),
    #[error(
        "the prompt needs {needed} tokens but the context holds {max}; shorten the input or raise the context size"
    )]
    ContextOverflow { needed: usize, max: usize },
    #[error("invalid request: {0}")]
    BadRequest(String),
}

/// Sets how many threads candle's CPU kernels use: its matmul worker pool
/// (`CANDLE_NUM_THREADS`) and rayon's pool (`RAYON_NUM_THREADS`).
///
/// Both pools are created on first use and read these variables then, so call this at the start
/// of the program, before any model is loaded and before other threads run. Why it matters: the
/// worker threads busy-wait between matmuls; when the cores are shared with other work (a
/// compile, a second model) a spinning worker can lose its core and every matmul waits for it:
/// generation was seen to drop from ~60 to ~2 tokens/s. One thread is slower but steady.
pub fn configure_threads(threads: usize) {
    let n = threads.max(1).to_string();
    // SAFETY of intent (set_var is not unsafe in edition 2021, but it races with concurrent
    // getenv): documented above as start-of-program only.
    std::env::set_var("CANDLE_NUM_THREADS", &n);
    std::env::set_var("RAYON_NUM_THREADS", &n);
}
