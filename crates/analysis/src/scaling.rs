//! How a measure grows with the size of the input: a power law fitted by least squares on
//! log–log axes (exponent with its 95% interval), compared with n·log n, a verdict, and the
//! value projected to ten times the largest size.

use serde::Serialize;

use crate::stats::median;

/// A measure at one size: the runs' values.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SizePoint {
    pub size: u64,
    pub values: Vec<f64>,
}

impl SizePoint {
    pub fn median(&self) -> Option<f64> {
        median(&self.values)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Growth {
    /// Exponent's whole interval below 0.9: fixed costs dominate at these sizes.
    Sublinear,
    Linear,
    NLogN,
    /// Exponent ≥ 1.2 with its interval above 1.1.
    Superlinear,
    /// Too few sizes, or values that do not fit.
    Unknown,
}

impl Growth {
    pub fn describe(self) -> &'static str {
        match self {
            Growth::Sublinear => "sublinear (fixed costs dominate)",
            Growth::Linear => "linear",
            Growth::NLogN => "n log n",
            Growth::Superlinear => "superlinear",
            Growth::Unknown => "unknown",
        }
    }
}

/// A fitted growth.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Fit {
    /// b in y = a·n^b.
    pub exponent: f64,
    /// The exponent's 95% confidence interval.
    pub interval: (f64, f64),
    /// a in y = a·n^b.
    pub coefficient: f64,
    /// Of the log–log fit.
    pub r_squared: f64,
    /// Whether y = c·n·ln n fits the points better (in log space) than the power law.
    pub n_log_n_fits_better: bool,
    pub growth: Growth,
    /// The power law at ten times the largest size.
    pub projected_at_10x: f64,
    pub largest_size: u64,
}

/// Two-sided 95% critical values of Student's t, by degrees of freedom (1..=30).
const T95: [f64; 30] = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
    2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
    2.052, 2.048, 2.045, 2.042,
];

fn t95(df: usize) -> f64 {
    match df {
        0 => f64::INFINITY,
        d if d <= 30 => T95[d - 1],
        _ => 1.96,
    }
}

/// Fits y = a·n^b to every run's value at every size (each run a point: the interval then
/// reflects the run-to-run spread too). `None` with fewer than three sizes or non-positive
/// values.
pub fn fit_growth(points: &[SizePoint]) -> Option<Fit> {
    let usable: Vec<&SizePoint> = points
        .iter()
        .filter(|p| p.size > 0 && !p.values.is_empty() && p.values.iter().all(|v| *v > 0.0))
        .collect();
    if usable.len() < 3 {
        return None;
    }
    let xy: Vec<(f64, f64)> = usable
        .iter()
        .flat_map(|p| p.values.iter().map(|v| ((p.size as f64).ln(), v.ln())))
        .collect();
    let m = xy.len() as f64;
    let mean_x = xy.iter().map(|p| p.0).sum::<f64>() / m;
    let mean_y = xy.iter().map(|p| p.1).sum::<f64>() / m;
    let sxx: f64 = xy.iter().map(|p| (p.0 - mean_x).powi(2)).sum();
    let sxy: f64 = xy.iter().map(|p| (p.0 - mean_x) * (p.1 - mean_y)).sum();
    if sxx <= 0.0 {
        return None;
    }
    let b = sxy / sxx;
    let ln_a = mean_y - b * mean_x;
    let rss: f64 = xy.iter().map(|p| (p.1 - ln_a - b * p.0).powi(2)).sum();
    let tss: f64 = xy.iter().map(|p| (p.1 - mean_y).powi(2)).sum();
    let df = xy.len().saturating_sub(2);
    let se = if df > 0 {
        (rss / df as f64 / sxx).sqrt()
    } else {
        f64::INFINITY
    };
    let half = t95(df) * se;
    // n·ln n with one free constant: log y = log c + log(n ln n).
    let nlogn = |x: f64| x + x.max(1e-9).ln(); // ln(n·ln n) = ln n + ln(ln n)
    let ln_c = xy.iter().map(|p| p.1 - nlogn(p.0)).sum::<f64>() / m;
    let rss_nlogn: f64 = xy.iter().map(|p| (p.1 - ln_c - nlogn(p.0)).powi(2)).sum();
    let interval = (b - half, b + half);
    // The one-parameter model must do better than the two-parameter one, by a margin.
    let n_log_n_fits_better = rss_nlogn < rss * 1.1 && usable.iter().all(|p| p.size >= 3);
    let narrow = interval.1 - interval.0 < 0.3;
    let growth = if n_log_n_fits_better && (1.0..1.35).contains(&b) && narrow {
        // n·ln n has a local exponent a little above 1 that creeps up with n.
        Growth::NLogN
    } else if b >= 1.2 && interval.0 > 1.1 {
        Growth::Superlinear
    } else if interval.1 < 0.9 {
        Growth::Sublinear
    } else if b >= 1.2 || interval.0 > 1.1 || interval.1 - interval.0 > 1.0 {
        // Steep, or the points scatter too much to call it.
        Growth::Unknown
    } else {
        // Consistent with linear growth: the interval reaches between 0.9 and 1.1.
        Growth::Linear
    };
    let largest = usable.iter().map(|p| p.size).max().unwrap_or(0);
    Some(Fit {
        exponent: b,
        interval,
        coefficient: ln_a.exp(),
        r_squared: if tss > 0.0 { 1.0 - rss / tss } else { 1.0 },
        n_log_n_fits_better,
        growth,
        projected_at_10x: ln_a.exp() * (10.0 * largest as f64).powf(b),
        largest_size: largest,
    })
}

