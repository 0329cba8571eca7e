//! Queries, one module per table group. Functions take `&mut PgConnection` and return
//! `QueryResult` (or `ApiError` where a known constraint maps to a client error); handlers call
//! them inside `db::run`, never build SQL themselves.

use diesel::QueryResult;

pub mod access;
pub mod action;
pub mod agency;
pub mod alert;
pub mod assessment;
pub mod audit_log;
pub mod case;
pub mod closure;
pub mod community_trigger;
pub mod data_quality;
pub mod exclusion;
pub mod governance;
pub mod grant;
pub mod location_case;
pub mod meeting;
pub mod panel;
pub mod person;
pub mod person_detail;
pub mod policy;
pub mod register;
pub mod research_note;
pub mod retention;
pub mod session;
pub mod share_decision;
pub mod transfer;
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

/// One value an edit changes, with the organisations that supplied the old and the new value.
#[derive(Debug)]
pub struct ValueChange {
    pub field: &'static str,
    pub old: serde_json::Value,
    pub old_supplied_by: Option<crate::domain::AgencyId>,
    pub new: serde_json::Value,
    pub new_supplied_by: Option<crate::domain::AgencyId>,
}

/// A record's editable values by field name, each with its supplier (`None` for core values).
pub type EditableValues = Vec<(&'static str, serde_json::Value, Option<crate::domain::AgencyId>)>;

/// The values that differ between two readings of the same record's editable values.
pub fn changed_values(before: EditableValues, after: EditableValues) -> Vec<ValueChange> {
    before
        .into_iter()
        .zip(after)
        .filter(|((_, old, _), (_, new, _))| old != new)
        .map(|((field, old, old_supplied_by), (_, new, new_supplied_by))| ValueChange {
            field,
            old,
            old_supplied_by,
            new,
            new_supplied_by,
        })
        .collect()
}

/// SQL written in the code (never built from input) as an expression diesel may prepare.
/// `dsl::sql` marks the whole query unsafe to cache, so PostgreSQL parses and plans it again on
/// every run; a query holding a `Fragment` is prepared once per connection and keyed by its text.
#[derive(Debug, Clone, Copy)]
pub struct Fragment<ST>(&'static str, std::marker::PhantomData<ST>);

pub const fn fragment<ST>(sql: &'static str) -> Fragment<ST> {
    Fragment(sql, std::marker::PhantomData)
}

impl<ST: diesel::sql_types::SqlType + diesel::expression::TypedExpressionType> diesel::Expression for Fragment<ST> {
    type SqlType = ST;
}

impl<ST> diesel::query_builder::QueryFragment<diesel::pg::Pg> for Fragment<ST> {
    fn walk_ast<'b>(&'b self, mut out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>) -> QueryResult<()> {
        out.push_sql(self.0);
        Ok(())
    }
}

impl<ST> diesel::query_builder::QueryId for Fragment<ST> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<ST, QS> diesel::AppearsOnTable<QS> for Fragment<ST> where Self: diesel::Expression {}
impl<ST, QS> diesel::SelectableExpression<QS> for Fragment<ST> where Self: diesel::Expression {}
impl<ST, GB> diesel::expression::ValidGrouping<GB> for Fragment<ST> {
    type IsAggregate = diesel::expression::is_aggregate::Never;
}
