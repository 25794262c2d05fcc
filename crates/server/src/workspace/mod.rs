//! The agents' workspace: server-rendered pages (askama templates checked at
//! compile time, escaping every value) beside the JSON API, for the people
//! who answer customers all day.
//!
//! Every page reads and writes through the same store calls and core
//! decisions as the API (a reply is built by `api::tickets::agent_message`,
//! lists come from `Store::list_tickets`, service levels from the same
//! measurements), so the workspace is a second face, not a second path to the
//! data. Handlers read like the API's: parse the form, load, call core, save,
//! redirect (post/redirect/get).
//!
//! - [`session`]: the session cookie, the [`session::Desk`] extractor, and the
//!   origin and CSRF checks of every form.
//! - [`sign_in`]: signing in (throttled, same answer for unknown emails) and out;
//!   [`password`]: invitations and resets by single-use link.
//! - [`frame`]: what surrounds every page (views with counts, theme, search).
//! - [`queue`], [`ticket`] and [`search`]: the queue, ticket and search pages;
//!   [`bulk`]: actions on a queue's selection; [`views`]: saved views; [`conversation`]
//!   and [`view`] their view models and wording.
//! - [`live`]: one WebSocket per tab for live updates and presence, fed by
//!   the store's change feed; [`chat`]: the live chat console, on the chat hub.
//! - [`reply`]: the reply box's posts; [`undo`]: its undo window; [`actions`]:
//!   assign, merge, split and file downloads from the ticket page.
//! - [`page`]: rendering, error pages and the security headers (a strict
//!   Content-Security-Policy); [`assets`]: the embedded, content-hashed
//!   stylesheet and script.

pub mod actions;
pub mod assets;
pub mod bulk;
pub mod chat;
pub mod conversation;
pub mod frame;
pub mod live;
pub mod page;
pub mod password;
pub mod queue;
pub mod reply;
pub mod search;
pub mod session;
pub mod sign_in;
pub mod ticket;
pub mod undo;
pub mod view;
pub mod views;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

use crate::state::AppState;

/// The workspace's routes, every response with the security headers.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(sign_in::root))
        .route("/sign-in", get(sign_in::sign_in_page).post(sign_in::sign_in))
        .route("/sign-in/forgot", get(password::forgot_page).post(password::request_reset))
        .route("/password/{token}", get(password::password_page).post(password::set_password))
        .route("/sign-out", post(sign_in::sign_out))
        .route("/desk", get(queue::desk_home))
        .route("/desk/theme", post(sign_in::set_theme))
        .route("/desk/bulk", post(bulk::bulk))
        .route("/desk/chat", get(chat::chat_page))
        .route("/desk/chat/live", get(chat::chat_socket))
        .route("/desk/live", get(live::connect))
        .route("/desk/search", get(search::search))
        .route("/desk/tickets/{id}", get(ticket::show_ticket))
        // Files stream in held to the upload limits (`read_parts`), not to the default cap.
        .route("/desk/tickets/{id}/reply", post(reply::reply).layer(DefaultBodyLimit::disable()))
        .route("/desk/tickets/{id}/assign", post(actions::assign))
        .route("/desk/tickets/{id}/merge", post(actions::merge))
        .route("/desk/tickets/{id}/messages/{message}/split", post(actions::split))
        .route("/desk/tickets/{id}/messages/{message}/attachments/{index}", get(actions::attachment))
        .route("/desk/tickets/{id}/held/{held}/undo", post(reply::take_back))
        .route("/desk/views", post(views::save_view))
        .route("/desk/v/{id}", get(queue::show_saved_view))
        .route("/desk/v/{id}/delete", post(views::delete_view))
        .route("/desk/{view}", get(queue::show_queue))
        .route("/assets/{name}", get(assets::serve_asset))
        .layer(axum::middleware::from_fn(page::security_headers))
}
