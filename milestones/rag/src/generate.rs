//! Answer generation: turn a question and its retrieved chunks into an answer
//! with numbered citations `[n]` (n = rank of the chunk in the retrieval list).
//!
//! One trait, [`Generator`], three implementations:
//! - [`ExtractiveGenerator`]: no language model. It copies the sentences of the
//!   retrieved chunks that best match the question, so every word of the answer
//!   is in a cited chunk by construction, and it answers instantly.
//! - [`LocalGenerator`]: SmolLM2-135M-Instruct on candle (crate `roadmap-llm`),
//!   prompted with the grounded ChatML prompt (numbered passages, "answer only
//!   from the context, say you don't know otherwise"), trimmed to its context.
//! - [`OpenAiGenerator`]: the same prompt sent to any OpenAI-compatible
//!   chat-completions server (streamed over SSE).
//!
//! Both LLM generators stream text through the `on_text` callback as it arrives.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use roadmap_llm::client::{BlockingClient, ClientError};
use roadmap_llm::{
    grounded_conversation, ChatMessage, GenParams, GroundedPrompt, LlmError, LocalLlm,
};
use serde::Serialize;
use unicode_segmentation::UnicodeSegmentation;

use crate::store::Hit;

/// Longest question accepted, in characters. A question is one sentence or a
/// few; 20,000 characters would fill the LLM context several times over and is
/// far more likely a pasted file than a question.
pub const MAX_QUESTION_CHARS: usize = 2_000;

/// Why an answer could not be generated.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error("the question is empty: pass a question, e.g. `roadmap rag ask \"What is BM25?\"`")]
    EmptyQuestion,
    #[error("the question is {chars} characters long; the limit is {max} ({max} characters is several paragraphs): ask a shorter question")]
    QuestionTooLong { chars: usize, max: usize },
    #[error("local model: {0}")]
    Local(#[from] LlmError),
    #[error(transparent)]
    Remote(#[from] ClientError),
}

/// Checks a question before retrieval: non-empty after trimming, at most
/// [`MAX_QUESTION_CHARS`] characters.
pub fn validate_question(question: &str) -> Result<&str, GenerateError> {
    let q = question.trim();
    if q.is_empty() {
        return Err(GenerateError::EmptyQuestion);
    }
    let chars = q.chars().count();
    if chars > MAX_QUESTION_CHARS {
        return Err(GenerateError::QuestionTooLong {
            chars,
            max: MAX_QUESTION_CHARS,
        });
    }
    Ok(q)
}

/// A generated answer.
#[derive(Clone, Debug, Serialize)]
pub struct Answer {
    /// The answer text, with citation markers `[n]`.
    pub text: String,
    /// Citation numbers (1-based ranks of the passed chunks) the answer refers to, ascending.
    pub cited: Vec<usize>,
    /// When an LLM wrote no citation: the passages that contain most of the answer's content
    /// words ([`attribute`]), best first — a pointer for the reader, not the model's own claim.
    pub attributed: Vec<usize>,
    /// How many of the passed chunks the generator actually saw (an LLM prompt may drop some to
    /// fit its context).
    pub passages_used: usize,
    /// How many earlier conversation turns the generator saw (LLM generators in a chat).
    pub history_turns: usize,
    /// Prompt tokens (LLM generators; 0 for the extractive one).
    pub prompt_tokens: usize,
    /// Generated tokens (LLM generators, when known).
    pub completion_tokens: usize,
    /// Milliseconds to the first streamed piece of text.
    pub first_text_ms: f64,
    /// Milliseconds for the whole answer.
    pub total_ms: f64,
}

/// Turns a question and its retrieved chunks (best first) into an answer.
pub trait Generator {
    /// `extractive`, `local` or `openai`.
    fn name(&self) -> &'static str;
    /// Answers `question` from `hits`. `on_text` receives the answer as it is produced (one call
    /// with the whole text for the extractive generator) and returns `false` to stop early.
    fn answer(
        &mut self,
        question: &str,
        hits: &[Hit],
        on_text: &mut dyn FnMut(&str) -> bool,
    ) -> Result<Answer, GenerateError> {
        self.answer_followup(&[], question, question, hits, on_text)
    }

    /// Answers a turn of a conversation. `history` holds the earlier turns (oldest first,
    /// user and assistant alternating); `standalone` is `question` rewritten to stand on its
    /// own (see [`crate::conversation`]). The extractive generator answers `standalone`: it
    /// matches words, and "her" matches nothing. The LLM generators read the original
    /// question after the earlier turns.
    fn answer_followup(
        &mut self,
        history: &[ChatMessage],
        question: &str,
        standalone: &str,
        hits: &[Hit],
        on_text: &mut dyn FnMut(&str) -> bool,
    ) -> Result<Answer, GenerateError>;
}

/// The citation numbers `[n]` in `text` that refer to one of `passages` chunks, ascending.
pub fn cited_numbers(text: &str, passages: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'[' {
            let mut j = i + 1;
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            if j > i + 1 && j < b.len() && b[j] == b']' {
                if let Ok(n) = text[i + 1..j].parse::<usize>() {
                    if (1..=passages).contains(&n) && !out.contains(&n) {
                        out.push(n);
                    }
                }
            }
            i = j.max(i + 1);
        } else {
            i += 1;
        }
    }
    out.sort_unstable();
    out
}

