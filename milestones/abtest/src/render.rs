//! Three views of a [`Report`]: a terminal table (comfy-table), JSON (serde)
//! and a self-contained HTML page whose chart (the relative lift of every
//! metric with its fixed-horizon and always-valid intervals) is inline SVG
//! drawn by plotters, so the page opens anywhere without network access.
//!
//! Numbers that could not be computed print as `—` with the reason listed
//! under the table, and serialise as JSON `null` with the reason beside them.

use comfy_table::{presets::UTF8_FULL_CONDENSED, Cell, Table};
use plotters::prelude::*;

use crate::analysis::{AbsoluteTest, Conclusion, Effect, MetricKind, Report, VariantReport};
use crate::stats::proportions::ProportionsTest;
use crate::stats::srm::Srm;
use crate::stats::welch::WelchTest;

/// A chart could not be drawn.
#[derive(Debug, thiserror::Error)]
#[error("drawing the effect chart: {0}")]
pub struct RenderError(String);

fn dash(v: Option<f64>, f: impl Fn(f64) -> String) -> String {
    v.map(f).unwrap_or_else(|| "—".to_owned())
}

fn pct(v: f64) -> String {
    format!("{:+.2}%", 100.0 * v)
}

fn p_text(p: f64) -> String {
    if p < 1e-4 {
        format!("{p:.1e}")
    } else {
        format!("{p:.4}")
    }
}

fn conclusion_text(c: Conclusion) -> &'static str {
    match c {
        Conclusion::Better => "better",
        Conclusion::Worse => "worse",
        Conclusion::Different => "different",
        Conclusion::Inconclusive => "inconclusive",
        Conclusion::NotComputed => "not computed",
    }
}

fn table() -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t
}

/// The mean of a metric in a variant, as printed (rates in %).
fn metric_value(kind: MetricKind, mean: Option<f64>) -> String {
    match kind {
        MetricKind::Binary => dash(mean, |m| format!("{:.2}%", 100.0 * m)),
        MetricKind::Continuous => dash(mean, |m| format!("{m:.4}")),
    }
}

/// The report as terminal text: variants, health, metrics, effects.
pub fn text(report: &Report) -> String {
    let mut out = format!(
        "experiment {} ({}), control `{}`, alpha {}\n",
        report.experiment, report.status, report.control, report.options.alpha
    );
    if let Some(d) = &report.description {
        out.push_str(&format!("{d}\n"));
    }
    let mut t = table();
    t.set_header(VARIANT_HEADER.to_vec());
    for v in &report.variants {
        t.add_row(variant_row(v));
    }
    out.push_str(&format!("{t}\n"));

    let h = &report.health;
    match &h.srm {
        Some(s) => out.push_str(&format!(
            "sample ratio: chi2 {:.3}, df {}, p {} -> {}\n",
            s.chi2,
            s.df,
            p_text(s.p_value),
            s.verdict
        )),
        None => out.push_str(&format!(
            "sample ratio: not computed ({})\n",
            h.srm_note.as_deref().unwrap_or("no data")
        )),
    }
    if h.warnings.is_empty() {
        out.push_str("health: ok\n");
    }
    for w in &h.warnings {
        out.push_str(&format!("health: {w}\n"));
    }

    let mut t = table();
    let mut header = vec!["metric".to_owned()];
    header.extend(report.variants.iter().map(|v| v.name.clone()));
    t.set_header(header);
    let metric_count = report.variants.first().map_or(0, |v| v.metrics.len());
    for m in 0..metric_count {
        let key = report.variants[0].metrics[m].metric;
        let kind = report
            .effects
            .iter()
            .find(|e| e.metric == key)
            .map_or(MetricKind::Continuous, |e| e.kind);
        let mut row = vec![key.to_owned()];
        for v in &report.variants {
            let s = &v.metrics[m];
            row.push(format!("{} (n={})", metric_value(kind, s.mean), s.n));
        }
        t.add_row(row);
    }
    out.push_str(&format!("{t}\n"));

    let mut t = table();
    t.set_header(EFFECT_HEADER.to_vec());
    let mut notes = Vec::new();
    for e in &report.effects {
        t.add_row(effect_row(e));
        for n in &e.notes {
            notes.push(format!("{} / {}: {n}", e.metric, e.variant));
        }
    }
    out.push_str(&format!("{t}\n"));
    for n in notes {
        out.push_str(&format!("note: {n}\n"));
    }
    out
}

