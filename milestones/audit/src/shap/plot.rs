//! shap's plots, drawn with plotters as SVG strings, and coloured tokens for
//! text explanations in the terminal and in HTML.
//!
//! - [`waterfall_svg`] (`shap.plots.waterfall`): one prediction, from the base
//!   value `E[f(X)]` at the bottom to `f(x)` at the top, one bar per feature
//!   sorted by |SHAP| (largest on top), red pushing up, blue pushing down; the
//!   features beyond `max_display − 1` are summed into one "other features" bar.
//! - [`bar_svg`] (`shap.plots.bar`): global importance, mean |SHAP| per feature.
//! - [`beeswarm_svg`] (`shap.plots.beeswarm`): every row's SHAP value per
//!   feature as a dot, stacked where dots pile up, coloured from blue (low
//!   feature value) to red (high), the colour range being the feature's 5th to
//!   95th percentile as in shap.
//!
//! SVG needs no font file (the viewer renders the text), which keeps the
//! binary free of system font libraries. PNG is not produced: plotters' bitmap
//! backend would need a font bundled into the binary (`ab_glyph` + a TTF file).
//! Colours are shap's: red `#ff0051`, blue `#008bfb`.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::text::TextExplanation;
use super::Explanation;
use crate::error::{AuditError, Result};

/// shap's positive (red) and negative (blue) colours.
pub const RED: RGBColor = RGBColor(255, 0, 81);
pub const BLUE: RGBColor = RGBColor(0, 139, 251);

fn plot_err(what: &str) -> impl Fn(String) -> AuditError + '_ {
    move |message| AuditError::Plot {
        path: what.to_string(),
        message,
    }
}

/// Blend from blue (t = 0) to red (t = 1) through purple, like shap's `red_blue` map.
fn blue_red(t: f64) -> RGBColor {
    let t = t.clamp(0.0, 1.0);
    let mix = |a: u8, b: u8| (a as f64 + (b as f64 - a as f64) * t).round() as u8;
    RGBColor(mix(BLUE.0, RED.0), mix(BLUE.1, RED.1), mix(BLUE.2, RED.2))
}

fn check_row(e: &Explanation, row: usize) -> Result<()> {
    if row >= e.values.nrows() {
        return Err(AuditError::BadParameter {
            what: "the row to plot",
            expected: "an explained row",
            got: format!("{row} of {} rows", e.values.nrows()),
        });
    }
    Ok(())
}

/// `shap.plots.waterfall` of row `row`, at most `max_display` bars.
pub fn waterfall_svg(e: &Explanation, row: usize, max_display: usize) -> Result<String> {
    check_row(e, row)?;
    let max_display = max_display.max(2);
    let phi = e.values.row(row);
    let mut order: Vec<usize> = (0..phi.len()).collect();
    order.sort_by(|&a, &b| phi[b].abs().total_cmp(&phi[a].abs()));
    let mut bars: Vec<(String, f64)> = Vec::new();
    if order.len() > max_display {
        let (shown, rest) = order.split_at(max_display - 1);
        let other: f64 = rest.iter().map(|&j| phi[j]).sum();
        bars.push((format!("{} other features", rest.len()), other));
        bars.extend(shown.iter().rev().map(|&j| (label(e, row, j), phi[j])));
    } else {
        bars.extend(order.iter().rev().map(|&j| (label(e, row, j), phi[j])));
    }
    // Bottom bar starts at the base value; each ends where the next starts.
    let mut start = e.base_value;
    let mut spans = Vec::new();
    for (_, v) in &bars {
        spans.push((start, start + v));
        start += v;
    }
    let lo = spans
        .iter()
        .flat_map(|s| [s.0, s.1])
        .fold(e.base_value, f64::min);
    let hi = spans
        .iter()
        .flat_map(|s| [s.0, s.1])
        .fold(e.base_value, f64::max);
    let pad = ((hi - lo) * 0.08).max(1e-6);
    let height = 110 + 34 * bars.len() as u32;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (860, height)).into_drawing_area();
        let err = plot_err("waterfall");
        root.fill(&WHITE).map_err(|x| err(x.to_string()))?;
        let names: Vec<String> = bars.iter().map(|b| b.0.clone()).collect();
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!(
                    "f(x) = {:.3}   (E[f(X)] = {:.3}, {})",
                    e.outputs[row], e.base_value, e.space
                ),
                ("sans-serif", 18),
            )
            .margin(14)
            .x_label_area_size(40)
            .y_label_area_size(260)
            .build_cartesian_2d(lo - pad..hi + pad, -0.5f64..bars.len() as f64 - 0.5)
            .map_err(|x| err(x.to_string()))?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(bars.len())
            .y_label_formatter(&|y| index_label(&names, *y))
            .x_desc(e.space.as_str())
            .draw()
            .map_err(|x| err(x.to_string()))?;
        // (row, SHAP value, start, end) of each bar.
        let placed: Vec<(f64, f64, f64, f64)> = bars
            .iter()
            .zip(&spans)
            .enumerate()
            .map(|(i, ((_, v), (a, b)))| (i as f64, *v, *a, *b))
            .collect();
        let label_style =
            TextStyle::from(("sans-serif", 13).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
        chart
            .draw_series(placed.iter().map(|&(y, v, a, b)| {
                let color = if v >= 0.0 { RED } else { BLUE };
                Rectangle::new([(a, y - 0.35), (b, y + 0.35)], color.filled())
            }))
            .map_err(|x| err(x.to_string()))?;
        chart
            .draw_series(placed.iter().map(|&(y, v, a, b)| {
                Text::new(
                    format!("{v:+.3}"),
                    (a.max(b) + pad * 0.1, y),
                    label_style.clone(),
                )
            }))
            .map_err(|x| err(x.to_string()))?;
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![
                    (e.base_value, -0.5),
                    (e.base_value, bars.len() as f64 - 0.5),
                ],
                BLACK.mix(0.4).stroke_width(1),
            )))
            .map_err(|x| err(x.to_string()))?;
        root.present().map_err(|x| err(x.to_string()))?;
    }
    Ok(svg)
}

