//! The `confer` command line: `serve`, `migrate`, `create-admin`, `seed-demo`.

use std::io::{BufRead, IsTerminal};
use std::net::TcpListener;
use std::process::ExitCode;

use diesel::{Connection, PgConnection};
use secrecy::{ExposeSecret, SecretString};

use crate::config::Config;
use crate::{db, demo, startup, telemetry};

const USAGE: &str = "\
usage: confer <command>

commands:
  serve                    run the HTTP API on CONFER_BIND_ADDR (default 127.0.0.1:8080)
  migrate                  apply pending database migrations
  create-admin --email E   create a system admin; the password comes from
                           CONFER_ADMIN_PASSWORD or the first line of standard input
  seed-demo                load clearly-labelled demo data into an empty database
  import --panel ID --as EMAIL --lawful-basis CODE --condition CODE [--dry-run] FILE
                           import a register (CSV) into a panel's cases, as the user
                           EMAIL (a coordinator or chair of that panel); prints the report
  audit verify             seal queued audit events, recompute the hash chain; exits 1 at the
                           first broken link
  retention run [--dry-run] [--today YYYY-MM-DD]
                           erase the ended cases whose retention ran out (as of today, London
                           date, or the date given); --dry-run lists them; prints a JSON report
  help                     show this text

Configuration comes from environment variables; see .env.example.";

pub fn main(args: Vec<String>) -> ExitCode {
    let command = args.first().map(String::as_str).unwrap_or("help");
    if matches!(command, "help" | "--help" | "-h") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("confer: {e}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(config.log_format);
    let result = match command {
        "serve" => serve(config),
        "migrate" => migrate(&config),
        "create-admin" => create_admin(&config, &args[1..]),
        "seed-demo" => seed_demo(&config),
        "import" => import_register(&config, &args[1..]),
        "audit" if args.get(1).map(String::as_str) == Some("verify") => return audit_verify(&config),
        "retention" if args.get(1).map(String::as_str) == Some("run") => retention_run(&config, &args[2..]),
        other => {
            eprintln!("confer: unknown command {other:?}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("confer: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn connect(config: &Config) -> anyhow::Result<PgConnection> {
    PgConnection::establish(config.database_url())
        .map_err(|_| anyhow::anyhow!("cannot connect to the database named by DATABASE_URL"))
}

fn migrate(config: &Config) -> anyhow::Result<()> {
    let applied = db::migrate(&mut connect(config)?)?;
    println!("migrations applied: {applied}");
    Ok(())
}

fn serve(config: Config) -> anyhow::Result<()> {
    let mut conn = connect(&config)?;
    let non_durable = db::non_durable_settings(&mut conn)?;
    if !non_durable.is_empty() && !config.allow_non_durable_db {
        anyhow::bail!(
            "refusing to start: PostgreSQL runs with {} and acknowledged writes could be lost; \
             fix the server settings (CONFER_TEST_ALLOW_NON_DURABLE_DB=true is for throwaway test clusters only)",
            non_durable.join(", ")
        );
    }
    if !db::migrations_current(&mut conn)? {
        anyhow::bail!("the database schema is behind this build: run `confer migrate` first");
    }
    if let Some((email, password)) = &config.bootstrap_admin
        && crate::models::user::count_users(&mut conn)? == 0
    {
        demo::create_admin(&mut conn, email, password)?;
        tracing::info!("bootstrap system admin created");
    }
    drop(conn);
    crate::passwords::warm_up();

    let listener = TcpListener::bind(config.bind_addr)
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.bind_addr))?;
    tracing::info!(addr = %config.bind_addr, "confer listening");
    let state = crate::state::AppState::new(&config, db::pool(&config), startup::ROUTES);
    actix_web::rt::System::new().block_on(async move { startup::server(listener, &config, state)?.await })?;
    tracing::info!("confer stopped");
    Ok(())
}

fn create_admin(config: &Config, args: &[String]) -> anyhow::Result<()> {
    let email = match args {
        [flag, email] if flag == "--email" => email.clone(),
        _ => anyhow::bail!("usage: confer create-admin --email E"),
    };
    let password = match std::env::var("CONFER_ADMIN_PASSWORD") {
        Ok(p) if !p.is_empty() => SecretString::from(p),
        _ => {
            if std::io::stdin().is_terminal() {
                eprintln!("password (input is shown; prefer piping it or CONFER_ADMIN_PASSWORD):");
            }
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line)?;
            SecretString::from(line.trim_end_matches(['\r', '\n']).to_owned())
        }
    };
    let mut conn = connect(config)?;
    let id = demo::create_admin(&mut conn, &email, &password)?;
    println!("system admin created: {id}");
    let _ = password.expose_secret();
    Ok(())
}

fn seed_demo(config: &Config) -> anyhow::Result<()> {
    let mut conn = connect(config)?;
    match demo::seed(&mut conn)? {
        Some(logins) => {
            println!("Demo data loaded. DEMO ONLY: these accounts share the password {:?}", demo::DEMO_PASSWORD);
            for (email, what) in logins {
                println!("  {email:<40} {what}");
            }
        }
        None => println!("The database already has users; demo data not loaded."),
    }
    Ok(())
}

/// `confer import`: the same import as `POST /api/v1/panels/{id}/imports`, for files at hand.
fn import_register(config: &Config, args: &[String]) -> anyhow::Result<()> {
    use crate::domain::{LawfulBasis, PanelId, SpecialCategoryCondition};
    use crate::import::{self, ImportOptions};
    let usage = "usage: confer import --panel ID --as EMAIL --lawful-basis CODE --condition CODE [--dry-run] \
                 [--strict] [--columns JSON] [--sheet NAME|INDEX] FILE (.csv, or .xlsx for a workbook)";
    let (mut panel, mut email, mut basis, mut condition, mut file, mut dry_run) = (None, None, None, None, None, false);
    let (mut strict, mut columns, mut sheet) = (false, None, None);
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--panel" => panel = it.next().and_then(|v| v.parse::<uuid::Uuid>().ok()).map(PanelId),
            "--as" => email = it.next().map(|v| v.trim().to_lowercase()),
            "--lawful-basis" => basis = it.next().and_then(|v| LawfulBasis::from_code(v)),
            "--condition" => condition = it.next().and_then(|v| SpecialCategoryCondition::from_code(v)),
            "--dry-run" => dry_run = true,
            "--strict" => strict = true,
            "--columns" => columns = Some(it.next().ok_or_else(|| anyhow::anyhow!("{usage}"))?.to_owned()),
            "--sheet" => sheet = Some(it.next().ok_or_else(|| anyhow::anyhow!("{usage}"))?.to_owned()),
            other if !other.starts_with("--") && file.is_none() => file = Some(other.to_owned()),
            _ => anyhow::bail!("{usage}"),
        }
    }
    let (Some(panel_id), Some(email), Some(lawful_basis), Some(special_category_condition), Some(file)) =
        (panel, email, basis, condition, file)
    else {
        anyhow::bail!("{usage}");
    };
    let bytes = std::fs::read(&file).map_err(|e| anyhow::anyhow!("cannot read {file}: {e}"))?;
    let mut conn = connect(config)?;
    let account = crate::models::session::find_login_account(&mut conn, &email)?
        .filter(|a| a.active)
        .ok_or_else(|| anyhow::anyhow!("no active user {email}"))?;
    let roles = crate::models::session::roles_in_force(&mut conn, account.id)?;
    if !crate::domain::is_staff_on(&roles, panel_id) {
        anyhow::bail!("{email} is not a coordinator or chair of that panel");
    }
    let mapping = match columns.as_deref().map(import::parse_mapping).transpose() {
        Ok(mapping) => mapping.unwrap_or_default(),
        Err(problems) => {
            let codes: Vec<String> = problems.iter().map(|p| format!("{}: {}", p.field, p.code)).collect();
            anyhow::bail!("--columns: {}", codes.join("; "))
        }
    };
    let format = if file.to_ascii_lowercase().ends_with(".xlsx") {
        import::RegisterFormat::Xlsx { sheet }
    } else {
        import::RegisterFormat::Csv
    };
    let options = ImportOptions { dry_run, lawful_basis, special_category_condition, mapping, strict, format };
    let report = conn.transaction(|conn| {
        let panel = crate::models::panel::get(conn, panel_id)?;
        import::run(conn, &panel, account.id, &bytes, &options).map(|imported| imported.report)
    });
    match report {
        Ok(report) => {
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(())
        }
        Err(crate::error::ApiError::Unprocessable(problems) | crate::error::ApiError::BadRequest(problems)) => {
            for p in &problems {
                eprintln!("{}: {}", p.field, p.code);
            }
            anyhow::bail!("nothing imported: {} problem(s)", problems.len())
        }
        Err(e) => Err(anyhow::anyhow!("import failed: {e}")),
    }
}