/// Columns of the variants table (terminal and HTML).
const VARIANT_HEADER: [&str; 6] = [
    "variant",
    "weight",
    "users",
    "share",
    "exposures",
    "overrides",
];

fn variant_row(v: &VariantReport) -> Vec<String> {
    vec![
        v.name.clone(),
        v.weight.to_string(),
        v.users.to_string(),
        dash(v.share, |s| format!("{:.2}%", 100.0 * s)),
        v.exposures.to_string(),
        v.overrides.clone(),
    ]
}

/// Columns of the effects table (terminal and HTML).
const EFFECT_HEADER: [&str; 8] = [
    "metric",
    "variant",
    "difference [CI]",
    "p",
    "lift [CI]",
    "sequential p",
    "P(win)",
    "conclusion",
];

fn effect_row(e: &Effect) -> Vec<String> {
    let scale = |v: f64| match e.kind {
        MetricKind::Binary => format!("{:+.2}pp", 100.0 * v),
        MetricKind::Continuous => format!("{v:+.4}"),
    };
    let diff = e.absolute.as_ref().map(|a| {
        let (lo, hi) = a.ci();
        format!("{} [{}, {}]", scale(a.diff()), scale(lo), scale(hi))
    });
    vec![
        e.metric.to_owned(),
        e.variant.clone(),
        diff.unwrap_or_else(|| "—".into()),
        dash(e.absolute.as_ref().map(AbsoluteTest::p_value), p_text),
        e.lift
            .as_ref()
            .map(|l| format!("{} [{}, {}]", pct(l.lift), pct(l.ci.0), pct(l.ci.1)))
            .unwrap_or_else(|| "—".into()),
        dash(e.sequential.as_ref().map(|s| s.p_value), p_text),
        dash(e.bayes.as_ref().map(|b| b.chance_to_win), |p| {
            format!("{:.1}%", 100.0 * p)
        }),
        conclusion_text(e.conclusion).to_owned(),
    ]
}

/// The report as pretty JSON.
pub fn json(report: &Report) -> String {
    serde_json::to_string_pretty(report).expect("a report is plain data")
}

