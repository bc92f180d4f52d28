//! Tokenisation with the `tokenizers` crate: a word-level vocabulary learned
//! from the training split only.
//!
//! * Normaliser: Unicode NFD, strip accents, lowercase — "Château" and
//!   "chateau" become one token.
//! * Pre-tokeniser: `Whitespace` (`\w+|[^\w\s]+`), so words and runs of
//!   punctuation ("!", "...", "''") are separate tokens; "don't" becomes
//!   `don ' t`, which the bigram features can still see.
//! * Model: `WordLevel`, trained by `WordLevelTrainer`: every pre-token seen at
//!   least `min_frequency` times in the training texts, most frequent first;
//!   everything else maps to `[UNK]` (id 0).
//!
//! Learning the vocabulary on the training split alone keeps the test split
//! honest: a word seen only in test data has no weight to look up.

use tokenizers::models::wordlevel::{WordLevel, WordLevelTrainer};
use tokenizers::models::TrainerWrapper;
use tokenizers::normalizers::{Lowercase, Sequence, StripAccents, NFD};
use tokenizers::pre_tokenizers::whitespace::Whitespace;
use tokenizers::{AddedToken, Tokenizer};

use crate::Error;

/// The unknown-word token; always id 0.
pub const UNK: &str = "[UNK]";

/// Trains the tokenizer on `texts` (the training split).
pub fn train_tokenizer(
    texts: &[&str],
    min_frequency: u64,
    max_vocab: usize,
) -> Result<Tokenizer, Error> {
    let model = WordLevel::builder()
        .unk_token(UNK.to_string())
        .build()
        .map_err(Error::tokenizer)?;
    let mut tokenizer = Tokenizer::new(model);
    tokenizer
        .with_normalizer(Some(Sequence::new(vec![
            NFD.into(),
            StripAccents.into(),
            Lowercase.into(),
        ])))
        .map_err(Error::tokenizer)?;
    tokenizer.with_pre_tokenizer(Some(Whitespace {}));
    let trainer = WordLevelTrainer::builder()
        .min_frequency(min_frequency)
        .vocab_size(max_vocab)
        .show_progress(false)
        .special_tokens(vec![AddedToken::from(UNK, true)])
        .build()
        .map_err(Error::tokenizer)?;
    let mut trainer = TrainerWrapper::from(trainer);
    tokenizer
        .train(&mut trainer, texts.iter())
        .map_err(Error::tokenizer)?;
    if tokenizer.token_to_id(UNK) != Some(0) {
        return Err(Error::Tokenizer(format!("{UNK} must have id 0")));
    }
    Ok(tokenizer)
}

/// Token ids of each text (no special tokens added), in parallel.
pub fn encode_ids(tokenizer: &Tokenizer, texts: &[&str]) -> Result<Vec<Vec<u32>>, Error> {
    let encodings = tokenizer
        .encode_batch_fast(texts.to_vec(), false)
        .map_err(Error::tokenizer)?;
    Ok(encodings
        .into_iter()
        .map(|e| e.get_ids().to_vec())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trains_on_given_texts_only_and_normalises() {
        let texts = [
            "A Château, a château!",
            "the film is good",
            "the film is bad bad bad",
        ];
        let tok = train_tokenizer(&texts, 2, 1000).unwrap();
        // bad: 3; the, film, is, a, chateau: 2; good, ",", "!": 1.
        assert!(tok.token_to_id("chateau").is_some());
        assert!(tok.token_to_id("good").is_none());
        assert_eq!(
            tok.token_to_id("bad"),
            Some(1),
            "most frequent first, ties alphabetical"
        );
        let ids = encode_ids(&tok, &["CHÂTEAU good"]).unwrap();
        assert_eq!(ids[0], vec![tok.token_to_id("chateau").unwrap(), 0]);
    }

    #[test]
    fn round_trips_through_json() {
        let tok = train_tokenizer(&["x y x y"], 1, 100).unwrap();
        let json = tok.to_string(false).unwrap();
        let back = Tokenizer::from_bytes(json.as_bytes()).unwrap();
        assert_eq!(
            encode_ids(&back, &["y x z"]).unwrap(),
            encode_ids(&tok, &["y x z"]).unwrap()
        );
    }
}
