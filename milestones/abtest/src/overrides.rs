//! The configuration a variant may change, in one place: the keys, their
//! types and allowed values. `experiments.toml` is validated against this
//! list ([`crate::config`]) and the RAG service applies an [`Overrides`]
//! value to its own settings, so the two can never disagree about which
//! knobs exist.
//!
//! | key | values | what it changes in the RAG service |
//! |---|---|---|
//! | `generator` | `extractive`, `local`, `openai` | who writes the answer |
//! | `mode` | `dense`, `bm25`, `hybrid` | the retriever |
//! | `fusion` | `convex`, `rrf` | how hybrid merges dense and BM25 |
//! | `alpha` | number in `[0, 1]` | dense weight of convex fusion |
//! | `rrf_k` | number `> 0` | the `k` of reciprocal rank fusion |
//! | `k` | integer `≥ 1` | chunks retrieved per question |
//! | `memory` | integer `≥ 0` | earlier exchanges an LLM generator sees |
//! | `prompt_template` | non-empty string | name of the prompt template |
//!
//! Combinations that cannot take effect are refused rather than silently
//! ignored: `alpha` needs convex fusion, `rrf_k` needs `fusion = "rrf"`, and
//! `fusion` needs hybrid retrieval (or no `mode`, the service default).

use serde::Serialize;

/// Every override key, in the order of the table above.
pub const OVERRIDE_KEYS: [&str; 8] = [
    "generator",
    "mode",
    "fusion",
    "alpha",
    "rrf_k",
    "k",
    "memory",
    "prompt_template",
];

/// Who writes the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Generator {
    Extractive,
    Local,
    Openai,
}

/// Which retriever finds the passages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RetrievalMode {
    Dense,
    Bm25,
    Hybrid,
}

/// How hybrid retrieval merges its two lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FusionMethod {
    Convex,
    Rrf,
}

/// One variant's changes to the service configuration; `None` = keep the
/// service's own setting.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generator: Option<Generator>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<RetrievalMode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fusion: Option<FusionMethod>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alpha: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rrf_k: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub k: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt_template: Option<String>,
}

/// ` (did you mean `x`?)` for the closest candidate within 3 edits, else "".
pub(crate) fn did_you_mean(word: &str, candidates: &[&str]) -> String {
    candidates
        .iter()
        .map(|c| (strsim::levenshtein(word, c), *c))
        .min()
        .filter(|(d, _)| *d <= 3)
        .map(|(_, c)| format!(" (did you mean `{c}`?)"))
        .unwrap_or_default()
}

/// One override that could not be accepted: which key, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct OverrideProblem {
    /// The offending key (the later one of a bad combination).
    pub key: String,
    pub message: String,
}

fn choice<T: Copy>(
    key: &str,
    value: &toml::Value,
    options: &[(&str, T)],
) -> Result<T, OverrideProblem> {
    let names = options
        .iter()
        .map(|(n, _)| *n)
        .collect::<Vec<_>>()
        .join(", ");
    let problem = |got: String| OverrideProblem {
        key: key.to_owned(),
        message: format!("override `{key}` is {got}; use one of: {names}"),
    };
    match value {
        toml::Value::String(s) => options
            .iter()
            .find(|(n, _)| n == s)
            .map(|(_, v)| *v)
            .ok_or_else(|| problem(format!("\"{s}\""))),
        other => Err(problem(format!("{other} ({})", other.type_str()))),
    }
}

fn number(value: &toml::Value) -> Option<f64> {
    match value {
        toml::Value::Float(f) => Some(*f),
        toml::Value::Integer(i) => Some(*i as f64),
        _ => None,
    }
}

fn count(key: &str, value: &toml::Value, min: i64) -> Result<usize, OverrideProblem> {
    match value {
        toml::Value::Integer(i) if *i >= min => Ok(*i as usize),
        other => Err(OverrideProblem {
            key: key.to_owned(),
            message: format!("override `{key}` is {other}; it must be a whole number ≥ {min}"),
        }),
    }
}

impl Overrides {
    /// Reads one value for `key`. An unknown key is an error naming the
    /// closest known key and listing all of them.
    pub fn set(&mut self, key: &str, value: &toml::Value) -> Result<(), OverrideProblem> {
        let bad_number = |what: &str| OverrideProblem {
            key: key.to_owned(),
            message: format!("override `{key}` is {value}; it must be {what}"),
        };
        match key {
            "generator" => {
                self.generator = Some(choice(
                    key,
                    value,
                    &[
                        ("extractive", Generator::Extractive),
                        ("local", Generator::Local),
                        ("openai", Generator::Openai),
                    ],
                )?)
            }
            "mode" => {
                self.mode = Some(choice(
                    key,
                    value,
                    &[
                        ("dense", RetrievalMode::Dense),
                        ("bm25", RetrievalMode::Bm25),
                        ("hybrid", RetrievalMode::Hybrid),
                    ],
                )?)
            }
            "fusion" => {
                self.fusion = Some(choice(
                    key,
                    value,
                    &[("convex", FusionMethod::Convex), ("rrf", FusionMethod::Rrf)],
                )?)
            }
            "alpha" => match number(value) {
                Some(a) if (0.0..=1.0).contains(&a) => self.alpha = Some(a),
                _ => return Err(bad_number("a number between 0 and 1")),
            },
            "rrf_k" => match number(value) {
                Some(k) if k > 0.0 && k.is_finite() => self.rrf_k = Some(k),
                _ => return Err(bad_number("a positive number (60 is the usual choice)")),
            },
            "k" => self.k = Some(count(key, value, 1)?),
            "memory" => self.memory = Some(count(key, value, 0)?),
            "prompt_template" => match value {
                toml::Value::String(s) if !s.trim().is_empty() => {
                    self.prompt_template = Some(s.clone())
                }
                _ => return Err(bad_number("a non-empty string")),
            },
            unknown => {
                let closest = did_you_mean(unknown, &OVERRIDE_KEYS);
                return Err(OverrideProblem {
                    key: key.to_owned(),
                    message: format!(
                        "unknown override key `{unknown}`{closest}; the keys are: {}",
                        OVERRIDE_KEYS.join(", ")
                    ),
                });
            }
        }
        Ok(())
    }

