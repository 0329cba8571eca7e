//! `confer`: the case-management backend for multi-agency risk panels (MARAC, Community MARAC and
//! Joint Action Groups). `docs/ARCHITECTURE.md` describes how the pieces fit.

pub mod admission;
pub mod audit;
pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
pub mod demo;
pub mod disclosure;
pub mod domain;
pub mod error;
pub mod export;
pub mod extract;
pub mod idempotency;
pub mod import;
pub mod limits;
pub mod metrics;
pub mod models;
pub mod pagination;
pub mod passwords;
pub mod request_context;
pub mod request_id;
pub mod retention;
pub mod routes;
pub mod schema;
pub mod source;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod tokens;
