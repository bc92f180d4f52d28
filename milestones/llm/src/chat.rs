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

/// Instruction of a grounded (RAG) answer: use only the numbered passages, cite them, and admit
/// ignorance instead of guessing.
pub const GROUNDED_INSTRUCTION: &str = "Answer the question using only the numbered context passages below. \
Cite the passages you use like [1]. If the context does not contain the answer, say that you do not know.";

/// A grounded prompt built by [`grounded_messages`].
#[derive(Clone, Debug)]
pub struct GroundedPrompt {
    pub messages: Vec<ChatMessage>,
    /// How many passages (best first) made it into the prompt; the last may be trimmed.
    pub passages_used: usize,
    /// How many earlier conversation turns (the most recent ones) made it into the prompt.
    pub history_turns: usize,
    /// Tokens of the whole ChatML prompt.
    pub prompt_tokens: usize,
}

/// A RAG prompt: the system turn holds [`GROUNDED_INSTRUCTION`] and the passages numbered `[1]`,
/// `[2]`, … (best first), the user turn the question. Passages are kept while the prompt plus
/// `answer_tokens` fits in `max_ctx` tokens; see [`fit_pieces`].
pub fn grounded_messages(
    tokenizer: &GgufTokenizer,
    question: &str,
    passages: &[&str],
    max_ctx: usize,
    answer_tokens: usize,
) -> Result<GroundedPrompt, LlmError> {
    grounded_conversation(tokenizer, &[], question, passages, max_ctx, answer_tokens)
}

/// [`grounded_messages`] inside a conversation: the earlier turns (`history`, oldest first,
/// alternating user and assistant) go between the system turn and the question, so that a
/// follow-up such as "and who built it?" is read against what was said before.
///
/// The budget left after the instruction, the question and the answer is shared: the most
/// recent whole turns come first but take at most half of it (older turns are dropped, never
/// cut), and the passages fill the rest — retrieved evidence matters more than old chatter.
pub fn grounded_conversation(
    tokenizer: &GgufTokenizer,
    history: &[ChatMessage],
    question: &str,
    passages: &[&str],
    max_ctx: usize,
    answer_tokens: usize,
) -> Result<GroundedPrompt, LlmError> {
    let build = |turns: &[ChatMessage], kept: &[String]| {
        let mut system = format!("{GROUNDED_INSTRUCTION}\n\nContext:");
        for (i, p) in kept.iter().enumerate() {
            system.push_str(&format!("\n\n[{}] {}", i + 1, p));
        }
        let mut msgs = vec![ChatMessage::system(system)];
        msgs.extend_from_slice(turns);
        msgs.push(ChatMessage::user(question.to_string()));
        msgs
    };
    let count = |msgs: &[ChatMessage]| -> Result<usize, LlmError> {
        Ok(tokenizer.encode(&chatml(msgs))?.len())
    };
    let fixed = count(&build(&[], &[]))?;
    if fixed + answer_tokens > max_ctx {
        return Err(LlmError::ContextOverflow {
            needed: fixed + answer_tokens,
            max: max_ctx,
        });
    }
    let free = max_ctx - fixed - answer_tokens;
    // Whole turns, newest first, within half the free budget. "<|im_start|>role\n…<|im_end|>\n"
    // costs about 4 tokens around the content.
    const TURN_TOKENS: usize = 4;
    let mut first_kept = history.len();
    let mut turn_tokens = 0;
    while first_kept > 0 {
        let n = tokenizer.encode(&history[first_kept - 1].content)?.len() + TURN_TOKENS;
        if turn_tokens + n > free / 2 {
            break;
        }
        turn_tokens += n;
        first_kept -= 1;
    }
    // A conversation shown to the model starts with a user turn.
    while first_kept < history.len() && history[first_kept].role != Role::User {
        first_kept += 1;
    }
    let turns = &history[first_kept..];
    let with_turns = count(&build(turns, &[]))?;
    // Each passage also costs its "\n\n[n] " label: about 5 tokens.
    const LABEL_TOKENS: usize = 5;
    let budget = max_ctx.saturating_sub(with_turns + answer_tokens);
    let (mut kept, _) = fit_pieces(tokenizer, passages, budget, LABEL_TOKENS, 16)?;
    // The label estimate can be off by a token or two: drop from the end until it really fits.
    loop {
        let msgs = build(turns, &kept);
        let n = count(&msgs)?;
        if n + answer_tokens <= max_ctx || kept.is_empty() {
            return Ok(GroundedPrompt {
                passages_used: kept.len(),
                history_turns: turns.len(),
                prompt_tokens: n,
                messages: msgs,
            });
        }
        kept.pop();
    }
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
