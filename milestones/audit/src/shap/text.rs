//! Token-level explanations of a text classifier: which words pushed the
//! sentiment score up or down.
//!
//! The players are the text's tokens (Unicode word-boundary segments, UAX #29,
//! from `unicode-segmentation`; whitespace is not a player and is always
//! kept). A coalition keeps its tokens and *masks* the others by deleting
//! them, so the empty coalition is the empty text — the model's prior — and
//! the game is `v(S) = logit P(positive | text with only S's tokens)`. This is
//! shap's `Text` masker idea with deletion as the mask (the TF-IDF network
//! has no mask token: an absent word is simply not counted).
//!
//! Up to [`TextShapOptions::exact_max_tokens`] tokens the Shapley values are
//! exact ([`super::exact`], 2^n texts scored in one batch); longer texts use
//! KernelSHAP ([`super::kernel`]) with the same game.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use unicode_segmentation::UnicodeSegmentation;

use super::exact::{shapley_from_values, MAX_EXACT_PLAYERS};
use super::kernel::{kernel_shap_game, Coalitions, KernelOptions};
use super::Link;
use crate::error::{AuditError, Result};

/// A text classifier: `P(positive)` for each text. It must accept the empty
/// text (every token masked).
pub trait TextModel: Sync {
    fn scores(&self, texts: &[&str]) -> Result<Vec<f64>>;
}

impl TextModel for roadmap_sentiment::SentimentModel {
    /// The phase-2 network's `P(positive)`, without the input checks of
    /// `predict_batch` (which refuses the empty text the masking produces).
    fn scores(&self, texts: &[&str]) -> Result<Vec<f64>> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let x = self
            .featurize(texts)
            .map_err(|e| AuditError::TextModel(e.to_string()))?;
        Ok(self
            .mlp()
            .predict_proba(&x)
            .into_iter()
            .map(f64::from)
            .collect())
    }
}

/// One segment of the text and its SHAP value (0 for whitespace).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Token {
    pub text: String,
    /// Whether the segment is a player (not whitespace).
    pub player: bool,
    pub shap: f64,
}

/// The explanation of one text, in log-odds of the positive class.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TextExplanation {
    pub text: String,
    pub tokens: Vec<Token>,
    /// `logit P(positive | "")`.
    pub base_value: f64,
    /// `logit P(positive | text)`.
    pub output: f64,
    /// `exact` or `kernel`.
    pub method: String,
    /// Model calls made (texts scored).
    pub evaluations: usize,
}

impl TextExplanation {
    /// `|base + Σ SHAP − output|`.
    pub fn additivity_error(&self) -> f64 {
        (self.base_value + self.tokens.iter().map(|t| t.shap).sum::<f64>() - self.output).abs()
    }
}

/// Settings of [`explain_text`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TextShapOptions {
    /// Texts with at most this many tokens get exact Shapley values (≤ 15).
    pub exact_max_tokens: usize,
    pub kernel: KernelOptions,
}

impl Default for TextShapOptions {
    fn default() -> Self {
        TextShapOptions {
            exact_max_tokens: 10,
            kernel: KernelOptions::default(),
        }
    }
}

struct TextGame<'a> {
    model: &'a dyn TextModel,
    segments: &'a [&'a str],
    players: &'a [usize],
}

impl TextGame<'_> {
    fn masked(&self, mask: &[bool]) -> String {
        let mut out = String::new();
        let mut p = 0;
        for (i, s) in self.segments.iter().enumerate() {
            if self.players.get(p) == Some(&i) {
                if mask[p] {
                    out.push_str(s);
                }
                p += 1;
            } else {
                out.push_str(s);
            }
        }
        out
    }
}

impl Coalitions for TextGame<'_> {
    fn n_players(&self) -> usize {
        self.players.len()
    }
    fn evaluate(&self, masks: &[Vec<bool>]) -> Result<Vec<f64>> {
        let texts: Vec<String> = masks.iter().map(|m| self.masked(m)).collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let out = self.model.scores(&refs)?;
        super::kernel::check_outputs(&out, Link::Logit)?;
        Ok(out)
    }
}

