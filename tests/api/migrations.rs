//! Migrations go up, down and up again, leaving the same schema.

use diesel::prelude::*;
use diesel::sql_query;
use diesel_migrations::MigrationHarness;

use crate::helpers::TestDb;

#[derive(QueryableByName, PartialEq, Debug)]
struct ColumnRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    description: String,
}

fn schema_snapshot(conn: &mut PgConnection) -> Vec<String> {
    sql_query(
        "SELECT table_name || '.' || column_name || ':' || data_type || ':' || is_nullable || ':' || coalesce(column_default, '') AS description
         FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations'
         UNION ALL
         SELECT tablename || ' index ' || indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename <> '__diesel_schema_migrations'
         UNION ALL
         SELECT conrelid::regclass || ' constraint ' || pg_get_constraintdef(oid) FROM pg_constraint WHERE connamespace = 'public'::regnamespace AND conrelid::regclass::text <> '__diesel_schema_migrations'
         ORDER BY 1",
    )
    .load::<ColumnRow>(conn)
    .unwrap()
    .into_iter()
    .map(|r| r.description)
    .collect()
}

#[test]
fn migrations_run_up_down_and_up_again_to_the_same_schema() {
    let db = TestDb::empty();
    let mut conn = db.conn();
    conn.run_pending_migrations(confer::db::MIGRATIONS).unwrap();
    let first = schema_snapshot(&mut conn);
    assert!(first.iter().any(|c| c.starts_with("users.tokens_valid_after")));
    conn.revert_all_migrations(confer::db::MIGRATIONS).unwrap();
    assert!(schema_snapshot(&mut conn).is_empty(), "down.sql leaves nothing behind");
    conn.run_pending_migrations(confer::db::MIGRATIONS).unwrap();
    assert_eq!(schema_snapshot(&mut conn), first);
}