/// `confer audit verify`: seals any queued events, then exit 0 when the chain verifies, 1 at the
/// first broken link.
fn retention_run(config: &Config, args: &[String]) -> anyhow::Result<()> {
    let usage = "usage: confer retention run [--dry-run] [--today YYYY-MM-DD]";
    let (mut dry_run, mut today) = (false, None);
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--dry-run" => dry_run = true,
            "--today" => {
                let raw = it.next().ok_or_else(|| anyhow::anyhow!("{usage}"))?;
                today =
                    Some(crate::domain::IsoDate::parse(raw).map_err(|code| anyhow::anyhow!("--today: {code}"))?.get());
            }
            _ => anyhow::bail!("{usage}"),
        }
    }
    let mut conn = connect(config)?;
    let today = match today {
        Some(day) => day,
        None => crate::models::action::london_today(&mut conn)?,
    };
    let report = crate::retention::run(&mut conn, today, dry_run).map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

fn audit_verify(config: &Config) -> ExitCode {
    let result = connect(config).and_then(|mut conn| {
        crate::audit::seal(&mut conn)?;
        crate::audit::verify(&mut conn)
    });
    match result {
        Ok(Ok(count)) => {
            println!("audit trail verified: {count} events");
            ExitCode::SUCCESS
        }
        Ok(Err(broken)) => {
            println!("audit trail broken at event {}: {}", broken.id, broken.reason);
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("confer: {e:#}");
            ExitCode::from(2)
        }
    }
}
