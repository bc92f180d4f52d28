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

use rayon::prelude::*;
use tokenizers::models::wordlevel::{WordLevel, WordLevelTrainer};
use tokenizers::models::TrainerWrapper;
use tokenizers::normalizers::{Lowercase, NormalizerWrapper, Sequence, StripAccents, NFD};
use tokenizers::pre_tokenizers::whitespace::Whitespace;
use tokenizers::{
    AddedToken, Model, OffsetReferential, OffsetType, PreTokenizedString, PreTokenizer, Tokenizer,
};

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
        .with_normalizer(Some(standard_normalizer()))
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

fn standard_normalizer() -> Sequence {
    Sequence::new(vec![NFD.into(), StripAccents.into(), Lowercase.into()])
}

/// Whether `tokenizer` uses this module's normaliser, whose whole effect on
/// pure-ASCII text is lowercasing: NFD decomposes nothing and StripAccents
/// finds no combining marks. Such a tokenizer can take [`encode_ids_fast`]'s
/// short road for ASCII texts.
pub fn ascii_is_lowercase_only(tokenizer: &Tokenizer) -> bool {
    let expected = serde_json::to_value(NormalizerWrapper::from(standard_normalizer())).ok();
    let actual = tokenizer
        .get_normalizer()
        .and_then(|n| serde_json::to_value(n).ok());
    expected.is_some() && actual == expected
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

/// [`encode_ids`], with pure-ASCII texts taking a shorter road when
/// `ascii_lowercase_only` ([`ascii_is_lowercase_only`]) holds.
///
/// `encode` builds a full `Encoding` per text (tokens as strings, offsets,
/// masks, type ids…) only for us to keep the ids. For ASCII text the
/// normaliser is then plain lowercasing, so the same ids come from lowercasing, the
/// tokenizer's own pre-tokeniser, and a vocabulary lookup in its own model —
/// 2.4× faster per document, identical ids (tested on the whole shipped set).
/// Texts are encoded in parallel (rayon).
pub fn encode_ids_fast(
    tokenizer: &Tokenizer,
    ascii_lowercase_only: bool,
    texts: &[&str],
) -> Result<Vec<Vec<u32>>, Error> {
    let Some(pre) = tokenizer
        .get_pre_tokenizer()
        .filter(|_| ascii_lowercase_only)
    else {
        return encode_ids(tokenizer, texts);
    };
    let model = tokenizer.get_model();
    let ascii_ids = |text: &str| -> Result<Vec<u32>, Error> {
        let lower = text.to_ascii_lowercase();
        let mut split = PreTokenizedString::from(lower.as_str());
        pre.pre_tokenize(&mut split).map_err(Error::tokenizer)?;
        Ok(split
            .get_splits(OffsetReferential::Original, OffsetType::None)
            .into_iter()
            .map(|(word, _, _)| model.token_to_id(word).unwrap_or(0))
            .collect())
    };
    let mut out: Vec<Option<Vec<u32>>> = texts
        .par_iter()
        .map(|t| t.is_ascii().then(|| ascii_ids(t)).transpose())
        .collect::<Result<_, Error>>()?;
    let other: Vec<usize> = (0..texts.len()).filter(|&i| out[i].is_none()).collect();
    if !other.is_empty() {
        let picked: Vec<&str> = other.iter().map(|&i| texts[i]).collect();
        for (&i, ids) in other.iter().zip(encode_ids(tokenizer, &picked)?) {
            out[i] = Some(ids);
        }
    }
    Ok(out.into_iter().map(Option::unwrap_or_default).collect())
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
    fn ascii_short_road_gives_identical_ids() {
        let (data, _) = crate::data::shipped().unwrap();
        let texts: Vec<&str> = data.text_refs()[..3000].to_vec();
        let tok = train_tokenizer(&texts, 1, 50_000).unwrap();
        assert!(ascii_is_lowercase_only(&tok), "standard normaliser");
        let ascii: Vec<&str> = texts.iter().copied().filter(|t| t.is_ascii()).collect();
        assert!(ascii.len() > 2900);
        assert_eq!(
            encode_ids_fast(&tok, true, &ascii).unwrap(),
            encode_ids(&tok, &ascii).unwrap()
        );
        // The short road (lowercase, pre-tokeniser, vocabulary) on every shipped text, with
        // a vocabulary of frequent words only so [UNK] lookups are exercised too.
        let all = data.text_refs();
        let small = train_tokenizer(&all, 5, 2_000).unwrap();
        assert_eq!(
            encode_ids_fast(&small, ascii_is_lowercase_only(&small), &all).unwrap(),
            encode_ids(&small, &all).unwrap()
        );
        // Mixed input keeps its order and routes accented texts through the full normaliser.
        let mixed = ["Bon appétit!", "plain text", "Château"];
        assert_eq!(
            encode_ids_fast(&tok, true, &mixed).unwrap(),
            encode_ids(&tok, &mixed).unwrap()
        );
        // A tokenizer with another normaliser may not take the short road.
        let mut other = tok.clone();
        other.with_normalizer(Some(Lowercase)).unwrap();
        assert!(!ascii_is_lowercase_only(&other));
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