    /// Checks combinations that could not take effect.
    pub fn check_combination(&self) -> Result<(), OverrideProblem> {
        let problem = |key: &str, message: &str| {
            Err(OverrideProblem {
                key: key.to_owned(),
                message: message.to_owned(),
            })
        };
        if self.alpha.is_some() && self.fusion == Some(FusionMethod::Rrf) {
            return problem(
                "alpha",
                "`alpha` weighs convex fusion but this variant sets fusion = \"rrf\"; drop one",
            );
        }
        if self.rrf_k.is_some() && self.fusion != Some(FusionMethod::Rrf) {
            return problem(
                "rrf_k",
                "`rrf_k` only applies with fusion = \"rrf\"; add it or drop rrf_k",
            );
        }
        if self.fusion.is_some() && matches!(self.mode, Some(m) if m != RetrievalMode::Hybrid) {
            return problem(
                "fusion",
                "`fusion` only applies to mode = \"hybrid\"; this variant retrieves with one method",
            );
        }
        Ok(())
    }

    /// `(key, value)` pairs of what is set, in [`OVERRIDE_KEYS`] order, for
    /// logs and the `X-Experiment-Variant` explanation.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let text = |v: &str| v.to_owned();
        if let Some(v) = &self.generator {
            out.push((
                "generator",
                text(match v {
                    Generator::Extractive => "extractive",
                    Generator::Local => "local",
                    Generator::Openai => "openai",
                }),
            ));
        }
        if let Some(v) = &self.mode {
            out.push((
                "mode",
                text(match v {
                    RetrievalMode::Dense => "dense",
                    RetrievalMode::Bm25 => "bm25",
                    RetrievalMode::Hybrid => "hybrid",
                }),
            ));
        }
        if let Some(v) = &self.fusion {
            out.push((
                "fusion",
                text(match v {
                    FusionMethod::Convex => "convex",
                    FusionMethod::Rrf => "rrf",
                }),
            ));
        }
        if let Some(v) = self.alpha {
            out.push(("alpha", v.to_string()));
        }
        if let Some(v) = self.rrf_k {
            out.push(("rrf_k", v.to_string()));
        }
        if let Some(v) = self.k {
            out.push(("k", v.to_string()));
        }
        if let Some(v) = self.memory {
            out.push(("memory", v.to_string()));
        }
        if let Some(v) = &self.prompt_template {
            out.push(("prompt_template", v.clone()));
        }
        out
    }

    pub fn is_empty(&self) -> bool {
        self.pairs().is_empty()
    }
}

impl std::fmt::Display for Overrides {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let pairs = self.pairs();
        if pairs.is_empty() {
            return f.write_str("(service defaults)");
        }
        let text: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        f.write_str(&text.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(key: &str, v: toml::Value) -> Result<Overrides, OverrideProblem> {
        let mut o = Overrides::default();
        o.set(key, &v).map(|_| o)
    }

    #[test]
    fn every_listed_key_is_accepted() {
        let values = [
            toml::Value::String("local".into()),
            toml::Value::String("hybrid".into()),
            toml::Value::String("convex".into()),
            toml::Value::Float(0.3),
            toml::Value::Integer(60),
            toml::Value::Integer(5),
            toml::Value::Integer(0),
            toml::Value::String("concise".into()),
        ];
        let mut o = Overrides::default();
        for (k, v) in OVERRIDE_KEYS.iter().zip(values) {
            o.set(k, &v)
                .unwrap_or_else(|e| panic!("{k}: {}", e.message));
        }
        assert_eq!(o.pairs().len(), OVERRIDE_KEYS.len());
    }

    #[test]
    fn unknown_keys_get_a_suggestion() {
        let e = set("fusoin", toml::Value::String("rrf".into())).unwrap_err();
        assert!(e.message.contains("did you mean `fusion`"), "{}", e.message);
        assert!(e.message.contains("prompt_template"));
    }

    #[test]
    fn bad_values_say_what_is_allowed() {
        let e = set("generator", toml::Value::String("gpt".into())).unwrap_err();
        assert!(
            e.message.contains("extractive, local, openai"),
            "{}",
            e.message
        );
        assert!(set("alpha", toml::Value::Float(1.5)).is_err());
        assert!(set("k", toml::Value::Integer(0)).is_err());
        assert!(set("k", toml::Value::Float(2.5)).is_err());
        assert!(set("memory", toml::Value::Integer(0)).is_ok());
    }

    #[test]
    fn impossible_combinations_are_refused() {
        let mut o = Overrides::default();
        o.set("fusion", &toml::Value::String("rrf".into())).unwrap();
        o.set("alpha", &toml::Value::Float(0.5)).unwrap();
        assert_eq!(o.check_combination().unwrap_err().key, "alpha");
        let mut o = Overrides::default();
        o.set("rrf_k", &toml::Value::Integer(60)).unwrap();
        assert_eq!(o.check_combination().unwrap_err().key, "rrf_k");
        let mut o = Overrides::default();
        o.set("mode", &toml::Value::String("dense".into())).unwrap();
        o.set("fusion", &toml::Value::String("convex".into()))
            .unwrap();
        assert_eq!(o.check_combination().unwrap_err().key, "fusion");
    }
}
