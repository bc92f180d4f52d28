//! Token-level SHAP and the counterfactual template audit on the real phase-2
//! sentiment network, trained here on the shipped movie-review snippets
//! (2,000 of them, a small network: a few seconds).

use std::sync::OnceLock;

use roadmap_audit::shap::kernel::{KernelOptions, NSamples};
use roadmap_audit::shap::plot::{render_text_html, render_text_terminal};
use roadmap_audit::shap::text::{explain_text, TextShapOptions};
use roadmap_audit::textbias::{text_bias_audit, TemplateSet};
use roadmap_audit::TextModel;
use roadmap_sentiment::pipeline::{self, PipelineConfig};
use roadmap_sentiment::{data, SentimentModel, TrainConfig};

fn model() -> &'static SentimentModel {
    static M: OnceLock<SentimentModel> = OnceLock::new();
    M.get_or_init(|| {
        let (all, _) = data::shipped().unwrap();
        let d = all.select(&(0..2000).collect::<Vec<_>>());
        let cfg = PipelineConfig {
            train: TrainConfig {
                hidden: vec![16],
                max_epochs: 4,
                ..Default::default()
            },
            ..Default::default()
        };
        pipeline::fit(&d, None, &cfg, "test", |_| {}).unwrap().model
    })
}

#[test]
fn scores_agree_with_the_models_own_predictions() {
    let m = model();
    let texts = ["A gorgeous, moving film.", "Dull and far too long."];
    let ours = m.scores(&texts).unwrap();
    let theirs = m.predict_batch(&texts).unwrap();
    for (a, b) in ours.iter().zip(&theirs) {
        assert_eq!(*a, f64::from(b.score));
    }
    // Fully masked text: the network's prior, a valid probability.
    let empty = m.scores(&[""]).unwrap()[0];
    assert!((0.0..=1.0).contains(&empty));
}

#[test]
fn token_shap_is_additive_exact_and_kernel() {
    let m = model();
    let short = explain_text(
        m,
        "A gorgeous, witty and moving film.",
        &TextShapOptions::default(),
    )
    .unwrap();
    assert_eq!(short.method, "exact");
    assert!(
        short.additivity_error() < 1e-9,
        "{}",
        short.additivity_error()
    );
    let p = m
        .predict("A gorgeous, witty and moving film.")
        .unwrap()
        .score as f64;
    assert!((short.output - (p / (1.0 - p)).ln()).abs() < 1e-9);
    let long_text = "The plot is thin and the pacing drags, but the two leads are wonderful, \
                     the score is lovely and the final scene is genuinely moving.";
    let opts = TextShapOptions {
        kernel: KernelOptions {
            nsamples: NSamples::Fixed(600),
            ..Default::default()
        },
        ..Default::default()
    };
    let long = explain_text(m, long_text, &opts).unwrap();
    assert_eq!(long.method, "kernel");
    assert!(long.additivity_error() < 1e-9);
    let plain = render_text_terminal(&long, false);
    assert!(plain.contains("wonderful[") && !plain.contains('\x1b'));
    assert!(render_text_html(&long).contains("<span title="));
}

#[test]
fn template_audit_reports_every_group_with_an_interval() {
    let set = TemplateSet::shipped();
    let r = text_bias_audit(model(), &set).unwrap();
    assert_eq!(r.dimensions.len(), set.dimensions.len());
    for (d, spec) in r.dimensions.iter().zip(&set.dimensions) {
        assert_eq!(d.groups.len(), spec.groups.len());
        for g in d.groups.iter().skip(1) {
            let gap = g.gap_vs_reference.as_ref().unwrap();
            assert!(gap.ci95[0] <= gap.mean && gap.mean <= gap.ci95[1]);
            assert_eq!(gap.templates, set.templates.len());
        }
    }
    assert!(r.render_table().contains("nationality"));
}
