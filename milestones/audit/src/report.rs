//! Rendering of the audit's reports: terminal tables (comfy-table), Markdown,
//! and a self-contained HTML page with bar charts (plotters SVG inlined).
//! JSON is each report's `serde` form (fairlearn's metric names, `null` for
//! undefined values).
//!
//! Undefined values print as `undefined` with the reason underneath, never as
//! NaN; intervals print as `[lo, hi]`.

use comfy_table::{presets::UTF8_FULL_CONDENSED, Table as Grid};
use plotters::prelude::*;

use crate::error::{AuditError, Result};
use crate::fairness::{FairnessReport, GroupAudit, Value, METRICS};
use crate::mitigation::MitigationReport;
use crate::shap::Explanation;
use crate::textbias::TextBiasReport;

fn num(v: Option<f64>) -> String {
    v.map_or_else(|| "undefined".into(), |x| format!("{x:.4}"))
}

fn value(v: &Value) -> String {
    num(v.value)
}

fn ci(c: Option<[f64; 2]>) -> String {
    c.map_or_else(|| "—".into(), |[a, b]| format!("[{a:.4}, {b:.4}]"))
}

fn title(a: &GroupAudit) -> String {
    format!(
        "{}{} ({} groups)",
        a.sensitive.join(" × "),
        if a.intersectional {
            " (intersectional)"
        } else {
            ""
        },
        a.by_group.len()
    )
}

/// The group table's rows: group, then the eight metrics.
fn group_rows(a: &GroupAudit) -> Vec<Vec<String>> {
    a.by_group
        .iter()
        .chain(std::iter::once(&a.overall))
        .map(|g| {
            let mut r = vec![g.group.clone()];
            r.extend(g.metrics.iter().enumerate().map(|(k, m)| {
                if k == 0 {
                    format!("{}", m.value.unwrap_or(0.0) as u64)
                } else {
                    value(m)
                }
            }));
            r
        })
        .collect()
}

fn aggregate_rows(a: &GroupAudit) -> Vec<Vec<String>> {
    a.aggregates
        .iter()
        .map(|x| {
            vec![
                x.name.to_string(),
                value(&x.value),
                ci(x.ci95),
                x.value.undefined.clone().unwrap_or_default(),
            ]
        })
        .collect()
}

fn verdict(a: &GroupAudit) -> String {
    let f = &a.four_fifths;
    let reference = format!(
        "reference group `{}` ({})",
        f.reference,
        if f.reference_is_privileged {
            "privileged"
        } else {
            "highest selection rate"
        }
    );
    match f.passes {
        Some(true) => format!(
            "four-fifths rule: PASS — every group's selection rate is ≥ 0.8 × the {reference}"
        ),
        Some(false) => {
            let low: Vec<String> = f
                .impacts
                .iter()
                .filter(|i| {
                    i.ratio
                        .value
                        .is_some_and(|v| v < crate::fairness::FOUR_FIFTHS)
                })
                .map(|i| format!("`{}` {:.3}", i.group, i.ratio.value.unwrap_or(0.0)))
                .collect();
            format!(
                "four-fifths rule: FAIL — below 0.8 × the {reference}: {}",
                low.join(", ")
            )
        }
        None => format!("four-fifths rule: undefined ({reference})"),
    }
}

const GROUP_HEADER: [&str; 9] = [
    "group",
    "count",
    "base_rate",
    "selection_rate",
    "accuracy",
    "TPR",
    "FPR",
    "FNR",
    "precision",
];

impl FairnessReport {
    /// Terminal tables: per grouping, the MetricFrame, the aggregates with
    /// their intervals, the four-fifths verdict and the warnings.
    pub fn render_table(&self) -> String {
        let mut out = format!(
            "Fairness audit of {} ({} rows, favourable prediction = {}, {} bootstrap replicates, seed {})\n",
            self.source, self.rows, self.favourable, self.bootstrap_replicates, self.seed
        );
        for a in &self.audits {
            out.push_str(&format!("\n{}\n", title(a)));
            let mut g = Grid::new();
            g.load_preset(UTF8_FULL_CONDENSED)
                .set_header(GROUP_HEADER.to_vec());
            for r in group_rows(a) {
                g.add_row(r);
            }
            out.push_str(&format!("{g}\n"));
            let mut t = Grid::new();
            t.load_preset(UTF8_FULL_CONDENSED)
                .set_header(vec!["metric", "value", "95% CI", "note"]);
            for r in aggregate_rows(a) {
                t.add_row(r);
            }
            out.push_str(&format!("{t}\n{}\n", verdict(a)));
            for w in &a.warnings {
                out.push_str(&format!("warning: {w}\n"));
            }
        }
        out
    }

