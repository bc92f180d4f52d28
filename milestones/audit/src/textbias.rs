//! Counterfactual text-bias audit: does the sentiment score change when only
//! the person in the sentence changes?
//!
//! The shipped template set (`data/identity_templates.toml`, authored for this
//! project after the Equity Evaluation Corpus design of Kiritchenko & Mohammad
//! 2018) fills each of T templates with every identity term of every group.
//! For a dimension (e.g. gender) with groups g and reference group r:
//!
//! ```text
//!   s(t, g) = mean over g's terms of P(positive | template t filled with the term)
//!   d_t     = s(t, g) − s(t, r)                    (paired by template)
//!   gap     = mean_t d_t,
//!   95 % CI = gap ± t_{0.975, T−1} · sd(d) / √T    (sd with T − 1 in the denominator)
//! ```
//!
//! the paired t-interval, as `scipy.stats.t.interval(0.95, T − 1, loc=gap,
//! scale=scipy.stats.sem(d))` (scipy 1.17; Student's t quantile from `statrs`).
//! Pairing by template removes the templates' own sentiment from the
//! comparison. A model without identity bias has every gap near 0; an
//! interval that excludes 0 is reported as a significant gap. Scores and gaps
//! are in probability points.

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, StudentsT};

use crate::error::{AuditError, Result};
use crate::shap::text::TextModel;

/// The template list shipped with the crate.
pub const SHIPPED_TEMPLATES: &str = include_str!("../data/identity_templates.toml");
/// The placeholder each template holds once.
pub const SLOT: &str = "{person}";

/// One identity group and its terms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdentityGroup {
    pub name: String,
    pub terms: Vec<String>,
}

/// One identity dimension (gender, nationality…); the first group is the reference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dimension {
    pub name: String,
    pub groups: Vec<IdentityGroup>,
}

/// Templates and identity dimensions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplateSet {
    pub method: String,
    pub templates: Vec<String>,
    pub dimensions: Vec<Dimension>,
}

impl TemplateSet {
    /// The shipped set.
    pub fn shipped() -> Self {
        TemplateSet::parse(SHIPPED_TEMPLATES).expect("the shipped template file is valid (tested)")
    }

    /// Parses and checks a template file (TOML, the shipped file's layout).
    pub fn parse(text: &str) -> Result<Self> {
        let set: TemplateSet = toml::from_str(text)
            .map_err(|e| AuditError::Templates(format!("template file: {e}")))?;
        if set.templates.len() < 2 {
            return Err(AuditError::Templates(
                "at least two templates are needed for an interval".into(),
            ));
        }
        for t in &set.templates {
            if t.matches(SLOT).count() != 1 {
                return Err(AuditError::Templates(format!(
                    "template `{t}` must hold `{SLOT}` exactly once"
                )));
            }
        }
        if set.dimensions.is_empty() {
            return Err(AuditError::Templates("no identity dimension".into()));
        }
        for d in &set.dimensions {
            if d.groups.len() < 2 {
                return Err(AuditError::Templates(format!(
                    "dimension `{}` needs at least two groups",
                    d.name
                )));
            }
            if let Some(g) = d.groups.iter().find(|g| g.terms.is_empty()) {
                return Err(AuditError::Templates(format!(
                    "group `{}` of `{}` has no terms",
                    g.name, d.name
                )));
            }
        }
        Ok(set)
    }

    /// Template `t` filled with `term` (capitalised at the start of a sentence).
    pub fn fill(template: &str, term: &str) -> String {
        let term = if template.starts_with(SLOT) {
            let mut c = term.chars();
            c.next()
                .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                .unwrap_or_default()
        } else {
            term.to_string()
        };
        template.replacen(SLOT, &term, 1)
    }
}

/// A mean difference with its 95 % paired t-interval.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Gap {
    pub mean: f64,
    pub ci95: [f64; 2],
    /// Whether the interval excludes 0.
    pub significant: bool,
    /// Number of paired templates.
    pub templates: usize,
}

/// One group's scores.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupResult {
    pub group: String,
    pub terms: usize,
    /// Mean P(positive) over all of the group's sentences.
    pub mean_score: f64,
    /// Gap to the reference group (`None` for the reference itself).
    pub gap_vs_reference: Option<Gap>,
}

/// One dimension's results.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DimensionResult {
    pub dimension: String,
    pub reference: String,
    pub groups: Vec<GroupResult>,
    /// The largest |mean score difference| between two groups: (group a, group b, a − b).
    pub largest_gap: (String, String, f64),
}

/// The whole text-bias audit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TextBiasReport {
    pub method: String,
    pub templates: usize,
    pub sentences_scored: usize,
    pub dimensions: Vec<DimensionResult>,
}

/// Mean and 95 % t-interval of paired differences.
pub fn paired_gap(d: &[f64]) -> Result<Gap> {
    if d.len() < 2 {
        return Err(AuditError::Templates(
            "a paired interval needs at least two templates".into(),
        ));
    }
    let n = d.len() as f64;
    let mean = roadmap_common::stats::mean(d);
    let sem = roadmap_common::stats::std_sample(d) / n.sqrt();
    let t = StudentsT::new(0.0, 1.0, n - 1.0)
        .map_err(|e| {
            AuditError::Numeric(format!(
                "Student t with {} degrees of freedom: {e}",
                n - 1.0
            ))
        })?
        .inverse_cdf(0.975);
    let ci95 = [mean - t * sem, mean + t * sem];
    Ok(Gap {
        mean,
        ci95,
        significant: ci95[0] > 0.0 || ci95[1] < 0.0,
        templates: d.len(),
    })
}

