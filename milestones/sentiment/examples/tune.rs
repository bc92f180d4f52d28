//! Hyper-parameter exploration on the validation split only (the test split is
//! never scored here). Usage:
//! `cargo run --release -p roadmap-sentiment --example tune -- KEY=VALUE...`
//! with keys hidden (e.g. 128 or 256,64), dropout, lr, wd, batch, epochs,
//! patience, seed, bigrams (0/1), sublinear (0/1), min_freq.

use roadmap_sentiment::data;
use roadmap_sentiment::pipeline::{self, PipelineConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut cfg = PipelineConfig::default();
    let mut baseline: Option<pipeline::LogregBaseline> = None;
    for arg in std::env::args().skip(1) {
        let (k, v) = arg.split_once('=').ok_or("expected KEY=VALUE")?;
        match k {
            "hidden" => {
                cfg.train.hidden = v.split(',').map(str::parse).collect::<Result<_, _>>()?
            }
            "dropout" => cfg.train.dropout = v.parse()?,
            "lr" => cfg.train.lr = v.parse()?,
            "wd" => cfg.train.weight_decay = v.parse()?,
            "batch" => cfg.train.batch_size = v.parse()?,
            "epochs" => cfg.train.max_epochs = v.parse()?,
            "patience" => cfg.train.patience = v.parse()?,
            "seed" => cfg.train.seed = v.parse()?,
            "bigrams" => cfg.tfidf.bigrams = v == "1",
            "sublinear" => cfg.tfidf.sublinear_tf = v == "1",
            "logreg_lr" => {
                baseline = Some(pipeline::LogregBaseline {
                    learning_rate: v.parse()?,
                    ..Default::default()
                })
            }
            "logreg_newton" => {
                baseline = Some(pipeline::LogregBaseline {
                    newton: true,
                    max_features: v.parse()?,
                    ..Default::default()
                })
            }
            "logreg_epochs" => baseline.as_mut().ok_or("logreg_lr first")?.epochs = v.parse()?,
            "nb" => cfg.tfidf.nb_weights = v == "1",
            "min_freq" => cfg.min_token_frequency = v.parse()?,
            _ => return Err(format!("unknown key {k}").into()),
        }
    }
    let (all, _) = data::shipped()?;
    let split = pipeline::split_80_10_10(&all.labels, 42)?;
    let (train, val) = (all.select(&split.train), all.select(&split.val));
    let fitted = pipeline::fit(&train, Some(&val), &cfg, "", |s| {
        eprintln!(
            "epoch {:2} train loss {:.4} acc {:.4} | val loss {:.4} acc {:.4}",
            s.epoch,
            s.train_loss,
            s.train_accuracy,
            s.val_loss.unwrap(),
            s.val_accuracy.unwrap()
        )
    })?;
    if let Some(b) = baseline {
        let t = std::time::Instant::now();
        let r = pipeline::logreg_baseline(&fitted.model, &train, &val, &b)?;
        println!(
            "logreg {b:?}: VAL acc {:.4} auc {:.4} loss {:.4} | {:.2}s",
            r.accuracy,
            r.roc_auc.unwrap(),
            r.log_loss,
            t.elapsed().as_secs_f64()
        );
        return Ok(());
    }
    let report = pipeline::evaluate(&fitted.model, &val)?;
    println!(
        "{:?} | features {} | best epoch {} | VAL acc {:.4} auc {:.4} loss {:.4} | {:.2}s",
        std::env::args().skip(1).collect::<Vec<_>>(),
        fitted.model.tfidf().n_features(),
        fitted.trained.best_epoch,
        report.accuracy,
        report.roc_auc.unwrap_or(f64::NAN),
        report.log_loss,
        fitted.seconds
    );
    Ok(())
}
