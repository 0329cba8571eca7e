//! Figures as published: rounded once to 1 dp (half away from zero, in integer arithmetic) and
//! suppressed below k for managers (DOMAIN.md §8.7), with every figure that rests on a suppressed
//! count suppressed too.

use serde::Serialize;

/// `num / den × 100` to 1 dp, half away from zero; `None` when `den` is 0.
pub fn pct_1dp(num: i64, den: i64) -> Option<f64> {
    ratio_1dp(num * 100, den)
}

/// `num / den` to 1 dp, half away from zero, in integers so no binary rounding flips a 5.
pub fn ratio_1dp(num: i64, den: i64) -> Option<f64> {
    if den == 0 {
        return None;
    }
    let (n, d) = (i128::from(num) * 10, i128::from(den));
    let negative = (n < 0) != (d < 0);
    let (n, d) = (n.abs(), d.abs());
    let mut q = n / d;
    if (n % d) * 2 >= d {
        q += 1;
    }
    let tenths = if negative { -q } else { q };
    Some(tenths as f64 / 10.0)
}

/// A count, or a suppressed cell.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Count {
    pub value: Option<i64>,
    pub suppressed: bool,
}

/// A rate with the counts it is built from.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Rate {
    pub numerator: Option<i64>,
    pub denominator: Option<i64>,
    pub value: Option<f64>,
    pub suppressed: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    pub key: String,
    pub count: Count,
}

/// A share of a whole counted in fractions (a referral route, where co-referrers share a case):
/// its weight to 1 dp and the number of cases (hearings) it draws on, suppressed together.
#[derive(Debug, Clone, Serialize)]
pub struct WeightedCell {
    pub key: String,
    pub weight: Option<f64>,
    pub cases: Count,
}

/// The denominator fractional weights are counted in: every `1/n` for n ≤ 6 referrers (the
/// referring agency and up to five co-referrers) is a whole number of sixtieths.
pub const WEIGHT_UNIT: i64 = 60;

/// Builds the answer, applying suppression (k) when asked and noting every suppressed path.
pub struct Builder {
    k: Option<i64>,
    pub suppressed: Vec<String>,
}

impl Builder {
    pub fn new(suppress_below: Option<i64>) -> Self {
        Self { k: suppress_below, suppressed: Vec::new() }
    }

    fn hides(&self, n: i64) -> bool {
        self.k.is_some_and(|k| n > 0 && n < k)
    }

    pub fn count(&mut self, path: &str, n: i64) -> Count {
        if self.hides(n) {
            self.suppressed.push(path.to_owned());
            Count { value: None, suppressed: true }
        } else {
            Count { value: Some(n), suppressed: false }
        }
    }

    /// A percentage of two counts; suppressed when either count is.
    pub fn pct(&mut self, path: &str, num: i64, den: i64) -> Rate {
        self.rate(path, num, den, pct_1dp(num, den))
    }

    /// A plain ratio (cases per meeting); suppressed when either count is.
    pub fn ratio(&mut self, path: &str, num: i64, den: i64) -> Rate {
        self.rate(path, num, den, ratio_1dp(num, den))
    }

    /// A rate over `basis` counts whose numerator and denominator are not themselves counts of
    /// people (sums of scores, a count scaled to a population): suppressed when any basis count is.
    pub fn pct_over(&mut self, path: &str, basis: &[i64], num: i64, den: i64) -> Rate {
        self.rate_over(path, basis, num, den, pct_1dp(num, den))
    }

    pub fn ratio_over(&mut self, path: &str, basis: &[i64], num: i64, den: i64) -> Rate {
        self.rate_over(path, basis, num, den, ratio_1dp(num, den))
    }

    /// A count of something about the people counted in `basis` (their children, the unknowns
    /// among them): suppressed when it or any basis count is (SECURITY.md 2.6).
    pub fn count_over(&mut self, path: &str, basis: &[i64], n: i64) -> Count {
        if self.hides_any(basis) {
            self.suppressed.push(path.to_owned());
            Count { value: None, suppressed: true }
        } else {
            self.count(path, n)
        }
    }

    /// Any other figure derived from the counts in `basis` (a sum, a median): `None`, and noted,
    /// when any of them is suppressed.
    pub fn derived<T>(&mut self, path: &str, basis: &[i64], value: Option<T>) -> Option<T> {
        if self.hides_any(basis) {
            self.suppressed.push(path.to_owned());
            None
        } else {
            value
        }
    }

    fn hides_any(&self, counts: &[i64]) -> bool {
        counts.iter().any(|n| self.hides(*n))
    }

    fn rate_over(&mut self, path: &str, basis: &[i64], num: i64, den: i64, value: Option<f64>) -> Rate {
        if self.hides_any(basis) {
            self.suppressed.push(path.to_owned());
            Rate { numerator: None, denominator: None, value: None, suppressed: true }
        } else {
            Rate { numerator: Some(num), denominator: Some(den), value, suppressed: false }
        }
    }

