//! Sparse TF-IDF features over unigrams and bigrams.
//!
//! A document becomes a row of a sparse matrix with one column per feature:
//! every token of the tokenizer's vocabulary (column = token id; column 0,
//! `[UNK]`, is never set) followed by every bigram of two known tokens that
//! occurs in at least `min_df` training documents. For feature *j* in
//! document *d*:
//!
//! ```text
//! tf(j, d)  = count of j in d            (or 1 + ln(count) with sublinear tf)
//! idf(j)    = ln((1 + n) / (1 + df(j))) + 1      n = training documents
//! x(d)_j    = tf(j, d) · idf(j),  then x(d) ← x(d) / ‖x(d)‖₂
//! ```
//!
//! (scikit-learn's smoothed idf). A snippet has about 20 tokens and the
//! vocabulary tens of thousands, so rows are stored sparse (CSR): the first
//! layer multiplies only the non-zeros, which is what makes training fast.

use std::collections::HashMap;

use ndarray::Array2;

/// A compressed-sparse-row matrix of `f32`.
#[derive(Debug, Clone, PartialEq)]
pub struct Csr {
    pub n_cols: usize,
    /// Row `i` is `indices[indptr[i]..indptr[i + 1]]` (sorted) with `values` alike.
    pub indptr: Vec<usize>,
    pub indices: Vec<u32>,
    pub values: Vec<f32>,
}

impl Csr {
    pub fn empty(n_cols: usize) -> Self {
        Csr {
            n_cols,
            indptr: vec![0],
            indices: Vec::new(),
            values: Vec::new(),
        }
    }
    pub fn n_rows(&self) -> usize {
        self.indptr.len() - 1
    }
    pub fn nnz(&self) -> usize {
        self.indices.len()
    }
    /// Appends a row given as sorted `(column, value)` pairs.
    pub fn push_row(&mut self, row: &[(u32, f32)]) {
        for &(j, v) in row {
            debug_assert!((j as usize) < self.n_cols);
            self.indices.push(j);
            self.values.push(v);
        }
        self.indptr.push(self.indices.len());
    }
    pub fn row(&self, i: usize) -> (&[u32], &[f32]) {
        let (a, b) = (self.indptr[i], self.indptr[i + 1]);
        (&self.indices[a..b], &self.values[a..b])
    }
    /// The rows at `idx`, in that order (a mini-batch).
    pub fn select_rows(&self, idx: &[usize]) -> Csr {
        let mut out = Csr::empty(self.n_cols);
        for &i in idx {
            let (a, b) = (self.indptr[i], self.indptr[i + 1]);
            out.indices.extend_from_slice(&self.indices[a..b]);
            out.values.extend_from_slice(&self.values[a..b]);
            out.indptr.push(out.indices.len());
        }
        out
    }
    /// Dense copy (tests, and the dense phase-1 logistic regression).
    pub fn to_dense(&self) -> Array2<f32> {
        let mut out = Array2::zeros((self.n_rows(), self.n_cols));
        for i in 0..self.n_rows() {
            let (idx, val) = self.row(i);
            for (&j, &v) in idx.iter().zip(val) {
                out[[i, j as usize]] = v;
            }
        }
        out
    }
}

/// The fitted TF-IDF vectoriser: bigram vocabulary and idf weights.
#[derive(Debug, Clone, PartialEq)]
pub struct Tfidf {
    /// Number of unigram columns (= tokenizer vocabulary size, `[UNK]` included).
    pub n_unigrams: usize,
    /// Bigram columns, in column order (column = `n_unigrams + position`).
    pub bigrams: Vec<(u32, u32)>,
    /// One idf weight per column (0 for `[UNK]`).
    pub idf: Vec<f32>,
    /// Use `1 + ln(count)` instead of the raw count.
    pub sublinear_tf: bool,
    lookup: HashMap<u64, u32>,
}

fn key(a: u32, b: u32) -> u64 {
    (u64::from(a) << 32) | u64::from(b)
}

