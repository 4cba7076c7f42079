//! `.hgrm` files: HdrHistogram's percentile-distribution text format, the one
//! HdrHistogram's plotter (`plotFiles.html`, `hdr-plot`) reads.
//!
//! Byte for byte the output of Java's
//! `AbstractHistogram.outputPercentileDistribution(out, 5, 1000.0)` for a 3-digit
//! histogram recorded in nanoseconds: values printed in microseconds, five percentile
//! ticks per half distance to 100 %, the last row (percentile 1.0) without the
//! `1/(1-Percentile)` column, and the `#[Mean ...]` footer. Written by the telemetry
//! thread at exit and by the dump thread at each latency dump (cold path, allocates a
//! buffered writer per file).

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use hdrhistogram::Histogram;

/// Percentile ticks per half distance to 100 %, as HdrHistogram's own tools use.
pub const TICKS_PER_HALF_DISTANCE: u32 = 5;

/// Output scaling of the values: histograms are in ns, files in µs.
pub const OUTPUT_SCALE_NS_PER_US: f64 = 1_000.0;

/// Writes `hist` to `path` in the `.hgrm` format, values scaled to microseconds.
pub fn write_hgrm_file(path: &Path, hist: &Histogram<u64>) -> io::Result<()> {
    let mut out = BufWriter::new(File::create(path)?);
    write_percentile_distribution(&mut out, hist, OUTPUT_SCALE_NS_PER_US)?;
    out.flush()
}

/// Writes the percentile distribution of `hist`, each value divided by `scale`.
/// An empty histogram gives the header and footer with no rows (as Java does).
pub fn write_percentile_distribution<W: Write>(
    out: &mut W,
    hist: &Histogram<u64>,
    scale: f64,
) -> io::Result<()> {
    let digits = usize::from(hist.sigfig());
    write!(
        out,
        "{:>12} {:>14} {:>10} {:>14}\n\n",
        "Value", "Percentile", "TotalCount", "1/(1-Percentile)"
    )?;
    let mut total: u64 = 0;
    for v in hist.iter_quantiles(TICKS_PER_HALF_DISTANCE) {
        total += v.count_since_last_iteration();
        let value = to_f64(v.value_iterated_to()) / scale;
        let q = v.quantile_iterated_to();
        if q < 1.0 {
            let inverse = 1.0 / (1.0 - q);
            writeln!(out, "{value:12.digits$} {q:2.12} {total:10} {inverse:14.2}")?;
        } else {
            writeln!(out, "{value:12.digits$} {q:2.12} {total:10}")?;
        }
    }
    write_footer(out, hist, scale)
}

fn write_footer<W: Write>(out: &mut W, hist: &Histogram<u64>, scale: f64) -> io::Result<()> {
    let digits = usize::from(hist.sigfig());
    let (mean, stdev) = (hist.mean() / scale, hist.stdev() / scale);
    let max = if hist.is_empty() { 0 } else { hist.max() };
    let max = to_f64(max) / scale;
    writeln!(
        out,
        "#[Mean    = {mean:12.digits$}, StdDeviation   = {stdev:12.digits$}]"
    )?;
    writeln!(
        out,
        "#[Max     = {max:12.digits$}, Total count    = {:12}]",
        hist.len()
    )?;
    writeln!(
        out,
        "#[Buckets = {:12}, SubBuckets     = {:12}]",
        hist.buckets(),
        sub_bucket_count(hist.sigfig())
    )
}

/// Java's `subBucketCount`: the power of two that holds `2 * 10^sigfig` values (2048 for
/// 3 digits). The Rust crate keeps it private; this is its own formula.
fn sub_bucket_count(sigfig: u8) -> u64 {
    let largest = 2 * 10u64.pow(u32::from(sigfig));
    largest.next_power_of_two()
}

#[allow(clippy::cast_precision_loss)] // display only; exact below 2^53 ns (104 days)
fn to_f64(value: u64) -> f64 {
    value as f64
}

/// A `.hgrm` file read back (tests): its rows and footer figures.
#[cfg(test)]
#[derive(Debug, Default)]
pub(crate) struct ParsedHgrm {
    /// `(value, percentile, total_count)` per row.
    pub rows: Vec<(f64, f64, u64)>,
    /// Footer `Max`.
    pub max: f64,
    /// Footer `Total count`.
    pub total_count: u64,
    /// Footer `Buckets` and `SubBuckets`.
    pub buckets: (u64, u64),
}

