//! The `tenantry` command line: serve, migrate, bootstrap, seed-demo.

use crate::config::Settings;
use crate::services::{bootstrap, demo};
use crate::startup::Application;
use clap::{Parser, Subcommand};
use secrecy::ExposeSecret;

#[derive(Parser, Debug)]
#[command(
    name = "tenantry",
    version,
    about = "Self-hosted multi-tenant administration console"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Apply pending migrations, bootstrap if configured, and serve the console.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Create the root tenant and first administrator (from TENANTRY_ADMIN_USERNAME /
    /// TENANTRY_ADMIN_PASSWORD, or asked for interactively). Does nothing once a root exists.
    Bootstrap,
    /// Load demo tenants and users (about 50 tenants over 4 levels). Idempotent.
    SeedDemo,
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = match cli.command {
        Command::Serve => Settings::from_env()?,
        _ => Settings::from_env_without_secret()?,
    };
    match cli.command {
        Command::Migrate => {
            let applied = crate::db::run_migrations(settings.database_url()).await?;
            println!(
                "migrations applied: {}",
                if applied.is_empty() {
                    "none pending".into()
                } else {
                    applied.join(", ")
                }
            );
        }
        Command::Bootstrap => bootstrap_cmd(&settings, true).await?,
        Command::SeedDemo => {
            let pool = crate::db::pool(settings.database_url(), 2)?;
            let mut conn = pool.get().await?;
            let hash = crate::auth::password::hash_blocking(demo::DEMO_PASSWORD)?;
            if demo::seed(&mut conn, &hash, crate::clock::Clock::system().now()).await? {
                println!(
                    "demo data loaded: log in as acme\\alice with password {}",
                    demo::DEMO_PASSWORD
                );
            } else {
                println!("demo data already present");
            }
        }
        Command::Serve => {
            crate::db::run_migrations(settings.database_url()).await?;
            bootstrap_cmd(&settings, false).await?;
            let app = Application::build(settings.clone())?;
            tracing::info!(
                port = app.port(),
                "tenantry listening on {}",
                settings.listen
            );
            println!(
                "tenantry is serving on http://{} (public URL {})",
                settings.listen, settings.public_url
            );
            app.run_until_stopped().await?;
        }
    }
    Ok(())
}

/// Bootstraps from the environment. `interactive` asks for missing values on a terminal.
async fn bootstrap_cmd(settings: &Settings, interactive: bool) -> anyhow::Result<()> {
    use std::io::{IsTerminal, Write};
    let pool = crate::db::pool(settings.database_url(), 2)?;
    let mut conn = pool.get().await?;
    if crate::db::models::Tenant::root(&mut conn).await?.is_some() {
        if interactive {
            println!("already bootstrapped: a root tenant exists (TENANTRY_ADMIN_* are ignored)");
        }
        return Ok(());
    }
    let (username, password) = match (&settings.admin_username, &settings.admin_password) {
        (Some(u), Some(p)) => (u.clone(), p.expose_secret().to_string()),
        _ if interactive && std::io::stdin().is_terminal() => {
            print!("Administrator username: ");
            std::io::stdout().flush()?;
            let mut u = String::new();
            std::io::stdin().read_line(&mut u)?;
            let p = rpassword::prompt_password("Administrator password: ")?;
            (u.trim().to_string(), p)
        }
        _ if interactive => anyhow::bail!(
            "no root tenant yet: set TENANTRY_ADMIN_USERNAME and TENANTRY_ADMIN_PASSWORD, or run `tenantry bootstrap` on a terminal"
        ),
        _ => {
            tracing::warn!("no root tenant yet: set TENANTRY_ADMIN_USERNAME/TENANTRY_ADMIN_PASSWORD or run `tenantry bootstrap`");
            return Ok(());
        }
    };
    if password.chars().count() < bootstrap::MIN_ADMIN_PASSWORD {
        anyhow::bail!(
            "TENANTRY_ADMIN_PASSWORD must have at least {} characters",
            bootstrap::MIN_ADMIN_PASSWORD
        );
    }
    let hash = crate::auth::password::hash_blocking(&password)?;
    match bootstrap::run(&mut conn, &settings.root_subdomain, &username, &hash).await? {
        bootstrap::Outcome::Created { .. } => println!(
            "bootstrapped: root tenant \"{}\" with administrator {username}",
            settings.root_subdomain
        ),
        bootstrap::Outcome::AlreadyBootstrapped => println!("already bootstrapped"),
    }
    Ok(())
}
