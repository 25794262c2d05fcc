//! Several server instances on one database share the background work:
//! every due job runs exactly once.

use std::time::Duration;

use rapport_core::rules::{Action, EscalationPlan, Firing, RuleId};
use rapport_core::{AgentId, Role, TicketId};
use rapport_server::ServerConfig;
use rapport_server::settings::AutomationSettings;
use rapport_store::rule_job;
use sqlx::Connection;

use crate::helpers::*;

const JOBS: usize = 10_000;

#[tokio::test]
async fn two_instances_run_each_of_ten_thousand_due_jobs_exactly_once() {
    let config = ServerConfig {
        automation: AutomationSettings { tick: Duration::from_millis(10), ..AutomationSettings::default() },
        ..ServerConfig::default()
    };
    let app = spawn_app_with(config).await;
    let second = app.another_instance().await;
    let supervisor = app.agent(Role::Supervisor, &[]).await;
    let plan = EscalationPlan { levels: vec![], on_call: Some(AgentId(supervisor.id)) };
    app.store.put_escalation_plan(plan, rapport_core::Actor::System, now()).await.unwrap();
    let mut tickets = Vec::new();
    for n in 0..50 {
        tickets.push(TicketId(id(&app.create_ticket(&app.admin, &ticket_body(&format!("c{n}@example.com"))).await)));
    }
    let now = app.clock.now();
    let jobs: Vec<_> = (0..JOBS)
        .map(|n| {
            let firing = Firing {
                rule: RuleId(1),
                key: format!("load:{n}"),
                actions: vec![Action::NotifySupervisor { message: format!("job {n}") }],
            };
            rule_job(tickets[n % tickets.len()], &firing, "load", now).unwrap()
        })
        .collect();
    assert_eq!(app.store.enqueue_jobs(jobs, now).await.unwrap(), JOBS);

    let mut counts = app.store.job_counts().await.unwrap();
    for _ in 0..1200 {
        counts = app.store.job_counts().await.unwrap();
        if counts.done as usize == JOBS {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!((counts.done as usize, counts.queued, counts.failed), (JOBS, 0, 0), "{counts:?}");
    let notifications = app.store.list_notifications(AgentId(supervisor.id), 2 * JOBS as i64).await.unwrap();
    assert_eq!(notifications.len(), JOBS, "one notification per job: none lost, none doubled");
    let mut messages: Vec<&str> = notifications.iter().map(|note| note.message.as_str()).collect();
    messages.sort_unstable();
    messages.dedup();
    assert_eq!(messages.len(), JOBS);

    // Both instances took part.
    let workers = distinct_workers(app.database_url()).await;
    assert!(workers >= 2, "only {workers} instance(s) ran jobs");
    second.stop().await;
}

async fn distinct_workers(url: &str) -> i64 {
    let sql = "SELECT COUNT(DISTINCT claimed_by) FROM jobs WHERE state = 'done'";
    if url.starts_with("postgres") {
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap()
    } else {
        let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
        sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap()
    }
}
