//! The server without the rest of the `roadmap` binary, for load tests on a
//! quick release build (`cargo build --release -p roadmap-serve --example serve`):
//!
//! ```text
//! serve --train DIR                 # train the phase-2 default model, save it to DIR
//! serve --model DIR [--addr A] [--inline-max-bytes N]   # like `roadmap serve --model DIR`
//! ```

use std::sync::Arc;

use roadmap_sentiment::data;
use roadmap_sentiment::pipeline::{fit, split_80_10_10, PipelineConfig};
use roadmap_serve::{SentimentClassifier, ServerConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    if let Some(dir) = flag("--train") {
        let (all, _) = data::shipped()?;
        let split = split_80_10_10(&all.labels, 42)?;
        let (train, val) = (all.select(&split.train), all.select(&split.val));
        let fitted = fit(
            &train,
            Some(&val),
            &PipelineConfig::default(),
            &data::shipped_sha256(),
            |e| {
                eprintln!("{e:?}");
            },
        )?;
        fitted.model.save(std::path::Path::new(&dir))?;
        eprintln!("saved to {dir} in {:.1} s", fitted.seconds);
        return Ok(());
    }
    let dir = flag("--model")
        .ok_or("usage: serve --model DIR [--addr 127.0.0.1:8000] | serve --train DIR")?;
    let addr = flag("--addr")
        .unwrap_or_else(|| "127.0.0.1:8000".into())
        .parse()?;
    roadmap_serve::init_json_logging()?;
    let classifier = SentimentClassifier::load(&dir)?;
    let mut config = ServerConfig::default();
    if let Some(n) = flag("--inline-max-bytes") {
        config.inline_max_bytes = n.parse()?;
    }
    roadmap_serve::run_until_signal(Arc::new(classifier), addr, config, |a| {
        eprintln!("serving {dir} on http://{a}");
    })?;
    Ok(())
}
