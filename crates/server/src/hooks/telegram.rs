//! `/hooks/telegram`: the Telegram Bot API's webhook, checked by its secret token.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use rapport_channels::telegram::parse_update;
use rapport_channels::webhook::verify_telegram;
use rapport_core::Channel;
use rapport_store::{FileInbound, QuarantineReason};

use crate::http::body::HookBody;
use crate::http::error::ApiError;
use crate::state::AppState;

/// `/hooks/telegram`.
pub(super) fn router() -> Router<AppState> {
    Router::new().route("/hooks/telegram", post(telegram))
}

async fn telegram(
    State(state): State<AppState>,
    headers: HeaderMap,
    HookBody(body): HookBody,
) -> Result<StatusCode, ApiError> {
    let Some(settings) = &state.config.telegram else {
        return Err(ApiError::NotFound("Telegram is not configured ([telegram] in the configuration)".to_owned()));
    };
    let header = headers.get("x-telegram-bot-api-secret-token").and_then(|value| value.to_str().ok());
    verify_telegram(settings.secret_token.expose(), header)
        .map_err(|_| ApiError::Unauthorized("the X-Telegram-Bot-Api-Secret-Token header is missing or wrong"))?;
    let received_at = state.now();
    match parse_update(&body, None, received_at) {
        Ok(Some(message)) => {
            let request = FileInbound {
                message,
                raw: body.to_vec(),
                acknowledgment: None,
                rate_limit: state.config.mail.rate_limit,
            };
            state.store.file_inbound(request).await?;
        }
        // Edits, joins and button presses carry no customer message.
        Ok(None) => {}
        Err(error) => {
            let detail = error.to_string();
            state
                .store
                .quarantine(Channel::Telegram, QuarantineReason::Unparseable, detail, body.to_vec(), received_at)
                .await?;
        }
    }
    Ok(StatusCode::OK)
}
