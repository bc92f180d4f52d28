//! SVG charts for run artifacts: line charts (loss curves, learning curves) and ROC curves.
//!
//! Milestones write their plots into the run's artifact directory so a learner
//! can open them after `roadmap run`. SVG needs no font files or image codecs,
//! which keeps the binary self-contained; plotters draws it.

use std::path::Path;

use plotters::prelude::*;

/// A chart could not be drawn or written.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    #[error("nothing to plot: {0}")]
    NoData(String),
    #[error("series `{series}` has a non-finite point ({x}, {y})")]
    NonFinite { series: String, x: f64, y: f64 },
    #[error("drawing {path}: {message}")]
    Draw { path: String, message: String },
}

/// One named line of a chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend label.
    pub name: String,
    /// `(x, y)` points, drawn in order.
    pub points: Vec<(f64, f64)>,
}

impl Series {
    pub fn new(name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Series {
            name: name.into(),
            points,
        }
    }
}

/// Titles of a chart.
#[derive(Debug, Clone)]
pub struct Labels<'a> {
    pub title: &'a str,
    pub x: &'a str,
    pub y: &'a str,
}

const SIZE: (u32, u32) = (800, 520);

fn draw_err(path: &Path) -> impl Fn(String) -> PlotError + '_ {
    move |message| PlotError::Draw {
        path: path.display().to_string(),
        message,
    }
}

/// Padded `[min, max]` so a flat series still gets a visible axis.
fn range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if hi > lo {
        let pad = (hi - lo) * 0.03;
        (lo - pad, hi + pad)
    } else {
        (lo - 0.5, hi + 0.5)
    }
}

/// Writes an SVG line chart with one coloured, legended line per series,
/// axes fitted to the data.
pub fn line_chart(path: &Path, labels: &Labels, series: &[Series]) -> Result<(), PlotError> {
    if series.iter().all(|s| s.points.is_empty()) {
        return Err(PlotError::NoData(format!(
            "every series of `{}` is empty",
            labels.title
        )));
    }
    for s in series {
        if let Some(&(x, y)) = s
            .points
            .iter()
            .find(|(x, y)| !x.is_finite() || !y.is_finite())
        {
            return Err(PlotError::NonFinite {
                series: s.name.clone(),
                x,
                y,
            });
        }
    }
    let all = || series.iter().flat_map(|s| s.points.iter());
    let x_range = range(all().map(|p| p.0));
    let y_range = range(all().map(|p| p.1));
    draw(path, labels, x_range, y_range, series, false)
}

/// Writes an SVG ROC chart: each series is a curve of `(false positive rate,
/// true positive rate)` points (e.g. from [`crate::metrics::roc_curve`]; put the
/// AUC in its name), on the unit square with the chance diagonal dashed in grey.
pub fn roc_chart(path: &Path, title: &str, curves: &[Series]) -> Result<(), PlotError> {
    if curves.iter().all(|s| s.points.is_empty()) {
        return Err(PlotError::NoData(format!(
            "every curve of `{title}` is empty"
        )));
    }
    let labels = Labels {
        title,
        x: "false positive rate",
        y: "true positive rate",
    };
    draw(path, &labels, (0.0, 1.0), (0.0, 1.0), curves, true)
}

fn draw(
    path: &Path,
    labels: &Labels,
    x_range: (f64, f64),
    y_range: (f64, f64),
    series: &[Series],
    diagonal: bool,
) -> Result<(), PlotError> {
    let err = draw_err(path);
    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(e.to_string()))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(labels.title, ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d(x_range.0..x_range.1, y_range.0..y_range.1)
        .map_err(|e| err(e.to_string()))?;
    chart
        .configure_mesh()
        .x_desc(labels.x)
        .y_desc(labels.y)
        .draw()
        .map_err(|e| err(e.to_string()))?;
    if diagonal {
        chart
            .draw_series(DashedLineSeries::new(
                vec![(0.0, 0.0), (1.0, 1.0)],
                6,
                4,
                ShapeStyle::from(&RGBColor(160, 160, 160)).stroke_width(1),
            ))
            .map_err(|e| err(e.to_string()))?;
    }
    for (i, s) in series.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        chart
            .draw_series(LineSeries::new(
                s.points.iter().copied(),
                color.stroke_width(2),
            ))
            .map_err(|e| err(e.to_string()))?
            .label(s.name.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .position(if diagonal {
            SeriesLabelPosition::LowerRight
        } else {
            SeriesLabelPosition::UpperRight
        })
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(|e| err(e.to_string()))?;
    root.present().map_err(|e| err(e.to_string()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_svg_line_and_roc_charts() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("loss.svg");
        let series = [
            Series::new("train", vec![(0.0, 0.7), (1.0, 0.4), (2.0, 0.3)]),
            Series::new("test", vec![(0.0, 0.7), (1.0, 0.5), (2.0, 0.45)]),
        ];
        let labels = Labels {
            title: "loss",
            x: "epoch",
            y: "log-loss",
        };
        line_chart(&p, &labels, &series).unwrap();
        let svg = std::fs::read_to_string(&p).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("train") && svg.contains("test"));

        let r = dir.path().join("roc.svg");
        roc_chart(
            &r,
            "ROC",
            &[Series::new(
                "model (AUC 0.75)",
                vec![(0.0, 0.0), (0.5, 1.0), (1.0, 1.0)],
            )],
        )
        .unwrap();
        assert!(std::fs::read_to_string(&r).unwrap().contains("AUC 0.75"));
    }

    #[test]
    fn rejects_empty_and_non_finite_data() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.svg");
        let labels = Labels {
            title: "t",
            x: "x",
            y: "y",
        };
        assert!(matches!(
            line_chart(&p, &labels, &[]),
            Err(PlotError::NoData(_))
        ));
        let bad = [Series::new("s", vec![(0.0, f64::NAN)])];
        assert!(matches!(
            line_chart(&p, &labels, &bad),
            Err(PlotError::NonFinite { .. })
        ));
    }
}
