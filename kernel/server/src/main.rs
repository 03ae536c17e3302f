//! `tillit`: the Tillit kernel's command line.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use clap::{Parser, Subcommand};
use tillit_domain::{Clock, Timestamp};
use tillit_kernel::app::{self, StartError};
use tillit_kernel::config::Config;
use tillit_kernel::i18n::Catalogs;

#[derive(Debug, Parser)]
#[command(
    name = "tillit",
    version,
    about = "Tillit: white-label video visits for healthcare",
    long_about = "Tillit serves every tenant's branded portal from one process.\n\n\
                  Configuration: built-in defaults, then the config file (tillit.toml), then \
                  TILLIT_* environment variables, with __ between levels \
                  (TILLIT_DATABASE__URL=postgres://…, TILLIT_SERVER__LISTEN=0.0.0.0:8080)."
)]
struct Cli {
    /// The configuration file. Optional unless given explicitly.
    #[arg(long, short, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start the server (migrating the database first unless database.auto_migrate = false).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Work with tenant configuration.
    Tenants {
        #[command(subcommand)]
        command: TenantsCommand,
    },
}

#[derive(Debug, Subcommand)]
enum TenantsCommand {
    /// Check every tenant file (and the themes they use) and report every problem, without starting.
    Check {
        /// Also reach each e-ID provider (discovery and keys) and compare what it offers with what the tenant's methods ask.
        #[arg(long)]
        online: bool,
    },
}

#[derive(Debug)]
struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        Timestamp(ms)
    }
}

fn main() -> ExitCode {
    tillit_kernel::install_tls_provider();
    let cli = Cli::parse();
    let (file, required) = match &cli.config {
        Some(f) => (f.clone(), true),
        None => (PathBuf::from("tillit.toml"), false),
    };
    let config = match Config::load(&file, required) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("tillit: configuration error:\n{e}");
            return ExitCode::from(2);
        }
    };
    match cli.command {
        Command::Tenants {
            command: TenantsCommand::Check { online },
        } => tenants_check(&config, online),
        Command::Migrate => run_async(migrate(config)),
        Command::Serve => run_async(serve(config)),
    }
}

fn run_async(f: impl std::future::Future<Output = ExitCode>) -> ExitCode {
    run_async_value(f).unwrap_or_else(|e| {
        eprintln!("tillit: {e}");
        ExitCode::FAILURE
    })
}

fn run_async_value<T>(f: impl std::future::Future<Output = T>) -> Result<T, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map(|rt| rt.block_on(f))
        .map_err(|e| format!("cannot start the async runtime: {e}"))
}

fn tenants_check(config: &Config, online: bool) -> ExitCode {
    let loaded =
        app::load_tenants(config, Arc::new(Catalogs::builtin())).and_then(|(t, tenants)| {
            if !online {
                return Ok((t, tenants));
            }
            let providers = tillit_kernel::eid::Providers::default();
            let issues =
                run_async_value(tillit_kernel::eid::check::providers(&providers, &tenants))
                    .map_err(StartError::Io)?;
            if issues.is_empty() {
                Ok((t, tenants))
            } else {
                Err(StartError::Tenants(issues))
            }
        });
    match loaded {
        Ok((_, tenants)) => {
            for t in &tenants {
                println!(
                    "ok  {}  {}  ({})",
                    t.file.display(),
                    t.id,
                    t.hosts.join(", ")
                );
            }
            println!("{} tenant(s), no problems", tenants.len());
            ExitCode::SUCCESS
        }
        Err(StartError::Tenants(issues)) => {
            for i in &issues {
                eprintln!("{i}");
            }
            eprintln!("{} problem(s) found", issues.len());
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(1)
        }
    }
}

async fn migrate(config: Config) -> ExitCode {
    tillit_kernel::telemetry::init_logging(&config.log);
    let store = match app::connect(&config).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("tillit: {e}");
            return ExitCode::FAILURE;
        }
    };
    match store.migrate().await {
        Ok(()) => {
            println!(
                "database is up to date ({})",
                tillit_store::redact_url(&config.database.url)
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("tillit: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config) -> ExitCode {
    let started = Instant::now();
    tillit_kernel::telemetry::init_logging(&config.log);
    let listen = config.server.listen;
    let ops_listen = config.server.ops_listen;
    let state = match app::start(
        config,
        Arc::new(SystemClock),
        tillit_kernel::telemetry::metrics_handle(),
    )
    .await
    {
        Ok(s) => s,
        Err(e) => {
            eprintln!("tillit: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    let listener = match tokio::net::TcpListener::bind(listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!(
                "tillit: cannot listen on {listen}: {e} (set server.listen or TILLIT_SERVER__LISTEN)"
            );
            return ExitCode::FAILURE;
        }
    };
    let ops_listener = match tokio::net::TcpListener::bind(ops_listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!(
                "tillit: cannot listen on {ops_listen}: {e} (set server.ops_listen or TILLIT_SERVER__OPS_LISTEN)"
            );
            return ExitCode::FAILURE;
        }
    };
    let port = listener
        .local_addr()
        .map(|a| a.port())
        .unwrap_or(listen.port());
    let ops = ops_listener.local_addr().unwrap_or(ops_listen);
    tracing::info!(%listen, %ops, startup_ms = started.elapsed().as_millis() as u64, "listening");
    print_banner(&state, port, ops);
    let shutdown = async {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    .expect("SIGTERM handler can be installed");
            tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
        tracing::info!("shutting down");
    };
    let store = state.store.clone();
    let (stop_ops, ops_stopped) = tokio::sync::oneshot::channel::<()>();
    let ops_server = tokio::spawn(app::serve_ops(ops_listener, state.clone(), async {
        let _ = ops_stopped.await;
    }));
    let result = app::serve(listener, state, shutdown).await;
    // Ready until the portals have stopped; then the operators' side goes too.
    let _ = stop_ops.send(());
    match tokio::time::timeout(std::time::Duration::from_secs(5), ops_server).await {
        Ok(Ok(Err(e))) => tracing::warn!(error = %e, "the operations server failed"),
        Ok(_) => {}
        Err(_) => tracing::warn!("the operations server did not stop within 5 s"),
    }
    store.close().await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tillit: server error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Where to go, on standard output (not the log). In development it also
/// lists the test identities from the tenants' bootstrap config, which are
/// fictitious test numbers.
fn print_banner(state: &app::AppState, port: u16, ops: std::net::SocketAddr) {
    println!(
        "\nTillit is running ({:?} mode, {:?} database).",
        state.config.mode,
        state.store.backend()
    );
    println!("Health, readiness and metrics: http://{ops}/healthz, /readyz, /metrics");
    for t in state.tenants.all() {
        let host = t.hosts.first().map_or("?", String::as_str);
        println!("\n  {}  http://{host}:{port}/", t.display_name);
        if state.config.is_development() && state.config.identity.dev_login {
            for p in &t.bootstrap {
                let pnr = p.personnummer.as_str();
                println!(
                    "      {}-{}  {} {} ({})",
                    &pnr[..8],
                    &pnr[8..],
                    p.given_name.as_str(),
                    p.family_name.as_str(),
                    p.role.as_str()
                );
            }
        }
    }
    if state.config.is_development() && state.config.identity.dev_login {
        println!("\nLog in with \"Testinloggning\" and one of the personnummer above.");
    }
    println!();
}