/// The name at a whole-number axis position, blank between positions.
pub(crate) fn index_label(names: &[String], v: f64) -> String {
    let i = v.round();
    if (v - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < names.len() {
        names[i as usize].clone()
    } else {
        String::new()
    }
}

/// `name = value` when the explained row's feature value is known.
fn label(e: &Explanation, row: usize, j: usize) -> String {
    match &e.data {
        Some(d) => format!("{} = {}", e.feature_names[j], short(d[[row, j]])),
        None => e.feature_names[j].clone(),
    }
}

fn short(v: f64) -> String {
    if v == v.round() && v.abs() < 1e9 {
        format!("{v:.0}")
    } else {
        format!("{v:.3}")
    }
}

/// `shap.plots.bar`: mean |SHAP| of the `max_display` most important features.
pub fn bar_svg(e: &Explanation, max_display: usize) -> Result<String> {
    let imp: Vec<_> = e
        .importance()
        .into_iter()
        .take(max_display.max(1))
        .collect();
    if imp.is_empty() {
        return Err(AuditError::BadParameter {
            what: "the bar plot",
            expected: "at least one feature",
            got: "none".into(),
        });
    }
    let hi = imp[0].mean_abs_shap.max(1e-12) * 1.18;
    let height = 90 + 30 * imp.len() as u32;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (860, height)).into_drawing_area();
        let err = plot_err("bar");
        root.fill(&WHITE).map_err(|x| err(x.to_string()))?;
        let names: Vec<String> = imp.iter().rev().map(|i| i.feature.clone()).collect();
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!("mean |SHAP| ({}, {} rows)", e.space, e.values.nrows()),
                ("sans-serif", 18),
            )
            .margin(14)
            .x_label_area_size(40)
            .y_label_area_size(240)
            .build_cartesian_2d(0.0..hi, -0.5f64..imp.len() as f64 - 0.5)
            .map_err(|x| err(x.to_string()))?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(imp.len())
            .y_label_formatter(&|y| index_label(&names, *y))
            .x_desc("mean |SHAP value|")
            .draw()
            .map_err(|x| err(x.to_string()))?;
        let n = imp.len();
        chart
            .draw_series(imp.iter().enumerate().map(|(k, i)| {
                let y = (n - 1 - k) as f64;
                Rectangle::new([(0.0, y - 0.35), (i.mean_abs_shap, y + 0.35)], RED.filled())
            }))
            .map_err(|x| err(x.to_string()))?;
        chart
            .draw_series(imp.iter().enumerate().map(|(k, i)| {
                let style = TextStyle::from(("sans-serif", 13).into_font())
                    .pos(Pos::new(HPos::Left, VPos::Center));
                Text::new(
                    format!("{:.3}", i.mean_abs_shap),
                    (i.mean_abs_shap + hi * 0.01, (n - 1 - k) as f64),
                    style,
                )
            }))
            .map_err(|x| err(x.to_string()))?;
        root.present().map_err(|x| err(x.to_string()))?;
    }
    Ok(svg)
}

