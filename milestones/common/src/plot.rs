//! Charts for run artifacts: line charts (loss curves, learning curves) and ROC
//! curves, saved as SVG or PNG.
//!
//! Milestones write their plots into the run's artifact directory so a learner
//! can open them after `roadmap run`. Every chart is drawn once, as SVG, by
//! plotters: SVG needs no font files (the viewer draws the text) and stays
//! sharp at any zoom. Where a bitmap is wanted (a slide, a chat message, a
//! viewer without SVG), [`svg_to_png`] rasterizes that same SVG with resvg, so
//! the PNG can never disagree with the SVG; [`save_chart`] picks the format from
//! the file name.
//!
//! A PNG has to draw its text itself, with a font of this machine: the system
//! fonts are loaded once, the SVG's generic `sans-serif` is mapped to the first
//! common sans family found, and a machine without any font is an error rather
//! than a PNG with its labels silently missing.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use plotters::prelude::*;
use resvg::{tiny_skia, usvg};

/// A chart could not be drawn or written.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    #[error("nothing to plot: {0}")]
    NoData(String),
    #[error("series `{series}` has a non-finite point ({x}, {y})")]
    NonFinite { series: String, x: f64, y: f64 },
    #[error("drawing {path}: {message}")]
    Draw { path: String, message: String },
    #[error("rasterizing the chart to PNG: {0}")]
    Raster(String),
    #[error(
        "no font found on this machine, so a PNG chart would have no text; install one \
         (e.g. `apt-get install fonts-dejavu-core`) or write the chart as .svg"
    )]
    NoFonts,
    #[error("writing {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

/// Families tried, in order, for the SVG's generic `sans-serif` text.
const SANS_FAMILIES: [&str; 6] = [
    "DejaVu Sans",
    "Liberation Sans",
    "Noto Sans",
    "Arial",
    "Helvetica",
    "FreeSans",
];

/// The system fonts, loaded once per process (a scan of the font folders).
fn fonts() -> Result<Arc<usvg::fontdb::Database>, PlotError> {
    static FONTS: OnceLock<Arc<usvg::fontdb::Database>> = OnceLock::new();
    let db = FONTS.get_or_init(|| {
        let mut db = usvg::fontdb::Database::new();
        db.load_system_fonts();
        let family = |name: &str| {
            db.faces()
                .any(|f| f.families.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)))
        };
        let sans = SANS_FAMILIES
            .iter()
            .find(|name| family(name))
            .map(|name| name.to_string())
            .or_else(|| {
                db.faces()
                    .next()
                    .and_then(|f| f.families.first())
                    .map(|(n, _)| n.clone())
            });
        if let Some(sans) = sans {
            db.set_sans_serif_family(sans);
        }
        Arc::new(db)
    });
    if db.is_empty() {
        return Err(PlotError::NoFonts);
    }
    Ok(db.clone())
}

/// Rasterizes an SVG document at its own size (1 SVG unit = 1 pixel) on a
/// white background, and encodes it as PNG.
pub fn svg_to_png(svg: &str) -> Result<Vec<u8>, PlotError> {
    let options = usvg::Options {
        fontdb: fonts()?,
        ..usvg::Options::default()
    };
    let tree = usvg::Tree::from_str(svg, &options).map_err(|e| PlotError::Raster(e.to_string()))?;
    let size = tree.size().to_int_size();
    let mut pixmap = tiny_skia::Pixmap::new(size.width(), size.height()).ok_or_else(|| {
        PlotError::Raster(format!(
            "cannot allocate a {}×{} image",
            size.width(),
            size.height()
        ))
    })?;
    pixmap.fill(tiny_skia::Color::WHITE);
    resvg::render(&tree, tiny_skia::Transform::default(), &mut pixmap.as_mut());
    pixmap
        .encode_png()
        .map_err(|e| PlotError::Raster(e.to_string()))
}

/// Writes a chart drawn as SVG to `path`: rasterized to PNG when the file name
/// ends in `.png` (any case), as the SVG text otherwise.
pub fn save_chart(path: &Path, svg: &str) -> Result<(), PlotError> {
    let is_png = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("png"));
    let bytes = if is_png {
        svg_to_png(svg)?
    } else {
        svg.as_bytes().to_vec()
    };
    std::fs::write(path, bytes).map_err(|source| PlotError::Write {
        path: path.display().to_string(),
        source,
    })
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

/// Writes `dir/STEM.svg` and `dir/STEM.png` (the same drawing rasterized):
/// the SVG to zoom and embed, the PNG for slides, chats and viewers without
/// SVG. Returns both paths.
pub fn save_svg_and_png(
    dir: &Path,
    stem: &str,
    svg: &str,
) -> Result<[std::path::PathBuf; 2], PlotError> {
    let paths = [
        dir.join(format!("{stem}.svg")),
        dir.join(format!("{stem}.png")),
    ];
    for p in &paths {
        save_chart(p, svg)?;
    }
    Ok(paths)
}

/// Writes a line chart (SVG, or PNG for a `.png` path) with one coloured, legended line per series,
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

/// Writes a ROC chart (SVG, or PNG for a `.png` path): each series is a curve of `(false positive rate,
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
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
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
    }
    save_chart(path, &svg)
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

    /// Share of pixels in rows `rows` that are darker than light grey.
    fn dark_share(png: &[u8], rows: std::ops::Range<u32>) -> f64 {
        let img = tiny_skia::Pixmap::decode_png(png).unwrap();
        let w = img.width();
        let dark = rows
            .clone()
            .flat_map(|y| (0..w).map(move |x| (x, y)))
            .filter(|&(x, y)| {
                let p = img.pixel(x, y).unwrap();
                u32::from(p.red()) + u32::from(p.green()) + u32::from(p.blue()) < 3 * 160
            })
            .count();
        dark as f64 / (w * rows.len() as u32) as f64
    }

    #[test]
    fn png_is_the_svg_rasterized_with_its_text() {
        let dir = tempfile::tempdir().unwrap();
        let labels = Labels {
            title: "A LOSS CURVE TITLE",
            x: "epoch",
            y: "log-loss",
        };
        let series = [Series::new(
            "train",
            vec![(0.0, 0.7), (1.0, 0.4), (2.0, 0.3)],
        )];
        let png = dir.path().join("loss.PNG");
        line_chart(&png, &labels, &series).unwrap();
        let bytes = std::fs::read(&png).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        let img = tiny_skia::Pixmap::decode_png(&bytes).unwrap();
        assert_eq!((img.width(), img.height()), SIZE);
        // The caption band (above the plot area) holds only the title's text:
        // with it drawn some pixels are dark; with no title none are.
        let titled = dark_share(&bytes, 8..34);
        assert!(titled > 0.005, "title text not drawn: {titled}");
        let untitled = dir.path().join("plain.png");
        let blank = Labels {
            title: "",
            ..labels
        };
        line_chart(&untitled, &blank, &series).unwrap();
        assert_eq!(dark_share(&std::fs::read(&untitled).unwrap(), 8..34), 0.0);

        // The same chart as .svg is the text plotters drew.
        let svg = dir.path().join("loss.svg");
        line_chart(&svg, &labels, &series).unwrap();
        assert!(std::fs::read_to_string(&svg)
            .unwrap()
            .contains("A LOSS CURVE TITLE"));
    }

    #[test]
    fn unparsable_svg_is_an_error() {
        assert!(matches!(svg_to_png("<svg"), Err(PlotError::Raster(_))));
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("no-such-dir").join("x.svg");
        assert!(matches!(
            save_chart(&missing, "<svg/>"),
            Err(PlotError::Write { .. })
        ));
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
