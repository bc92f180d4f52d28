//! The saved model and the inference API.
//!
//! A model is a directory of three files:
//!
//! * `model.safetensors` — the network's weights (`layers.K.weight` `in×out`,
//!   `layers.K.bias`) and the TF-IDF state (`tfidf.idf`, one weight per
//!   feature; `tfidf.bigrams`, `B×2` token-id pairs), little-endian, readable
//!   from Python with `safetensors.numpy.load_file`.
//! * `tokenizer.json` — the trained `tokenizers` tokenizer.
//! * `metadata.json` — [`Metadata`]: architecture, vocabulary size, labels,
//!   training-data hash, metrics and the format version.
//!
//! [`SentimentModel::load`] checks all three against each other and refuses a
//! model written by another format version with a specific error.
//! A loaded model is immutable, `Send + Sync`, and can be shared by an HTTP
//! server's threads behind an `Arc`.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use ndarray::{Array1, Array2};
use safetensors::tensor::{Dtype, TensorView};
use safetensors::SafeTensors;
use tokenizers::Tokenizer;

use crate::features::{Csr, Tfidf};
use crate::network::{Mlp, TrainConfig};
use crate::{tokenize, Error, LABELS};

/// Version of the on-disk layout; bump it when the files change incompatibly.
pub const FORMAT_VERSION: u32 = 1;
/// The longest text (in Unicode scalar values) accepted for prediction. Movie
/// snippets are under 300 characters; 10,000 leaves room for whole reviews while
/// bounding the work a single request can cause.
pub const MAX_TEXT_CHARS: usize = 10_000;

pub const WEIGHTS_FILE: &str = "model.safetensors";
pub const TOKENIZER_FILE: &str = "tokenizer.json";
pub const METADATA_FILE: &str = "metadata.json";

/// One prediction.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Prediction {
    /// `"positive"` or `"negative"` (`score >= 0.5` is positive).
    pub label: &'static str,
    /// Probability that the text is positive, in `[0, 1]`.
    pub score: f32,
}

impl Prediction {
    pub fn from_score(score: f32) -> Self {
        Prediction {
            label: LABELS[usize::from(score >= 0.5)],
            score,
        }
    }
}

/// The network's shape, as recorded in `metadata.json`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct Architecture {
    /// Always `"tfidf-mlp"`.
    pub kind: String,
    /// Widths from input to output, e.g. `[n_features, 128, 1]`.
    pub layers: Vec<usize>,
    pub activation: String,
    pub output: String,
    pub dropout: f32,
    pub n_features: usize,
    pub n_bigrams: usize,
    pub sublinear_tf: bool,
}

/// Everything `metadata.json` holds.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct Metadata {
    pub format_version: u32,
    /// Version of the `roadmap-sentiment` crate that wrote the model.
    pub crate_version: String,
    pub name: String,
    pub architecture: Architecture,
    /// Tokenizer vocabulary size (`[UNK]` included).
    pub vocab_size: usize,
    /// Index = label: `["negative", "positive"]`.
    pub labels: Vec<String>,
    /// SHA-256 of the training data (the shipped file, or the `--train` CSV).
    pub training_data_sha256: String,
    pub n_train: usize,
    /// Test metrics measured when the model was trained.
    pub metrics: BTreeMap<String, f64>,
    pub train_config: TrainConfig,
    pub max_text_chars: usize,
}

/// A trained sentiment model, ready to predict.
#[derive(Debug, Clone)]
pub struct SentimentModel {
    tokenizer: Tokenizer,
    /// ASCII texts may skip the full encoding (see [`tokenize::ascii_is_lowercase_only`]).
    ascii_lowercase_only: bool,
    tfidf: Tfidf,
    mlp: Mlp,
    metadata: Metadata,
}

impl SentimentModel {
    /// Assembles a model from its trained parts (see [`crate::pipeline`]).
    pub fn new(tokenizer: Tokenizer, tfidf: Tfidf, mlp: Mlp, metadata: Metadata) -> Self {
        let ascii_lowercase_only = tokenize::ascii_is_lowercase_only(&tokenizer);
        SentimentModel {
            tokenizer,
            ascii_lowercase_only,
            tfidf,
            mlp,
            metadata,
        }
    }