    fn rate(&mut self, path: &str, num: i64, den: i64, value: Option<f64>) -> Rate {
        if self.hides(num) || self.hides(den) {
            self.suppressed.push(path.to_owned());
            Rate { numerator: None, denominator: None, value: None, suppressed: true }
        } else {
            Rate { numerator: Some(num), denominator: Some(den), value, suppressed: false }
        }
    }

    /// A breakdown whose cells sum to a shown total: if suppression hides exactly one cell, the
    /// next smallest is hidden too, so the total cannot give the hidden one away.
    pub fn breakdown(&mut self, path: &str, rows: Vec<(String, i64)>) -> Vec<Cell> {
        let none = vec![0; rows.len()];
        self.breakdown_over(path, rows, &none)
    }

    /// Rows of (key, weight in `WEIGHT_UNIT`ths, cases): each weight shown to 1 dp unless its
    /// cases count is suppressed (with the breakdown's secondary suppression).
    pub fn weighted_breakdown(&mut self, path: &str, rows: Vec<(String, i64, i64)>) -> Vec<WeightedCell> {
        let weights: Vec<i64> = rows.iter().map(|(_, w, _)| *w).collect();
        let cells = self.breakdown(path, rows.into_iter().map(|(key, _, cases)| (key, cases)).collect());
        cells
            .into_iter()
            .zip(weights)
            .map(|(cell, w)| WeightedCell {
                weight: if cell.count.suppressed { None } else { ratio_1dp(w, WEIGHT_UNIT) },
                key: cell.key,
                cases: cell.count,
            })
            .collect()
    }

    /// As `breakdown`, where row `i` also hides when `basis[i]` (the people it describes) does.
    pub fn breakdown_over(&mut self, path: &str, rows: Vec<(String, i64)>, basis: &[i64]) -> Vec<Cell> {
        let mut hidden: Vec<bool> =
            rows.iter().zip(basis).map(|((_, n), of)| self.hides(*n) || self.hides(*of)).collect();
        if self.k.is_some() && hidden.iter().filter(|h| **h).count() == 1 {
            let next = rows
                .iter()
                .enumerate()
                .filter(|(i, (_, n))| !hidden[*i] && *n > 0)
                .min_by_key(|(_, (_, n))| *n)
                .map(|(i, _)| i);
            if let Some(i) = next {
                hidden[i] = true;
            }
        }
        rows.into_iter()
            .zip(hidden)
            .map(|((key, n), hide)| {
                if hide {
                    self.suppressed.push(format!("{path}.{key}"));
                    Cell { key, count: Count { value: None, suppressed: true } }
                } else {
                    Cell { key, count: Count { value: Some(n), suppressed: false } }
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_is_half_away_from_zero_and_exact() {
        // DOMAIN.md §8.5 check value: 3,682 → 3,551 is −3.56 → −3.6 %.
        assert_eq!(pct_1dp(3551 - 3682, 3682), Some(-3.6));
        // The published errors DOMAIN.md §9 lists: 289 → 282 is −2.4 %, 3,103 → 3,060 is −1.4 %.
        assert_eq!(pct_1dp(282 - 289, 289), Some(-2.4));
        assert_eq!(pct_1dp(3060 - 3103, 3103), Some(-1.4));
        assert_eq!(pct_1dp(30 - 50, 50), Some(-40.0));
        assert_eq!(pct_1dp(1, 8), Some(12.5));
        assert_eq!(pct_1dp(1, 16), Some(6.3), "6.25 rounds up");
        assert_eq!(pct_1dp(-1, 16), Some(-6.3), "and away from zero below it");
        assert_eq!(pct_1dp(5, 0), None);
        assert_eq!(ratio_1dp(47, 3), Some(15.7));
    }

    #[test]
    fn suppression_hides_small_cells_and_one_more_when_one_alone_would_show() {
        let mut b = Builder::new(Some(5));
        assert_eq!(b.count("a", 4).value, None);
        assert_eq!(b.count("b", 0).value, Some(0), "zero is not a small number");
        assert_eq!(b.count("c", 5).value, Some(5));
        let cells = b.breakdown("x", vec![("p".into(), 3), ("q".into(), 20), ("r".into(), 9)]);
        let shown: Vec<Option<i64>> = cells.iter().map(|c| c.count.value).collect();
        assert_eq!(shown, vec![None, Some(20), None], "9 is hidden too so 3 cannot be recovered");
        assert!(b.suppressed.contains(&"x.r".to_owned()));
        let rate = b.pct("rate", 3, 40);
        assert!(rate.suppressed && rate.value.is_none(), "rates from suppressed counts are suppressed");
        let mut exact = Builder::new(None);
        assert_eq!(exact.count("a", 1).value, Some(1));
    }
}
