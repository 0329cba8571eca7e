//! Keyset pagination: `limit` (default 20, at most 100) and an opaque `cursor` naming the last
//! row of the previous page by `(created_at, id)`. The collections that page (cases, meetings,
//! an organisation's actions, alerts, users, organisations, panels) order by that pair; the audit
//! trail pages by event id; short lists that belong to one parent (a case's assessments and
//! actions, a meeting's attendance, an item's notes, an action's updates) come whole.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::domain::Problems;
use crate::error::ApiError;

pub const DEFAULT_LIMIT: i64 = 20;
pub const MAX_LIMIT: i64 = 100;

/// Where a page starts: after the row at `(created_at, id)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub created_at: DateTime<Utc>,
    pub id: Uuid,
}

impl Cursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}|{}", self.created_at.timestamp_micros(), self.id))
    }

    pub fn decode(raw: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(raw).ok()?;
        let text = std::str::from_utf8(&bytes).ok()?;
        let (micros, id) = text.split_once('|')?;
        Some(Self { created_at: DateTime::from_timestamp_micros(micros.parse().ok()?)?, id: id.parse().ok()? })
    }
}

/// A checked page request.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    pub limit: i64,
    pub after: Option<Cursor>,
}

impl PageRequest {
    /// Checks `limit` and `cursor` from a query string, recording problems in `problems`.
    pub fn parse(limit: Option<i64>, cursor: Option<&str>, problems: &mut Problems) -> Option<Self> {
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        let limit_ok = (1..=MAX_LIMIT).contains(&limit);
        if !limit_ok {
            problems.push("limit", "out_of_range_1_100");
        }
        let after = match cursor {
            None => None,
            Some(raw) => match Cursor::decode(raw) {
                Some(c) => Some(c),
                None => {
                    problems.push("cursor", "invalid_cursor");
                    return None;
                }
            },
        };
        limit_ok.then_some(Self { limit, after })
    }

    /// Shorthand for collections with no other filters.
    pub fn from_query(limit: Option<i64>, cursor: Option<&str>) -> Result<Self, ApiError> {
        let mut problems = Problems::default();
        let page = Self::parse(limit, cursor, &mut problems);
        problems.finish(|| page)
    }

    /// How many rows to fetch: one more than the page, to learn whether another page follows.
    pub fn fetch_limit(&self) -> i64 {
        self.limit + 1
    }
}

/// One page of a collection.
#[derive(Debug, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds the page from up to `fetch_limit()` rows; `key` gives a row's `(created_at, id)`.
    pub fn from_rows<R>(
        mut rows: Vec<R>,
        request: &PageRequest,
        key: impl Fn(&R) -> Cursor,
        render: impl FnMut(R) -> T,
    ) -> Self {
        let more = rows.len() as i64 > request.limit;
        rows.truncate(request.limit as usize);
        let next_cursor = if more { rows.last().map(|r| key(r).encode()) } else { None };
        Self { items: rows.into_iter().map(render).collect(), next_cursor }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let c =
            Cursor { created_at: DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap(), id: Uuid::new_v4() };
        assert_eq!(Cursor::decode(&c.encode()), Some(c));
        for bad in ["", "!!!", "bm90LWEtY3Vyc29y", &URL_SAFE_NO_PAD.encode("12|not-a-uuid")] {
            assert_eq!(Cursor::decode(bad), None, "{bad}");
        }
    }

    #[test]
    fn limits_default_and_are_bounded() {
        assert_eq!(PageRequest::from_query(None, None).unwrap().limit, 20);
        assert_eq!(PageRequest::from_query(Some(100), None).unwrap().limit, 100);
        assert!(PageRequest::from_query(Some(101), None).is_err());
        assert!(PageRequest::from_query(Some(0), None).is_err());
        assert!(PageRequest::from_query(None, Some("garbage")).is_err());
    }

    #[test]
    fn a_page_has_a_cursor_only_when_more_rows_follow() {
        let req = PageRequest { limit: 2, after: None };
        let at = DateTime::from_timestamp_micros(0).unwrap();
        let rows: Vec<Uuid> = (0..3).map(|_| Uuid::new_v4()).collect();
        let key = |id: &Uuid| Cursor { created_at: at, id: *id };
        let page = Page::from_rows(rows.clone(), &req, key, |id| id);
        assert_eq!(page.items, rows[..2]);
        assert_eq!(Cursor::decode(page.next_cursor.as_deref().unwrap()).unwrap().id, rows[1]);
        let last = Page::from_rows(rows[..2].to_vec(), &req, key, |id| id);
        assert!(last.next_cursor.is_none());
    }
}