/// Shortest share of an answer's content words a passage must contain to be [`attribute`]d.
pub const ATTRIBUTION_MIN_SHARE: f64 = 0.5;

/// The passages (1-based, best first, at most two) that contain at least
/// [`ATTRIBUTION_MIN_SHARE`] of the answer's content words (stop words left
/// out). Small LLMs often answer from the context without writing `[n]`; this
/// points the reader at the passage the words came from. An answer that says
/// it does not know, or has no content words, is attributed to nothing.
pub fn attribute(answer: &str, hits: &[Hit]) -> Vec<usize> {
    let lower = answer.to_lowercase();
    if lower.contains("not know") || lower.contains("don't know") || lower.contains("do not have") {
        return Vec::new();
    }
    let content: HashSet<String> = words(answer)
        .into_iter()
        .filter(|w| !STOPWORDS.contains(&w.as_str()))
        .collect();
    if content.is_empty() {
        return Vec::new();
    }
    let mut shares: Vec<(usize, f64)> = hits
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let have: HashSet<String> = words(&h.text).into_iter().collect();
            let share =
                content.iter().filter(|w| have.contains(*w)).count() as f64 / content.len() as f64;
            (i + 1, share)
        })
        .filter(|&(_, share)| share >= ATTRIBUTION_MIN_SHARE)
        .collect();
    shares.sort_by(|a, b| b.1.total_cmp(&a.1));
    shares.into_iter().take(2).map(|(n, _)| n).collect()
}

/// Lowercased word tokens (Unicode word boundaries), the unit of term overlap.
pub(crate) fn words(text: &str) -> Vec<String> {
    text.unicode_words().map(|w| w.to_lowercase()).collect()
}

/// English function words: they match almost every sentence and would drown the content words.
pub(crate) const STOPWORDS: &[&str] = &[
    "a", "an", "the", "of", "in", "on", "at", "to", "for", "by", "with", "from", "and", "or", "is",
    "are", "was", "were", "be", "been", "it", "its", "this", "that", "these", "those", "as", "do",
    "does", "did", "what", "which", "who", "whom", "whose", "when", "where", "why", "how", "s",
];

/// The extractive generator: scores each sentence of the retrieved chunks and
/// returns the best ones, each followed by the citation of its chunk.
///
/// Score of sentence *s* of the chunk ranked *r* for question *q*:
///
/// ```text
/// cover(S)  = Σ_{t ∈ q ∩ S} idf(t) / Σ_{t ∈ q} idf(t)
/// score(s)  = ½ · cover(s) + ½ · cover(s ∪ prev(s))  +  β / (r + 1)
/// idf(t)    = ln(1 + (N − n_t + 0.5) / (n_t + 0.5))
/// ```
///
/// where *N* is the number of candidate sentences and *n_t* how many contain the
/// term *t* (BM25's IDF, computed over the retrieved sentences: a word that is in
/// every retrieved sentence says nothing about which one answers). `cover` is the
/// IDF-weighted share of the question's content words (stop words removed) found
/// in a set of words, in [0, 1]. Half the score comes from the sentence alone and
/// half from the sentence together with the one before it in the same chunk: a
/// sentence that starts with a pronoun ("It was completed in 1889.") usually has
/// its subject in the previous sentence. The last term is a small prior for the
/// retrieval rank that breaks ties in favour of the chunk retrieval trusted most.
/// Markdown heading lines are not candidates (they name a topic, never answer).
/// Only sentences sharing at least one content word with the question are
/// picked; picked sentences are printed in document order.
#[derive(Clone, Debug)]
pub struct ExtractiveGenerator {
    /// Most sentences in the answer.
    pub max_sentences: usize,
    /// Weight β of the retrieval-rank prior.
    pub rank_weight: f64,
    /// A further sentence is added only if it scores at least this share of the best one.
    pub keep_ratio: f64,
}

