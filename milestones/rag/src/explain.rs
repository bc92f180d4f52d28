//! Explaining an answer by its passages: exact Shapley values over passage
//! subsets (`roadmap rag ask --explain`, the service's `explain: true`).
//!
//! Citations say which passages a generator *pointed at*; this says how much
//! of the answer each retrieved passage *supports*, splitting fairly what
//! several passages support together. None of the Python anchors has it.
//! The enumeration is `roadmap-audit`'s exact Shapley (every one of the 2^k
//! coalitions, k ≤ [`MAX_EXPLAINED_PASSAGES`]); the game is defined here.

use std::collections::HashSet;

use roadmap_audit::shap::exact::{exact_shapley, Shapley};

use crate::error::{RagError, Result};
use crate::generate::{words, STOPWORDS};
use crate::store::Hit;

/// Passages an explanation enumerates at most: 2^6 = 64 coalitions.
pub const MAX_EXPLAINED_PASSAGES: usize = 6;

/// Exact Shapley values of the [`SupportGame`] of `answer` over `hits`
/// (best first; value i belongs to passage `[i + 1]`).
pub fn explain_answer(answer: &str, hits: &[Hit]) -> Result<Shapley> {
    if hits.len() > MAX_EXPLAINED_PASSAGES {
        return Err(RagError::Invalid(format!(
            "an explanation enumerates every subset of the retrieved passages, so it takes at most {MAX_EXPLAINED_PASSAGES} passages (got {}): ask for fewer (k)",
            hits.len()
        )));
    }
    let texts: Vec<&str> = hits.iter().map(|h| h.text.as_str()).collect();
    let game = SupportGame::new(answer, &texts);
    exact_shapley(game.players(), |members| {
        Ok::<f64, std::convert::Infallible>(game.value(members))
    })
    .map_err(|e| RagError::Invalid(e.to_string()))
}

/// The answer-support game over retrieved passages, for explaining an answer
/// by exact Shapley values over passage subsets (`roadmap rag ask --explain`).
///
/// Players are the passages; the value of a coalition S is the share of the
/// answer's content words (lowercased word tokens, [`STOPWORDS`] left out, each
/// distinct word once) that occur in at least one passage of S:
///
/// ```text
/// v(S) = |{ w ∈ W : ∃ p ∈ S, w ∈ words(p) }| / |W|,   v(∅) = 0
/// ```
///
/// the same evidence [`attribute`](crate::generate::attribute) uses, made additive: a passage's Shapley
/// value is its average marginal contribution of answer words over every
/// order in which passages could be added, so words found in two passages
/// are split between them and a passage with none of the answer's words gets
/// exactly 0. An answer with no content words has v ≡ 0.
#[derive(Debug, Clone)]
pub struct SupportGame {
    /// Per content word: bit i set when passage i contains it.
    covers: Vec<u64>,
    passages: usize,
}

impl SupportGame {
    /// The largest number of passages (one bit each).
    pub const MAX_PASSAGES: usize = 64;

    /// The game of `answer` over `passages` (at most [`Self::MAX_PASSAGES`]).
    pub fn new(answer: &str, passages: &[&str]) -> SupportGame {
        assert!(passages.len() <= Self::MAX_PASSAGES, "one bit per passage");
        let content: HashSet<String> = words(answer)
            .into_iter()
            .filter(|w| !STOPWORDS.contains(&w.as_str()))
            .collect();
        let sets: Vec<HashSet<String>> = passages
            .iter()
            .map(|p| words(p).into_iter().collect())
            .collect();
        let covers = content
            .iter()
            .map(|w| {
                sets.iter()
                    .enumerate()
                    .filter(|(_, set)| set.contains(w))
                    .fold(0u64, |m, (i, _)| m | 1 << i)
            })
            .collect();
        SupportGame {
            covers,
            passages: passages.len(),
        }
    }

    /// Number of players (passages).
    pub fn players(&self) -> usize {
        self.passages
    }

    /// v(S) for the passages `members` (0-based indices).
    pub fn value(&self, members: &[usize]) -> f64 {
        if self.covers.is_empty() {
            return 0.0;
        }
        let s = members.iter().fold(0u64, |m, &i| m | 1 << i);
        self.covers.iter().filter(|&&c| c & s != 0).count() as f64 / self.covers.len() as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coverage_values_by_hand() {
        // Content words of the answer: alpha, beta, gamma, delta ("the" is a stop word).
        let g = SupportGame::new(
            "the alpha beta gamma delta",
            &["alpha beta here", "beta gamma there", "nothing relevant"],
        );
        assert_eq!(g.players(), 3);
        assert_eq!(g.value(&[]), 0.0);
        assert_eq!(g.value(&[0]), 0.5);
        assert_eq!(g.value(&[1]), 0.5);
        assert_eq!(g.value(&[0, 1]), 0.75);
        assert_eq!(g.value(&[2]), 0.0);
        assert_eq!(g.value(&[0, 1, 2]), 0.75);
        assert_eq!(SupportGame::new("the of", &["the of"]).value(&[0]), 0.0);
    }

    #[test]
    fn shapley_of_the_coverage_game_by_hand() {
        // v({1}) = v({2}) = 1/2, v({1,2}) = 3/4: each of the two passages gets
        // ½·½ + ½·(¾ − ½) = 3/8; the passage with none of the words gets 0.
        let hits: Vec<Hit> = ["alpha beta here", "beta gamma there", "nothing relevant"]
            .iter()
            .enumerate()
            .map(|(i, t)| Hit {
                chunk_id: i as i64,
                score: 1.0,
                source: format!("p{i}"),
                start: 0,
                end: t.len(),
                line_start: 1,
                line_end: 1,
                heading: Vec::new(),
                text: t.to_string(),
            })
            .collect();
        let e = explain_answer("the alpha beta gamma delta", &hits).unwrap();
        assert_eq!(e.coalitions, 8);
        for (got, want) in e.values.iter().zip([0.375, 0.375, 0.0]) {
            assert!((got - want).abs() < 1e-15, "{:?}", e.values);
        }
        assert!(e.additivity_error() < 1e-15);
        assert!(explain_answer("x", &vec![hits[0].clone(); 7]).is_err());
    }
}