/// Parses the `.hgrm` text format, checking its shape (tests).
#[cfg(test)]
pub(crate) fn parse_hgrm(text: &str) -> Result<ParsedHgrm, String> {
    let mut lines = text.lines();
    let header = lines.next().ok_or("empty file")?;
    if header != "       Value     Percentile TotalCount 1/(1-Percentile)" {
        return Err(format!("bad header {header:?}"));
    }
    if lines.next() != Some("") {
        return Err("no blank line after the header".into());
    }
    let mut parsed = ParsedHgrm::default();
    for line in lines {
        if let Some(footer) = line.strip_prefix("#[") {
            parse_footer(footer, &mut parsed)?;
        } else {
            parsed.rows.push(parse_row(line)?);
        }
    }
    Ok(parsed)
}

#[cfg(test)]
fn parse_row(line: &str) -> Result<(f64, f64, u64), String> {
    let cols: Vec<&str> = line.split_whitespace().collect();
    let bad = || format!("bad row {line:?}");
    if !(3..=4).contains(&cols.len()) {
        return Err(bad());
    }
    let value = cols[0].parse().map_err(|_| bad())?;
    let percentile = cols[1].parse().map_err(|_| bad())?;
    let count = cols[2].parse().map_err(|_| bad())?;
    Ok((value, percentile, count))
}

#[cfg(test)]
fn parse_footer(footer: &str, parsed: &mut ParsedHgrm) -> Result<(), String> {
    let bad = || format!("bad footer {footer:?}");
    let body = footer.strip_suffix(']').ok_or_else(bad)?;
    let mut fields = body.split(',').map(|f| {
        let (k, v) = f.split_once('=').unwrap_or((f, ""));
        (k.trim(), v.trim())
    });
    let (first, second) = (
        fields.next().ok_or_else(bad)?,
        fields.next().ok_or_else(bad)?,
    );
    match (first.0, second.0) {
        ("Mean", "StdDeviation") => {}
        ("Max", "Total count") => {
            parsed.max = first.1.parse().map_err(|_| bad())?;
            parsed.total_count = second.1.parse().map_err(|_| bad())?;
        }
        ("Buckets", "SubBuckets") => {
            let b = first.1.parse().map_err(|_| bad())?;
            parsed.buckets = (b, second.1.parse().map_err(|_| bad())?);
        }
        _ => return Err(bad()),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::histograms::{LATENCY_HIGH_NS, LATENCY_LOW_NS, LATENCY_SIGFIG};

    fn histogram() -> Histogram<u64> {
        Histogram::new_with_bounds(LATENCY_LOW_NS, LATENCY_HIGH_NS, LATENCY_SIGFIG).unwrap()
    }

    fn render(hist: &Histogram<u64>) -> String {
        let mut out = Vec::new();
        write_percentile_distribution(&mut out, hist, OUTPUT_SCALE_NS_PER_US).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn test_hgrm_round_trip_is_monotonic_and_complete() {
        let mut hist = histogram();
        for ns in 1..=10_000u64 {
            hist.saturating_record(ns * 10);
        }
        let parsed = parse_hgrm(&render(&hist)).unwrap();
        assert!(parsed.rows.len() > 20, "{}", parsed.rows.len());
        for pair in parsed.rows.windows(2) {
            assert!(pair[0].0 <= pair[1].0, "values {pair:?}");
            assert!(pair[0].1 <= pair[1].1, "percentiles {pair:?}");
            assert!(pair[0].2 <= pair[1].2, "counts {pair:?}");
        }
        let last = parsed.rows.last().unwrap();
        assert_eq!((last.1, last.2), (1.0, 10_000));
        assert_eq!(parsed.total_count, 10_000);
        assert!((parsed.max - 100.0).abs() < 0.1, "max {} µs", parsed.max);
        assert_eq!(parsed.buckets, (u64::from(hist.buckets()), 2048));
    }

    #[test]
    fn test_hgrm_row_format_matches_java() {
        let mut hist = histogram();
        hist.saturating_record(1_500);
        let text = render(&hist);
        let mut lines = text.lines().skip(2);
        assert_eq!(
            lines.next(),
            Some("       1.500 0.000000000000          1           1.00")
        );
        assert_eq!(lines.next(), Some("       1.500 1.000000000000          1"));
        assert_eq!(
            lines.next(),
            Some("#[Mean    =        1.500, StdDeviation   =        0.000]")
        );
        assert_eq!(
            lines.next(),
            Some("#[Max     =        1.500, Total count    =            1]")
        );
    }

    #[test]
    fn test_hgrm_empty_histogram_is_valid() {
        let text = render(&histogram());
        let parsed = parse_hgrm(&text).unwrap();
        assert!(parsed.rows.is_empty());
        assert_eq!((parsed.total_count, parsed.max), (0, 0.0));
        assert_eq!(text.lines().filter(|l| l.starts_with("#[")).count(), 3);
    }

    #[test]
    fn test_hgrm_file_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("feed.hgrm");
        let mut hist = histogram();
        hist.saturating_record(2_000);
        write_hgrm_file(&path, &hist).unwrap();
        let parsed = parse_hgrm(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(parsed.total_count, 1);
    }
}
