//! `rapport problem …`: problems (major incidents) from the command line.
//! Link the tickets an outage caused to one problem ticket, tell every
//! affected customer once per update, and solve them all together. The
//! command line acts as Rapport itself (there is no signed-in agent).

use anyhow::Context;
use clap::Subcommand;
use rapport_core::{Author, TicketId};
use rapport_store::{ProblemUpdate, Store};

use crate::config::ValidConfig;

/// `rapport problem`.
#[derive(Subcommand, Debug)]
pub enum ProblemCommand {
    /// Link tickets to a problem ticket (a ticket linked to another problem moves)
    Link {
        /// The problem ticket's number
        problem: i64,
        /// The numbers of the tickets it caused
        #[arg(required = true, num_args = 1..)]
        tickets: Vec<i64>,
    },
    /// Send an update to every affected customer, once each, and note it on the problem
    Update {
        /// The problem ticket's number
        problem: i64,
        /// The update's text
        text: String,
    },
    /// Solve the problem and every unsolved linked ticket, after a last update when TEXT is given
    Solve {
        /// The problem ticket's number
        problem: i64,
        /// A last update for the affected customers
        text: Option<String>,
    },
}

/// Runs a `problem` command.
pub async fn run(config: ValidConfig, command: ProblemCommand) -> anyhow::Result<()> {
    let store = Store::open_existing(config.database_url.expose(), config.store_options())
        .await
        .with_context(|| format!("opening the database {}", config.redacted_database_url()))?;
    let result = problem(&store, command).await;
    store.close().await;
    result
}

async fn problem(store: &Store, command: ProblemCommand) -> anyhow::Result<()> {
    let now = rapport_server::Clock::system().now();
    match command {
        ProblemCommand::Link { problem, tickets } => {
            let tickets = tickets.into_iter().map(TicketId).collect();
            let linked = store.link_to_problem(TicketId(problem), tickets, Author::System, now).await?;
            let numbers: Vec<String> = linked.iter().map(|ticket| format!("#{}", ticket.id)).collect();
            println!("problem #{problem} now has {} linked ticket(s): {}", linked.len(), numbers.join(" "));
        }
        ProblemCommand::Update { problem, text } => {
            let update = store.update_problem(TicketId(problem), text, None, Author::System, now).await?;
            println!("problem #{problem}: {}", describe(&update));
        }
        ProblemCommand::Solve { problem, text } => {
            let solved = store.solve_problem(TicketId(problem), text, Author::System, now).await?;
            if let Some(update) = &solved.update {
                println!("problem #{problem}: {}", describe(update));
            }
            println!("problem #{problem}: {} ticket(s) solved, the problem included", solved.solved);
        }
    }
    Ok(())
}

fn describe(update: &ProblemUpdate) -> String {
    format!("update {} addresses {} customer(s); {} message(s) queued", update.number, update.customers, update.queued)
}