    /// The same content as Markdown tables.
    pub fn render_markdown(&self) -> String {
        let mut out = format!(
            "# Fairness audit\n\nData: `{}`, {} rows; favourable prediction = {}; 95% percentile-bootstrap intervals from {} replicates (seed {}).\n",
            self.source, self.rows, self.favourable, self.bootstrap_replicates, self.seed
        );
        for a in &self.audits {
            out.push_str(&format!("\n## {}\n\n", title(a)));
            out.push_str(&md_table(&GROUP_HEADER, &group_rows(a)));
            out.push('\n');
            out.push_str(&md_table(
                &["metric", "value", "95% CI", "note"],
                &aggregate_rows(a),
            ));
            out.push_str(&format!("\n{}\n", verdict(a)));
            for w in &a.warnings {
                out.push_str(&format!("\n> warning: {w}\n"));
            }
        }
        out
    }

    /// A self-contained HTML page: tables and, per grouping, a bar chart of
    /// selection rate, TPR and FPR by group (plus the mitigation, if given).
    /// The rates chart of each audit (selection rate, TPR, FPR per group) as
    /// SVG, named after its sensitive columns (`rates-sex`, `rates-sex-race`):
    /// the charts of the HTML page, for saving on their own.
    pub fn charts(&self) -> Result<Vec<(String, String)>> {
        self.audits
            .iter()
            .map(|a| {
                let name: String = a
                    .sensitive
                    .join("-")
                    .chars()
                    .map(|c| {
                        if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                            c
                        } else {
                            '_'
                        }
                    })
                    .collect();
                Ok((format!("rates-{name}"), rates_chart(a)?))
            })
            .collect()
    }

    pub fn render_html(&self, mitigation: Option<&MitigationReport>) -> Result<String> {
        let mut out = String::from(
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Fairness audit</title>\n<style>\
             body{font-family:sans-serif;max-width:1000px;margin:2em auto;color:#222}\
             table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}\
             td:first-child,th:first-child{text-align:left}.pass{color:#070}.fail{color:#b00}.warn{color:#a60}\
             </style></head><body>\n",
        );
        out.push_str(&format!(
            "<h1>Fairness audit</h1>\n<p>Data: <code>{}</code>, {} rows; favourable prediction = {}; 95% percentile-bootstrap intervals from {} replicates (seed {}).</p>\n",
            esc(&self.source),
            self.rows,
            self.favourable,
            self.bootstrap_replicates,
            self.seed
        ));
        for a in &self.audits {
            out.push_str(&format!("<h2>{}</h2>\n", esc(&title(a))));
            out.push_str(&rates_chart(a)?);
            out.push_str(&html_table(&GROUP_HEADER, &group_rows(a)));
            out.push_str(&html_table(
                &["metric", "value", "95% CI", "note"],
                &aggregate_rows(a),
            ));
            let class = match a.four_fifths.passes {
                Some(true) => "pass",
                Some(false) => "fail",
                None => "warn",
            };
            out.push_str(&format!("<p class=\"{class}\">{}</p>\n", esc(&verdict(a))));
            for w in &a.warnings {
                out.push_str(&format!("<p class=\"warn\">warning: {}</p>\n", esc(w)));
            }
        }
        if let Some(m) = mitigation {
            out.push_str("<h2>Mitigation: per-group thresholds</h2>\n");
            out.push_str(&format!("<pre>{}</pre>\n", esc(&m.render_markdown())));
        }
        out.push_str("</body></html>\n");
        Ok(out)
    }
}

fn esc(s: &str) -> String {
    html_escape::encode_text(s).into_owned()
}

fn md_table(header: &[&str], rows: &[Vec<String>]) -> String {
    let cell = |s: &str| s.replace('|', "\\|");
    let mut out = format!(
        "| {} |\n|{}\n",
        header.join(" | "),
        "---|".repeat(header.len())
    );
    for r in rows {
        out.push_str(&format!(
            "| {} |\n",
            r.iter().map(|c| cell(c)).collect::<Vec<_>>().join(" | ")
        ));
    }
    out
}

