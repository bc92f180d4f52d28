//! Renderers of a [`DriftReport`]: a terminal table, JSON, and a small self-contained HTML page.
//!
//! The HTML report is built from the binned summaries in the report (at most 31 bin edges or 21
//! categories per column), never from raw rows, so its size depends on the number of columns only:
//! Evidently's reports embed the data and reach hundreds of megabytes on large tables. Each histogram is
//! an inline SVG drawn with `plotters` (reference and current as shares of their rows, side by side).

use comfy_table::{presets::UTF8_FULL_CONDENSED, Cell, Table};
use plotters::prelude::*;

use crate::drift::{ColumnDrift, DriftReport, Histogram};
use crate::{QualityError, Result};

fn fmt(x: Option<f64>) -> String {
    match x {
        None => "-".into(),
        Some(v) if v != 0.0 && (v.abs() < 1e-3 || v.abs() >= 1e5) => format!("{v:.3e}"),
        Some(v) => format!("{v:.4}"),
    }
}

impl DriftReport {
    /// One line per column: kind, test, score vs threshold, verdict and the other statistics; then the
    /// dataset verdict.
    pub fn render_table(&self) -> String {
        let mut t = Table::new();
        t.load_preset(UTF8_FULL_CONDENSED);
        t.set_header([
            "column",
            "type",
            "test",
            "score",
            "threshold",
            "drift",
            "KS p",
            "W normed",
            "PSI",
            "JS",
            "χ² p",
        ]);
        for c in &self.columns {
            let verdict = match (&c.skipped, c.drifted) {
                (Some(_), _) => "skipped",
                (None, true) => "DRIFT",
                (None, false) => "no",
            };
            t.add_row(vec![
                Cell::new(&c.column),
                Cell::new(format!("{:?}", c.kind).to_lowercase()),
                Cell::new(c.test.map(|t| t.name()).unwrap_or("-")),
                Cell::new(fmt(c.score)),
                Cell::new(fmt(c.threshold)),
                Cell::new(verdict),
                Cell::new(fmt(c.ks_pvalue)),
                Cell::new(fmt(c.wasserstein_normed)),
                Cell::new(fmt(c.psi)),
                Cell::new(fmt(c.jensenshannon)),
                Cell::new(fmt(c.chisquare_pvalue)),
            ]);
        }
        let mut s = t.to_string();
        s.push('\n');
        s.push_str(&self.verdict_line());
        for c in self.columns.iter().filter(|c| c.skipped.is_some()) {
            s.push_str(&format!(
                "\n  {} skipped: {}",
                c.column,
                c.skipped.as_deref().unwrap_or("")
            ));
        }
        s.push('\n');
        s
    }

    fn verdict_line(&self) -> String {
        format!(
            "{}: {} of {} columns drifted (share {:.3}, threshold {}) — reference {} rows, current {} rows",
            if self.dataset_drift { "DATASET DRIFT" } else { "no dataset drift" },
            self.number_drifted,
            self.number_of_columns,
            self.share_drifted,
            self.drift_share,
            self.reference_rows,
            self.current_rows
        )
    }

