//! Saving a queue's filters as a named view (`POST /desk/views`) and
//! removing one (`POST /desk/v/{id}/delete`). A view stays live: it is a
//! base view and filters, read again on every visit, counted on every page.
//! Agents save views of their own; supervisors and admins may share one
//! with everyone.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use rapport_store::{NewSavedView, SharedViews, StoreError};

use crate::state::AppState;
use crate::workspace::frame::{Filters, QueueView};
use crate::workspace::page::{PageError, message_page, refused};
use crate::workspace::session::DeskForm;

/// The longest name of a saved view.
pub const MAX_NAME_CHARS: usize = 60;

/// `POST /desk/views`.
pub async fn save_view(
    State(state): State<AppState>,
    DeskForm { desk, fields }: DeskForm,
) -> Result<Response, PageError> {
    let name = fields.get("name").trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Ok(message_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Name the view",
            &format!(
                "A saved view needs a name of 1 to {MAX_NAME_CHARS} characters. Go back and type one beside Save."
            ),
        ));
    }
    let Some(base) = QueueView::parse(fields.get("base")) else {
        return Ok(message_page(StatusCode::UNPROCESSABLE_ENTITY, "Unknown view", "Save a view from a queue page."));
    };
    let pairs: Vec<(String, String)> = form_urlencoded::parse(fields.get("filters").as_bytes()).into_owned().collect();
    let filters = Filters::read(&pairs);
    if let Err((title, hint)) = filters.narrow(&state, &desk, &mut base.filter(&desk)).await? {
        return Ok(message_page(StatusCode::UNPROCESSABLE_ENTITY, title, hint));
    }
    let shared = fields.get("share") == "1";
    let may_share = desk.viewer.can_manage_people() || desk.viewer.can_direct_work();
    if shared && !may_share {
        return Ok(refused("Only supervisors and admins share views with everyone; save it as your own."));
    }
    let view = NewSavedView {
        agent: (!shared).then_some(desk.agent.id),
        name: name.to_owned(),
        base: base.slug().to_owned(),
        filters: filters.query(""),
        created_by: desk.agent.id,
        now: state.now(),
    };
    let saved = state.store.insert_saved_view(view).await?;
    Ok(Redirect::to(&format!("/desk/v/{}", saved.id)).into_response())
}

/// `POST /desk/v/{id}/delete`.
pub async fn delete_view(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    DeskForm { desk, .. }: DeskForm,
) -> Result<Response, PageError> {
    let may = if desk.viewer.can_manage_people() || desk.viewer.can_direct_work() {
        SharedViews::MayRemove
    } else {
        SharedViews::OwnOnly
    };
    match state.store.delete_saved_view(id, desk.agent.id, may).await {
        Ok(()) => Ok(Redirect::to("/desk").into_response()),
        Err(StoreError::NotFound(_)) => Ok(message_page(
            StatusCode::NOT_FOUND,
            "This view cannot be removed",
            "It is gone already, or it is shared and only supervisors and admins remove shared views.",
        )),
        Err(error) => Err(error.into()),
    }
}