/// Options for [`Tfidf::fit`].
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct TfidfConfig {
    pub bigrams: bool,
    pub min_bigram_df: usize,
    pub max_bigrams: usize,
    pub sublinear_tf: bool,
    /// Multiply each column's weight by its naive-Bayes log-count ratio
    /// (Wang & Manning 2012, the "NB" of NBSVM); see [`Tfidf::apply_nb_weights`].
    #[serde(default)]
    pub nb_weights: bool,
}

impl Default for TfidfConfig {
    fn default() -> Self {
        TfidfConfig {
            bigrams: true,
            min_bigram_df: 2,
            max_bigrams: 50_000,
            sublinear_tf: true,
            nb_weights: true,
        }
    }
}

impl Tfidf {
    /// Learns bigrams and idf from the training documents' token ids.
    pub fn fit(docs: &[Vec<u32>], n_unigrams: usize, cfg: &TfidfConfig) -> Tfidf {
        let n = docs.len() as f64;
        let mut uni_df = vec![0usize; n_unigrams];
        let mut bi_df: HashMap<u64, usize> = HashMap::new();
        let mut seen = Vec::new();
        for doc in docs {
            seen.clear();
            seen.extend(doc.iter().copied().filter(|&t| t != 0));
            seen.sort_unstable();
            seen.dedup();
            for &t in &seen {
                uni_df[t as usize] += 1;
            }
            if cfg.bigrams {
                let mut pairs: Vec<u64> = doc
                    .windows(2)
                    .filter(|w| w[0] != 0 && w[1] != 0)
                    .map(|w| key(w[0], w[1]))
                    .collect();
                pairs.sort_unstable();
                pairs.dedup();
                for p in pairs {
                    *bi_df.entry(p).or_insert(0) += 1;
                }
            }
        }
        // Most frequent bigrams first; ties by id so the result is deterministic.
        let mut kept: Vec<(u64, usize)> = bi_df
            .into_iter()
            .filter(|&(_, df)| df >= cfg.min_bigram_df)
            .collect();
        kept.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        kept.truncate(cfg.max_bigrams);
        let idf_of = |df: usize| ((1.0 + n) / (1.0 + df as f64)).ln() as f32 + 1.0;
        let mut idf: Vec<f32> = uni_df.iter().map(|&df| idf_of(df)).collect();
        idf[0] = 0.0;
        let mut bigrams = Vec::with_capacity(kept.len());
        for &(k, df) in &kept {
            bigrams.push(((k >> 32) as u32, k as u32));
            idf.push(idf_of(df));
        }
        Tfidf::from_parts(n_unigrams, bigrams, idf, cfg.sublinear_tf)
    }

    /// Scales every column's weight by the magnitude of its naive-Bayes
    /// log-count ratio, learned from the training rows `docs` and labels `y`:
    ///
    /// ```text
    /// p = 1 + Σ_{y=1} 1[j ∈ d],  q = 1 + Σ_{y=0} 1[j ∈ d]     (document counts, +1 smoothing)
    /// r_j = ln( (p_j / ‖p‖₁) / (q_j / ‖q‖₁) )
    /// idf_j ← idf_j · |r_j|
    /// ```
    ///
    /// Words that lean to one class get larger inputs, neutral words ("the")
    /// near-zero ones; the sign is left to the network.
    pub fn apply_nb_weights(&mut self, docs: &[Vec<u32>], y: &[u8]) {
        let x = self.transform(docs);
        let mut p = vec![1.0f64; self.n_features()];
        let mut q = vec![1.0f64; self.n_features()];
        for (i, &label) in y.iter().enumerate() {
            let counts = if label == 1 { &mut p } else { &mut q };
            for &j in x.row(i).0 {
                counts[j as usize] += 1.0;
            }
        }
        let (sp, sq) = (p.iter().sum::<f64>(), q.iter().sum::<f64>());
        for j in 1..self.n_features() {
            self.idf[j] *= ((p[j] / sp) / (q[j] / sq)).ln().abs() as f32;
        }
    }

    /// Rebuilds a vectoriser from saved parts.
    pub fn from_parts(
        n_unigrams: usize,
        bigrams: Vec<(u32, u32)>,
        idf: Vec<f32>,
        sublinear_tf: bool,
    ) -> Tfidf {
        let lookup = bigrams
            .iter()
            .enumerate()
            .map(|(i, &(a, b))| (key(a, b), (n_unigrams + i) as u32))
            .collect();
        Tfidf {
            n_unigrams,
            bigrams,
            idf,
            sublinear_tf,
            lookup,
        }
    }

