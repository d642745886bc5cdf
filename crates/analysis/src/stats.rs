//! Is a difference between two sets of timings real? The ratio of medians with a bootstrap
//! confidence interval: resample each side with replacement many times, take the ratio of
//! the resampled medians each time, and keep the middle 95%. When the interval includes 1,
//! the honest answer is "no significant difference".
//!
//! Deterministic: the resampling uses a fixed-seed generator, so the same timings always
//! give the same answer.

use serde::{Deserialize, Serialize};

/// How a `new` set of timings compares with a `base` set.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// median(new) / median(base): below 1 is faster.
    pub ratio: f64,
    /// The 95% bootstrap interval of the ratio.
    pub low: f64,
    pub high: f64,
    /// The interval excludes 1.
    pub significant: bool,
}

/// The spread of repeated measurements (wall times, say): what `build --runs N`,
/// `experiment`, the report and the history all quote, so that the same samples always
/// give the same median. An even count's median is the mean of the two middle values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Spread {
    pub min: u64,
    pub median: u64,
    pub max: u64,
    /// How many samples.
    pub n: usize,
}

impl Spread {
    /// `None` for no samples.
    pub fn of(samples: &[u64]) -> Option<Spread> {
        if samples.is_empty() {
            return None;
        }
        let mut sorted = samples.to_vec();
        sorted.sort_unstable();
        let mid = sorted.len() / 2;
        let median = if sorted.len() % 2 == 1 {
            sorted[mid]
        } else {
            // The mean of the middle two, without overflow.
            sorted[mid - 1] / 2 + sorted[mid] / 2 + (sorted[mid - 1] % 2 + sorted[mid] % 2) / 2
        };
        Some(Spread {
            min: sorted[0],
            median,
            max: sorted[sorted.len() - 1],
            n: sorted.len(),
        })
    }

    /// The index of the sample nearest the median (the first of equals): the run that
    /// speaks for all.
    pub fn nearest_to_median(&self, samples: &[u64]) -> Option<usize> {
        (0..samples.len()).min_by_key(|&i| samples[i].abs_diff(self.median))
    }
}

/// Resamples per comparison: enough for stable 2.5% and 97.5% percentiles.
const RESAMPLES: usize = 4000;

/// The median of float samples (the mean of the middle two for an even count), as
/// [`Spread`] takes it.
pub fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    Some(if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    })
}

/// Compares two sets of positive timings; `None` when either is empty or a median is 0.
pub fn compare_samples(base: &[f64], new: &[f64]) -> Option<Comparison> {
    let (base_median, new_median) = (median(base)?, median(new)?);
    if base_median <= 0.0 {
        return None;
    }
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15 ^ ((base.len() as u64) << 32 | new.len() as u64));
    let mut ratios = Vec::with_capacity(RESAMPLES);
    let mut a = vec![0.0; base.len()];
    let mut b = vec![0.0; new.len()];
    for _ in 0..RESAMPLES {
        for slot in a.iter_mut() {
            *slot = base[rng.below(base.len())];
        }
        for slot in b.iter_mut() {
            *slot = new[rng.below(new.len())];
        }
        let (ma, mb) = (median(&a)?, median(&b)?);
        if ma > 0.0 {
            ratios.push(mb / ma);
        }
    }
    ratios.sort_by(f64::total_cmp);
    let at = |q: f64| ratios[((ratios.len() - 1) as f64 * q).round() as usize];
    let (low, high) = (at(0.025), at(0.975));
    Some(Comparison {
        ratio: new_median / base_median,
        low,
        high,
        significant: !(low <= 1.0 && 1.0 <= high),
    })
}

/// xorshift64*: small, fast, and plenty for resampling indices.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spread_takes_the_mean_of_the_middle_two_for_an_even_count() {
        let four = [400, 100, 300, 200];
        let spread = Spread::of(&four).unwrap();
        assert_eq!(
            spread,
            Spread {
                min: 100,
                median: 250,
                max: 400,
                n: 4
            }
        );
        // The same median as the float median the experiment's comparison uses.
        let floats: Vec<f64> = four.iter().map(|&v| v as f64).collect();
        assert_eq!(median(&floats), Some(spread.median as f64));
        assert_eq!(Spread::of(&[5, 1, 9]).unwrap().median, 5);
        assert_eq!(Spread::of(&[u64::MAX, u64::MAX]).unwrap().median, u64::MAX);
        assert_eq!(Spread::of(&[]), None);
        // The run nearest the median: 300 and 200 are equally near 250; the first wins.
        assert_eq!(spread.nearest_to_median(&four), Some(2));
    }

    /// Timings around `center` with a fixed pattern of ±`spread` noise.
    fn noisy(center: f64, spread: f64, n: usize, phase: usize) -> Vec<f64> {
        (0..n)
            .map(|i| {
                let wobble = (((i + phase) * 7919) % 101) as f64 / 100.0 - 0.5;
                center + 2.0 * spread * wobble
            })
            .collect()
    }

    #[test]
    fn equal_distributions_are_no_significant_difference() {
        for n in [3, 5, 10, 30] {
            let base = noisy(1.0, 0.1, n, 0);
            let new = noisy(1.0, 0.1, n, 13);
            let c = compare_samples(&base, &new).unwrap();
            assert!(!c.significant, "n={n}: {c:?}");
            assert!(c.low <= 1.0 && c.high >= 1.0, "{c:?}");
        }
    }

    #[test]
    fn a_twofold_shift_is_detected() {
        for n in [3, 5, 10, 30] {
            let base = noisy(1.0, 0.1, n, 0);
            let new = noisy(2.0, 0.2, n, 5);
            let c = compare_samples(&base, &new).unwrap();
            assert!(c.significant, "n={n}: {c:?}");
            assert!((c.ratio - 2.0).abs() < 0.25, "{c:?}");
            assert!(c.low > 1.0, "{c:?}");
            // And the other way round: twice as fast.
            let c = compare_samples(&new, &base).unwrap();
            assert!(c.significant && c.high < 1.0, "n={n}: {c:?}");
        }
    }

    #[test]
    fn medians_and_degenerate_input() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(compare_samples(&[], &[1.0]), None);
        assert_eq!(compare_samples(&[0.0], &[1.0]), None);
        // One sample each: the interval is a point; a difference is all it can say.
        let c = compare_samples(&[1.0], &[1.0]).unwrap();
        assert!(!c.significant);
    }
}
