//! The audit log over the API (issue 18): a team's change by an admin is
//! listed with who, when, before and after; only supervisors and admins read
//! it; its parameters are checked.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn supervisors_read_each_change_with_who_before_and_after_newest_first() {
    let app = spawn_app().await;
    let team = app.team("Billing").await;
    for undo in [20, 30, 30] {
        let patch = json!({"reply_undo_seconds": undo});
        app.patch(&format!("/api/v1/teams/{team}"), &app.admin, &patch, None).await.expect(StatusCode::OK);
    }
    let page = app.get("/api/v1/audit?subject=team", &app.admin).await.expect(StatusCode::OK);
    let entries = page["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 3, "created, then two changes: the third patch changed nothing: {page}");
    assert_eq!((entries[2]["verb"].as_str(), entries[2]["after"]["name"].as_str()), (Some("created"), Some("Billing")));
    let newest = &entries[0];
    assert_eq!((newest["actor_type"].as_str(), newest["actor_id"].as_i64()), (Some("agent"), Some(app.admin.id)));
    assert_eq!((newest["subject"].as_str(), newest["verb"].as_str()), (Some("team"), Some("changed")));
    assert_eq!(newest["subject_id"], team.to_string());
    assert_eq!(
        (newest["before"]["reply_undo_seconds"].clone(), newest["after"]["reply_undo_seconds"].clone()),
        (json!(20), json!(30))
    );
    assert!(newest["at"].as_str().unwrap().ends_with('Z'));

    // A page at a time, newest first.
    let first = app.get("/api/v1/audit?limit=1", &app.admin).await.expect(StatusCode::OK);
    let cursor = first["next_cursor"].as_str().unwrap().to_owned();
    let second = app.get(&format!("/api/v1/audit?limit=1&cursor={cursor}"), &app.admin).await.expect(StatusCode::OK);
    assert_eq!(second["entries"][0]["after"]["reply_undo_seconds"], 20);
    let by_admin = app.get(&format!("/api/v1/audit?agent={}", app.admin.id), &app.admin).await.expect(StatusCode::OK);
    assert_eq!(by_admin["entries"].as_array().unwrap().len(), 3);
    let other = app.get("/api/v1/audit?subject=calendar", &app.admin).await.expect(StatusCode::OK);
    assert_eq!(other["entries"].as_array().unwrap().len(), 0);

    let agent = app.agent(rapport_core::Role::Agent, &[]).await;
    app.get("/api/v1/audit", &agent).await.assert_error(StatusCode::FORBIDDEN, "forbidden", None);
    for (query, field) in
        [("limit=0", "limit"), ("cursor=x", "cursor"), ("agent=me", "agent"), ("colour=red", "colour")]
    {
        let bad = app.get(&format!("/api/v1/audit?{query}"), &app.admin).await;
        bad.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid", Some(field));
    }
}
