//! The period figures are computed over: two dates, the first not after the second, parsed from
//! what clients ask for (dates, a panel's reporting year, a calendar quarter).

use chrono::NaiveDate;
use serde::Serialize;

use crate::domain::IsoDate;
use crate::error::FieldProblem;

/// `[from, to]`, both days included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ReportingPeriod {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// What a client asked for: two dates, or a reporting year, which needs the panel's start month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AskedPeriod {
    Dates(ReportingPeriod),
    Year(i32),
}

impl AskedPeriod {
    /// `from` and `to`, or `year` (2000 to 2100), never both; problems name the field.
    pub fn parse(from: Option<IsoDate>, to: Option<IsoDate>, year: Option<i32>) -> Result<Self, FieldProblem> {
        match (from, to, year) {
            (Some(from), Some(to), None) => Ok(Self::Dates(ReportingPeriod::between(from.get(), to.get())?)),
            (None, None, Some(year)) if (2000..=2100).contains(&year) => Ok(Self::Year(year)),
            (None, None, Some(_)) => Err(FieldProblem::new("year", "out_of_range")),
            _ => Err(FieldProblem::new("from", "give_from_and_to_or_year")),
        }
    }

    /// The period, a reporting year starting in `start_month` (1 to 12).
    pub fn resolve(self, start_month: u32) -> Result<ReportingPeriod, FieldProblem> {
        match self {
            Self::Dates(period) => Ok(period),
            Self::Year(year) => {
                ReportingPeriod::reporting_year(year, start_month).ok_or(FieldProblem::new("year", "out_of_range"))
            }
        }
    }
}

impl ReportingPeriod {
    /// `[from, to]`; `from` after `to` is a problem on `from`.
    pub fn between(from: NaiveDate, to: NaiveDate) -> Result<Self, FieldProblem> {
        if from > to { Err(FieldProblem::new("from", "after_to")) } else { Ok(Self { from, to }) }
    }

    /// The reporting year `year` that starts in `start_month` (Brent: October).
    pub fn reporting_year(year: i32, start_month: u32) -> Option<Self> {
        let from = NaiveDate::from_ymd_opt(year, start_month, 1)?;
        let next = NaiveDate::from_ymd_opt(year + 1, start_month, 1)?;
        Some(Self { from, to: next.pred_opt()? })
    }

    /// The calendar quarter written `2024Q3` (or `2024q3`), years 2000 to 2100.
    pub fn quarter(raw: &str) -> Option<Self> {
        let (year, q) = raw.split_once(['Q', 'q'])?;
        let year: i32 = year.parse().ok().filter(|y| (2000..=2100).contains(y))?;
        let q: u32 = q.parse().ok().filter(|q| (1..=4).contains(q))?;
        let from = NaiveDate::from_ymd_opt(year, 3 * q - 2, 1)?;
        let to = if q == 4 {
            NaiveDate::from_ymd_opt(year, 12, 31)?
        } else {
            NaiveDate::from_ymd_opt(year, 3 * q + 1, 1)?.pred_opt()?
        };
        Some(Self { from, to })
    }

    /// Days in the period, both ends included.
    pub fn days(self) -> i64 {
        (self.to - self.from).num_days() + 1
    }

    /// The period of the same length just before this one.
    pub fn previous(self) -> Self {
        Self { from: self.from - chrono::Duration::days(self.days()), to: self.from - chrono::Duration::days(1) }
    }

    /// The twelve months (365 days) that end with this period's last day.
    pub fn twelve_months_to_end(self) -> Self {
        Self { from: self.to - chrono::Duration::days(364), to: self.to }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn reporting_years_follow_the_panels_start_month() {
        let year = |y, m| ReportingPeriod::reporting_year(y, m).map(|p| (p.from, p.to));
        assert_eq!(year(2022, 10), Some((d(2022, 10, 1), d(2023, 9, 30))), "Brent");
        assert_eq!(year(2023, 4), Some((d(2023, 4, 1), d(2024, 3, 31))));
        assert_eq!(year(2024, 1), Some((d(2024, 1, 1), d(2024, 12, 31))), "a leap year");
        assert_eq!(year(2023, 3), Some((d(2023, 3, 1), d(2024, 2, 29))), "ends on a leap day");
    }

    #[test]
    fn quarters_are_calendar_quarters() {
        let quarter = |raw| ReportingPeriod::quarter(raw).map(|p| (p.from, p.to));
        assert_eq!(quarter("2024Q3"), Some((d(2024, 7, 1), d(2024, 9, 30))));
        assert_eq!(quarter("2024Q1"), Some((d(2024, 1, 1), d(2024, 3, 31))));
        assert_eq!(quarter("2024q4"), Some((d(2024, 10, 1), d(2024, 12, 31))));
        for bad in ["2024Q5", "2024Q0", "24Q1", "2024-Q1", "Q1", ""] {
            assert_eq!(quarter(bad), None, "{bad}");
        }
    }

    #[test]
    fn periods_are_ordered_and_know_the_one_before() {
        assert_eq!(ReportingPeriod::between(d(2024, 2, 1), d(2024, 1, 1)), Err(FieldProblem::new("from", "after_to")));
        let march = ReportingPeriod::between(d(2024, 3, 1), d(2024, 3, 31)).unwrap();
        assert_eq!(march.days(), 31);
        assert_eq!(march.previous(), ReportingPeriod { from: d(2024, 1, 30), to: d(2024, 2, 29) });
        assert_eq!(march.twelve_months_to_end().from, d(2023, 4, 2));
        assert_eq!(AskedPeriod::parse(None, None, Some(1999)), Err(FieldProblem::new("year", "out_of_range")));
        assert_eq!(AskedPeriod::parse(None, None, None), Err(FieldProblem::new("from", "give_from_and_to_or_year")));
    }
}
