//! The embedder on a tiny random-weight BERT that the test writes itself, so
//! pooling, masking, batching and threading are checked without the real model.
//!
//! The reference is a deliberately naive implementation in f64 of what
//! sentence-transformers does: pad the batch to its longest sentence, add a
//! large negative number to the attention scores of padded keys, mean-pool over
//! the attention mask, L2-normalise. The embedder never pads; it must agree.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{Device, Tensor};
use roadmap_embed::{Embedder, EmbedderOptions};

const H: usize = 32;
const HEADS: usize = 4;
const LAYERS: usize = 2;
const FF: usize = 64;
const MAX_POS: usize = 40;
const WORDS: &[&str] = &[
    "the", "cat", "sat", "on", "mat", "a", "dog", "ran", "in", "park", "model", "learns", "from",
    "data", "fast", "slow", "##s", "##ing", "big", "small",
];

/// Tensors by name: values and shape.
type Weights = HashMap<String, (Vec<f32>, Vec<usize>)>;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> f32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
    fn vec(&mut self, n: usize, scale: f32, offset: f32) -> Vec<f32> {
        (0..n).map(|_| offset + scale * self.next()).collect()
    }
}

/// All weights by name, PyTorch layouts (`[out, in]` for dense layers).
fn random_weights(seed: u64) -> Weights {
    let vocab = 5 + WORDS.len();
    let mut r = Rng(seed);
    let mut w = HashMap::new();
    let mut put = |name: &str, shape: Vec<usize>, scale: f32, offset: f32, r: &mut Rng| {
        let n = shape.iter().product();
        w.insert(name.to_string(), (r.vec(n, scale, offset), shape));
    };
    put(
        "embeddings.word_embeddings.weight",
        vec![vocab, H],
        1.0,
        0.0,
        &mut r,
    );
    put(
        "embeddings.position_embeddings.weight",
        vec![MAX_POS, H],
        0.5,
        0.0,
        &mut r,
    );
    put(
        "embeddings.token_type_embeddings.weight",
        vec![2, H],
        0.2,
        0.0,
        &mut r,
    );
    put("embeddings.LayerNorm.weight", vec![H], 0.2, 1.0, &mut r);
    put("embeddings.LayerNorm.bias", vec![H], 0.1, 0.0, &mut r);
    for l in 0..LAYERS {
        let p = format!("encoder.layer.{l}");
        for (name, out, inp) in [
            ("attention.self.query", H, H),
            ("attention.self.key", H, H),
            ("attention.self.value", H, H),
            ("attention.output.dense", H, H),
            ("intermediate.dense", FF, H),
            ("output.dense", H, FF),
        ] {
            put(
                &format!("{p}.{name}.weight"),
                vec![out, inp],
                0.4,
                0.0,
                &mut r,
            );
            put(&format!("{p}.{name}.bias"), vec![out], 0.1, 0.0, &mut r);
        }
        for ln in ["attention.output.LayerNorm", "output.LayerNorm"] {
            put(&format!("{p}.{ln}.weight"), vec![H], 0.2, 1.0, &mut r);
            put(&format!("{p}.{ln}.bias"), vec![H], 0.1, 0.0, &mut r);
        }
    }
    w
}