fn html_table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = String::from("<table><tr>");
    for h in header {
        out.push_str(&format!("<th>{}</th>", esc(h)));
    }
    out.push_str("</tr>\n");
    for r in rows {
        out.push_str("<tr>");
        for c in r {
            out.push_str(&format!("<td>{}</td>", esc(c)));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
    out
}

/// Grouped bars: selection rate, TPR, FPR per group (undefined rates are not drawn).
fn rates_chart(a: &GroupAudit) -> Result<String> {
    let series = [
        (2usize, "selection rate", RGBColor(0, 139, 251)),
        (4, "TPR", RGBColor(255, 0, 81)),
        (5, "FPR", RGBColor(120, 120, 120)),
    ];
    let n = a.by_group.len();
    let mut svg = String::new();
    {
        let err = |m: String| AuditError::Plot {
            path: "fairness chart".into(),
            message: m,
        };
        let root = SVGBackend::with_string(&mut svg, (900, 380)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(e.to_string()))?;
        let names: Vec<String> = a.by_group.iter().map(|g| g.group.clone()).collect();
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!("rates by {}", a.sensitive.join(" × ")),
                ("sans-serif", 18),
            )
            .margin(12)
            .x_label_area_size(60)
            .y_label_area_size(50)
            .build_cartesian_2d(-0.5f64..n as f64 - 0.5, 0f64..1.05)
            .map_err(|e| err(e.to_string()))?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n)
            .x_label_formatter(&|x| crate::shap::plot::index_label(&names, *x))
            .y_desc("rate")
            .draw()
            .map_err(|e| err(e.to_string()))?;
        for (s, (k, label, color)) in series.iter().enumerate() {
            let x0 = -0.36 + 0.24 * s as f64;
            chart
                .draw_series(a.by_group.iter().enumerate().filter_map(|(i, g)| {
                    g.metrics[*k].value.map(|v| {
                        Rectangle::new(
                            [(i as f64 + x0, 0.0), (i as f64 + x0 + 0.22, v)],
                            color.filled(),
                        )
                    })
                }))
                .map_err(|e| err(e.to_string()))?
                .label(*label)
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled())
                });
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(|e| err(e.to_string()))?;
        root.present().map_err(|e| err(e.to_string()))?;
    }
    debug_assert_eq!(METRICS[2], "selection_rate");
    Ok(svg)
}

impl MitigationReport {
    fn rows(&self) -> Vec<Vec<String>> {
        self.fitted
            .thresholds
            .iter()
            .map(|t| {
                vec![
                    t.group.clone(),
                    format!("{:.4}", t.threshold),
                    format!("{:.4}", t.selection_rate),
                    num(t.true_positive_rate),
                    num(t.false_positive_rate),
                ]
            })
            .collect()
    }

    fn summary(&self) -> String {
        let c = match self.fitted.constraint {
            crate::mitigation::Constraint::DemographicParity => "demographic parity",
            crate::mitigation::Constraint::EqualizedOdds => "equalized odds",
        };
        format!(
            "Per-group thresholds on `{}` for {c} (tolerance {}{}): accuracy {:.4} → {:.4} (cost {:+.4}); \
             demographic parity difference {:.4} → {:.4}; equalized odds difference {} → {}{}",
            self.sensitive,
            self.fitted.tolerance,
            if self.fitted.within_tolerance { ", met" } else { ", NOT met: smallest disparity kept" },
            self.before.accuracy,
            self.after.accuracy,
            self.accuracy_cost,
            self.before.demographic_parity_difference,
            self.after.demographic_parity_difference,
            num(self.before.equalized_odds_difference),
            num(self.after.equalized_odds_difference),
            if self.in_sample {
                " (fitted and evaluated on the same rows: optimistic)"
            } else {
                ""
            }
        )
    }

    /// Terminal table of the thresholds and the before/after line.
    pub fn render_table(&self) -> String {
        let mut g = Grid::new();
        g.load_preset(UTF8_FULL_CONDENSED).set_header(vec![
            "group",
            "threshold",
            "selection_rate",
            "TPR",
            "FPR",
        ]);
        for r in self.rows() {
            g.add_row(r);
        }
        format!("{g}\n{}\n", self.summary())
    }

