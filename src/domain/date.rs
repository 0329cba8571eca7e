//! Calendar dates as the API takes them: ISO 8601 full dates (`YYYY-MM-DD`, four-digit year)
//! and nothing looser, within the years the service supports. Every date a client sends, in a
//! body or a query string, is this type, so no date field can miss the check.

use chrono::NaiveDate;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The earliest date the service takes (dates of birth reach back this far).
pub const EARLIEST: NaiveDate = NaiveDate::from_ymd_opt(1900, 1, 1).expect("a valid date");
/// The latest date the service takes: far enough for any due date or reporting period, near
/// enough that arithmetic on it (a period's length, the period before) stays in range everywhere.
pub const LATEST: NaiveDate = NaiveDate::from_ymd_opt(2199, 12, 31).expect("a valid date");

/// Codes a bad date is reported with (problem+json `errors[].code`).
pub const NOT_AN_ISO_DATE: &str = "not_an_iso_date";
pub const DATE_OUT_OF_RANGE: &str = "date_out_of_range_1900_2199";

/// The date `n` working days (Monday to Friday) after `from`. Bank holidays are not known to
/// the service, so a timescale that spans one is a day short rather than late.
pub fn add_working_days(from: NaiveDate, n: u32) -> NaiveDate {
    use chrono::{Datelike, Weekday};
    let mut day = from;
    let mut left = n;
    while left > 0 {
        day = day.succ_opt().unwrap_or(day);
        if !matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
            left -= 1;
        }
    }
    day
}

/// A checked date: `YYYY-MM-DD`, between `EARLIEST` and `LATEST`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IsoDate(NaiveDate);

impl IsoDate {
    pub fn get(self) -> NaiveDate {
        self.0
    }

    /// A date read back from the database, to answer with (it was checked on the way in).
    pub fn from_stored(date: NaiveDate) -> Self {
        Self(date)
    }

    /// Parses `raw`, or says which code applies.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let b = raw.as_bytes();
        let shaped = b.len() == 10
            && b[4] == b'-'
            && b[7] == b'-'
            && b.iter().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
        if !shaped {
            return Err(NOT_AN_ISO_DATE);
        }
        let date = NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| NOT_AN_ISO_DATE)?;
        if !(EARLIEST..=LATEST).contains(&date) {
            return Err(DATE_OUT_OF_RANGE);
        }
        Ok(Self(date))
    }
}

impl From<IsoDate> for NaiveDate {
    fn from(d: IsoDate) -> Self {
        d.0
    }
}

impl<'de> Deserialize<'de> for IsoDate {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(de)?;
        // The extractors turn `code:<code>` into the field problem's code.
        IsoDate::parse(&raw).map_err(|code| serde::de::Error::custom(format!("code:{code}")))
    }
}

impl Serialize for IsoDate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

/// A client's timestamp (RFC 3339) within the years the service supports: PostgreSQL would
/// refuse one far outside, and that must be the client's 422, not a 500.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct IsoTimestamp(chrono::DateTime<chrono::Utc>);

impl IsoTimestamp {
    pub fn get(self) -> chrono::DateTime<chrono::Utc> {
        self.0
    }
}

impl<'de> Deserialize<'de> for IsoTimestamp {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(de)?;
        let at = chrono::DateTime::parse_from_rfc3339(&raw)
            .map_err(|_| serde::de::Error::custom("code:not_an_iso_timestamp"))?
            .with_timezone(&chrono::Utc);
        if !(EARLIEST..=LATEST).contains(&at.date_naive()) {
            return Err(serde::de::Error::custom(format!("code:{DATE_OUT_OF_RANGE}")));
        }
        Ok(Self(at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_full_iso_dates_in_range_are_taken() {
        assert_eq!(IsoDate::parse("2024-01-31").unwrap().get(), NaiveDate::from_ymd_opt(2024, 1, 31).unwrap());
        for loose in [
            "2024-1-1",
            "24-01-01",
            "+10000-01-01",
            "2024/01/01",
            "01/02/2024",
            "2024-01-01T00:00",
            " 2024-01-01",
            "2024-02-30",
            "2024-13-01",
            "",
        ] {
            assert_eq!(IsoDate::parse(loose), Err(NOT_AN_ISO_DATE), "{loose}");
        }
        for far in ["1899-12-31", "2200-01-01", "9999-12-31", "0000-01-01"] {
            assert_eq!(IsoDate::parse(far), Err(DATE_OUT_OF_RANGE), "{far}");
        }
    }
}
