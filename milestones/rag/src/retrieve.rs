//! Retrieval: dense, BM25, their fusion (hybrid), and MMR diversity.
//!
//! Hybrid retrieval asks both retrievers for a pool of candidates (50 each by
//! default) and merges the two lists with one of two [`Fusion`] methods.
//!
//! **Convex combination** (the default; Bruch, Gai & Ingber, 2023, "An Analysis
//! of Fusion Functions for Hybrid Retrieval"): each list's scores are min-max
//! normalised over its pool, `ŝ = (s − min) / (max − min)`, and a candidate
//! scores `α·ŝ_dense + (1 − α)·ŝ_bm25` (0 for a list that did not return it).
//! Unlike rank fusion it keeps *how much* better the first hit is than the
//! next: a BM25 hit that matches every rare word of the question stays far
//! ahead. `α = 0.5` was chosen on SQuAD dev articles that are not in the shipped
//! evaluation set (10 articles, 2,521 questions; `examples/fusion_sweep.rs`):
//! MRR@10 0.869 vs 0.845 for the best weighted RRF and 0.827 for BM25 alone; on
//! another 9 held-out articles and on the shipped set it keeps the lead.
//!
//! **Reciprocal rank fusion** (Cormack, Clarke & Büttcher, 2009) merges ranked
//! lists without looking at their scores, which live on incomparable scales
//! (cosine in [-1, 1] vs unbounded BM25): a document at 1-based rank `r_m(d)` in
//! list `m` gets `RRF(d) = Σ_m 1 / (k + r_m(d))`, with `k = 60`. A large `k`
//! flattens the head so that agreement between the lists matters more than
//! being first in one.
//!
//! **Maximal marginal relevance** (Carbonell & Goldstein, 1998) re-ranks a
//! candidate pool greedily: next = `argmax_d λ·sim(q, d) − (1−λ)·max_{s ∈ S} sim(d, s)`,
//! trading relevance to the query against redundancy with what is already picked.

use std::collections::HashMap;

use crate::embedder::TextEmbedder;
use crate::error::{RagError, Result};
use crate::store::{Hit, VectorStore};

/// The `k` of reciprocal rank fusion.
pub const RRF_K: f64 = 60.0;

/// The dense weight `α` of the convex combination (see the module notes).
pub const CONVEX_ALPHA: f64 = 0.5;

/// How hybrid retrieval merges the dense and BM25 candidate lists.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "method", rename_all = "lowercase")]
pub enum Fusion {
    /// `α·ŝ_dense + (1 − α)·ŝ_bm25` over min-max-normalised scores.
    Convex { alpha: f64 },
    /// `Σ 1/(k + rank)` with equal weights.
    Rrf { k: f64 },
}

impl Default for Fusion {
    fn default() -> Self {
        Fusion::Convex {
            alpha: CONVEX_ALPHA,
        }
    }
}

impl Fusion {
    /// `convex` or `rrf`.
    pub fn method(&self) -> &'static str {
        match self {
            Fusion::Convex { .. } => "convex",
            Fusion::Rrf { .. } => "rrf",
        }
    }

    /// Merges the two scored lists (best first) into one, best first.
    pub fn fuse(&self, dense: &[(i64, f64)], bm25: &[(i64, f64)]) -> Vec<(i64, f64)> {
        match *self {
            Fusion::Convex { alpha } => convex(dense, bm25, alpha),
            Fusion::Rrf { k } => {
                let ids = |l: &[(i64, f64)]| l.iter().map(|h| h.0).collect::<Vec<_>>();
                rrf(&[ids(dense), ids(bm25)], k)
            }
        }
    }
}

impl std::fmt::Display for Fusion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fusion::Convex { alpha } => write!(f, "convex:{alpha}"),
            Fusion::Rrf { k } => write!(f, "rrf:{k}"),
        }
    }
}

