//! Liveness and readiness, for load balancers and orchestrators. No auth:
//! they reveal nothing but whether the process and its database answer.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

/// The health routes (at the root, not under `/api/v1`).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(healthz)).routes(routes!(readyz))
}

/// How the process or its database is doing.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthDto {
    /// `ok`, or `unavailable` when the database does not answer.
    pub status: &'static str,
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "health", security(()), responses((status = 200, description = "Up", body = HealthDto)))]
async fn healthz() -> Json<HealthDto> {
    Json(HealthDto { status: "ok" })
}

/// The database answers.
#[utoipa::path(
    get, path = "/readyz", tag = "health", security(()),
    responses(
        (status = 200, description = "Ready", body = HealthDto),
        (status = 503, description = "The database does not answer", body = HealthDto),
    )
)]
async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<HealthDto>) {
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, Json(HealthDto { status: "ok" })),
        Err(error) => {
            tracing::warn!(%error, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, Json(HealthDto { status: "unavailable" }))
        }
    }
}