/// An inline SVG forest plot of the relative lift per metric and treatment:
/// dot = lift, thick bar = `1 − α` interval, thin bar = always-valid
/// sequence. `None` when no lift could be computed.
pub fn lift_chart_svg(report: &Report) -> Result<Option<String>, RenderError> {
    let rows: Vec<&Effect> = report.effects.iter().filter(|e| e.lift.is_some()).collect();
    if rows.is_empty() {
        return Ok(None);
    }
    let mut lo = 0.0f64;
    let mut hi = 0.0f64;
    for e in &rows {
        let l = e.lift.as_ref().expect("filtered");
        lo = lo.min(l.ci.0);
        hi = hi.max(l.ci.1);
        if let Some(s) = &e.sequential {
            lo = lo.min(s.ci.0);
            hi = hi.max(s.ci.1);
        }
    }
    let pad = ((hi - lo) * 0.05).max(1e-3);
    let (lo, hi) = (lo - pad, hi + pad);
    let n = rows.len() as i32;
    let height = 90 + 34 * rows.len() as u32;
    let mut svg = String::new();
    {
        let err = |e: String| RenderError(e);
        let root = SVGBackend::with_string(&mut svg, (820, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(e.to_string()))?;
        let labels: Vec<String> = rows
            .iter()
            .map(|e| format!("{} · {}", e.metric, e.variant))
            .collect();
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!(
                    "relative lift vs `{}` ({}% intervals)",
                    report.control,
                    100.0 * (1.0 - report.options.alpha)
                ),
                ("sans-serif", 18),
            )
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(210)
            .build_cartesian_2d(lo..hi, (0..n).into_segmented())
            .map_err(|e| err(e.to_string()))?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .x_desc("lift (0.10 = +10%)")
            .y_labels(rows.len())
            .y_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => labels.get(*i as usize).cloned().unwrap_or_default(),
                _ => String::new(),
            })
            .draw()
            .map_err(|e| err(e.to_string()))?;
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(0.0, SegmentValue::Exact(0)), (0.0, SegmentValue::Exact(n))],
                BLACK.stroke_width(1),
            )))
            .map_err(|e| err(e.to_string()))?;
        for (i, e) in rows.iter().enumerate() {
            let y = || SegmentValue::CenterOf(i as i32);
            let color = match e.conclusion {
                Conclusion::Better => RGBColor(26, 140, 60),
                Conclusion::Worse => RGBColor(200, 40, 40),
                _ => RGBColor(90, 90, 90),
            };
            let l = e.lift.as_ref().expect("filtered");
            let mut shapes: Vec<PathElement<(f64, SegmentValue<i32>)>> = vec![PathElement::new(
                vec![(l.ci.0, y()), (l.ci.1, y())],
                color.stroke_width(4),
            )];
            if let Some(s) = &e.sequential {
                shapes.push(PathElement::new(
                    vec![(s.ci.0, y()), (s.ci.1, y())],
                    color.mix(0.5).stroke_width(1),
                ));
            }
            chart.draw_series(shapes).map_err(|e| err(e.to_string()))?;
            chart
                .draw_series(std::iter::once(Circle::new(
                    (l.lift, y()),
                    5,
                    color.filled(),
                )))
                .map_err(|e| err(e.to_string()))?;
        }
        root.present().map_err(|e| err(e.to_string()))?;
    }
    Ok(Some(svg))
}

fn esc(s: &str) -> String {
    html_escape::encode_text(s).into_owned()
}

fn html_table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut s = String::from("<table><thead><tr>");
    for h in header {
        s.push_str(&format!("<th>{}</th>", esc(h)));
    }
    s.push_str("</tr></thead><tbody>");
    for r in rows {
        s.push_str("<tr>");
        for c in r {
            s.push_str(&format!("<td>{}</td>", esc(c)));
        }
        s.push_str("</tr>");
    }
    s.push_str("</tbody></table>");
    s
}