/// Scores every filled template with `model` and compares the groups.
pub fn text_bias_audit(model: &dyn TextModel, set: &TemplateSet) -> Result<TextBiasReport> {
    let mut dimensions = Vec::new();
    let mut scored = 0;
    for dim in &set.dimensions {
        // s[g][t]: group g's mean score on template t.
        let mut s: Vec<Vec<f64>> = Vec::new();
        for g in &dim.groups {
            let sentences: Vec<String> = set
                .templates
                .iter()
                .flat_map(|t| g.terms.iter().map(move |term| TemplateSet::fill(t, term)))
                .collect();
            let refs: Vec<&str> = sentences.iter().map(String::as_str).collect();
            let scores = model.scores(&refs)?;
            if scores.len() != refs.len() || scores.iter().any(|v| !(0.0..=1.0).contains(v)) {
                return Err(AuditError::TextModel(format!(
                    "expected {} probabilities in [0, 1], got {} values",
                    refs.len(),
                    scores.len()
                )));
            }
            scored += scores.len();
            s.push(
                scores
                    .chunks(g.terms.len())
                    .map(roadmap_common::stats::mean)
                    .collect(),
            );
        }
        let means: Vec<f64> = s.iter().map(|v| roadmap_common::stats::mean(v)).collect();
        let groups = dim
            .groups
            .iter()
            .enumerate()
            .map(|(gi, g)| {
                let gap = if gi == 0 {
                    None
                } else {
                    let d: Vec<f64> = s[gi].iter().zip(&s[0]).map(|(a, b)| a - b).collect();
                    Some(paired_gap(&d)?)
                };
                Ok(GroupResult {
                    group: g.name.clone(),
                    terms: g.terms.len(),
                    mean_score: means[gi],
                    gap_vs_reference: gap,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let (mut a, mut b) = (0, 0);
        for i in 0..means.len() {
            if means[i] > means[a] {
                a = i;
            }
            if means[i] < means[b] {
                b = i;
            }
        }
        dimensions.push(DimensionResult {
            dimension: dim.name.clone(),
            reference: dim.groups[0].name.clone(),
            groups,
            largest_gap: (
                dim.groups[a].name.clone(),
                dim.groups[b].name.clone(),
                means[a] - means[b],
            ),
        });
    }
    Ok(TextBiasReport {
        method: set.method.clone(),
        templates: set.templates.len(),
        sentences_scored: scored,
        dimensions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shap::text::tests::Lexicon;

    #[test]
    fn shipped_templates_parse_and_fill() {
        let set = TemplateSet::shipped();
        assert!(set.templates.len() >= 20);
        assert_eq!(set.dimensions.len(), 3);
        assert_eq!(
            TemplateSet::fill("{person} loved it.", "my sister"),
            "My sister loved it."
        );
        assert_eq!(
            TemplateSet::fill("I saw it with {person}.", "my sister"),
            "I saw it with my sister."
        );
        assert!(TemplateSet::parse(
            "method = \"m\"\ntemplates = [\"a\", \"b {person}\"]\ndimensions = []"
        )
        .is_err());
    }

    #[test]
    fn t_interval_matches_scipy() {
        // scipy.stats.t.interval(0.95, 4, loc=mean, scale=sem) for d = [1, 2, 3, 4, 5]:
        // (1.0367568385224428, 4.963243161477557) with scipy 1.17.1.
        let g = paired_gap(&[1.0, 2.0, 3.0, 4.0, 5.0]).unwrap();
        assert!((g.ci95[0] - 1.0367568385224428).abs() < 1e-9, "{g:?}");
        assert!((g.ci95[1] - 4.963243161477557).abs() < 1e-9);
        assert!(g.significant);
    }

    /// A model that likes "sister" more than "brother" by +1 in log-odds.
    struct Biased;
    impl TextModel for Biased {
        fn scores(&self, texts: &[&str]) -> Result<Vec<f64>> {
            let base = Lexicon.scores(texts)?;
            Ok(texts
                .iter()
                .zip(base)
                .map(|(t, p)| {
                    let z = (p / (1.0 - p)).ln()
                        + if t.to_lowercase().contains("woman") {
                            1.0
                        } else {
                            0.0
                        };
                    1.0 / (1.0 + (-z).exp())
                })
                .collect())
        }
    }

    #[test]
    fn an_unbiased_model_has_zero_gaps_and_a_biased_one_does_not() {
        let set = TemplateSet::shipped();
        let fair = text_bias_audit(&Lexicon, &set).unwrap();
        for d in &fair.dimensions {
            for g in d.groups.iter().filter_map(|g| g.gap_vs_reference.as_ref()) {
                assert_eq!(g.mean, 0.0);
                assert!(!g.significant);
            }
        }
        let biased = text_bias_audit(&Biased, &set).unwrap();
        let gap = biased.dimensions[0].groups[1]
            .gap_vs_reference
            .as_ref()
            .unwrap();
        assert!(gap.mean > 0.0 && gap.significant, "{gap:?}");
        let n: usize = set
            .dimensions
            .iter()
            .map(|d| d.groups.iter().map(|g| g.terms.len()).sum::<usize>())
            .sum::<usize>()
            * set.templates.len();
        assert_eq!(biased.sentences_scored, n);
    }
}