    /// The model's name (`"sentiment"`).
    pub fn name(&self) -> &str {
        &self.metadata.name
    }
    /// The version of the crate that trained it.
    pub fn version(&self) -> &str {
        &self.metadata.crate_version
    }
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }
    pub fn metadata_mut(&mut self) -> &mut Metadata {
        &mut self.metadata
    }
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }
    pub fn tfidf(&self) -> &Tfidf {
        &self.tfidf
    }
    pub fn mlp(&self) -> &Mlp {
        &self.mlp
    }

    /// Classifies one text.
    pub fn predict(&self, text: &str) -> Result<Prediction, Error> {
        Ok(self.predict_batch(&[text])?.remove(0))
    }

    /// Classifies many texts at once (tokenised in parallel; the first layer's
    /// sparse product runs on all cores). Fails on the first invalid text,
    /// naming its index.
    pub fn predict_batch(&self, texts: &[&str]) -> Result<Vec<Prediction>, Error> {
        for (index, text) in texts.iter().enumerate() {
            validate_text(index, text)?;
        }
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let x = self.featurize(texts)?;
        Ok(self
            .mlp
            .predict_proba(&x)
            .into_iter()
            .map(Prediction::from_score)
            .collect())
    }

    /// Tokenises and vectorises texts (no validation; used by evaluation).
    pub fn featurize(&self, texts: &[&str]) -> Result<Csr, Error> {
        let ids = tokenize::encode_ids_fast(&self.tokenizer, self.ascii_lowercase_only, texts)?;
        Ok(self.tfidf.transform(&ids))
    }

    /// Writes the three files into `dir` (created if needed).
    pub fn save(&self, dir: &Path) -> Result<(), Error> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let mut tensors: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = Vec::new();
        for (k, (w, b)) in self.mlp.weights.iter().zip(&self.mlp.biases).enumerate() {
            tensors.push((
                format!("layers.{k}.weight"),
                Dtype::F32,
                w.shape().to_vec(),
                f32_bytes(w.iter()),
            ));
            tensors.push((
                format!("layers.{k}.bias"),
                Dtype::F32,
                vec![b.len()],
                f32_bytes(b.iter()),
            ));
        }
        tensors.push((
            "tfidf.idf".into(),
            Dtype::F32,
            vec![self.tfidf.idf.len()],
            f32_bytes(self.tfidf.idf.iter()),
        ));
        let pairs: Vec<u8> = self
            .tfidf
            .bigrams
            .iter()
            .flat_map(|&(a, b)| [a, b])
            .flat_map(u32::to_le_bytes)
            .collect();
        tensors.push((
            "tfidf.bigrams".into(),
            Dtype::U32,
            vec![self.tfidf.bigrams.len(), 2],
            pairs,
        ));
        let path = dir.join(WEIGHTS_FILE);
        let views = tensors
            .iter()
            .map(|(name, dtype, shape, data)| {
                TensorView::new(*dtype, shape.clone(), data).map(|v| (name.clone(), v))
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Error::Weights {
                path: path.clone(),
                reason: e.to_string(),
            })?;
        let info = HashMap::from([("format".to_string(), "roadmap-sentiment".to_string())]);
        safetensors::serialize_to_file(views, Some(info), &path).map_err(|e| Error::Weights {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        self.tokenizer
            .save(dir.join(TOKENIZER_FILE), true)
            .map_err(Error::tokenizer)?;
        let meta_path = dir.join(METADATA_FILE);
        let json = serde_json::to_string_pretty(&self.metadata).expect("metadata serialises");
        std::fs::write(&meta_path, json + "\n").map_err(|e| Error::io(&meta_path, e))?;
        Ok(())
    }

    /// Loads a model directory written by [`SentimentModel::save`], checking
    /// that every file is there, the format version matches, and the weights
    /// agree with the metadata and the tokenizer.
    pub fn load(dir: impl AsRef<Path>) -> Result<Self, Error> {
        let dir = dir.as_ref();
        if !dir.is_dir() {
            return Err(Error::ModelDirMissing {
                dir: dir.to_path_buf(),
            });
        }
        for file in [METADATA_FILE, WEIGHTS_FILE, TOKENIZER_FILE] {
            if !dir.join(file).is_file() {
                return Err(Error::MissingModelFile {
                    dir: dir.to_path_buf(),
                    file,
                });
            }
        }
        let meta_path = dir.join(METADATA_FILE);
        let raw = std::fs::read(&meta_path).map_err(|e| Error::io(&meta_path, e))?;
        // Read the version first, so an old or newer layout gets the version
        // error rather than a confusing "missing field".
        #[derive(serde::Deserialize)]
        struct Version {
            format_version: u32,
        }
        let version: Version = serde_json::from_slice(&raw).map_err(|source| Error::Metadata {
            path: meta_path.clone(),
            source,
        })?;
        if version.format_version != FORMAT_VERSION {
            return Err(Error::IncompatibleVersion {
                dir: dir.to_path_buf(),
                found: version.format_version,
                expected: FORMAT_VERSION,
                crate_version: env!("CARGO_PKG_VERSION"),
            });
        }
        let metadata: Metadata =
            serde_json::from_slice(&raw).map_err(|source| Error::Metadata {
                path: meta_path.clone(),
                source,
            })?;

        let tok_path = dir.join(TOKENIZER_FILE);
        let tokenizer = Tokenizer::from_file(&tok_path)
            .map_err(|e| Error::Tokenizer(format!("{}: {e}", tok_path.display())))?;
        let vocab = tokenizer.get_vocab_size(true);
        if vocab != metadata.vocab_size || tokenizer.token_to_id(tokenize::UNK) != Some(0) {
            return Err(Error::Tokenizer(format!(
                "{}: vocabulary of {vocab} tokens does not match metadata.json ({}) or lacks {} at id 0",
                tok_path.display(),
                metadata.vocab_size,
                tokenize::UNK
            )));
        }

        let w_path = dir.join(WEIGHTS_FILE);
        let bytes = std::fs::read(&w_path).map_err(|e| Error::io(&w_path, e))?;
        let bad = |reason: String| Error::Weights {
            path: w_path.clone(),
            reason,
        };
        let st = SafeTensors::deserialize(&bytes).map_err(|e| bad(e.to_string()))?;
        let get = |name: &str, dtype: Dtype, shape: &[usize]| -> Result<Vec<u8>, Error> {
            let t = st
                .tensor(name)
                .map_err(|e| bad(format!("tensor `{name}`: {e}")))?;
            if t.dtype() != dtype || t.shape() != shape {
                return Err(bad(format!(
                    "tensor `{name}` is {:?} {:?}, metadata.json implies {dtype:?} {shape:?}",
                    t.dtype(),
                    t.shape()
                )));
            }
            Ok(t.data().to_vec())
        };
        let arch = &metadata.architecture;
        let sizes = &arch.layers;
        if sizes.len() < 3 || sizes[0] != arch.n_features || sizes.last() != Some(&1) {
            return Err(bad(format!(
                "architecture layers {sizes:?} must run from n_features to 1"
            )));
        }
        if arch.n_features != vocab + arch.n_bigrams {
            return Err(bad(format!(
                "n_features {} != vocabulary {vocab} + bigrams {}",
                arch.n_features, arch.n_bigrams
            )));
        }
        let mut mlp = Mlp {
            weights: Vec::new(),
            biases: Vec::new(),
        };
        for (k, pair) in sizes.windows(2).enumerate() {
            let w = f32_vec(&get(
                &format!("layers.{k}.weight"),
                Dtype::F32,
                &[pair[0], pair[1]],
            )?);
            let b = f32_vec(&get(&format!("layers.{k}.bias"), Dtype::F32, &[pair[1]])?);
            mlp.weights
                .push(Array2::from_shape_vec((pair[0], pair[1]), w).expect("checked shape"));
            mlp.biases.push(Array1::from_vec(b));
        }
        let idf = f32_vec(&get("tfidf.idf", Dtype::F32, &[arch.n_features])?);
        let raw_pairs = get("tfidf.bigrams", Dtype::U32, &[arch.n_bigrams, 2])?;
        let ids: Vec<u32> = raw_pairs
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        if let Some(&id) = ids.iter().find(|&&id| id as usize >= vocab) {
            return Err(bad(format!(
                "bigram token id {id} is outside the vocabulary of {vocab}"
            )));
        }
        if idf.iter().any(|v| !v.is_finite())
            || mlp.weights.iter().any(|w| w.iter().any(|v| !v.is_finite()))
        {
            return Err(bad("weights contain NaN or infinity".into()));
        }
        let bigrams = ids.chunks_exact(2).map(|p| (p[0], p[1])).collect();
        let tfidf = Tfidf::from_parts(vocab, bigrams, idf, arch.sublinear_tf);
        Ok(SentimentModel::new(tokenizer, tfidf, mlp, metadata))
    }
}

/// The input rules of [`SentimentModel::predict_batch`].
pub fn validate_text(index: usize, text: &str) -> Result<(), Error> {
    if text.trim().is_empty() {
        return Err(Error::EmptyText { index });
    }
    // Count chars only when the byte length could exceed the limit.
    if text.len() > MAX_TEXT_CHARS {
        let chars = text.chars().count();
        if chars > MAX_TEXT_CHARS {
            return Err(Error::TextTooLong {
                index,
                chars,
                max: MAX_TEXT_CHARS,
            });
        }
    }
    Ok(())
}

fn f32_bytes<'a>(values: impl Iterator<Item = &'a f32>) -> Vec<u8> {
    values.flat_map(|v| v.to_le_bytes()).collect()
}

fn f32_vec(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

/// Paths of a model directory's files (for messages and tests).
pub fn model_files(dir: &Path) -> [PathBuf; 3] {
    [
        dir.join(WEIGHTS_FILE),
        dir.join(TOKENIZER_FILE),
        dir.join(METADATA_FILE),
    ]
}

const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<SentimentModel>();
};
