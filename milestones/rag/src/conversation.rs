//! Conversation memory for `roadmap rag chat`.
//!
//! A follow-up question leans on what was said before: after "Who designed the
//! Eiffel Tower?", the question "when was it finished?" retrieves nothing useful
//! on its own — "it" matches every passage and none. Two remedies, both used:
//!
//! 1. **Standalone rewriting for retrieval.** A question that looks like a
//!    follow-up (it has a pronoun or demonstrative pointing back, starts like
//!    "and …" / "what about …", or has at most one content word) gets the content
//!    words of the previous *standalone* question appended: "when was it finished?
//!    eiffel tower designed". Retrieval (dense and BM25 alike) then sees the
//!    topic; chains of follow-ups keep it because each rewrite builds on the last.
//!    A question that stands on its own is left untouched, so changing the topic
//!    works. This is the keyword form of what LangChain's
//!    "condense question" chain asks an LLM to do — without an LLM, so it also
//!    serves the extractive generator and costs no tokens.
//! 2. **Recent turns in the prompt.** LLM generators get the earlier exchanges as
//!    ChatML turns before the question, the most recent first within half of the
//!    context budget ([`roadmap_llm::grounded_conversation`]).

use roadmap_llm::ChatMessage;

use crate::generate::{words, STOPWORDS};

/// Words that point back to something said earlier.
const ANAPHORA: &[&str] = &[
    "it", "its", "they", "them", "their", "theirs", "this", "that", "these", "those", "he", "him",
    "his", "she", "her", "hers", "there", "then", "same", "former", "latter",
];

/// Openings that continue the previous question ("and the second one?", "what about phase 3?").
const CONTINUATIONS: &[&[&str]] = &[
    &["and"],
    &["also"],
    &["what", "about"],
    &["how", "about"],
    &["what", "else"],
];

/// Interrogatives and fillers that carry no topic (beyond [`STOPWORDS`]).
const NON_TOPIC: &[&str] = &[
    "can", "could", "would", "should", "will", "shall", "may", "might", "must", "i", "me", "my",
    "you", "your", "we", "our", "about", "else", "tell", "more", "please", "also", "so", "than",
    "then", "there", "not", "no", "yes", "any", "some", "much", "many", "one", "ones",
];

/// One answered turn.
#[derive(Clone, Debug)]
pub struct Turn {
    pub question: String,
    /// What was sent to retrieval for this turn.
    pub standalone: String,
    pub answer: String,
}

/// The turns of one chat, oldest first.
#[derive(Clone, Debug, Default)]
pub struct Conversation {
    turns: Vec<Turn>,
}

/// Content words of `text`: lowercased, without stop words, pronouns and fillers.
fn topic_words(text: &str) -> Vec<String> {
    words(text)
        .into_iter()
        .filter(|w| {
            !STOPWORDS.contains(&w.as_str())
                && !ANAPHORA.contains(&w.as_str())
                && !NON_TOPIC.contains(&w.as_str())
        })
        .collect()
}

/// Whether `question` needs the earlier turns to be understood.
pub fn is_followup(question: &str) -> bool {
    let ws = words(question);
    let refers_back = ws.iter().any(|w| ANAPHORA.contains(&w.as_str()));
    let continues = CONTINUATIONS
        .iter()
        .any(|open| ws.len() >= open.len() && ws.iter().zip(open.iter()).all(|(w, o)| w == o));
    refers_back || continues || topic_words(question).len() <= 1
}

impl Conversation {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn turns(&self) -> &[Turn] {
        &self.turns
    }

    /// Forgets everything (`/reset`).
    pub fn reset(&mut self) {
        self.turns.clear();
    }

    /// `question` made to stand on its own for retrieval: unchanged when it
    /// already does (or nothing was said yet), else followed by the topic words
    /// of the previous standalone question that it does not already contain.
    pub fn standalone(&self, question: &str) -> String {
        let Some(prev) = self.turns.last() else {
            return question.to_string();
        };
        if !is_followup(question) {
            return question.to_string();
        }
        let mut have = topic_words(question);
        // "and phase 5?" after "phase 4": the new number replaces the old one, not joins it.
        let has_number = |ws: &[String]| ws.iter().any(|w| w.chars().all(|c| c.is_numeric()));
        let replaces_numbers = has_number(&have);
        let mut extra = Vec::new();
        for w in topic_words(&prev.standalone) {
            if replaces_numbers && has_number(std::slice::from_ref(&w)) {
                continue;
            }
            if !have.contains(&w) {
                have.push(w.clone());
                extra.push(w);
            }
        }
        if extra.is_empty() {
            question.to_string()
        } else {
            format!("{} {}", question.trim(), extra.join(" "))
        }
    }

    /// Records an answered turn.
    pub fn push(&mut self, question: &str, standalone: &str, answer: &str) {
        self.turns.push(Turn {
            question: question.to_string(),
            standalone: standalone.to_string(),
            answer: answer.to_string(),
        });
    }

    /// The last `max_turns` exchanges as chat messages (user, assistant, …), oldest first.
    pub fn history(&self, max_turns: usize) -> Vec<ChatMessage> {
        let from = self.turns.len().saturating_sub(max_turns);
        self.turns[from..]
            .iter()
            .flat_map(|t| {
                [
                    ChatMessage::user(t.question.clone()),
                    ChatMessage::assistant(t.answer.clone()),
                ]
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn followups_are_recognised() {
        assert!(is_followup("When was it finished?"));
        assert!(is_followup("and phase 3?"));
        assert!(is_followup("What about the second one?"));
        assert!(is_followup("Why?"));
        assert!(!is_followup("Who designed the Eiffel Tower?"));
        assert!(!is_followup("What do I build in phase 4?"));
    }

    #[test]
    fn followups_borrow_the_previous_topic_and_chains_keep_it() {
        let mut c = Conversation::new();
        let q1 = "Who designed the Eiffel Tower?";
        assert_eq!(c.standalone(q1), q1, "nothing to borrow from yet");
        c.push(q1, &c.standalone(q1), "Gustave Eiffel's company [1].");
        let q2 = "When was it finished?";
        let s2 = c.standalone(q2);
        assert_eq!(s2, "When was it finished? designed eiffel tower");
        c.push(q2, &s2, "In 1889 [2].");
        // A second follow-up still carries the topic, without repeating words.
        let s3 = c.standalone("And how tall is it?");
        assert_eq!(s3, "And how tall is it? finished designed eiffel tower");
        // A follow-up naming another number drops the old one.
        let mut p = Conversation::new();
        p.push(
            "What do I build in phase 4?",
            "What do I build in phase 4?",
            "…",
        );
        assert_eq!(
            p.standalone("and what about phase 5?"),
            "and what about phase 5? build"
        );
        // A question on a new topic stands alone.
        let q4 = "What is the capital of Peru?";
        assert_eq!(c.standalone(q4), q4);
    }

    #[test]
    fn history_alternates_and_keeps_the_latest_turns() {
        let mut c = Conversation::new();
        c.push("q1", "q1", "a1");
        c.push("q2", "q2", "a2");
        c.push("q3", "q3", "a3");
        let h = c.history(2);
        let texts: Vec<&str> = h.iter().map(|m| m.content.as_str()).collect();
        assert_eq!(texts, ["q2", "a2", "q3", "a3"]);
        assert_eq!(h[0].role, roadmap_llm::Role::User);
        c.reset();
        assert!(c.history(5).is_empty());
        assert_eq!(c.standalone("and it?"), "and it?");
    }
}
