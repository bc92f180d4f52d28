//! `roadmap predict TEXT...` / `roadmap predict --file F`: classify texts with
//! the phase-2 sentiment model (by default the newest one registered by a
//! passed `roadmap run phase2`).

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use roadmap_sentiment::SentimentModel;
use serde_json::json;

use super::Globals;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Texts to classify (each one argument; quote them)
    #[arg(
        value_name = "TEXT",
        required_unless_present = "file",
        conflicts_with = "file"
    )]
    texts: Vec<String>,
    /// Classify every line of this UTF-8 file instead
    #[arg(long, short, value_name = "FILE")]
    file: Option<PathBuf>,
    /// Model directory [default: the latest model of a passed `roadmap run phase2`]
    #[arg(long, value_name = "DIR")]
    model: Option<PathBuf>,
    /// Print one JSON object instead of a line per text
    #[arg(long)]
    json: bool,
}

/// The lines of `bytes` as texts; invalid UTF-8 and blank lines are errors naming the line.
fn lines_of(bytes: &[u8], name: &str) -> Result<Vec<String>> {
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    if body.is_empty() {
        bail!("{name} is empty: put one text per line");
    }
    body.split(|&b| b == b'\n')
        .enumerate()
        .map(|(i, line)| {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let text = std::str::from_utf8(line).map_err(|e| {
                anyhow::anyhow!(
                    "{name}, line {}: invalid UTF-8 at byte {} of the line: save the file as UTF-8",
                    i + 1,
                    e.valid_up_to()
                )
            })?;
            if text.trim().is_empty() {
                bail!(
                    "{name}, line {}: empty line: every line must hold a text to classify",
                    i + 1
                );
            }
            Ok(text.to_string())
        })
        .collect()
}

pub fn run(args: Args, g: &Globals) -> Result<()> {
    let texts = match &args.file {
        Some(path) => {
            let bytes =
                std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
            lines_of(&bytes, &path.display().to_string())?
        }
        None => args.texts.clone(),
    };
    let dir = match args.model {
        Some(d) => d,
        None => g
            .open_db()?
            .latest_model("sentiment")?
            .context("no sentiment model is registered yet: run `roadmap run phase2` first (or pass --model DIR)")?,
    };
    let model = SentimentModel::load(&dir)
        .with_context(|| format!("cannot load the sentiment model in {}", dir.display()))?;
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let preds = model
        .predict_batch(&refs)
        .map_err(|e| match (&e, &args.file) {
            // Name the file line rather than the 0-based text index.
            (roadmap_sentiment::Error::TextTooLong { index, chars, max }, Some(f)) => {
                anyhow::anyhow!(
                    "{}, line {}: the text is {chars} characters, over the limit of {max}",
                    f.display(),
                    index + 1
                )
            }
            _ => anyhow::Error::new(e),
        })?;
    if args.json {
        let rows: Vec<_> = texts
            .iter()
            .zip(&preds)
            .map(|(t, p)| json!({ "text": t, "label": p.label, "score": p.score }))
            .collect();
        println!(
            "{}",
            json!({ "model": dir, "model_version": model.version(), "predictions": rows })
        );
    } else {
        for (t, p) in texts.iter().zip(&preds) {
            println!("{:<8} {:.4}  {t}", p.label, p.score);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::lines_of;

    #[test]
    fn file_lines_are_checked() {
        assert_eq!(
            lines_of(b"good\r\nbad\n", "f").unwrap(),
            vec!["good", "bad"]
        );
        let e = lines_of(b"good\nba\xffd\n", "f").unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("UTF-8"), "{e}");
        let e = lines_of(b"good\n  \nbad", "f").unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("empty"), "{e}");
        assert!(lines_of(b"", "f").is_err());
    }
}