impl std::str::FromStr for Fusion {
    type Err = RagError;
    /// `convex`, `convex:ALPHA` (0 ≤ α ≤ 1), `rrf` or `rrf:K` (K > 0).
    fn from_str(s: &str) -> Result<Self> {
        let (method, param) = match s.split_once(':') {
            Some((m, p)) => (m, Some(p)),
            None => (s, None),
        };
        let bad = || {
            RagError::Invalid(format!(
                "unknown fusion `{s}`: use convex, convex:ALPHA (0..=1), rrf or rrf:K (K > 0)"
            ))
        };
        let num = |p: &str| p.trim().parse::<f64>().map_err(|_| bad());
        match (method.trim(), param) {
            ("convex", None) => Ok(Fusion::default()),
            ("convex", Some(p)) => match num(p)? {
                a if (0.0..=1.0).contains(&a) => Ok(Fusion::Convex { alpha: a }),
                _ => Err(bad()),
            },
            ("rrf", None) => Ok(Fusion::Rrf { k: RRF_K }),
            ("rrf", Some(p)) => match num(p)? {
                k if k > 0.0 && k.is_finite() => Ok(Fusion::Rrf { k }),
                _ => Err(bad()),
            },
            _ => Err(bad()),
        }
    }
}

/// Which retriever to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Dense,
    Bm25,
    Hybrid,
}

impl Mode {
    pub const ALL: [Mode; 3] = [Mode::Dense, Mode::Bm25, Mode::Hybrid];

    pub fn as_str(&self) -> &'static str {
        match self {
            Mode::Dense => "dense",
            Mode::Bm25 => "bm25",
            Mode::Hybrid => "hybrid",
        }
    }
}

impl std::str::FromStr for Mode {
    type Err = RagError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "dense" => Ok(Mode::Dense),
            "bm25" => Ok(Mode::Bm25),
            "hybrid" => Ok(Mode::Hybrid),
            _ => Err(RagError::Invalid(format!(
                "unknown mode `{s}`: use dense, bm25 or hybrid"
            ))),
        }
    }
}

/// Search options.
#[derive(Debug, Clone)]
pub struct SearchOptions {
    pub k: usize,
    pub mode: Mode,
    /// MMR re-ranking with this λ (1 = pure relevance).
    pub mmr_lambda: Option<f32>,
    /// Only chunks whose source starts with this.
    pub source_prefix: Option<String>,
    /// How many candidates each retriever contributes to fusion / MMR.
    pub pool: usize,
    /// How hybrid mode merges the two lists.
    pub fusion: Fusion,
}

impl Default for SearchOptions {
    fn default() -> Self {
        Self {
            k: 5,
            mode: Mode::Hybrid,
            mmr_lambda: None,
            source_prefix: None,
            pool: 50,
            fusion: Fusion::default(),
        }
    }
}

/// Fuses ranked lists of ids: `Σ 1/(k + rank)`, best first; ties keep first-seen order.
pub fn rrf(lists: &[Vec<i64>], k: f64) -> Vec<(i64, f64)> {
    weighted_rrf(lists, &vec![1.0; lists.len()], k)
}

/// Weighted reciprocal rank fusion: `RRF(d) = Σ_m w_m / (k + r_m(d))`, best
/// first; ties keep first-seen order. Equal weights give plain RRF.
pub fn weighted_rrf(lists: &[Vec<i64>], weights: &[f64], k: f64) -> Vec<(i64, f64)> {
    let mut acc = Accumulator::default();
    for (list, w) in lists.iter().zip(weights) {
        for (rank0, &id) in list.iter().enumerate() {
            acc.add(id, w / (k + rank0 as f64 + 1.0));
        }
    }
    acc.ranked()
}

/// Convex combination of min-max-normalised scores: `α·ŝ_dense + (1−α)·ŝ_bm25`,
/// with `ŝ = (s − min) / (max − min)` over each candidate pool and 0 for a
/// candidate the other retriever did not return.
pub fn convex(dense: &[(i64, f64)], bm25: &[(i64, f64)], alpha: f64) -> Vec<(i64, f64)> {
    let mut acc = Accumulator::default();
    for (list, w) in [(dense, alpha), (bm25, 1.0 - alpha)] {
        let (lo, hi) = list
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), h| {
                (lo.min(h.1), hi.max(h.1))
            });
        let span = hi - lo;
        for &(id, s) in list {
            acc.add(id, w * if span > 0.0 { (s - lo) / span } else { 1.0 });
        }
    }
    acc.ranked()
}

/// Sums fused scores per id and remembers first-seen order for stable ties.
#[derive(Default)]
struct Accumulator {
    score: HashMap<i64, f64>,
    order: Vec<i64>,
}

impl Accumulator {
    fn add(&mut self, id: i64, s: f64) {
        let order = &mut self.order;
        *self.score.entry(id).or_insert_with(|| {
            order.push(id);
            0.0
        }) += s;
    }