impl Default for ExtractiveGenerator {
    fn default() -> Self {
        Self {
            max_sentences: 2,
            rank_weight: 0.1,
            keep_ratio: 0.8,
        }
    }
}

/// One candidate sentence.
#[derive(Clone, Debug, PartialEq)]
pub struct ScoredSentence {
    /// 1-based rank of the chunk it comes from.
    pub n: usize,
    /// Position of the sentence in its chunk.
    pub pos: usize,
    pub text: String,
    /// `cover(s)` of the sentence alone.
    pub overlap: f64,
    pub score: f64,
}

impl ExtractiveGenerator {
    /// All sentences of `hits`, scored for `question`, best first.
    pub fn rank_sentences(&self, question: &str, hits: &[Hit]) -> Vec<ScoredSentence> {
        let stop: HashSet<&str> = STOPWORDS.iter().copied().collect();
        let q_terms: HashSet<String> = words(question)
            .into_iter()
            .filter(|w| !stop.contains(w.as_str()))
            .collect();
        // The question's words in order: a sentence containing all of them in a row quotes the
        // question (a usage example, a FAQ heading line) rather than answering it.
        let q_seq = words(question);
        let quotes_question = |s: &str| {
            let ws = words(s);
            q_seq.len() >= 3 && ws.windows(q_seq.len()).any(|w| w == q_seq.as_slice())
        };
        let mut cands: Vec<(usize, String, HashSet<String>)> = Vec::new();
        for (r, h) in hits.iter().enumerate() {
            // Paragraph by paragraph, so that heading lines can be left out.
            for para in h.text.split("\n\n") {
                let para = para.trim();
                if para.is_empty() || para.starts_with('#') {
                    continue;
                }
                for s in para.unicode_sentences() {
                    let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
                    let terms: HashSet<String> = words(&s).into_iter().collect();
                    // A question restates the asker's words but never answers them
                    // (FAQ-style documents are full of them).
                    if !terms.is_empty() && !s.ends_with('?') && !quotes_question(&s) {
                        cands.push((r + 1, s, terms));
                    }
                }
            }
        }
        let n_sent = cands.len() as f64;
        let mut df: HashMap<&str, usize> = HashMap::new();
        for t in &q_terms {
            df.insert(
                t.as_str(),
                cands.iter().filter(|(_, _, ts)| ts.contains(t)).count(),
            );
        }
        let idf = |t: &str| {
            let n = df.get(t).copied().unwrap_or(0) as f64;
            (1.0 + (n_sent - n + 0.5) / (n + 0.5)).ln()
        };
        let total: f64 = q_terms.iter().map(|t| idf(t)).sum();
        let cover = |a: &HashSet<String>, b: Option<&HashSet<String>>| {
            if total <= 0.0 {
                return 0.0;
            }
            let covered: f64 = q_terms
                .iter()
                .filter(|t| a.contains(*t) || b.is_some_and(|b| b.contains(*t)))
                .map(|t| idf(t))
                .sum();
            covered / total
        };
        let mut out = Vec::with_capacity(cands.len());
        let mut pos = 0;
        for (i, (n, text, terms)) in cands.iter().enumerate() {
            let prev = (i > 0 && cands[i - 1].0 == *n).then(|| &cands[i - 1].2);
            pos = if prev.is_some() { pos + 1 } else { 0 };
            let own = cover(terms, None);
            let window = cover(terms, prev);
            out.push(ScoredSentence {
                n: *n,
                pos,
                text: text.clone(),
                overlap: own,
                score: 0.5 * own + 0.5 * window + self.rank_weight / (*n as f64 + 1.0),
            });
        }
        // Stable sort: equal scores keep document order (rank, then position in the chunk).
        out.sort_by(|a, b| b.score.total_cmp(&a.score));
        out
    }
}