/// `shap.plots.beeswarm` of the `max_display` most important features.
pub fn beeswarm_svg(e: &Explanation, max_display: usize) -> Result<String> {
    let imp = e.importance();
    let shown: Vec<usize> = imp
        .iter()
        .take(max_display.max(1))
        .map(|i| {
            e.feature_names
                .iter()
                .position(|f| f == &i.feature)
                .expect("own feature")
        })
        .collect();
    if shown.is_empty() || e.values.nrows() == 0 {
        return Err(AuditError::BadParameter {
            what: "the beeswarm plot",
            expected: "at least one feature and one row",
            got: format!("{} features, {} rows", shown.len(), e.values.nrows()),
        });
    }
    let (lo, hi) = e
        .values
        .iter()
        .fold((0.0f64, 0.0f64), |(l, h), &v| (l.min(v), h.max(v)));
    let pad = ((hi - lo) * 0.05).max(1e-6);
    let k = shown.len();
    let mut points: Vec<(f64, f64, RGBColor)> = Vec::new();
    for (slot, &j) in shown.iter().enumerate() {
        let y0 = (k - 1 - slot) as f64;
        let col = e.values.column(j);
        let colors: Vec<RGBColor> = match &e.data {
            Some(d) => {
                let xs: Vec<f64> = d.column(j).to_vec();
                let p = roadmap_common::stats::percentiles(&xs, &[5.0, 95.0]);
                let (a, b) = if p[1] > p[0] {
                    (p[0], p[1])
                } else {
                    let (mn, mx) = xs
                        .iter()
                        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| {
                            (l.min(v), h.max(v))
                        });
                    (mn, mx.max(mn + 1e-12))
                };
                xs.iter().map(|&v| blue_red((v - a) / (b - a))).collect()
            }
            None => vec![RGBColor(136, 136, 136); col.len()],
        };
        // Stack dots that fall in the same of 100 bins, alternating above and below.
        let mut idx: Vec<usize> = (0..col.len()).collect();
        idx.sort_by(|&a, &b| col[a].total_cmp(&col[b]));
        let mut counts = vec![0usize; 101];
        let max_pile = idx
            .iter()
            .map(|&i| ((col[i] - lo) / (hi - lo + 2.0 * pad) * 100.0) as usize)
            .fold(vec![0usize; 101], |mut c, b| {
                c[b.min(100)] += 1;
                c
            })
            .into_iter()
            .max()
            .unwrap_or(1)
            .max(1);
        for &i in &idx {
            let b = (((col[i] - lo) / (hi - lo + 2.0 * pad) * 100.0) as usize).min(100);
            let c = counts[b];
            counts[b] += 1;
            let side = if c.is_multiple_of(2) { 1.0 } else { -1.0 };
            let offset = side * c.div_ceil(2) as f64 * 0.4 / max_pile as f64 * 2.0;
            points.push((col[i], y0 + offset.clamp(-0.4, 0.4), colors[i]));
        }
    }
    let height = 100 + 36 * k as u32;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (860, height)).into_drawing_area();
        let err = plot_err("beeswarm");
        root.fill(&WHITE).map_err(|x| err(x.to_string()))?;
        let names: Vec<String> = shown
            .iter()
            .rev()
            .map(|&j| e.feature_names[j].clone())
            .collect();
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!(
                    "SHAP values ({}, {} rows; blue = low, red = high feature value)",
                    e.space,
                    e.values.nrows()
                ),
                ("sans-serif", 17),
            )
            .margin(14)
            .x_label_area_size(40)
            .y_label_area_size(240)
            .build_cartesian_2d(lo - pad..hi + pad, -0.5f64..k as f64 - 0.5)
            .map_err(|x| err(x.to_string()))?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(k)
            .y_label_formatter(&|y| index_label(&names, *y))
            .x_desc(format!("SHAP value ({})", e.space))
            .draw()
            .map_err(|x| err(x.to_string()))?;
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(0.0, -0.5), (0.0, k as f64 - 0.5)],
                BLACK.mix(0.3).stroke_width(1),
            )))
            .map_err(|x| err(x.to_string()))?;
        chart
            .draw_series(
                points
                    .iter()
                    .map(|&(x, y, c)| Circle::new((x, y), 3, c.filled())),
            )
            .map_err(|x| err(x.to_string()))?;
        root.present().map_err(|x| err(x.to_string()))?;
    }
    Ok(svg)
}

/// Whether terminal colours are wanted: not when `NO_COLOR` is set to a
/// non-empty value (the no-color.org convention).
pub fn color_from_env() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Per-token intensity in [0, 1]: |SHAP| relative to the largest |SHAP|.
fn intensities(e: &TextExplanation) -> Vec<f64> {
    let max = e.tokens.iter().map(|t| t.shap.abs()).fold(0.0, f64::max);
    e.tokens
        .iter()
        .map(|t| if max > 0.0 { t.shap.abs() / max } else { 0.0 })
        .collect()
}