/// A self-contained HTML page: tables, health, the lift chart inline, and
/// the full JSON report at the bottom for copying.
pub fn html(report: &Report) -> Result<String, RenderError> {
    let mut body = format!(
        "<h1>Experiment {}</h1><p>status {}, control <b>{}</b>, alpha {}</p>",
        esc(&report.experiment),
        report.status,
        esc(&report.control),
        report.options.alpha
    );
    if let Some(d) = &report.description {
        body.push_str(&format!("<p>{}</p>", esc(d)));
    }
    let variant_rows: Vec<Vec<String>> = report.variants.iter().map(variant_row).collect();
    body.push_str("<h2>Variants</h2>");
    body.push_str(&html_table(&VARIANT_HEADER, &variant_rows));
    body.push_str("<h2>Health</h2><ul>");
    match &report.health.srm {
        Some(s) => body.push_str(&format!(
            "<li class=\"{}\">sample ratio: χ² {:.3}, df {}, p {} → {}</li>",
            match s.verdict {
                crate::stats::srm::SrmVerdict::Ok => "ok",
                _ => "bad",
            },
            s.chi2,
            s.df,
            p_text(s.p_value),
            s.verdict
        )),
        None => body.push_str(&format!(
            "<li>sample ratio: not computed ({})</li>",
            esc(report.health.srm_note.as_deref().unwrap_or("no data"))
        )),
    }
    for w in &report.health.warnings {
        body.push_str(&format!("<li class=\"bad\">{}</li>", esc(w)));
    }
    if report.health.warnings.is_empty() {
        body.push_str("<li class=\"ok\">no problems found</li>");
    }
    body.push_str("</ul><h2>Effects</h2>");
    if let Some(svg) = lift_chart_svg(report)? {
        body.push_str(&format!("<figure>{svg}<figcaption>dot: lift; thick bar: fixed-horizon interval; thin bar: always-valid (sequential) interval; green better, red worse, grey inconclusive</figcaption></figure>"));
    }
    let effect_rows: Vec<Vec<String>> = report.effects.iter().map(effect_row).collect();
    body.push_str(&html_table(&EFFECT_HEADER, &effect_rows));
    let notes: Vec<String> = report
        .effects
        .iter()
        .flat_map(|e| {
            e.notes
                .iter()
                .map(move |n| format!("{} / {}: {n}", e.metric, e.variant))
        })
        .collect();
    if !notes.is_empty() {
        body.push_str("<h3>Not computed</h3><ul>");
        for n in notes {
            body.push_str(&format!("<li>{}</li>", esc(&n)));
        }
        body.push_str("</ul>");
    }
    body.push_str(&format!(
        "<details><summary>JSON</summary><pre>{}</pre></details>",
        esc(&json(report))
    ));
    Ok(format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>A/B report: {}</title><style>body{{font-family:sans-serif;max-width:1000px;margin:2em auto;color:#222}}table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left}}th{{background:#f3f3f3}}.bad{{color:#b00}}.ok{{color:#176b35}}pre{{font-size:12px}}</style></head><body>{body}</body></html>\n",
        esc(&report.experiment)
    ))
}

/// The SRM test as terminal text (`roadmap ab stats srm`).
pub fn srm_text(s: &Srm) -> String {
    let mut t = table();
    t.set_header(vec!["variant", "observed", "expected"]);
    for (i, (o, e)) in s.observed.iter().zip(&s.expected).enumerate() {
        t.add_row(vec![
            Cell::new(i),
            Cell::new(o),
            Cell::new(format!("{e:.2}")),
        ]);
    }
    format!(
        "{t}\nchi2 {:.4}, df {}, p {} -> {}\n(Pearson goodness of fit, as scipy.stats.chisquare; warn p < 0.01, alert p < 0.001)\n",
        s.chi2,
        s.df,
        p_text(s.p_value),
        s.verdict
    )
}

/// The two-proportion test as terminal text (`roadmap ab stats proportions`).
pub fn proportions_text(p: &ProportionsTest) -> String {
    let level = 100.0 * (1.0 - p.alpha);
    format!(
        "A {}/{} = {:.4}%   B {}/{} = {:.4}%\ndifference B − A {:+.4} pp\nz {:.4}, p {} (pooled variance, statsmodels proportions_ztest)\n{level}% CI {:+.4} … {:+.4} pp (Wald, unpooled variance)\n{level}% CI {:+.4} … {:+.4} pp (Newcombe hybrid score, statsmodels' default)\n",
        p.control.successes,
        p.control.n,
        100.0 * p.control.rate,
        p.treatment.successes,
        p.treatment.n,
        100.0 * p.treatment.rate,
        100.0 * p.diff,
        p.z,
        p_text(p.p_value),
        100.0 * p.ci_wald.0,
        100.0 * p.ci_wald.1,
        100.0 * p.ci_newcombe.0,
        100.0 * p.ci_newcombe.1,
    )
}

/// Welch's test as terminal text (`roadmap ab stats welch`).
pub fn welch_text(w: &WelchTest) -> String {
    format!(
        "A n={} mean {:.6} var {:.6}   B n={} mean {:.6} var {:.6}\ndifference B − A {:+.6}, t {:.4}, df {:.2} (Welch–Satterthwaite), p {}\n{}% CI {:+.6} … {:+.6}\n",
        w.control.n,
        w.control.mean,
        w.control.variance,
        w.treatment.n,
        w.treatment.mean,
        w.treatment.variance,
        w.diff,
        w.t,
        w.df,
        p_text(w.p_value),
        100.0 * (1.0 - w.alpha),
        w.ci.0,
        w.ci.1
    )
}