/// One measure over the sizes, and how it grows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScaleMeasure {
    /// `wall`, `cpu`, `rss`, `units`, `phase:<phase>`, `query:<label>`.
    pub measure: String,
    /// `ns` or `bytes`.
    pub unit: &'static str,
    pub points: Vec<SizePoint>,
    pub fit: Option<Fit>,
}

/// A phase or query worth a headline is at least this share of the CPU time at the
/// largest size.
const HEADLINE_SHARE: f64 = 0.05;

/// The phase or query that grows fastest among those that matter, in a sentence:
/// "`typeck` grows as n^1.9 (superlinear): ×15 for ×4 the input".
pub fn scale_headline(measures: &[ScaleMeasure]) -> Option<String> {
    let largest = |m: &ScaleMeasure| {
        m.points
            .iter()
            .max_by_key(|p| p.size)
            .and_then(SizePoint::median)
            .unwrap_or(0.0)
    };
    // A build's phases and queries share its phases' total; a program's functions
    // (`--run --sample`) its CPU time, and only the program's own crates' functions are
    // candidates (the C library, the kernel and std grow with whatever calls them).
    let phases: f64 = measures
        .iter()
        .filter(|m| m.measure.starts_with("phase:"))
        .map(largest)
        .sum();
    let cpu = measures
        .iter()
        .find(|m| m.measure == "cpu")
        .map_or(0.0, largest);
    let share_of = |m: &ScaleMeasure| match m.measure.strip_prefix(crate::FUNCTION_MEASURE_PREFIX) {
        Some(name) if is_programs_own(name) && cpu > 0.0 => Some(largest(m) / cpu),
        Some(_) => None,
        None if m.measure.starts_with("phase:") || m.measure.starts_with("query:") => {
            (phases > 0.0).then(|| largest(m) / phases)
        }
        None => None,
    };
    let (m, fit) = measures
        .iter()
        .filter(|m| share_of(m).is_some_and(|share| share >= HEADLINE_SHARE))
        .filter_map(|m| m.fit.map(|f| (m, f)))
        .max_by(|a, b| a.1.exponent.total_cmp(&b.1.exponent))?;
    let with_values: Vec<&SizePoint> = m.points.iter().filter(|p| p.median().is_some()).collect();
    let (first, last) = (with_values.first()?, with_values.last()?);
    let grew = last.median()? / first.median()?.max(1.0);
    let input = last.size as f64 / first.size.max(1) as f64;
    Some(format!(
        "`{}` grows as n^{:.2} [{:.2}, {:.2}] ({}): ×{:.1} for ×{:.0} the input",
        m.measure
            .trim_start_matches("phase:")
            .trim_start_matches("query:")
            .trim_start_matches(crate::FUNCTION_MEASURE_PREFIX),
        fit.exponent,
        fit.interval.0,
        fit.interval.1,
        fit.growth.describe(),
        grew,
        input
    ))
}

/// Whether a sampled function is the program's own code rather than the runtime's.
fn is_programs_own(function: &str) -> bool {
    !matches!(
        crate::crate_of(function).as_str(),
        "system" | "kernel" | "unknown" | "std" | "core" | "alloc" | "__rustc"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn points(sizes: &[u64], f: impl Fn(f64) -> f64, noise: &[f64]) -> Vec<SizePoint> {
        sizes
            .iter()
            .enumerate()
            .map(|(i, &n)| SizePoint {
                size: n,
                values: noise
                    .iter()
                    .map(|e| f(n as f64) * (1.0 + e * ((i % 3) as f64 - 1.0)))
                    .collect(),
            })
            .collect()
    }

    #[test]
    fn a_known_exponent_is_recovered_within_five_hundredths() {
        let sizes = [1000, 2000, 4000, 8000, 16000];
        for exponent in [0.8, 1.0, 1.5, 2.0] {
            let fit = fit_growth(&points(
                &sizes,
                |n| 3e4 * n.powf(exponent),
                &[0.0, 0.03, -0.02],
            ))
            .unwrap();
            assert!(
                (fit.exponent - exponent).abs() < 0.05,
                "{exponent}: {fit:?}"
            );
            assert!(fit.interval.0 <= fit.exponent && fit.exponent <= fit.interval.1);
            let expected = 3e4 * (160_000f64).powf(exponent);
            assert!(
                (fit.projected_at_10x / expected - 1.0).abs() < 0.25,
                "{fit:?}"
            );
        }
    }

    #[test]
    fn growth_is_named() {
        let sizes = [100, 200, 400, 800];
        let verdict =
            |f: &dyn Fn(f64) -> f64| fit_growth(&points(&sizes, f, &[0.0, 0.01])).unwrap().growth;
        assert_eq!(verdict(&|n| 5.0 * n), Growth::Linear);
        assert_eq!(verdict(&|n| 0.01 * n * n), Growth::Superlinear);
        assert_eq!(verdict(&|n| 2.0 * n * n.ln()), Growth::NLogN);
        assert_eq!(verdict(&|n| 1e6 + n), Growth::Sublinear);
        // Three sizes at least; a size with no value is left out.
        assert!(fit_growth(&points(&sizes[..2], |n| n, &[0.0])).is_none());
        let mut with_gap = points(&sizes, |n| 5.0 * n, &[0.0]);
        with_gap[1].values.clear();
        assert_eq!(fit_growth(&with_gap).unwrap().growth, Growth::Linear);
    }
}
