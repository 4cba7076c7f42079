//! The percentile-distribution plot of a latency dump: one PNG, every histogram a line,
//! latency (µs, log scale) against the percentile on HdrHistogram's usual
//! `1/(1-percentile)` log axis.
//!
//! Cold path only (the dump thread; allocates the image). Pure Rust: plotters' bitmap
//! backend and PNG encoder, text through `ab_glyph` with DejaVu Sans embedded from the
//! `dejavu` crate, so no system font library is needed. It may not touch histograms
//! it is not handed.

use std::path::Path;
use std::sync::OnceLock;

use hdrhistogram::Histogram;
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

use crate::telemetry::hgrm::TICKS_PER_HALF_DISTANCE;
use crate::telemetry::histograms::ns_to_us;

/// Image size in pixels.
pub const PLOT_SIZE: (u32, u32) = (1200, 700);

/// Rightmost percentile shown: 99.9999 % (`1/(1-p)` = 10^6).
pub const INVERSE_TAIL_MAX: f64 = 1e6;

/// The font family the plots register and use.
pub(crate) const FONT_FAMILY: &str = "sans-serif";

/// Why a plot was not written.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// The embedded font was refused (a broken build).
    #[error("registering the embedded DejaVu Sans font failed")]
    Font,
    /// Drawing or encoding the PNG failed.
    #[error("drawing {path}: {reason}")]
    Draw {
        /// The PNG file.
        path: String,
        /// What plotters said.
        reason: String,
    },
}

/// One line: a name and its histogram (values in ns).
pub type Series<'a> = (&'a str, &'a Histogram<u64>);

/// One line of a percentile plot: a name and its `(1/(1-percentile), µs)` points.
pub type PercentileLine<'a> = (&'a str, Vec<(f64, f64)>);