    pub fn n_features(&self) -> usize {
        self.idf.len()
    }

    /// One document's L2-normalised TF-IDF row as sorted `(column, value)` pairs.
    pub fn row(&self, ids: &[u32], buf: &mut Vec<u32>) -> Vec<(u32, f32)> {
        buf.clear();
        buf.extend(
            ids.iter()
                .copied()
                .filter(|&t| t != 0 && (t as usize) < self.n_unigrams),
        );
        if !self.lookup.is_empty() {
            buf.extend(
                ids.windows(2)
                    .filter_map(|w| self.lookup.get(&key(w[0], w[1])).copied()),
            );
        }
        buf.sort_unstable();
        let mut row: Vec<(u32, f32)> = Vec::with_capacity(buf.len());
        for &j in buf.iter() {
            match row.last_mut() {
                Some((last, count)) if *last == j => *count += 1.0,
                _ => row.push((j, 1.0)),
            }
        }
        let mut norm2 = 0.0f32;
        for (j, v) in row.iter_mut() {
            let tf = if self.sublinear_tf { 1.0 + v.ln() } else { *v };
            *v = tf * self.idf[*j as usize];
            norm2 += *v * *v;
        }
        if norm2 > 0.0 {
            let inv = norm2.sqrt().recip();
            row.iter_mut().for_each(|(_, v)| *v *= inv);
        }
        row
    }

    /// The sparse matrix of many documents (rows computed in parallel).
    pub fn transform(&self, docs: &[Vec<u32>]) -> Csr {
        use rayon::prelude::*;
        let rows: Vec<Vec<(u32, f32)>> = docs
            .par_iter()
            .map_init(Vec::new, |buf, doc| self.row(doc, buf))
            .collect();
        let mut out = Csr::empty(self.n_features());
        for row in &rows {
            out.push_row(row);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tfidf_matches_hand_computation() {
        // vocabulary: 0 = [UNK], 1 = "good", 2 = "film"
        let docs = vec![vec![1, 2], vec![1, 1, 0], vec![2, 2]];
        let cfg = TfidfConfig {
            bigrams: true,
            min_bigram_df: 1,
            max_bigrams: 10,
            sublinear_tf: false,
            nb_weights: false,
        };
        let t = Tfidf::fit(&docs, 3, &cfg);
        // bigrams with two known tokens: (1,2) df 1, (1,1) df 1, (2,2) df 1; [UNK] pairs skipped.
        assert_eq!(t.bigrams, vec![(1, 1), (1, 2), (2, 2)]);
        let idf = |df: f64| ((4.0 / (1.0 + df)).ln() + 1.0) as f32;
        assert_eq!(t.idf[..3], [0.0, idf(2.0), idf(2.0)]);
        let x = t.transform(&docs);
        // doc 1: "good" twice, bigram (1,1) once, [UNK] ignored.
        let (cols, vals) = x.row(1);
        assert_eq!(cols, &[1, 3]);
        let (a, b) = (2.0 * idf(2.0), idf(1.0));
        let n = (a * a + b * b).sqrt();
        assert!((vals[0] - a / n).abs() < 1e-6 && (vals[1] - b / n).abs() < 1e-6);
        let norms: Vec<f32> = (0..3)
            .map(|i| x.row(i).1.iter().map(|v| v * v).sum::<f32>())
            .collect();
        assert!(norms.iter().all(|n| (n - 1.0).abs() < 1e-5));
        // unknown-only document: an all-zero row, not NaN.
        assert_eq!(t.transform(&[vec![0, 0]]).nnz(), 0);
    }

    #[test]
    fn csr_select_and_dense() {
        let mut m = Csr::empty(4);
        m.push_row(&[(0, 1.0), (3, 2.0)]);
        m.push_row(&[]);
        m.push_row(&[(2, 5.0)]);
        let s = m.select_rows(&[2, 0]);
        assert_eq!(
            s.to_dense(),
            ndarray::array![[0.0, 0.0, 5.0, 0.0], [1.0, 0.0, 0.0, 2.0]]
        );
    }
}