    /// Markdown version.
    pub fn render_markdown(&self) -> String {
        format!(
            "{}\n{}\n",
            md_table(
                &["group", "threshold", "selection_rate", "TPR", "FPR"],
                &self.rows()
            ),
            self.summary()
        )
    }
}

impl TextBiasReport {
    fn rows(&self) -> Vec<Vec<String>> {
        self.dimensions
            .iter()
            .flat_map(|d| {
                d.groups.iter().map(move |g| {
                    let (gap, ci95, sig) = match &g.gap_vs_reference {
                        None => ("reference".to_string(), "—".to_string(), String::new()),
                        Some(x) => (
                            format!("{:+.4}", x.mean),
                            format!("[{:+.4}, {:+.4}]", x.ci95[0], x.ci95[1]),
                            if x.significant { "yes" } else { "no" }.to_string(),
                        ),
                    };
                    vec![
                        d.dimension.clone(),
                        g.group.clone(),
                        g.terms.to_string(),
                        format!("{:.4}", g.mean_score),
                        gap,
                        ci95,
                        sig,
                    ]
                })
            })
            .collect()
    }

    const HEADER: [&'static str; 7] = [
        "dimension",
        "group",
        "terms",
        "mean P(positive)",
        "gap vs reference",
        "95% CI (paired t)",
        "CI excludes 0",
    ];

    /// Terminal table: per group, its mean score and its gap to the reference.
    pub fn render_table(&self) -> String {
        let mut g = Grid::new();
        g.load_preset(UTF8_FULL_CONDENSED)
            .set_header(Self::HEADER.to_vec());
        for r in self.rows() {
            g.add_row(r);
        }
        format!(
            "Counterfactual template audit: {} templates, {} sentences scored ({})\n{g}\n",
            self.templates, self.sentences_scored, self.method
        )
    }

    /// Markdown version.
    pub fn render_markdown(&self) -> String {
        format!(
            "Counterfactual template audit: {} templates, {} sentences scored ({}).\n\n{}",
            self.templates,
            self.sentences_scored,
            self.method,
            md_table(&Self::HEADER, &self.rows())
        )
    }
}

impl Explanation {
    /// Terminal table of global importance (top `n`) and the additivity check.
    pub fn render_importance(&self, n: usize) -> String {
        let mut g = Grid::new();
        g.load_preset(UTF8_FULL_CONDENSED)
            .set_header(vec!["feature", &format!("mean |SHAP| ({})", self.space)]);
        for i in self.importance().into_iter().take(n) {
            g.add_row(vec![i.feature, format!("{:.4}", i.mean_abs_shap)]);
        }
        format!(
            "{} SHAP of {} rows, base value {:.4}\n{g}\nadditivity: max |base + Σ SHAP − f(x)| = {:.2e}\n",
            self.method,
            self.values.nrows(),
            self.base_value,
            self.max_additivity_error()
        )
    }
}

#[cfg(test)]
mod tests {
    use crate::fairness::{AuditInput, AuditOptions, FairnessReport, SensitiveColumn};

    fn report() -> FairnessReport {
        let input = AuditInput {
            source_name: "t".into(),
            y_true: vec![1, 0, 1, 0, 0, 0],
            y_pred: vec![1, 0, 0, 1, 1, 0],
            scores: None,
            sensitive: vec![SensitiveColumn {
                name: "sex".into(),
                values: ["F", "F", "M", "M", "X", "X"]
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
            }],
        };
        FairnessReport::compute(
            &input,
            &AuditOptions {
                bootstrap: 50,
                ..Default::default()
            },
        )
        .unwrap()
    }

    #[test]
    fn renderings_show_undefined_values_with_reasons() {
        let r = report();
        let t = r.render_table();
        assert!(t.contains("demographic_parity_difference") && t.contains("undefined"));
        assert!(
            t.contains("no positive labels"),
            "group X has no positives: {t}"
        );
        let md = r.render_markdown();
        assert!(md.contains("| group | count |") && md.contains("## sex"));
        let html = r.render_html(None).unwrap();
        assert!(
            html.contains("<svg") && html.contains("selection rate") && html.contains("</html>")
        );
        let json = serde_json::to_string(&r.to_json()).unwrap();
        assert!(json.contains("\"equalized_odds_difference\"") && !json.contains("NaN"));
    }
}
