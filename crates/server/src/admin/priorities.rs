//! The priority matrix (`/admin/priorities`): tier × urgency → priority, as
//! the desk uses it now, with the lines of the configuration file that set
//! it. The matrix is part of the configuration (`[priority.matrix]`), read
//! at start and checked then (a `basic` row, no row falling as urgency
//! rises), so every instance uses the same one; the page shows it, and how
//! to change it, rather than editing a copy only this instance would see.

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use rapport_core::Level;

use crate::admin::Manager;
use crate::state::AppState;
use crate::workspace::frame::{Current, Frame};
use crate::workspace::page::{PageError, render};

/// One tier's row.
pub struct Row {
    tier: String,
    priorities: Vec<(&'static str, &'static str)>,
    customers_default: bool,
}

#[derive(Template)]
#[template(path = "admin/priorities.html")]
struct MatrixPage {
    frame: Frame,
    rows: Vec<Row>,
    urgencies: Vec<&'static str>,
    config: String,
}

/// The matrix as the configuration file writes it.
pub fn config_lines(rows: &[(String, [Level; 4])]) -> String {
    let mut text = String::from("[priority.matrix]\n");
    for (tier, row) in rows {
        let words: Vec<String> = row.iter().map(|level| format!("{:?}", level.as_str())).collect();
        text.push_str(&format!("{tier} = [{}]\n", words.join(", ")));
    }
    text
}

/// `GET /admin/priorities`.
pub async fn show(
    State(state): State<AppState>,
    Manager(desk): Manager,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let frame =
        Frame::build(&state, &desk, &headers, "Priority matrix".to_owned(), Current::Admin("priorities")).await?;
    let rows: Vec<(String, [Level; 4])> =
        state.store.matrix().rows().map(|(tier, row)| (tier.to_owned(), row)).collect();
    let page = MatrixPage {
        frame,
        urgencies: Level::ALL.iter().map(|level| level.as_str()).collect(),
        config: config_lines(&rows),
        rows: rows
            .into_iter()
            .map(|(tier, row)| Row {
                customers_default: tier == "basic",
                tier,
                priorities: Level::ALL
                    .iter()
                    .zip(row.iter())
                    .map(|(urgency, level)| (urgency.as_str(), level.as_str()))
                    .collect(),
            })
            .collect(),
    };
    Ok(render(StatusCode::OK, &page))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_configuration_lines_read_back_as_the_matrix() {
        let matrix = rapport_core::priority::PriorityMatrix::default();
        let rows: Vec<(String, [Level; 4])> = matrix.rows().map(|(tier, row)| (tier.to_owned(), row)).collect();
        let text = config_lines(&rows);
        assert_eq!(
            text,
            "[priority.matrix]\nbasic = [\"low\", \"low\", \"normal\", \"high\"]\n\
             business = [\"low\", \"normal\", \"high\", \"urgent\"]\n\
             premium = [\"normal\", \"high\", \"urgent\", \"urgent\"]\n"
        );
    }
}
