//! Queries, one module per table group. Functions take `&mut PgConnection` and return
//! `QueryResult` (or `ApiError` where a known constraint maps to a client error); handlers call
//! them inside `db::run`, never build SQL themselves.

pub mod access;
pub mod action;
pub mod agency;
pub mod alert;
pub mod assessment;
pub mod audit_log;
pub mod case;
pub mod meeting;
pub mod panel;
pub mod person;
pub mod policy;
pub mod session;
pub mod user;

/// `created_at > c.created_at OR (created_at = c.created_at AND id > c.id)` for keyset pages.
macro_rules! after_cursor {
    ($query:expr, $table:ident, $cursor:expr) => {{
        match $cursor {
            Some(c) => $query.filter(
                $table::created_at.gt(c.created_at).or($table::created_at.eq(c.created_at).and($table::id.gt(c.id))),
            ),
            None => $query,
        }
    }};
}
pub(crate) use after_cursor;
