//! The single integration test binary: black-box tests through the real application against
//! real PostgreSQL, a fresh database per test.

mod agencies;
mod auth;
mod case_edits;
mod case_rules;
mod cases;
mod contract;
mod dates;
mod disclosure;
mod faults;
mod flood;
mod governance;
mod grants;
mod health;
mod helpers;
mod http_basics;
mod imports;
mod layering;
mod location_cases;
mod meetings;
mod metrics;
mod migrations;
mod panels;
mod process;
mod research;
mod retention;
mod security;
mod transfers;
mod two_servers;
mod users;
