//! `rapport`: the one binary a support team runs.
//!
//! This crate is the edge: it reads the command line and the configuration,
//! opens the store, and hands over to the server, the demo loader or the
//! benchmark. Decisions live in `rapport_core`, persistence in
//! `rapport_store`, HTTP in `rapport_server`.

mod agent;
mod bench;
mod cli;
mod config;
mod demo;
mod mailgate;
mod problem;
mod quarantine;
mod report;
mod rules;
mod serve;
mod service_levels;
mod sla;
mod token;

use clap::Parser;

use cli::{Cli, Command, ConfigCommand};

fn main() -> std::process::ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // An MTA must keep a message whose pipe command we got wrong.
        Err(error) => return mailgate::command_line_error(error),
    };
    init_logging(cli.log_json);
    // reqwest's TLS runs on rustls with *ring* (no aws-lc build).
    rapport_channels::http::install_crypto_provider();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: starting the async runtime: {error}");
            return match cli.command {
                Command::Mailgate(_) => std::process::ExitCode::from(mailgate::EX_TEMPFAIL),
                _ => std::process::ExitCode::FAILURE,
            };
        }
    };
    if let Command::Mailgate(args) = cli.command {
        return mailgate::run_on(&runtime, &cli.global, args);
    }
    match runtime.block_on(run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let database_flag = cli.global.database.clone();
    match cli.command {
        Command::Config { command: ConfigCommand::PrintDefault } => {
            print!("{}", config::DEFAULT_CONFIG);
            Ok(())
        }
        Command::Bench(args) => bench::run(args, database_flag).await,
        // On a calendar file the clock needs no configuration; a stored calendar's name needs the database.
        Command::Sla { command: service_levels::SlaCommand::Clock(command) } if command.reads_a_file() => {
            sla::run(command)
        }
        command => {
            let config = config::RawConfig::load(&cli.global)?.validate()?;
            match command {
                Command::Serve(args) => serve::run(config, args).await,
                Command::Migrate => {
                    let store =
                        rapport_store::Store::connect(config.database_url.expose(), config.store_options()).await?;
                    let applied = store.migrate().await?;
                    println!("{applied} migration(s) applied to {}", config.redacted_database_url());
                    Ok(())
                }
                Command::Token { command } => token::run(config, command).await,
                Command::Agent { command } => agent::run(config, command).await,
                Command::Demo => {
                    let store =
                        rapport_store::Store::open(config.database_url.expose(), config.store_options()).await?;
                    let summary = demo::load(&store, &config.matrix, demo::Progress::for_stderr()).await?;
                    println!("{summary}");
                    Ok(())
                }
                Command::Backup { path } => {
                    let store =
                        rapport_store::Store::open_existing(config.database_url.expose(), config.store_options())
                            .await?;
                    store.backup(&path).await?;
                    println!("backed up {} to {}", config.redacted_database_url(), path.display());
                    Ok(())
                }
                Command::Quarantine { command } => quarantine::run(config, command).await,
                Command::Sla { command } => service_levels::run(config, command).await,
                Command::Report { command } => report::run(config, command).await,
                Command::Rules { command } => rules::run(config, command).await,
                Command::Problem { command } => problem::run(config, command).await,
                Command::Config { .. } | Command::Bench(_) | Command::Mailgate(_) => Ok(()),
            }
        }
    }
}

fn init_logging(json: bool) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}