fn write_model(dir: &Path, weights: &Weights) {
    let tensors: HashMap<String, Tensor> = weights
        .iter()
        .map(|(k, (v, s))| {
            (
                k.clone(),
                Tensor::from_vec(v.clone(), s.as_slice(), &Device::Cpu).unwrap(),
            )
        })
        .collect();
    candle_core::safetensors::save(&tensors, dir.join("model.safetensors")).unwrap();
    let config = serde_json::json!({
        "vocab_size": 5 + WORDS.len(), "hidden_size": H, "num_hidden_layers": LAYERS,
        "num_attention_heads": HEADS, "intermediate_size": FF, "max_position_embeddings": MAX_POS,
        "type_vocab_size": 2, "layer_norm_eps": 1e-12, "hidden_act": "gelu", "model_type": "bert"
    });
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
    let mut vocab = serde_json::Map::new();
    for (i, t) in ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
        .iter()
        .chain(WORDS)
        .enumerate()
    {
        vocab.insert(t.to_string(), i.into());
    }
    let special = |content: &str, id: usize| {
        serde_json::json!({"id": id, "content": content, "single_word": false, "lstrip": false,
            "rstrip": false, "normalized": false, "special": true})
    };
    // The same pipeline as all-MiniLM-L6-v2's tokenizer.json, padding and
    // truncation at 128 included (the embedder must override both).
    let tokenizer = serde_json::json!({
        "version": "1.0",
        "truncation": {"direction": "Right", "max_length": 128, "strategy": "LongestFirst", "stride": 0},
        "padding": {"strategy": {"Fixed": 128}, "direction": "Right", "pad_to_multiple_of": null,
                    "pad_id": 0, "pad_type_id": 0, "pad_token": "[PAD]"},
        "added_tokens": [special("[PAD]", 0), special("[UNK]", 1), special("[CLS]", 2), special("[SEP]", 3), special("[MASK]", 4)],
        "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true,
                       "strip_accents": null, "lowercase": true},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {"type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
            "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [2], "tokens": ["[CLS]"]},
                               "[SEP]": {"id": "[SEP]", "ids": [3], "tokens": ["[SEP]"]}}},
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": true},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": 100, "vocab": vocab}
    });
    std::fs::write(dir.join("tokenizer.json"), tokenizer.to_string()).unwrap();
}

// ---- the naive padded reference, f64 ----

fn erf(x: f64) -> f64 {
    // Maclaurin series; the activations here stay well inside |x| < 6.
    let x = x.clamp(-6.0, 6.0);
    if x.abs() > 3.5 {
        return x.signum() * (1.0 - 1e-7);
    }
    let (mut term, mut sum) = (x, x);
    for n in 1..300 {
        term *= -x * x / n as f64;
        sum += term / (2 * n + 1) as f64;
    }
    sum * 2.0 / std::f64::consts::PI.sqrt()
}

fn linear(w: &Weights, name: &str, x: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let (wt, shape) = &w[&format!("{name}.weight")];
    let (b, _) = &w[&format!("{name}.bias")];
    let (out, inp) = (shape[0], shape[1]);
    x.iter()
        .map(|row| {
            (0..out)
                .map(|o| {
                    b[o] as f64
                        + (0..inp)
                            .map(|i| wt[o * inp + i] as f64 * row[i])
                            .sum::<f64>()
                })
                .collect()
        })
        .collect()
}

fn layer_norm(w: &Weights, name: &str, x: &mut [Vec<f64>]) {
    let g = &w[&format!("{name}.weight")].0;
    let b = &w[&format!("{name}.bias")].0;
    for row in x.iter_mut() {
        let n = row.len() as f64;
        let mean = row.iter().sum::<f64>() / n;
        let var = row.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
        for (i, v) in row.iter_mut().enumerate() {
            *v = (*v - mean) / (var + 1e-12).sqrt() * g[i] as f64 + b[i] as f64;
        }
    }
}

