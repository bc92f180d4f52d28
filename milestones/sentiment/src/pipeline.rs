//! The experiment end to end: split the data, train tokenizer → TF-IDF →
//! network on the training part only, stop early on the validation part,
//! score the untouched test part, and compare with two baselines.
//!
//! Holding out honestly: the tokenizer vocabulary, the bigram list and the idf
//! weights are all fitted on the training rows; the validation rows choose
//! the epoch (and, by hand, the hyper-parameters); the test rows are scored
//! once at the end.

use std::collections::BTreeMap;

use roadmap_common::dataset::{stratified_kfold, stratified_split};
use roadmap_common::metrics::BinaryReport;

use crate::data::Dataset;
use crate::features::{Csr, Tfidf, TfidfConfig};
use crate::model::{Architecture, Metadata, SentimentModel, FORMAT_VERSION, MAX_TEXT_CHARS};
use crate::network::{self, EpochStats, TrainConfig, Trained};
use crate::{tokenize, Error, LABELS};

/// Everything that shapes a model: tokenizer, features and network.
#[derive(Debug, Clone, serde::Serialize, PartialEq)]
pub struct PipelineConfig {
    /// A word enters the vocabulary when seen this often in the training texts.
    pub min_token_frequency: u64,
    pub max_vocab: usize,
    pub tfidf: TfidfConfig,
    pub train: TrainConfig,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            min_token_frequency: 1,
            max_vocab: 50_000,
            tfidf: TfidfConfig::default(),
            train: TrainConfig::default(),
        }
    }
}

impl PipelineConfig {
    /// The NumPy anchor's recipe, for side-by-side timing: unigram TF-IDF over at
    /// most 10,000 tokens seen twice → 128 ReLU → sigmoid, Adam 1e-3 without
    /// weight decay or dropout, batch 128, exactly 3 epochs (no early stopping).
    pub fn anchor() -> Self {
        PipelineConfig {
            min_token_frequency: 2,
            max_vocab: 10_001,
            tfidf: TfidfConfig {
                bigrams: false,
                sublinear_tf: false,
                nb_weights: false,
                ..Default::default()
            },
            train: TrainConfig {
                hidden: vec![128],
                dropout: 0.0,
                lr: 1e-3,
                weight_decay: 0.0,
                batch_size: 128,
                max_epochs: 3,
                patience: 0,
                seed: 42,
            },
        }
    }
}

/// Row indices of the fixed 80/10/10 split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreeWaySplit {
    pub train: Vec<usize>,
    pub val: Vec<usize>,
    pub test: Vec<usize>,
}

/// Stratified 80/10/10: 20 % is held out (stratified, `seed`), then the held-out
/// part is halved (stratified, same seed) into validation and test.
pub fn split_80_10_10(labels: &[u8], seed: u64) -> Result<ThreeWaySplit, Error> {
    let outer = stratified_split(labels, 0.2, seed)?;
    let held: Vec<u8> = outer.test.iter().map(|&i| labels[i]).collect();
    let inner = stratified_split(&held, 0.5, seed)?;
    Ok(ThreeWaySplit {
        train: outer.train,
        val: inner.train.iter().map(|&k| outer.test[k]).collect(),
        test: inner.test.iter().map(|&k| outer.test[k]).collect(),
    })
}

/// A trained model with its training history.
pub struct Fitted {
    pub model: SentimentModel,
    pub trained: Trained,
    /// Seconds spent on tokenizer + features + network.
    pub seconds: f64,
}