    /// JSON: `dataset_drift`, `share_drifted`, counts, and one object per column with every statistic,
    /// the chosen test, threshold and verdict. `null` marks a statistic that does not apply (KS on a
    /// categorical column) or is not a finite number — JSON has no infinity, and χ² is +∞ when the current
    /// data holds a category the reference never had (its p-value is then 0).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_else(|e| serde_json::json!({ "error": e.to_string() }))
    }

    /// A self-contained HTML page (no scripts, no external files).
    pub fn to_html(&self) -> Result<String> {
        let esc = |s: &str| html_escape::encode_text(s).into_owned();
        let mut h = String::from(
            "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Data drift report</title>\n<style>\
             body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;font-size:13px}\
             td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f3f3f3}\
             td:first-child{text-align:left}.drift{color:#b00020;font-weight:bold}.ok{color:#1b5e20}\
             .col{display:inline-block;margin:8px;vertical-align:top}</style></head><body>\n",
        );
        h.push_str("<h1>Data drift report</h1>\n");
        h.push_str(&format!(
            "<p>Reference: {} ({} rows). Current: {} ({} rows).</p>\n<p class=\"{}\">{}</p>\n",
            esc(&self.reference),
            self.reference_rows,
            esc(&self.current),
            self.current_rows,
            if self.dataset_drift { "drift" } else { "ok" },
            esc(&self.verdict_line())
        ));
        h.push_str("<table><tr><th>column</th><th>type</th><th>test</th><th>score</th><th>threshold</th><th>drift</th><th>KS stat</th><th>KS p</th><th>Wasserstein</th><th>W normed</th><th>PSI</th><th>JS</th><th>χ²</th><th>χ² p</th><th>z p</th></tr>\n");
        for c in &self.columns {
            let verdict = match (&c.skipped, c.drifted) {
                (Some(s), _) => format!("skipped: {}", esc(s)),
                (None, true) => "<span class=\"drift\">DRIFT</span>".into(),
                (None, false) => "<span class=\"ok\">no</span>".into(),
            };
            h.push_str(&format!(
                "<tr><td>{}</td><td>{:?}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                esc(&c.column),
                c.kind,
                c.test.map(|t| t.name()).unwrap_or("-"),
                fmt(c.score),
                fmt(c.threshold),
                verdict,
                fmt(c.ks_statistic),
                fmt(c.ks_pvalue),
                fmt(c.wasserstein),
                fmt(c.wasserstein_normed),
                fmt(c.psi),
                fmt(c.jensenshannon),
                fmt(c.chisquare),
                fmt(c.chisquare_pvalue),
                fmt(c.z_pvalue)
            ));
        }
        h.push_str("</table>\n<h2>Distributions (share of rows; blue = reference, orange = current)</h2>\n");
        for c in &self.columns {
            if let Some(hist) = &c.histogram {
                h.push_str(&format!("<div class=\"col\"><h3>{}</h3>\n", esc(&c.column)));
                h.push_str(&histogram_svg(c, hist)?);
                h.push_str("</div>\n");
            }
        }
        h.push_str("</body></html>\n");
        Ok(h)
    }
}

/// Grouped bars of reference and current shares for one column, as an inline SVG string.
fn histogram_svg(col: &ColumnDrift, hist: &Histogram) -> Result<String> {
    let (labels, r, c): (Vec<String>, Vec<u64>, Vec<u64>) = match hist {
        Histogram::Numeric {
            edges,
            reference,
            current,
        } => {
            let labels = edges.windows(2).map(|w| format!("{:.3}", w[0])).collect();
            (labels, reference.clone(), current.clone())
        }
        Histogram::Categories {
            labels,
            reference,
            current,
            other_reference,
            other_current,
        } => {
            let (mut l, mut r, mut c) = (labels.clone(), reference.clone(), current.clone());
            if other_reference + other_current > 0 {
                l.push("(other)".into());
                r.push(*other_reference);
                c.push(*other_current);
            }
            (l, r, c)
        }
    };
    let share = |v: &[u64]| {
        let total: u64 = v.iter().sum::<u64>().max(1);
        v.iter()
            .map(|&x| x as f64 / total as f64)
            .collect::<Vec<f64>>()
    };
    let (rs, cs) = (share(&r), share(&c));
    let ymax = rs.iter().chain(&cs).cloned().fold(0.0, f64::max).max(1e-9) * 1.1;
    let n = labels.len().max(1);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (460, 260)).into_drawing_area();
        let err = |e: &dyn std::fmt::Display| {
            QualityError::Render(format!("drawing the histogram of `{}`: {e}", col.column))
        };
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let mut chart = ChartBuilder::on(&root)
            .margin(8)
            .x_label_area_size(40)
            .y_label_area_size(45)
            .build_cartesian_2d(0f64..n as f64, 0f64..ymax)
            .map_err(|e| err(&e))?;
        let step = (n / 8).max(1);
        chart
            .configure_mesh()
            .disable_x_mesh()
            .max_light_lines(0)
            .x_labels(n.min(8))
            .x_label_formatter(&|x| {
                let i = x.floor() as usize;
                if i.is_multiple_of(step) {
                    labels
                        .get(i)
                        .map(|s| s.chars().take(12).collect())
                        .unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .y_label_formatter(&|y| format!("{y:.2}"))
            .draw()
            .map_err(|e| err(&e))?;
        let blue = RGBColor(31, 119, 180);
        let orange = RGBColor(255, 127, 14);
        chart
            .draw_series(rs.iter().enumerate().map(|(i, &v)| {
                Rectangle::new([(i as f64 + 0.05, 0.0), (i as f64 + 0.5, v)], blue.filled())
            }))
            .map_err(|e| err(&e))?;
        chart
            .draw_series(cs.iter().enumerate().map(|(i, &v)| {
                Rectangle::new(
                    [(i as f64 + 0.5, 0.0), (i as f64 + 0.95, v)],
                    orange.filled(),
                )
            }))
            .map_err(|e| err(&e))?;
        root.present().map_err(|e| err(&e))?;
    }
    Ok(svg)
}
