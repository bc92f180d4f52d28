//! ChatML prompts and the context budget.
//!
//! SmolLM2-Instruct was tuned on ChatML: every turn is `<|im_start|>{role}\n{content}<|im_end|>\n`
//! and the prompt ends with an open `<|im_start|>assistant\n` for the model to complete. The GGUF's
//! own chat template also inserts a default system turn ("You are a helpful AI assistant named
//! SmolLM…") when there is none; we do not: with it the greedy answer to "What is the capital of
//! France?" is a list of Paris landmarks in French instead of "The capital of France is Paris."
//!
//! A 135M-parameter model with a few thousand tokens of context cannot take every retrieved chunk,
//! so [`fit_pieces`] keeps the best-ranked pieces that fit a token budget and trims the last one.

use serde::{Deserialize, Serialize};

use crate::{GgufTokenizer, LlmError};

/// Who speaks a turn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::System => "system",
            Self::User => "user",
            Self::Assistant => "assistant",
        }
    }
}

/// One turn of a conversation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub role: Role,
    pub content: String,
}

impl ChatMessage {
    pub fn system(content: impl Into<String>) -> Self {
        Self {
            role: Role::System,
            content: content.into(),
        }
    }
    pub fn user(content: impl Into<String>) -> Self {
        Self {
            role: Role::User,
            content: content.into(),
        }
    }
    pub fn assistant(content: impl Into<String>) -> Self {
        Self {
            role: Role::Assistant,
            content: content.into(),
        }
    }
}

/// The ChatML rendering of `messages`, ending with the open assistant turn.
///
/// No system turn is added when there is none (see the module notes).
pub fn chatml(messages: &[ChatMessage]) -> String {
    let mut out = String::new();
    for m in messages {
        out.push_str("<|im_start|>");
        out.push_str(m.role.as_str());
        out.push('\n');
        out.push_str(&m.content);
        out.push_str("<|im_end|>\n");
    }
    out.push_str("<|im_start|>assistant\n");
    out
}

/// Keeps, in order, the pieces (e.g. retrieved chunks, best first) whose tokens fit in `budget`
/// tokens, counting `separator_tokens` between pieces. The first piece that does not fit whole is
/// cut at a token boundary if at least `min_partial` of its tokens fit; the rest are dropped.
///
/// Returns the kept pieces (the last possibly trimmed) and the number of tokens they use.
pub fn fit_pieces(
    tokenizer: &GgufTokenizer,
    pieces: &[&str],
    budget: usize,
    separator_tokens: usize,
    min_partial: usize,
) -> Result<(Vec<String>, usize), LlmError> {
    let mut kept = Vec::new();
    let mut used = 0;
    for piece in pieces {
        let sep = if kept.is_empty() { 0 } else { separator_tokens };
        let ids = tokenizer.encode(piece)?;
        if used + sep + ids.len() <= budget {
            used += sep + ids.len();
            kept.push((*piece).to_string());
            continue;
        }
        let room = budget.saturating_sub(used + sep);
        if room >= min_partial.max(1) {
            let text = tokenizer.decode(&ids[..room], false)?;
            // A cut may split a multi-byte character: drop the replacement character it leaves.
            let text = text.trim_end_matches('\u{FFFD}').to_string();
            used += sep + tokenizer.encode(&text)?.len();
            kept.push(text);
        }
        break;
    }
    Ok((kept, used))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chatml_has_no_default_system_turn() {
        let p = chatml(&[ChatMessage::user("What is the capital of France?")]);
        assert_eq!(
            p,
            "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n"
        );
    }

    #[test]
    fn chatml_keeps_turn_order() {
        let p = chatml(&[
            ChatMessage::system("S"),
            ChatMessage::user("U"),
            ChatMessage::assistant("A"),
        ]);
        assert_eq!(
            p,
            "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\nA<|im_end|>\n<|im_start|>assistant\n"
        );
    }
}
