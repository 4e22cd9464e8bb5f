//! `veza`: the one binary. `veza serve` runs every role in one process; the other commands
//! manage the database and accounts. Errors are reported here, at the edge, with `anyhow`.

mod app;
mod config;
mod secrets;
mod transcoding;

/// mimalloc rather than glibc's malloc: request handling allocates many small, short-lived
/// objects on every worker thread, where glibc's arenas contend on their locks (measured in
/// BENCHMARKS.md).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use veza_core::accounts::RegisterInput;
use veza_core::audit::RequestMeta;
use veza_core::user::Role;

use crate::config::{Config, LogFormat};

#[derive(Debug, Parser)]
#[command(name = "veza", version, about = "A self-hostable backend for a music community")]
struct Cli {
    /// A TOML configuration file (default: ./veza.toml when it exists). VEZA_* variables override it.
    #[arg(long, short, global = true, env = "VEZA_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (all roles in one process).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Inspect the configuration.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Administrative tasks.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Check the configuration and print the effective values, secrets masked.
    Check,
}

#[derive(Debug, Subcommand)]
// The variants are the subcommands people type (`veza admin create-user`), so they share a suffix.
#[allow(clippy::enum_variant_names)]
enum AdminCommand {
    /// Create an account. The password is read from the first line of standard input.
    CreateUser {
        #[arg(long)]
        username: String,
        #[arg(long)]
        email: String,
        /// user, moderator or admin.
        #[arg(long, default_value = "user", value_parser = ["user", "moderator", "admin"])]
        role: String,
    },
    /// Disable an account: it can no longer log in, and its sessions end at once.
    DisableUser {
        #[arg(long)]
        username: String,
        /// Why; recorded in the audit log and shown to administrators.
        #[arg(long)]
        reason: String,
    },
    /// Enable a disabled account again.
    EnableUser {
        #[arg(long)]
        username: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("veza: {e}");
            return ExitCode::from(2);
        }
    };
    init_tracing(&config);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("veza: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command, config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("veza: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Serve => app::serve(config).await,
        Command::Migrate => {
            let node = app::Node::build(&config).await?;
            node.db.close().await;
            println!("database is up to date");
            Ok(())
        }
        Command::Config { command: ConfigCommand::Check } => {
            print!("{}", config.masked_toml());
            eprintln!("configuration is valid");
            Ok(())
        }
        Command::Admin { command: AdminCommand::CreateUser { username, email, role } } => {
            let role = Role::parse(&role).context("role must be user, moderator or admin")?;
            let password = read_password()?;
            let node = app::Node::build(&config).await?;
            let meta = RequestMeta::new(None, Some("veza admin create-user"), None);
            let input = RegisterInput { username, email, password };
            let result = node.accounts.create_user(input, role, None, &meta).await;
            node.db.close().await;
            let user = result.map_err(describe_core_error)?;
            println!("created {} {} with id {}", user.role.as_str(), user.username.as_str(), user.id);
            Ok(())
        }
        Command::Admin { command: AdminCommand::DisableUser { username, reason } } => {
            let user = set_disabled(&config, &username, Some(&reason)).await?;
            println!("disabled {}; its sessions have ended", user.username.as_str());
            Ok(())
        }
        Command::Admin { command: AdminCommand::EnableUser { username } } => {
            let user = set_disabled(&config, &username, None).await?;
            println!("enabled {}", user.username.as_str());
            Ok(())
        }
    }
}

async fn set_disabled(config: &Config, username: &str, reason: Option<&str>) -> anyhow::Result<veza_core::user::User> {
    let node = app::Node::build(config).await?;
    let meta = RequestMeta::new(None, Some("veza admin"), None);
    let result = node.accounts.set_disabled(None, username, reason, &meta).await;
    node.db.close().await;
    result.map_err(describe_core_error)
}

fn read_password() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).context("cannot read the password from standard input")?;
    let password = line.trim_end_matches(['\n', '\r']).to_string();
    if password.is_empty() {
        bail!("no password on standard input: pipe it in, e.g. `echo \"$PASSWORD\" | veza admin create-user …`");
    }
    Ok(password)
}

fn describe_core_error(e: veza_core::CoreError) -> anyhow::Error {
    match e {
        veza_core::CoreError::Validation(errors) => {
            let lines: Vec<String> = errors.iter().map(|f| format!("  {}: {}", f.field, f.message)).collect();
            anyhow::anyhow!("invalid input:\n{}", lines.join("\n"))
        }
        other => anyhow::anyhow!("{other}"),
    }
}

fn init_tracing(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&config.log_level));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi);
    match config.log_format {
        LogFormat::Json => builder.json().flatten_event(true).init(),
        LogFormat::Text => builder.init(),
    }
}