/// Draws every non-empty histogram of `series` as a line and writes the PNG to `path`.
pub fn write_percentile_plot(
    path: &Path,
    title: &str,
    series: &[Series<'_>],
) -> Result<(), PlotError> {
    let lines: Vec<PercentileLine<'_>> = series
        .iter()
        .filter(|(_, hist)| !hist.is_empty())
        .map(|(name, hist)| (*name, percentile_points(hist)))
        .collect();
    write_percentile_lines(path, title, lines)
}

/// Draws `lines` (points from [`percentile_point`]) on the percentile axes and writes
/// the PNG to `path`.
pub fn write_percentile_lines(
    path: &Path,
    title: &str,
    lines: Vec<PercentileLine<'_>>,
) -> Result<(), PlotError> {
    register_embedded_font()?;
    let draw_err = |e: &dyn std::fmt::Display| draw_error(path, e);
    let (y_min, y_max) = y_range(&lines);
    let x_max = x_max(&lines);
    let root = BitMapBackend::new(path, PLOT_SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(|e| draw_err(&e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, (FONT_FAMILY, 22))
        .margin(16)
        .margin_right(48)
        .x_label_area_size(48)
        .y_label_area_size(72)
        .build_cartesian_2d((1.0..x_max).log_scale(), (y_min..y_max).log_scale())
        .map_err(|e| draw_err(&e))?;
    chart
        .configure_mesh()
        .x_desc("percentile")
        .y_desc("latency (µs)")
        .x_label_formatter(&|x| percentile_label(*x))
        .y_label_formatter(&|y| format!("{y}"))
        .label_style((FONT_FAMILY, 14))
        .draw()
        .map_err(|e| draw_err(&e))?;
    for (i, (name, points)) in lines.into_iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        chart
            .draw_series(LineSeries::new(points, color.stroke_width(2)))
            .map_err(|e| draw_err(&e))?
            .label(name)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], color.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .label_font((FONT_FAMILY, 14))
        .draw()
        .map_err(|e| draw_err(&e))?;
    root.present().map_err(|e| draw_err(&e))
}

/// A drawing failure of the plot at `path`.
pub(crate) fn draw_error(path: &Path, e: &dyn std::fmt::Display) -> PlotError {
    PlotError::Draw {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

/// Registers DejaVu Sans once per process.
pub(crate) fn register_embedded_font() -> Result<(), PlotError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        register_font(FONT_FAMILY, FontStyle::Normal, dejavu::sans::regular()).is_ok()
    });
    if ok { Ok(()) } else { Err(PlotError::Font) }
}

/// `(1/(1-p), µs)` at HdrHistogram's percentile ticks, up to [`INVERSE_TAIL_MAX`]
/// (the 100 % row has no finite x).
fn percentile_points(hist: &Histogram<u64>) -> Vec<(f64, f64)> {
    hist.iter_quantiles(TICKS_PER_HALF_DISTANCE)
        .map(|v| (v.quantile_iterated_to(), v.value_iterated_to()))
        .filter(|(q, _)| *q < 1.0)
        .map(|(q, ns)| percentile_point(q, ns))
        .collect()
}

/// The point of percentile `q` (0..1) at `ns`: `(1/(1-q), µs)`, x capped at
/// [`INVERSE_TAIL_MAX`], y at least 1 ns.
pub fn percentile_point(q: f64, ns: u64) -> (f64, f64) {
    ((1.0 / (1.0 - q)).min(INVERSE_TAIL_MAX), us_floor(ns))
}

/// Microseconds, at least 1 ns (the log axis has no zero).
fn us_floor(ns: u64) -> f64 {
    ns_to_us(ns.max(1))
}

/// The y range covering every point, widened to whole decades.
fn y_range(lines: &[PercentileLine<'_>]) -> (f64, f64) {
    let ys = lines.iter().flat_map(|(_, p)| p.iter().map(|(_, y)| *y));
    let (lo, hi) = ys.fold((f64::MAX, f64::MIN), |(lo, hi), y| (lo.min(y), hi.max(y)));
    if lo > hi {
        return (0.001, 1.0);
    }
    let decade = |v: f64, round: fn(f64) -> f64| 10f64.powf(round(v.log10()));
    let (lo, hi) = (decade(lo, f64::floor), decade(hi, f64::ceil));
    (lo, if hi > lo { hi } else { lo * 10.0 })
}

/// The x range's end: the furthest point's decade, from 99 % to [`INVERSE_TAIL_MAX`].
fn x_max(lines: &[PercentileLine<'_>]) -> f64 {
    let furthest = lines
        .iter()
        .flat_map(|(_, p)| p.iter().map(|(x, _)| *x))
        .fold(100.0, f64::max);
    10f64.powf(furthest.log10().ceil()).min(INVERSE_TAIL_MAX)
}

/// `1/(1-p)` as a percentile label: 1 → `0%`, 10 → `90%`, 1000 → `99.9%`.
fn percentile_label(inverse: f64) -> String {
    let pct = 100.0 * (1.0 - 1.0 / inverse.max(1.0));
    let text = format!("{pct:.6}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text}%")
}

#[cfg(test)]
/// Decodes the PNG at `path`: its size and how many pixels are not white.
pub(crate) fn decode_png(path: &Path) -> ((u32, u32), usize) {
    let decoder = png::Decoder::new(std::fs::File::open(path).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    let inked = buf[..info.buffer_size()]
        .chunks(channels)
        .filter(|px| px.iter().take(3).any(|&c| c < 200))
        .count();
    ((info.width, info.height), inked)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::histograms::histogram_of as histogram;

    #[test]
    fn test_plot_png_decodes_and_is_drawn() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.png");
        let fast = histogram((1..=10_000).map(|i| 500 + i));
        let slow = histogram((1..=1_000).map(|i| 1_000_000 + i * 1_000));
        let empty = histogram([]);
        let series = [("feed", &fast), ("venue", &slow), ("none", &empty)];
        write_percentile_plot(&path, "latency", &series).unwrap();
        let (size, inked) = decode_png(&path);
        assert_eq!(size, PLOT_SIZE);
        let pixels = (PLOT_SIZE.0 * PLOT_SIZE.1) as usize;
        assert!(inked > pixels / 100, "{inked} of {pixels} pixels drawn");
        assert!(inked < pixels / 2, "{inked} of {pixels} pixels drawn");
    }

    #[test]
    fn test_plot_of_nothing_still_draws_axes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty.png");
        write_percentile_plot(&path, "nothing yet", &[]).unwrap();
        let (size, inked) = decode_png(&path);
        assert_eq!(size, PLOT_SIZE);
        assert!(inked > 0);
    }

    #[test]
    fn test_plot_axes() {
        assert_eq!(percentile_label(1.0), "0%");
        assert_eq!(percentile_label(10.0), "90%");
        assert_eq!(percentile_label(1000.0), "99.9%");
        let points = percentile_points(&histogram([1_000, 2_000]));
        assert!(
            points
                .iter()
                .all(|(x, _)| (1.0..=INVERSE_TAIL_MAX).contains(x))
        );
        assert_eq!(
            y_range(&[("a", vec![(1.0, 0.5), (2.0, 20.0)])]),
            (0.1, 100.0)
        );
        assert_eq!(y_range(&[]), (0.001, 1.0));
        assert_eq!(x_max(&[]), 100.0);
        assert_eq!(x_max(&[("a", vec![(1.0, 1.0), (2_500.0, 1.0)])]), 10_000.0);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(12))]
        /// Any latencies, from 0 ns to past the bound, in up to three lines, draw a PNG
        /// (a panic here would abort a release build).
        #[test]
        fn prop_plot_draws_any_histograms(
            lines in proptest::collection::vec(
                proptest::collection::vec(proptest::num::u64::ANY, 0..50), 0..4)
        ) {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("any.png");
            let hists: Vec<_> = lines.iter().map(|v| histogram(v.iter().copied())).collect();
            let series: Vec<_> = hists.iter().map(|h| ("line", h)).collect();
            proptest::prop_assert!(write_percentile_plot(&path, "any", &series).is_ok());
            proptest::prop_assert_eq!(decode_png(&path).0, PLOT_SIZE);
        }
    }
}