/// What the extractive generator says when no sentence shares a content word with the question.
pub const NO_ANSWER: &str =
    "I don't know: the retrieved passages do not mention the question's terms.";

impl Generator for ExtractiveGenerator {
    fn name(&self) -> &'static str {
        "extractive"
    }

    fn answer_followup(
        &mut self,
        _history: &[ChatMessage],
        _question: &str,
        standalone: &str,
        hits: &[Hit],
        on_text: &mut dyn FnMut(&str) -> bool,
    ) -> Result<Answer, GenerateError> {
        let t0 = Instant::now();
        let ranked = self.rank_sentences(standalone, hits);
        let text = match ranked.first() {
            Some(best) if best.overlap > 0.0 => {
                let mut picked: Vec<&ScoredSentence> = vec![best];
                for s in ranked.iter().skip(1) {
                    if picked.len() >= self.max_sentences {
                        break;
                    }
                    if s.overlap > 0.0
                        && s.score >= self.keep_ratio * best.score
                        && picked.iter().all(|p| p.text != s.text)
                    {
                        picked.push(s);
                    }
                }
                picked.sort_by_key(|s| (s.n, s.pos));
                picked
                    .iter()
                    .map(|s| format!("{} [{}]", s.text, s.n))
                    .collect::<Vec<_>>()
                    .join(" ")
            }
            _ => NO_ANSWER.to_string(),
        };
        let first = t0.elapsed().as_secs_f64() * 1e3;
        on_text(&text);
        Ok(Answer {
            cited: cited_numbers(&text, hits.len()),
            attributed: Vec::new(),
            text,
            passages_used: hits.len(),
            history_turns: 0,
            prompt_tokens: 0,
            completion_tokens: 0,
            first_text_ms: first,
            total_ms: t0.elapsed().as_secs_f64() * 1e3,
        })
    }
}

/// Tokens reserved for the answer when the prompt is trimmed to the context.
pub const ANSWER_TOKENS: usize = 256;

/// The local generator: SmolLM2 through [`LocalLlm`].
pub struct LocalGenerator {
    pub llm: LocalLlm,
    pub params: GenParams,
}

impl LocalGenerator {
    pub fn new(llm: LocalLlm) -> Self {
        Self {
            llm,
            params: GenParams {
                max_tokens: ANSWER_TOKENS,
                ..Default::default()
            },
        }
    }
}

impl Generator for LocalGenerator {
    fn name(&self) -> &'static str {
        "local"
    }

    fn answer_followup(
        &mut self,
        history: &[ChatMessage],
        question: &str,
        _standalone: &str,
        hits: &[Hit],
        on_text: &mut dyn FnMut(&str) -> bool,
    ) -> Result<Answer, GenerateError> {
        let t0 = Instant::now();
        let prompt = grounded_prompt(
            self.llm.tokenizer(),
            history,
            question,
            hits,
            self.llm.max_ctx(),
            self.params.max_tokens,
        )?;
        let (llm, params) = (&mut self.llm, &self.params);
        stream_answer(t0, prompt, hits, on_text, |messages, on_piece| {
            let g = llm.chat(messages, params, on_piece)?;
            Ok((g.text, Some(g.prompt_tokens), g.tokens.len()))
        })
    }
}

/// The OpenAI-compatible generator. The remote model's tokenizer is unknown, so
/// the prompt is budgeted with SmolLM2's tokenizer when one is given (a close
/// enough count for BPE vocabularies of this size), else passages are sent whole.
pub struct OpenAiGenerator {
    pub client: BlockingClient,
    pub params: GenParams,
    /// Context window assumed for the remote model, in tokens.
    pub max_ctx: usize,
    /// Tokenizer used to budget the prompt.
    pub tokenizer: roadmap_llm::GgufTokenizer,
}

