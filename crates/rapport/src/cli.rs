//! The command line, with clap. Every command that touches the database
//! takes `--database`, `--data-dir` and `--config`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::bench::BenchArgs;
use crate::problem::ProblemCommand;
use crate::report::ReportCommand;
use crate::rules::RulesCommand;
use crate::service_levels::SlaCommand;

/// Rapport: a self-hosted customer-support platform in one binary.
///
/// Start with `rapport serve --demo`, then open the address it prints.
#[derive(Parser, Debug)]
#[command(name = "rapport", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    /// Write logs as JSON lines (for log collectors)
    #[arg(long, global = true)]
    pub log_json: bool,
    #[command(subcommand)]
    pub command: Command,
}

/// Where the data lives.
#[derive(Args, Debug, Clone, Default)]
pub struct GlobalArgs {
    /// Database URL: sqlite://PATH (default: <data-dir>/rapport.db) or postgres://USER@HOST/DB
    #[arg(long, global = true, env = "RAPPORT_DATABASE_URL", value_name = "URL")]
    pub database: Option<String>,
    /// Directory for the embedded database and other local state
    #[arg(long, global = true, env = "RAPPORT_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// TOML configuration file (see `rapport config print-default`)
    #[arg(long, global = true, env = "RAPPORT_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the HTTP server (API, health checks, background jobs)
    Serve(ServeArgs),
    /// Apply pending database migrations (serve also does this at start)
    Migrate,
    /// Create, list and revoke API tokens
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Invite agents to the workspace (a single-use link to choose a password)
    Agent {
        #[command(subcommand)]
        command: AgentCommand,
    },
    /// Load the demo help desk into an empty database
    Demo,
    /// Copy the embedded SQLite database to a new file while the server runs
    Backup {
        /// The file to write (must not exist)
        path: PathBuf,
    },
    /// File one email read from stdin (for an MTA pipe); exits 0 (stored) or 75 (the MTA keeps it and retries)
    Mailgate(MailgateArgs),
    /// List and re-run messages that could not be filed
    Quarantine {
        #[command(subcommand)]
        command: QuarantineCommand,
    },
    /// Measure ticket creation, the queue view and search against a real server
    Bench(BenchArgs),
    /// The SLA clock on a calendar file, and the stored calendars and policies
    Sla {
        #[command(subcommand)]
        command: SlaCommand,
    },
    /// Reports: service-level attainment
    Report {
        #[command(subcommand)]
        command: ReportCommand,
    },
    /// Automation rules and the escalation plan
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// Problems (major incidents): link tickets, update their customers, solve them together
    Problem {
        #[command(subcommand)]
        command: ProblemCommand,
    },
    /// Configuration helpers
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port)
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Load the demo data into an empty database first, then print a sign-in and a token
    #[arg(long)]
    pub demo: bool,
}

#[derive(Subcommand, Debug)]
pub enum AgentCommand {
    /// Create the agent if needed and print a link to choose a password (emailed too when email is configured)
    Invite {
        /// The agent's email address (they sign in with it)
        #[arg(long)]
        email: String,
        /// The agent's name (for a new agent; shown to customers on replies)
        #[arg(long)]
        name: Option<String>,
        /// Role of a new agent: admin, supervisor or agent
        #[arg(long, default_value = "agent")]
        role: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Create a token (and the agent, if no agent has this email); prints the token last
    Create {
        /// The agent's email address
        #[arg(long)]
        email: String,
        /// The agent's name (for a new agent)
        #[arg(long)]
        name: Option<String>,
        /// Role of a new agent: admin, supervisor or agent
        #[arg(long, default_value = "agent")]
        role: String,
        /// A label for the token
        #[arg(long, default_value = "cli")]
        label: String,
    },
    /// List tokens (never their secrets)
    List,
    /// Revoke a token by id
    Revoke {
        /// The token id from `rapport token list`
        id: i64,
    },
}

#[derive(Args, Debug, Clone, Default)]
pub struct MailgateArgs {
    /// The team new tickets go to (by name)
    #[arg(long, value_name = "NAME")]
    pub team: Option<String>,
    /// The envelope recipient (Postfix: ${recipient}); a support+N@ address threads onto ticket N
    /// whatever the To header says. Without it, the top-most Delivered-To and X-Original-To count
    #[arg(long, value_name = "ADDR")]
    pub recipient: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum QuarantineCommand {
    /// List quarantined messages, newest first
    List {
        /// Show every entry, not only those waiting for an admin
        #[arg(long)]
        all: bool,
    },
    /// File a quarantined message again (after fixing what held it); the rate limit does not apply
    Retry {
        /// The id from `rapport quarantine list`
        id: i64,
    },
    /// Write a quarantined message's raw bytes to stdout
    Show {
        /// The id from `rapport quarantine list`
        id: i64,
    },
}

#[derive(Subcommand, Debug)]
pub enum ConfigCommand {
    /// Print a fully commented configuration file with the defaults
    PrintDefault,
}