/// sentence-transformers' way: pad to the longest, mask, mean-pool over the mask.
fn padded_reference(w: &Weights, batch: &[Vec<u32>]) -> Vec<Vec<f64>> {
    let len = batch.iter().map(|s| s.len()).max().unwrap();
    let d = H / HEADS;
    batch
        .iter()
        .map(|ids| {
            let mask: Vec<f64> = (0..len)
                .map(|p| if p < ids.len() { 1.0 } else { 0.0 })
                .collect();
            let padded: Vec<u32> = (0..len).map(|p| ids.get(p).copied().unwrap_or(0)).collect();
            let (we, pe, te) = (
                &w["embeddings.word_embeddings.weight"].0,
                &w["embeddings.position_embeddings.weight"].0,
                &w["embeddings.token_type_embeddings.weight"].0,
            );
            let mut x: Vec<Vec<f64>> = padded
                .iter()
                .enumerate()
                .map(|(p, &id)| {
                    (0..H)
                        .map(|i| (we[id as usize * H + i] + pe[p * H + i] + te[i]) as f64)
                        .collect()
                })
                .collect();
            layer_norm(w, "embeddings.LayerNorm", &mut x);
            for l in 0..LAYERS {
                let p = format!("encoder.layer.{l}");
                let q = linear(w, &format!("{p}.attention.self.query"), &x);
                let k = linear(w, &format!("{p}.attention.self.key"), &x);
                let v = linear(w, &format!("{p}.attention.self.value"), &x);
                let mut ctx = vec![vec![0.0; H]; len];
                for h in 0..HEADS {
                    for i in 0..len {
                        let scores: Vec<f64> = (0..len)
                            .map(|j| {
                                let s: f64 = (0..d)
                                    .map(|c| q[i][h * d + c] * k[j][h * d + c])
                                    .sum::<f64>()
                                    / (d as f64).sqrt();
                                s + (1.0 - mask[j]) * -1e9
                            })
                            .collect();
                        let m = scores.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                        let e: Vec<f64> = scores.iter().map(|s| (s - m).exp()).collect();
                        let z: f64 = e.iter().sum();
                        for c in 0..d {
                            ctx[i][h * d + c] = (0..len).map(|j| e[j] / z * v[j][h * d + c]).sum();
                        }
                    }
                }
                let a = linear(w, &format!("{p}.attention.output.dense"), &ctx);
                let mut x1: Vec<Vec<f64>> = a
                    .iter()
                    .zip(&x)
                    .map(|(a, x)| a.iter().zip(x).map(|(a, x)| a + x).collect())
                    .collect();
                layer_norm(w, &format!("{p}.attention.output.LayerNorm"), &mut x1);
                let f: Vec<Vec<f64>> = linear(w, &format!("{p}.intermediate.dense"), &x1)
                    .into_iter()
                    .map(|r| {
                        r.into_iter()
                            .map(|v| 0.5 * v * (1.0 + erf(v / 2f64.sqrt())))
                            .collect()
                    })
                    .collect();
                let o = linear(w, &format!("{p}.output.dense"), &f);
                x = o
                    .iter()
                    .zip(&x1)
                    .map(|(o, x)| o.iter().zip(x).map(|(o, x)| o + x).collect())
                    .collect();
                layer_norm(w, &format!("{p}.output.LayerNorm"), &mut x);
            }
            let count: f64 = mask.iter().sum();
            let mut e: Vec<f64> = (0..H)
                .map(|i| (0..len).map(|p| x[p][i] * mask[p]).sum::<f64>() / count)
                .collect();
            let n = e.iter().map(|v| v * v).sum::<f64>().sqrt();
            e.iter_mut().for_each(|v| *v /= n);
            e
        })
        .collect()
}

fn cos(a: &[f32], b: &[f64]) -> f64 {
    let ab: f64 = a.iter().zip(b).map(|(x, y)| *x as f64 * y).sum();
    let aa: f64 = a.iter().map(|x| (*x as f64).powi(2)).sum();
    let bb: f64 = b.iter().map(|y| y * y).sum();
    ab / (aa.sqrt() * bb.sqrt())
}

fn setup() -> (tempfile::TempDir, Weights) {
    let dir = tempfile::tempdir().unwrap();
    let w = random_weights(7);
    write_model(dir.path(), &w);
    (dir, w)
}

const TEXTS: &[&str] = &[
    "the cat sat on the mat",
    "a dog",
    "the model learns from big data and the small model learns from small data fast",
    "cats ran in the park",
    "",
    "  the   dog  ",
];

