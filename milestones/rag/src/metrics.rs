//! Ranking metrics for retrieval evaluation, binary relevance.
//!
//! For one query with ranked results `r_1, r_2, ...` (relevance `rel_i` ∈ {0, 1})
//! and `R` relevant items in the whole corpus:
//! - hit@k = 1 if some `rel_i = 1` with `i ≤ k`, else 0;
//! - MRR@k = 1 / (rank of the first relevant result) if it is within `k`, else 0;
//! - nDCG@k = DCG@k / IDCG@k with `DCG@k = Σ_{i ≤ k} rel_i / log2(i + 1)` and
//!   `IDCG@k` the DCG of the ideal ranking (`min(R, k)` relevant items first).
//!
//! Each is averaged over queries. With one relevant item, nDCG@k is `1/log2(rank+1)`.

/// Per-query relevance of a ranked list, plus how many relevant items exist.
#[derive(Debug, Clone)]
pub struct Judged {
    pub relevant: Vec<bool>,
    pub total_relevant: usize,
}

pub fn hit_at(j: &Judged, k: usize) -> f64 {
    if j.relevant.iter().take(k).any(|&r| r) {
        1.0
    } else {
        0.0
    }
}

pub fn mrr_at(j: &Judged, k: usize) -> f64 {
    j.relevant
        .iter()
        .take(k)
        .position(|&r| r)
        .map(|p| 1.0 / (p as f64 + 1.0))
        .unwrap_or(0.0)
}

pub fn ndcg_at(j: &Judged, k: usize) -> f64 {
    let gain = |i: usize| 1.0 / ((i as f64) + 2.0).log2();
    let dcg: f64 = j
        .relevant
        .iter()
        .take(k)
        .enumerate()
        .filter(|(_, &r)| r)
        .map(|(i, _)| gain(i))
        .sum();
    let ideal: f64 = (0..j.total_relevant.min(k)).map(gain).sum();
    if ideal == 0.0 {
        0.0
    } else {
        dcg / ideal
    }
}

/// Percentile by linear interpolation between closest ranks (`p` in 0..=100).
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = p / 100.0 * (sorted.len() - 1) as f64;
    let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn j(rel: &[u8], total: usize) -> Judged {
        Judged {
            relevant: rel.iter().map(|&r| r == 1).collect(),
            total_relevant: total,
        }
    }

    #[test]
    fn hand_computed_cases() {
        // First relevant at rank 3 of 10, one relevant in the corpus.
        let a = j(&[0, 0, 1, 0, 0, 0, 0, 0, 0, 0], 1);
        assert_eq!(hit_at(&a, 1), 0.0);
        assert_eq!(hit_at(&a, 5), 1.0);
        assert!((mrr_at(&a, 10) - 1.0 / 3.0).abs() < 1e-12);
        assert!((ndcg_at(&a, 10) - 0.5).abs() < 1e-12); // 1/log2(4)
                                                        // Two relevant at ranks 1 and 4, two in the corpus:
                                                        // DCG = 1 + 1/log2(5); IDCG = 1 + 1/log2(3).
        let b = j(&[1, 0, 0, 1], 2);
        let want = (1.0 + 1.0 / 5f64.log2()) / (1.0 + 1.0 / 3f64.log2());
        assert!((ndcg_at(&b, 10) - want).abs() < 1e-12);
        assert_eq!(mrr_at(&b, 10), 1.0);
        // Nothing relevant retrieved, or relevant only past the cut-off.
        let c = j(&[0, 0, 0, 0, 0, 1], 1);
        assert_eq!(hit_at(&c, 5), 0.0);
        assert_eq!(mrr_at(&c, 5), 0.0);
        assert!((mrr_at(&c, 10) - 1.0 / 6.0).abs() < 1e-12);
        assert_eq!(ndcg_at(&j(&[], 0), 10), 0.0);
    }

    #[test]
    fn percentiles() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(percentile(&v, 50.0), 3.0);
        assert_eq!(percentile(&v, 100.0), 5.0);
        assert_eq!(percentile(&v, 0.0), 1.0);
        assert!((percentile(&v, 95.0) - 4.8).abs() < 1e-12);
    }
}