impl OpenAiGenerator {
    pub fn new(client: BlockingClient, tokenizer: roadmap_llm::GgufTokenizer) -> Self {
        Self {
            client,
            params: GenParams {
                max_tokens: ANSWER_TOKENS,
                ..Default::default()
            },
            max_ctx: 2048,
            tokenizer,
        }
    }
}

impl Generator for OpenAiGenerator {
    fn name(&self) -> &'static str {
        "openai"
    }

    fn answer_followup(
        &mut self,
        history: &[ChatMessage],
        question: &str,
        _standalone: &str,
        hits: &[Hit],
        on_text: &mut dyn FnMut(&str) -> bool,
    ) -> Result<Answer, GenerateError> {
        let t0 = Instant::now();
        let prompt = grounded_prompt(
            &self.tokenizer,
            history,
            question,
            hits,
            self.max_ctx,
            self.params.max_tokens,
        )?;
        let (client, params) = (&self.client, &self.params);
        stream_answer(t0, prompt, hits, on_text, |messages, on_piece| {
            let r = client.chat_stream(messages, params, on_piece)?;
            Ok((r.text, r.prompt_tokens, r.completion_tokens.unwrap_or(0)))
        })
    }
}

/// The grounded prompt of an LLM generator: the retrieved chunks as numbered
/// passages, the conversation so far, the question, all within `max_ctx`.
fn grounded_prompt(
    tokenizer: &roadmap_llm::GgufTokenizer,
    history: &[ChatMessage],
    question: &str,
    hits: &[Hit],
    max_ctx: usize,
    answer_tokens: usize,
) -> Result<GroundedPrompt, GenerateError> {
    let passages: Vec<&str> = hits.iter().map(|h| h.text.as_str()).collect();
    Ok(grounded_conversation(
        tokenizer,
        history,
        question,
        &passages,
        max_ctx,
        answer_tokens,
    )?)
}