#[test]
fn matches_a_padded_masked_reference() {
    let (dir, w) = setup();
    for threads in [1, 2] {
        let e = Embedder::load(
            dir.path(),
            EmbedderOptions {
                threads,
                batch_size: 32,
                max_seq_len: 32,
            },
        )
        .unwrap();
        let got = e.embed(TEXTS).unwrap();
        let ids: Vec<Vec<u32>> = TEXTS
            .iter()
            .map(|t| e.tokenizer().encode(*t, true).unwrap().get_ids().to_vec())
            .collect();
        // No padding from the shipped tokenizer.json's Fixed(128) setting.
        assert_eq!(ids[1].len(), 4, "[CLS] a dog [SEP]");
        let want = padded_reference(&w, &ids);
        for (i, (g, r)) in got.iter().zip(&want).enumerate() {
            let c = cos(g, r);
            assert!(c > 0.99999, "threads {threads}, text {i}: cosine {c}");
            let norm: f32 = g.iter().map(|v| v * v).sum::<f32>().sqrt();
            assert!((norm - 1.0).abs() < 1e-5);
        }
        // The reference is not trivially satisfied: different sentences differ.
        assert!(cos(&got[0], &want[1]) < 0.99);
    }
}

#[test]
fn padding_invariance_order_and_threads() {
    let (dir, _) = setup();
    let batched = Embedder::load(
        dir.path(),
        EmbedderOptions {
            threads: 2,
            batch_size: 32,
            max_seq_len: 32,
        },
    )
    .unwrap();
    let all = batched.embed(TEXTS).unwrap();
    for threads in [1, 2] {
        let single = Embedder::load(
            dir.path(),
            EmbedderOptions {
                threads,
                batch_size: 1,
                max_seq_len: 32,
            },
        )
        .unwrap();
        for (i, t) in TEXTS.iter().enumerate() {
            // A sentence alone equals the same sentence in a batch with longer ones.
            let alone = &single.embed(&[t]).unwrap()[0];
            let diff = alone
                .iter()
                .zip(&all[i])
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            assert!(
                diff < 1e-5,
                "text {i}, threads {threads}: max |diff| {diff}"
            );
        }
    }
    // Reversed input order gives the same vectors, reversed.
    let rev: Vec<&str> = TEXTS.iter().rev().copied().collect();
    let r = batched.embed(&rev).unwrap();
    for (i, v) in r.iter().rev().enumerate() {
        assert!(v.iter().zip(&all[i]).all(|(a, b)| (a - b).abs() < 1e-5));
    }
    assert!(batched.embed(&[]).unwrap().is_empty());
}

#[test]
fn truncation_and_token_counts() {
    let (dir, _) = setup();
    let e = Embedder::load(
        dir.path(),
        EmbedderOptions {
            threads: 1,
            batch_size: 4,
            max_seq_len: 8,
        },
    )
    .unwrap();
    let long = "the cat sat on the mat and the dog ran in the park";
    assert_eq!(
        e.count_tokens(long),
        15,
        "13 words ([UNK] for `and`) + [CLS] + [SEP], not truncated"
    );
    assert_eq!(e.tokenizer().encode(long, true).unwrap().get_ids().len(), 8);
    // Truncated: equal to embedding the first 6 word pieces.
    let a = &e.embed(&[long]).unwrap()[0];
    let b = &e.embed(&["the cat sat on the mat"]).unwrap()[0];
    assert!(a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-5));
    assert!(e.model_id().starts_with("bert-"), "{}", e.model_id());
    assert_eq!(e.dim(), H);
}

#[test]
fn bad_model_directories_are_explained() {
    let dir = tempfile::tempdir().unwrap();
    let err = Embedder::load(dir.path(), EmbedderOptions::default())
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("model.safetensors") && err.contains("roadmap assets fetch all-minilm-l6-v2"),
        "{err}"
    );
    let (dir, _) = setup();
    std::fs::write(dir.path().join("config.json"), "{\"hidden_size\": 5}").unwrap();
    let err = Embedder::load(dir.path(), EmbedderOptions::default())
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("config.json"), "{err}");
    let (dir, _) = setup();
    let err = Embedder::load(
        dir.path(),
        EmbedderOptions {
            threads: 0,
            ..Default::default()
        },
    )
    .err()
    .unwrap()
    .to_string();
    assert!(err.contains("threads"), "{err}");
}
