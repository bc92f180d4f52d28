//! The 40 reference sentences and their sentence-transformers vectors, built in.
//!
//! `data/embeddings_reference/` holds 40 sentences (one longer than the
//! 256-token limit, several not English, one with surrounding spaces) and the
//! vectors sentence-transformers 6.2.0 computed for them with the same model
//! files. They are compiled into the crate so every run can check its own
//! fidelity: [`min_cosine`] embeds them and returns the worst row's cosine
//! similarity to sentence-transformers' vector.

use crate::embedder::{cosine, Embedder};
use crate::error::EmbedError;

const SENTENCES: &str = include_str!("../../../data/embeddings_reference/sentences.txt");
const VECTORS: &[u8] = include_bytes!("../../../data/embeddings_reference/embeddings.f32");
/// Width of the reference vectors.
pub const DIM: usize = 384;

/// The reference sentences, byte for byte (leading/trailing spaces kept).
pub fn sentences() -> Vec<&'static str> {
    SENTENCES.lines().collect()
}

/// The reference vectors, one per sentence.
pub fn vectors() -> Vec<Vec<f32>> {
    decode_f32_rows(VECTORS, DIM)
}

/// Decodes little-endian float32 rows.
pub fn decode_f32_rows(bytes: &[u8], dim: usize) -> Vec<Vec<f32>> {
    bytes
        .chunks_exact(4 * dim)
        .map(|row| {
            row.chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect()
        })
        .collect()
}

/// Embeds the reference sentences and returns each row's cosine similarity to
/// sentence-transformers' vector.
pub fn cosines(embedder: &Embedder) -> Result<Vec<f32>, EmbedError> {
    let got = embedder.embed(&sentences())?;
    Ok(got
        .iter()
        .zip(vectors())
        .map(|(a, b)| cosine(a, &b))
        .collect())
}

/// The smallest of [`cosines`].
pub fn min_cosine(embedder: &Embedder) -> Result<f32, EmbedError> {
    Ok(cosines(embedder)?.into_iter().fold(f32::INFINITY, f32::min))
}

#[cfg(test)]
mod tests {
    #[test]
    fn fixture_shape() {
        let s = super::sentences();
        let v = super::vectors();
        assert_eq!(s.len(), 40);
        assert_eq!(v.len(), 40);
        assert_eq!(super::VECTORS.len(), 40 * 384 * 4);
        for row in v {
            let n: f32 = row.iter().map(|x| x * x).sum();
            assert!((n - 1.0).abs() < 1e-4);
        }
    }
}