    fn ranked(self) -> Vec<(i64, f64)> {
        let mut fused: Vec<(usize, i64, f64)> = self
            .order
            .iter()
            .enumerate()
            .map(|(i, id)| (i, *id, self.score[id]))
            .collect();
        fused.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)));
        fused.into_iter().map(|(_, id, s)| (id, s)).collect()
    }
}

/// Greedy MMR over `candidates` (relevance to the query `rel`, vectors `vecs`); returns indices.
pub fn mmr(rel: &[f32], vecs: &[Vec<f32>], k: usize, lambda: f32) -> Vec<usize> {
    let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
    let mut picked: Vec<usize> = Vec::new();
    let mut left: Vec<usize> = (0..rel.len()).collect();
    while picked.len() < k && !left.is_empty() {
        let (best_pos, _) = left
            .iter()
            .enumerate()
            .map(|(pos, &i)| {
                let redundancy = picked
                    .iter()
                    .map(|&p| dot(&vecs[i], &vecs[p]))
                    .fold(f32::NEG_INFINITY, f32::max);
                let redundancy = if picked.is_empty() { 0.0 } else { redundancy };
                (pos, lambda * rel[i] - (1.0 - lambda) * redundancy)
            })
            .fold(
                (0, f32::NEG_INFINITY),
                |acc, x| if x.1 > acc.1 { x } else { acc },
            );
        picked.push(left.remove(best_pos));
    }
    picked
}

/// Searches with a query already embedded (`qvec`, needed for dense, hybrid and MMR).
pub fn search_with_vector(
    store: &dyn VectorStore,
    collection: &str,
    query: &str,
    qvec: Option<&[f32]>,
    opts: &SearchOptions,
) -> Result<Vec<Hit>> {
    let prefix = opts.source_prefix.as_deref();
    let want = if opts.mmr_lambda.is_some() {
        opts.pool.max(opts.k)
    } else {
        opts.k
    };
    let need_vec =
        || qvec.ok_or_else(|| RagError::Invalid("dense retrieval needs the query vector".into()));
    let mut scored: Vec<(i64, f64)> = match opts.mode {
        Mode::Dense => store.dense_search(collection, need_vec()?, want, prefix)?,
        Mode::Bm25 => store.bm25_search(collection, query, want, prefix)?,
        Mode::Hybrid => {
            let pool = opts.pool.max(want);
            let dense = store.dense_search(collection, need_vec()?, pool, prefix)?;
            let bm25 = store.bm25_search(collection, query, pool, prefix)?;
            let mut fused = opts.fusion.fuse(&dense, &bm25);
            fused.truncate(want);
            fused
        }
    };
    if let Some(lambda) = opts.mmr_lambda {
        if let Some(q) = qvec {
            let ids: Vec<i64> = scored.iter().map(|h| h.0).collect();
            let vecs = store.vectors(collection, &ids)?;
            let rel: Vec<f32> = vecs
                .iter()
                .map(|v| v.iter().zip(q).map(|(a, b)| a * b).sum())
                .collect();
            let order = mmr(&rel, &vecs, opts.k, lambda);
            scored = order.into_iter().map(|i| scored[i]).collect();
        }
    }
    scored.truncate(opts.k);
    // Only the final k are read back from the store.
    let hits = store.hits(&scored)?;
    Ok(hits)
}

