//! Small statistics and formatting helpers shared by the reports.

use std::time::Instant;

/// The median of `samples` (mean of the two middle values for an even count); 0 if empty.
pub fn median(samples: &[u64]) -> u64 {
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    match sorted.len() {
        0 => 0,
        len if len % 2 == 1 => sorted[len / 2],
        len => (sorted[len / 2 - 1] + sorted[len / 2]) / 2,
    }
}

/// The smallest of `samples` (the run least disturbed by the rest of the machine); 0 if
/// empty.
pub fn fastest(samples: &[u64]) -> u64 {
    samples.iter().copied().min().unwrap_or(0)
}

/// How far the median of `samples` lies above the fastest, as a fraction of the fastest
/// (0.02: the median run took 2% longer); `None` if empty or the fastest is 0.
pub fn spread(samples: &[u64]) -> Option<f64> {
    let fastest = fastest(samples);
    (fastest > 0).then(|| (median(samples) - fastest) as f64 / fastest as f64)
}

/// Formats a [`spread`] as `+2.1%`.
pub fn format_spread(spread: f64) -> String {
    format!("+{:.1}%", spread * 100.0)
}

/// The geometric mean of `values` (all positive), or `None` if there are none.
pub fn geomean(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let log_sum: f64 = values.iter().map(|v| v.ln()).sum();
    Some((log_sum / values.len() as f64).exp())
}

/// Nanoseconds elapsed since `start`, saturated to `u64`.
pub fn elapsed_ns(start: Instant) -> u64 {
    u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// Formats a duration in nanoseconds with a unit that keeps 3-4 significant digits.
pub fn format_ns(ns: f64) -> String {
    if ns >= 1e9 {
        format!("{:.3} s", ns / 1e9)
    } else if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.1} µs", ns / 1e3)
    } else if ns >= 10.0 {
        format!("{ns:.0} ns")
    } else {
        format!("{ns:.2} ns")
    }
}

/// Formats a ratio as `1.23x`.
pub fn format_ratio(ratio: f64) -> String {
    format!("{ratio:.2}x")
}