/// Fits tokenizer, TF-IDF and network on `train`; `val` (if any) drives early stopping.
pub fn fit(
    train: &Dataset,
    val: Option<&Dataset>,
    cfg: &PipelineConfig,
    training_data_sha256: &str,
    on_epoch: impl FnMut(&EpochStats),
) -> Result<Fitted, Error> {
    if train.labels.iter().all(|&l| l == train.labels[0]) {
        return Err(Error::Dataset(
            "the training data holds a single class; a classifier needs both".into(),
        ));
    }
    let start = std::time::Instant::now();
    let texts = train.text_refs();
    let tokenizer = tokenize::train_tokenizer(&texts, cfg.min_token_frequency, cfg.max_vocab)?;
    let ids = tokenize::encode_ids(&tokenizer, &texts)?;
    let vocab = tokenizer.get_vocab_size(true);
    let mut tfidf = Tfidf::fit(&ids, vocab, &cfg.tfidf);
    if cfg.tfidf.nb_weights {
        tfidf.apply_nb_weights(&ids, &train.labels);
    }
    let x = tfidf.transform(&ids);
    let y = train.targets();
    let val_xy = match val {
        Some(v) => Some((
            tfidf.transform(&tokenize::encode_ids(&tokenizer, &v.text_refs())?),
            v.targets(),
        )),
        None => None,
    };
    let trained = network::train(
        &x,
        &y,
        val_xy.as_ref().map(|(x, y)| (x, y.as_slice())),
        &cfg.train,
        on_epoch,
    )?;
    let metadata = Metadata {
        format_version: FORMAT_VERSION,
        crate_version: env!("CARGO_PKG_VERSION").to_string(),
        name: "sentiment".into(),
        architecture: Architecture {
            kind: "tfidf-mlp".into(),
            layers: trained.mlp.layer_sizes(),
            activation: "relu".into(),
            output: "sigmoid".into(),
            dropout: cfg.train.dropout,
            n_features: tfidf.n_features(),
            n_bigrams: tfidf.bigrams.len(),
            sublinear_tf: tfidf.sublinear_tf,
        },
        vocab_size: vocab,
        labels: LABELS.iter().map(|s| s.to_string()).collect(),
        training_data_sha256: training_data_sha256.to_string(),
        n_train: train.len(),
        metrics: BTreeMap::new(),
        train_config: cfg.train.clone(),
        max_text_chars: MAX_TEXT_CHARS,
    };
    let model = SentimentModel::new(tokenizer, tfidf, trained.mlp.clone(), metadata);
    Ok(Fitted {
        model,
        trained,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// `P(positive)` of every row, as `f64` for the metrics.
pub fn probabilities(model: &SentimentModel, data: &Dataset) -> Result<Vec<f64>, Error> {
    let x: Csr = model.featurize(&data.text_refs())?;
    Ok(model
        .mlp()
        .predict_proba(&x)
        .into_iter()
        .map(f64::from)
        .collect())
}

/// Test metrics of a model.
pub fn evaluate(model: &SentimentModel, data: &Dataset) -> Result<BinaryReport, Error> {
    Ok(BinaryReport::new(
        &data.labels,
        &probabilities(model, data)?,
    )?)
}

/// The majority-class baseline: every test row gets the training split's
/// positive rate as its probability, so it predicts the majority class.
pub fn majority_baseline(train: &Dataset, test: &Dataset) -> Result<BinaryReport, Error> {
    let p = train.positive_rate();
    Ok(BinaryReport::new(&test.labels, &vec![p; test.len()])?)
}

/// Settings of the TF-IDF + logistic-regression baseline.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct LogregBaseline {
    /// Columns kept: the features found in the most training documents. The
    /// phase-1 solvers are dense (Newton forms a `d×d` Hessian), so the ~35k
    /// columns of the network's input are out of reach; 1,000 columns fit in
    /// about 3 s (2,000: 14 s for +3 points of validation accuracy).
    pub max_features: usize,
    /// Inverse penalty `C` (scikit-learn's meaning).
    pub c: f64,
    /// Use the phase-1 Newton/IRLS solver (exact optimum) instead of gradient descent.
    pub newton: bool,
    /// Gradient descent only.
    pub learning_rate: f64,
    pub epochs: usize,
}

impl Default for LogregBaseline {
    fn default() -> Self {
        LogregBaseline {
            max_features: 1_000,
            c: 1.0,
            newton: true,
            learning_rate: 4.0,
            epochs: 300,
        }
    }
}

/// The TF-IDF + phase-1 logistic-regression baseline: plain TF-IDF (unigrams
/// and bigrams, no naive-Bayes weights) over the model's training-split
/// tokenizer, restricted to the `max_features` columns found in the most
/// training documents, fitted by the phase-1 crate (Newton/IRLS by default:
/// its gradient descent needs thousands of epochs on this problem, because the
/// intercept's curvature of ¼ caps the stable step at 8).
pub fn logreg_baseline(
    model: &SentimentModel,
    train: &Dataset,
    test: &Dataset,
    cfg: &LogregBaseline,
) -> Result<BinaryReport, Error> {
    let tok = model.tokenizer();
    let train_ids = tokenize::encode_ids(tok, &train.text_refs())?;
    let test_ids = tokenize::encode_ids(tok, &test.text_refs())?;
    let plain = TfidfConfig {
        nb_weights: false,
        ..TfidfConfig::default()
    };
    let tfidf = Tfidf::fit(&train_ids, tok.get_vocab_size(true), &plain);
    let x_train = tfidf.transform(&train_ids);
    let mut df = vec![0usize; tfidf.n_features()];
    for &j in &x_train.indices {
        df[j as usize] += 1;
    }
    let mut cols: Vec<usize> = (1..df.len()).collect();
    cols.sort_by(|&a, &b| df[b].cmp(&df[a]).then(a.cmp(&b)));
    cols.truncate(cfg.max_features);
    let mut col_of = vec![usize::MAX; df.len()];
    for (k, &c) in cols.iter().enumerate() {
        col_of[c] = k;
    }
    let dense = |x: &Csr| -> ndarray::Array2<f64> {
        let mut out = ndarray::Array2::zeros((x.n_rows(), cols.len()));
        for i in 0..x.n_rows() {
            let (idx, val) = x.row(i);
            for (&j, &v) in idx.iter().zip(val) {
                if col_of[j as usize] != usize::MAX {
                    out[[i, col_of[j as usize]]] = f64::from(v);
                }
            }
        }
        out
    };
    let lr = roadmap_logreg::LogisticRegression {
        c: cfg.c,
        solver: if cfg.newton {
            roadmap_logreg::Solver::newton()
        } else {
            roadmap_logreg::Solver::GradientDescent(roadmap_logreg::GradientDescent {
                learning_rate: cfg.learning_rate,
                epochs: cfg.epochs,
                tol: 1e-6,
                record_loss: false,
            })
        },
    };
    let fitted = lr
        .fit(dense(&x_train).view(), &train.labels)
        .map_err(|e| Error::Baseline(e.to_string()))?;
    let p = fitted
        .predict_proba(dense(&tfidf.transform(&test_ids)).view())
        .map_err(|e| Error::Baseline(e.to_string()))?;
    Ok(BinaryReport::new(
        &test.labels,
        p.as_slice().expect("contiguous"),
    )?)
}

/// One fold's result in [`cross_validate`].
#[derive(Debug, Clone, serde::Serialize)]
pub struct FoldResult {
    pub fold: usize,
    pub best_epoch: usize,
    pub report: BinaryReport,
}

/// Stratified k-fold cross-validation. In each fold a stratified ninth of the
/// training folds is set aside for early stopping, so the test fold never
/// influences the model.
pub fn cross_validate(
    data: &Dataset,
    k: usize,
    seed: u64,
    cfg: &PipelineConfig,
    sha: &str,
    mut on_fold: impl FnMut(&FoldResult),
) -> Result<Vec<FoldResult>, Error> {
    let mut out = Vec::new();
    for (fold, split) in stratified_kfold(&data.labels, k, seed)?
        .into_iter()
        .enumerate()
    {
        let outer_train = data.select(&split.train);
        let inner = stratified_split(&outer_train.labels, 1.0 / 9.0, seed)?;
        let (train, val) = (
            outer_train.select(&inner.train),
            outer_train.select(&inner.test),
        );
        let fitted = fit(&train, Some(&val), cfg, sha, |_| {})?;
        let report = evaluate(&fitted.model, &data.select(&split.test))?;
        let r = FoldResult {
            fold: fold + 1,
            best_epoch: fitted.trained.best_epoch,
            report,
        };
        on_fold(&r);
        out.push(r);
    }
    Ok(out)
}

/// Mean and (sample) standard deviation.
pub fn mean_std(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = if values.len() > 1 {
        values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    (mean, var.sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_way_split_is_disjoint_stratified_and_complete() {
        let (data, _) = crate::data::shipped().unwrap();
        let s = split_80_10_10(&data.labels, 42).unwrap();
        let mut all: Vec<usize> = s
            .train
            .iter()
            .chain(&s.val)
            .chain(&s.test)
            .copied()
            .collect();
        all.sort_unstable();
        assert_eq!(all, (0..data.len()).collect::<Vec<_>>());
        assert_eq!(
            (s.train.len(), s.val.len(), s.test.len()),
            (8452, 1057, 1057)
        );
        let rate = |idx: &[usize]| {
            idx.iter().map(|&i| f64::from(data.labels[i])).sum::<f64>() / idx.len() as f64
        };
        assert!((rate(&s.test) - data.positive_rate()).abs() < 0.002);
        assert_eq!(s, split_80_10_10(&data.labels, 42).unwrap());
    }
}