/// SHAP values of each token of `text` for `model`'s positive class.
pub fn explain_text(
    model: &dyn TextModel,
    text: &str,
    opts: &TextShapOptions,
) -> Result<TextExplanation> {
    if text.trim().is_empty() {
        return Err(AuditError::BadParameter {
            what: "the text to explain",
            expected: "at least one token",
            got: format!("{text:?}"),
        });
    }
    if opts.exact_max_tokens > MAX_EXACT_PLAYERS {
        return Err(AuditError::TooManyPlayers {
            n: opts.exact_max_tokens,
            max: MAX_EXACT_PLAYERS,
        });
    }
    let segments: Vec<&str> = text.split_word_bounds().collect();
    let players: Vec<usize> = (0..segments.len())
        .filter(|&i| !segments[i].trim().is_empty())
        .collect();
    let game = TextGame {
        model,
        segments: &segments,
        players: &players,
    };
    let m = players.len();
    let ends = game.evaluate(&[vec![false; m], vec![true; m]])?;
    let (fnull, fx) = (ends[0], ends[1]);
    let (values, method, evaluations) = if m <= opts.exact_max_tokens {
        let masks: Vec<Vec<bool>> = (0..1usize << m)
            .map(|s| (0..m).map(|j| s >> j & 1 == 1).collect())
            .collect();
        let v: Vec<f64> = game
            .evaluate(&masks)?
            .into_iter()
            .map(|p| Link::Logit.apply(p))
            .collect();
        (shapley_from_values(m, &v), "exact", masks.len() + 2)
    } else {
        let mut rng = ChaCha8Rng::seed_from_u64(opts.kernel.seed);
        let vals = kernel_shap_game(&game, fx, fnull, Link::Logit, &opts.kernel, &mut rng)?;
        let budget = match opts.kernel.nsamples {
            super::kernel::NSamples::Auto => 2 * m + 2048,
            super::kernel::NSamples::Fixed(n) => n,
        };
        (vals, "kernel", budget + 2)
    };
    let mut shap = vec![0.0; segments.len()];
    for (p, &i) in players.iter().enumerate() {
        shap[i] = values[p];
    }
    Ok(TextExplanation {
        text: text.to_string(),
        tokens: segments
            .iter()
            .zip(shap)
            .enumerate()
            .map(|(i, (s, v))| Token {
                text: s.to_string(),
                player: players.binary_search(&i).is_ok(),
                shap: v,
            })
            .collect(),
        base_value: Link::Logit.apply(fnull),
        output: Link::Logit.apply(fx),
        method: method.into(),
        evaluations,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A lexicon model: log-odds = Σ word weights (good +2, bad −2, not −1).
    pub struct Lexicon;
    impl TextModel for Lexicon {
        fn scores(&self, texts: &[&str]) -> Result<Vec<f64>> {
            Ok(texts
                .iter()
                .map(|t| {
                    let z: f64 = t
                        .split_whitespace()
                        .map(|w| {
                            match w
                                .trim_matches(|c: char| !c.is_alphanumeric())
                                .to_lowercase()
                                .as_str()
                            {
                                "good" | "great" => 2.0,
                                "bad" | "dull" => -2.0,
                                "not" => -1.0,
                                _ => 0.0,
                            }
                        })
                        .sum();
                    1.0 / (1.0 + (-z).exp())
                })
                .collect())
        }
    }

    #[test]
    fn additive_lexicon_gets_its_weights_back() {
        let e = explain_text(
            &Lexicon,
            "A good, not bad film.",
            &TextShapOptions::default(),
        )
        .unwrap();
        let by_word: Vec<(&str, f64)> = e
            .tokens
            .iter()
            .filter(|t| t.player)
            .map(|t| (t.text.as_str(), t.shap))
            .collect();
        let find = |w: &str| by_word.iter().find(|(t, _)| *t == w).unwrap().1;
        assert!((find("good") - 2.0).abs() < 1e-9);
        assert!((find("bad") + 2.0).abs() < 1e-9);
        assert!((find("not") + 1.0).abs() < 1e-9);
        assert!(find("film").abs() < 1e-9 && find(",").abs() < 1e-9);
        assert_eq!(e.method, "exact");
        assert!(e.additivity_error() < 1e-9);
        let joined: String = e.tokens.iter().map(|t| t.text.as_str()).collect();
        assert_eq!(joined, "A good, not bad film.");
    }

    #[test]
    fn long_texts_use_kernel_shap_and_stay_additive() {
        let text = "good ".repeat(8) + &"bad ".repeat(6) + "film";
        let e = explain_text(&Lexicon, &text, &TextShapOptions::default()).unwrap();
        assert_eq!(e.method, "kernel");
        assert!(e.additivity_error() < 1e-9);
        assert!(explain_text(&Lexicon, "  ", &TextShapOptions::default()).is_err());
    }
}