/// Runs an LLM on `prompt` through `run` (which streams pieces to its callback
/// and returns the text, the prompt tokens if the engine counted them, and the
/// completion tokens), timing the first piece from `t0`, and reads the citations back.
fn stream_answer(
    t0: Instant,
    prompt: GroundedPrompt,
    hits: &[Hit],
    on_text: &mut dyn FnMut(&str) -> bool,
    run: impl FnOnce(
        &[ChatMessage],
        &mut dyn FnMut(&str) -> bool,
    ) -> Result<(String, Option<usize>, usize), GenerateError>,
) -> Result<Answer, GenerateError> {
    let mut first: Option<f64> = None;
    let (text, prompt_tokens, completion_tokens) = run(&prompt.messages, &mut |piece| {
        first.get_or_insert_with(|| t0.elapsed().as_secs_f64() * 1e3);
        on_text(piece)
    })?;
    let text = text.trim().to_string();
    let cited = cited_numbers(&text, prompt.passages_used);
    let attributed = if cited.is_empty() {
        attribute(&text, &hits[..prompt.passages_used.min(hits.len())])
    } else {
        Vec::new()
    };
    Ok(Answer {
        cited,
        attributed,
        text,
        passages_used: prompt.passages_used,
        history_turns: prompt.history_turns,
        prompt_tokens: prompt_tokens.unwrap_or(prompt.prompt_tokens),
        completion_tokens,
        first_text_ms: first.unwrap_or(0.0),
        total_ms: t0.elapsed().as_secs_f64() * 1e3,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(text: &str) -> Hit {
        Hit {
            chunk_id: 0,
            score: 1.0,
            source: "doc.md".into(),
            start: 0,
            end: text.len(),
            line_start: 1,
            line_end: 1,
            heading: vec![],
            text: text.into(),
        }
    }

    #[test]
    fn picks_the_sentence_that_answers_and_cites_its_chunk() {
        let hits = [
            hit("Paris is a large city. It has many museums and a river."),
            hit("The Eiffel Tower was completed in 1889. It is made of wrought iron."),
        ];
        let mut g = ExtractiveGenerator::default();
        let mut streamed = String::new();
        let a = g
            .answer("When was the Eiffel Tower completed?", &hits, &mut |t| {
                streamed.push_str(t);
                true
            })
            .unwrap();
        assert_eq!(a.text, "The Eiffel Tower was completed in 1889. [2]");
        assert_eq!(a.cited, vec![2]);
        assert_eq!(streamed, a.text);
    }

    #[test]
    fn rare_terms_outweigh_common_ones() {
        // "tower" is in every sentence; "iron" only in one: IDF must prefer it.
        let hits = [hit(
            "The tower is tall. The tower is old. The tower is made of iron.",
        )];
        let ranked = ExtractiveGenerator::default().rank_sentences("Which tower uses iron?", &hits);
        assert_eq!(ranked[0].text, "The tower is made of iron.");
    }

    #[test]
    fn skips_headings_and_keeps_the_pronoun_sentence_in_order() {
        let hits = [hit(
            "# Eiffel Tower\n\nThe Eiffel Tower is in Paris. It was completed in 1889.\n\n# Big Ben\n\nBig Ben is a bell.",
        )];
        let a = ExtractiveGenerator::default()
            .answer("When was the Eiffel Tower completed?", &hits, &mut |_| true)
            .unwrap();
        assert_eq!(
            a.text,
            "The Eiffel Tower is in Paris. [1] It was completed in 1889. [1]"
        );
    }

    #[test]
    fn questions_in_the_context_are_not_answers() {
        let hits = [hit(
            "What do I build in phase 4? The milestone project of phase 4 is a similarity search.",
        )];
        let a = ExtractiveGenerator::default()
            .answer("What do I build in phase 4", &hits, &mut |_| true)
            .unwrap();
        assert!(
            a.text.starts_with("The milestone project of phase 4"),
            "{}",
            a.text
        );
    }

    #[test]
    fn sentences_quoting_the_question_are_not_answers() {
        // A usage example that quotes the question outranks the answer on retrieval.
        let hits = [
            hit("roadmap rag ask \"what do I build in phase 4\" # an answer with citations"),
            hit("Phase 5 is about RAG. The milestone project of phase 4 is a similarity search."),
        ];
        let a = ExtractiveGenerator::default()
            .answer("What do I build in phase 4?", &hits, &mut |_| true)
            .unwrap();
        assert!(
            a.text.starts_with("The milestone project of phase 4"),
            "{}",
            a.text
        );
        assert_eq!(a.cited, [2]);
    }

    #[test]
    fn uncited_answers_are_attributed_by_word_overlap() {
        let hits = [
            hit("Bananas are yellow and grow in bunches."),
            hit("The Eiffel Tower was completed in 1889 for the World's Fair."),
            hit("The tower is made of wrought iron."),
        ];
        assert_eq!(attribute("It was completed in 1889.", &hits), [2]);
        assert_eq!(
            attribute("The wrought iron tower was completed in 1889.", &hits),
            [2, 3]
        );
        assert!(attribute("I do not know.", &hits).is_empty());
        assert!(attribute("Zebras run fast.", &hits).is_empty());
        assert!(attribute("It is.", &hits).is_empty());
    }

    #[test]
    fn says_it_does_not_know_without_overlap() {
        let hits = [hit("Bananas are yellow.")];
        let a = ExtractiveGenerator::default()
            .answer("Who wrote Hamlet?", &hits, &mut |_| true)
            .unwrap();
        assert_eq!(a.text, NO_ANSWER);
        assert!(a.cited.is_empty());
        let a = ExtractiveGenerator::default()
            .answer("Who wrote Hamlet?", &[], &mut |_| true)
            .unwrap();
        assert_eq!(a.text, NO_ANSWER);
    }

    #[test]
    fn citation_numbers_are_parsed_and_bounded() {
        assert_eq!(cited_numbers("a [2] b [1][2] c [9] [x] [", 3), vec![1, 2]);
        assert_eq!(cited_numbers("none", 3), Vec::<usize>::new());
    }

    #[test]
    fn questions_are_validated() {
        assert!(matches!(
            validate_question("  \n"),
            Err(GenerateError::EmptyQuestion)
        ));
        let long = "why ".repeat(5_000);
        assert!(matches!(
            validate_question(&long),
            Err(GenerateError::QuestionTooLong { chars: 19_999, .. })
        ));
        assert_eq!(validate_question(" What? ").unwrap(), "What?");
    }
}