/// The text with each token on a red (pushes towards positive) or blue
/// (towards negative) background, stronger for larger |SHAP|, followed by a
/// summary line. Without colour each token carries its value in brackets.
pub fn render_text_terminal(e: &TextExplanation, color: bool) -> String {
    let mut out = String::new();
    for (t, a) in e.tokens.iter().zip(intensities(e)) {
        if !t.player {
            out.push_str(&t.text);
        } else if color {
            let c = if t.shap >= 0.0 { RED } else { BLUE };
            // Blend towards white by (1 − a) so small values stay pale.
            let mix = |v: u8| (255.0 - (255.0 - v as f64) * a).round() as u8;
            out.push_str(&format!(
                "\x1b[48;2;{};{};{}m\x1b[38;2;0;0;0m{}\x1b[0m",
                mix(c.0),
                mix(c.1),
                mix(c.2),
                t.text
            ));
        } else {
            out.push_str(&format!("{}[{:+.2}]", t.text, t.shap));
        }
    }
    out.push_str(&format!(
        "\nbase {:.3} + Σ SHAP {:+.3} = {:.3} log-odds (P(positive) = {:.3}); additivity error {:.1e}; {} Shapley values\n",
        e.base_value,
        e.output - e.base_value,
        e.output,
        1.0 / (1.0 + (-e.output).exp()),
        e.additivity_error(),
        e.method
    ));
    out
}

/// The text as HTML spans coloured like [`render_text_terminal`], each with
/// its SHAP value as a tooltip.
pub fn render_text_html(e: &TextExplanation) -> String {
    let mut out =
        String::from("<p class=\"shap-text\" style=\"font-family: sans-serif; line-height: 1.9\">");
    for (t, a) in e.tokens.iter().zip(intensities(e)) {
        let text = html_escape::encode_text(&t.text);
        if t.player {
            let c = if t.shap >= 0.0 { RED } else { BLUE };
            out.push_str(&format!(
                "<span title=\"{:+.4}\" style=\"background: rgba({}, {}, {}, {:.3}); padding: 1px 2px; border-radius: 3px\">{}</span>",
                t.shap, c.0, c.1, c.2, a, text
            ));
        } else {
            out.push_str(&text);
        }
    }
    out.push_str(&format!(
        "</p>\n<p style=\"font-family: sans-serif; font-size: 90%\">base value {:.3} + Σ SHAP {:+.3} = {:.3} log-odds; additivity error {:.1e} ({} Shapley values)</p>\n",
        e.base_value,
        e.output - e.base_value,
        e.output,
        e.additivity_error(),
        html_escape::encode_text(&e.method)
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shap::text::Token;

    fn expl() -> Explanation {
        Explanation {
            method: "linear".into(),
            feature_names: (0..12).map(|j| format!("f{j}")).collect(),
            space: "log-odds".into(),
            base_value: -1.0,
            values: ndarray::Array2::from_shape_fn((5, 12), |(i, j)| {
                (i as f64 - 2.0) * (j as f64 - 5.0) / 10.0
            }),
            outputs: (0..5)
                .map(|i| {
                    -1.0 + (0..12)
                        .map(|j| (i as f64 - 2.0) * (j as f64 - 5.0) / 10.0)
                        .sum::<f64>()
                })
                .collect(),
            data: Some(ndarray::Array2::from_shape_fn((5, 12), |(i, j)| {
                (i * j) as f64
            })),
        }
    }

    #[test]
    fn svg_plots_name_their_features() {
        let e = expl();
        let w = waterfall_svg(&e, 4, 10).unwrap();
        assert!(w.starts_with("<svg") && w.contains("3 other features") && w.contains("f11 = 44"));
        let b = bar_svg(&e, 5).unwrap();
        assert!(b.contains("f11") && !b.contains(">f5<"));
        let s = beeswarm_svg(&e, 12).unwrap();
        assert!(s.contains("<circle") && s.contains("f0"));
        assert!(waterfall_svg(&e, 9, 10).is_err());
    }

    #[test]
    fn text_renders_with_and_without_colour() {
        let e = TextExplanation {
            text: "good <b>".into(),
            tokens: vec![
                Token {
                    text: "good".into(),
                    player: true,
                    shap: 1.5,
                },
                Token {
                    text: " ".into(),
                    player: false,
                    shap: 0.0,
                },
                Token {
                    text: "<b>".into(),
                    player: true,
                    shap: -0.5,
                },
            ],
            base_value: 0.0,
            output: 1.0,
            method: "exact".into(),
            evaluations: 4,
        };
        let plain = render_text_terminal(&e, false);
        assert!(plain.starts_with("good[+1.50] <b>[-0.50]") && !plain.contains('\x1b'));
        let coloured = render_text_terminal(&e, true);
        assert!(
            coloured.contains("\x1b[48;2;255;0;81m"),
            "the largest value gets the full colour"
        );
        let html = render_text_html(&e);
        assert!(html.contains("&lt;b&gt;") && html.contains("title=\"+1.5000\""));
    }
}