/// Embeds the query when the mode needs it, then searches.
pub fn search(
    store: &dyn VectorStore,
    embedder: &dyn TextEmbedder,
    collection: &str,
    query: &str,
    opts: &SearchOptions,
) -> Result<Vec<Hit>> {
    if query.trim().is_empty() {
        return Err(RagError::Invalid(
            "the query is empty: pass some words to search for".into(),
        ));
    }
    let info = store
        .collection(collection)?
        .ok_or_else(|| RagError::NoCollection(collection.to_string()))?;
    let needs_vec = opts.mode != Mode::Bm25 || opts.mmr_lambda.is_some();
    let qvec = if needs_vec {
        if info.model_id != embedder.model_id() || info.dim != embedder.dim() {
            return Err(RagError::ModelMismatch {
                collection: collection.to_string(),
                stored_model: info.model_id,
                stored_dim: info.dim,
                new_model: embedder.model_id(),
                new_dim: embedder.dim(),
            });
        }
        Some(embedder.embed(&[query])?.remove(0))
    } else {
        None
    };
    search_with_vector(store, collection, query, qvec.as_deref(), opts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rrf_on_hand_made_rankings() {
        // a: ranks 1 and 3 → 1/61 + 1/63; b: 2 and 1 → 1/62 + 1/61; c: 3 only; d: 2 only.
        let fused = rrf(&[vec![1, 2, 3], vec![2, 4, 1]], 60.0);
        let ids: Vec<i64> = fused.iter().map(|f| f.0).collect();
        assert_eq!(ids, [2, 1, 4, 3]);
        assert!((fused[0].1 - (1.0 / 62.0 + 1.0 / 61.0)).abs() < 1e-12);
        assert!((fused[1].1 - (1.0 / 61.0 + 1.0 / 63.0)).abs() < 1e-12);
        assert!((fused[2].1 - 1.0 / 62.0).abs() < 1e-12);
        assert!((fused[3].1 - 1.0 / 63.0).abs() < 1e-12);
        // One list: fusion keeps its order.
        let one = rrf(&[vec![9, 8, 7]], 60.0);
        assert_eq!(one.iter().map(|f| f.0).collect::<Vec<_>>(), [9, 8, 7]);
        // Agreement beats a single first place: x is 2nd in both lists, y 1st in one.
        let agree = rrf(&[vec![7, 5], vec![6, 5]], 60.0);
        assert_eq!(agree[0].0, 5);
    }

    #[test]
    fn convex_fusion_on_hand_made_scores() {
        // dense: 1 → 1.0, 2 → 0.5 (min-max over 0.9..0.7 and 0.8); bm25: 3 → 1.0, 1 → 0.0.
        let dense = [(1, 0.9), (2, 0.8), (4, 0.7)];
        let bm25 = [(3, 12.0), (1, 2.0)];
        let f = convex(&dense, &bm25, 0.5);
        let ids: Vec<i64> = f.iter().map(|h| h.0).collect();
        assert_eq!(ids, [1, 3, 2, 4]);
        assert!((f[0].1 - 0.5).abs() < 1e-12);
        assert!((f[1].1 - 0.5).abs() < 1e-12, "ties keep first-seen order");
        assert!((f[2].1 - 0.25).abs() < 1e-12);
        assert!(f[3].1.abs() < 1e-12);
        // α = 1 is dense alone, α = 0 BM25 alone (for the ids that list returned).
        let only_dense: Vec<i64> = convex(&dense, &bm25, 1.0)
            .iter()
            .map(|h| h.0)
            .take(3)
            .collect();
        assert_eq!(only_dense, [1, 2, 4]);
        let only_bm25: Vec<i64> = convex(&dense, &bm25, 0.0)
            .iter()
            .map(|h| h.0)
            .take(1)
            .collect();
        assert_eq!(only_bm25, [3]);
        // A one-hit list normalises to 1, not to 0/0.
        assert_eq!(convex(&[(7, 0.3)], &[], 0.5), [(7, 0.5)]);
    }

    #[test]
    fn weighted_rrf_scales_each_list() {
        let f = weighted_rrf(&[vec![1, 2], vec![2, 1]], &[2.0, 1.0], 60.0);
        assert_eq!(f[0].0, 1);
        assert!((f[0].1 - (2.0 / 61.0 + 1.0 / 62.0)).abs() < 1e-12);
    }

    #[test]
    fn fusion_parses_and_rejects() {
        assert_eq!("convex".parse::<Fusion>().unwrap(), Fusion::default());
        assert_eq!(
            "convex:0.3".parse::<Fusion>().unwrap(),
            Fusion::Convex { alpha: 0.3 }
        );
        assert_eq!("rrf".parse::<Fusion>().unwrap(), Fusion::Rrf { k: 60.0 });
        assert_eq!("rrf:10".parse::<Fusion>().unwrap(), Fusion::Rrf { k: 10.0 });
        for bad in ["convex:1.5", "rrf:0", "rrf:x", "sum", ""] {
            let e = bad.parse::<Fusion>().unwrap_err().to_string();
            assert!(e.contains("use convex"), "{bad}: {e}");
        }
        let f = Fusion::Convex { alpha: 0.5 };
        assert_eq!(f.to_string().parse::<Fusion>().unwrap(), f);
    }

    #[test]
    fn mmr_skips_near_duplicates() {
        let vecs = vec![vec![1.0, 0.0], vec![0.999, 0.0447], vec![0.6, 0.8]];
        let rel = vec![0.9, 0.89, 0.6];
        assert_eq!(mmr(&rel, &vecs, 2, 1.0), [0, 1]);
        assert_eq!(mmr(&rel, &vecs, 2, 0.5), [0, 2]);
    }
}
