//! The embedding boundary: a small trait the whole pipeline is written against.
//!
//! Chunking needs to count tokens the way the model does (a chunk must fit the
//! model's window), storage needs the model's identity and dimension (a
//! collection never mixes two models), and retrieval needs vectors. Keeping
//! those four needs in one trait lets every stage be tested with a
//! deterministic embedder and run with the real sentence-embedding model.
//!
//! [`HashEmbedder`] is that deterministic embedder: a feature-hashed bag of
//! words. It is a genuine (lexical) retrieval baseline, not a stand-in for the
//! numbers of the real model: results are always labelled with the model id.

use sha2::{Digest, Sha256};
use unicode_segmentation::UnicodeSegmentation;

use crate::error::Result;

/// What the knowledge base needs from an embedding model.
pub trait TextEmbedder {
    /// One L2-normalised vector per text, in order.
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>>;
    /// Length of every vector.
    fn dim(&self) -> usize;
    /// A stable identity of the model (recorded per collection).
    fn model_id(&self) -> String;
    /// How many model tokens `text` costs (without special tokens).
    fn count_tokens(&self, text: &str) -> usize;
    /// The largest number of tokens the model reads at once; chunks are budgeted below it.
    fn max_tokens(&self) -> usize {
        256
    }
}

/// Feature hashing of lower-cased words into `dim` buckets, then L2 normalisation.
///
/// For a text with word counts `c_w`, component `j` is
/// `v_j = Σ_{w : h(w) mod dim = j} s(w) · (1 + ln c_w)` where `h` is SHA-256 of
/// the word and `s(w) = ±1` a sign bit from the same hash (the sign halves the
/// bias that collisions add to dot products). The vector is divided by its
/// Euclidean norm so that the dot product of two vectors is their cosine.
#[derive(Debug, Clone)]
pub struct HashEmbedder {
    dim: usize,
}

impl HashEmbedder {
    pub fn new(dim: usize) -> Self {
        assert!(dim > 0, "dimension must be positive");
        Self { dim }
    }

    fn bucket(&self, word: &str) -> (usize, f32) {
        let digest = Sha256::digest(word.as_bytes());
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        let h = u64::from_le_bytes(first);
        let sign = if digest[8] & 1 == 0 { 1.0 } else { -1.0 };
        ((h % self.dim as u64) as usize, sign)
    }
}

impl Default for HashEmbedder {
    fn default() -> Self {
        Self::new(384)
    }
}

impl TextEmbedder for HashEmbedder {
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        Ok(texts
            .iter()
            .map(|text| {
                let mut counts: std::collections::HashMap<String, u32> = Default::default();
                for w in text.unicode_words() {
                    *counts.entry(w.to_lowercase()).or_default() += 1;
                }
                let mut v = vec![0f32; self.dim];
                for (w, c) in counts {
                    let (j, s) = self.bucket(&w);
                    v[j] += s * (1.0 + (c as f32).ln());
                }
                normalize(&mut v);
                v
            })
            .collect())
    }

    fn dim(&self) -> usize {
        self.dim
    }

    fn model_id(&self) -> String {
        format!("hash-bow-{}", self.dim)
    }

    /// One token per word and per punctuation mark: close to a WordPiece count
    /// for plain English.
    fn count_tokens(&self, text: &str) -> usize {
        text.split_word_bounds()
            .filter(|w| !w.trim().is_empty())
            .count()
    }
}

/// Divides `v` by its Euclidean norm (leaves an all-zero vector alone).
pub fn normalize(v: &mut [f32]) {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if n > 0.0 {
        v.iter_mut().for_each(|x| *x /= n);
    }
}
