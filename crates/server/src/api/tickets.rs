//! Tickets: create (idempotently), read with messages and events, list with
//! filters and keyset pages, merge-patch with optimistic concurrency, add
//! replies and notes, merge tickets and split messages out (`merge`).
//!
//! Each handler is a recipe: parse → call the store (which calls core) →
//! respond. Rules live in core; visibility and versions are checked in the
//! store, inside the write.

mod merge;

use axum::Json;
use axum::extract::{DefaultBodyLimit, FromRequest, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rapport_core::event::TicketPatch;
use rapport_core::ticket::normalise_tags;
use rapport_core::{Actor, AgentId, Author, Channel, Level, MessageKind, Status, TeamId, TicketId};
use rapport_store::{Cursor, NewMessage, TicketFilter, TicketSort};
use sha2::{Digest, Sha256};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::dto::ticket::{
    AddMessageRequest, CreateTicketRequest, MessageDto, TicketDetailDto, TicketDto, TicketListItemDto, TicketPageDto,
    TicketPatchBody, set_etag, ticket_response,
};

use crate::http::auth::CurrentAgent;
use crate::http::body::{JsonBody, RawJson};
use crate::http::error::{ApiError, ErrorBody};
use crate::http::merge_patch::PatchObject;
use crate::http::params::{PathId, QueryParams};
use crate::state::AppState;

/// The longest Idempotency-Key accepted.
const MAX_IDEMPOTENCY_KEY: usize = 255;

/// The ticket routes, relative to `/api/v1`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_ticket, list_tickets))
        .routes(routes!(get_ticket, update_ticket))
        // Files stream in under their own limits (`attachments`), not the body limit.
        .merge(OpenApiRouter::new().routes(routes!(add_message)).layer(DefaultBodyLimit::disable()))
        .routes(routes!(merge::merge_ticket))
        .routes(routes!(merge::split_message))
}

/// Open a ticket with the customer's first message.
///
/// The customer is matched by any of their normalised identities and created
/// if unknown. With an `Idempotency-Key`, a retry of the same body returns the
/// ticket the first request created; the same key with another body is a 422.
#[utoipa::path(
    post, path = "/tickets", tag = "tickets",
    request_body = CreateTicketRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retried create return the first result (at most 255 characters)")),
    responses(
        (status = 201, description = "Created (or replayed)", body = TicketDto, headers(("ETag" = String, description = "The ticket's version"))),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 422, description = "Invalid field, or Idempotency-Key reused with another body", body = ErrorBody),
    )
)]
async fn create_ticket(
    State(state): State<AppState>,
    caller: CurrentAgent,
    headers: HeaderMap,
    RawJson(bytes): RawJson,
) -> Result<Response, ApiError> {
    let idempotency = idempotency_key(&headers)?.map(|key| (caller.agent.id, key, hex::encode(Sha256::digest(&bytes))));
    let request: CreateTicketRequest = crate::http::body::parse(&bytes)?;
    let command = request.into_command(Actor::Agent(caller.agent.id), idempotency, state.now())?;
    let created = state.store.create_ticket(command).await?;
    Ok(ticket_response(StatusCode::CREATED, &created.ticket, created.replayed))
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value.to_str().map(str::trim).unwrap_or_default();
    let printable = key.bytes().all(|byte| byte.is_ascii_graphic() || byte == b' ');
    if key.is_empty() || key.len() > MAX_IDEMPOTENCY_KEY || !printable {
        return Err(ApiError::invalid(
            "Idempotency-Key",
            format!("Idempotency-Key must be 1-{MAX_IDEMPOTENCY_KEY} printable ASCII characters"),
        ));
    }
    Ok(Some(key.to_owned()))
}

/// A ticket with its messages and events.
#[utoipa::path(
    get, path = "/tickets/{id}", tag = "tickets",
    params(("id" = i64, Path, description = "The ticket's number")),
    responses(
        (status = 200, description = "The ticket", body = TicketDetailDto, headers(("ETag" = String, description = "The ticket's version"))),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such ticket, or not visible to the caller", body = ErrorBody),
    )
)]
async fn get_ticket(
    State(state): State<AppState>,
    caller: CurrentAgent,
    PathId(id): PathId,
) -> Result<Response, ApiError> {
    let detail = state.store.get_ticket_detail(TicketId(id), Some(&caller.viewer)).await?;
    let mut dto = TicketDetailDto::of(&detail, state.now());
    dto.sla = Some(crate::api::dto::sla::ticket_sla(&state, detail.ticket.id).await?);
    let mut response = Json(dto).into_response();
    set_etag(&mut response, detail.ticket.version);
    Ok(response)
}

/// Tickets the caller may see, filtered, sorted and paged.
#[utoipa::path(
    get, path = "/tickets", tag = "tickets",
    params(
        ("status" = Option<String>, Query, description = "Comma-separated statuses, e.g. new,open"),
        ("owner" = Option<String>, Query, description = "An agent id, `me`, or `none` for unassigned"),
        ("team" = Option<i64>, Query, description = "A team id"),
        ("channel" = Option<String>, Query, description = "A channel of origin: email, web, chat, whatsapp, telegram, messenger, instagram, sms, phone or api"),
        ("tag" = Option<String>, Query, description = "A tag"),
        ("customer" = Option<i64>, Query, description = "A customer id"),
        ("tier" = Option<String>, Query, description = "A customer tier, as the customer has it (their own, else their organization's, else basic)"),
        ("sort" = Option<String>, Query, description = "priority (default), created, -created, updated, -updated, or sla_due: the next service-level due time first, tickets with no running target last"),
        ("limit" = Option<i64>, Query, description = "Page size, 1 to the configured maximum (default 50)"),
        ("cursor" = Option<String>, Query, description = "next_cursor of the previous page"),
    ),
    responses(
        (status = 200, description = "A page of tickets", body = TicketPageDto),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 422, description = "Unknown parameter or bad value", body = ErrorBody),
    )
)]
async fn list_tickets(
    State(state): State<AppState>,
    caller: CurrentAgent,
    query: QueryParams,
) -> Result<Json<TicketPageDto>, ApiError> {
    let filter = ticket_filter(query, &caller, state.config.max_page_size)?;
    let mut page = state.store.list_tickets(filter, &caller.viewer).await?;
    let ids: Vec<TicketId> = page.tickets.iter().map(|ticket| ticket.id).collect();
    let mut summaries = crate::api::dto::sla::summaries(&state, &ids).await?;
    let tickets = page
        .tickets
        .iter()
        .map(|ticket| TicketListItemDto {
            ticket: TicketDto::from(ticket),
            names: page.names.remove(&ticket.id).unwrap_or_default().into(),
            sla: summaries.remove(&ticket.id),
        })
        .collect();
    Ok(Json(TicketPageDto { tickets, next_cursor: page.next_cursor }))
}

fn ticket_filter(mut query: QueryParams, caller: &CurrentAgent, max_page_size: i64) -> Result<TicketFilter, ApiError> {
    let mut filter = TicketFilter::default();
    if let Some(statuses) = query.take("status") {
        filter.statuses = statuses
            .split(',')
            .map(|word| word.trim().parse::<Status>().map_err(|error| ApiError::invalid("status", error.to_string())))
            .collect::<Result<_, _>>()?;
    }
    match query.take("owner").as_deref() {
        None => {}
        Some("none") => filter.unassigned = true,
        Some("me") => filter.owner = Some(caller.agent.id),
        Some(owner) => {
            let id = owner
                .parse::<i64>()
                .map_err(|_| ApiError::invalid("owner", "owner must be an agent id, `me` or `none`"))?;
            filter.owner = Some(AgentId(id));
        }
    }
    filter.team = query.take_id("team")?.map(TeamId);
    if let Some(channel) = query.take("channel") {
        filter.channel =
            Some(channel.trim().parse::<Channel>().map_err(|error| ApiError::invalid("channel", error.to_string()))?);
    }
    filter.customer = query.take_id("customer")?.map(rapport_core::CustomerId);
    if let Some(tier) = query.take("tier") {
        let tier = tier.trim().to_owned();
        if tier.is_empty() || tier.chars().count() > 64 {
            return Err(ApiError::invalid("tier", "tier must be 1-64 characters"));
        }
        filter.tier = Some(tier);
    }
    if let Some(tag) = query.take("tag") {
        let tags = normalise_tags([tag]).map_err(|error| ApiError::invalid("tag", error.to_string()))?;
        filter.tag = tags.into_iter().next();
    }
    if let Some(sort) = query.take("sort") {
        filter.sort = TicketSort::parse(&sort)
            .ok_or_else(|| ApiError::invalid("sort", format!("sort must be one of: {}", TicketSort::WORDS)))?;
    }
    filter.limit = query.take_limit(50, max_page_size)?;
    if let Some(cursor) = query.take("cursor") {
        filter.cursor = Some(
            Cursor::parse(&cursor)
                .ok_or_else(|| ApiError::invalid("cursor", "cursor must be a next_cursor from a previous page"))?,
        );
    }
    query.finish()?;
    Ok(filter)
}

/// Change a ticket with a JSON merge patch.
///
/// Send the version you last saw as `If-Match`; if someone changed the ticket
/// since, the answer is 409 `stale_version` and nothing is written.
#[utoipa::path(
    patch, path = "/tickets/{id}", tag = "tickets",
    request_body(content = TicketPatchBody, content_type = "application/merge-patch+json"),
    params(
        ("id" = i64, Path, description = "The ticket's number"),
        ("If-Match" = Option<String>, Header, description = "The version the change is based on, e.g. \"3\""),
    ),
    responses(
        (status = 200, description = "The changed ticket", body = TicketDto, headers(("ETag" = String, description = "The ticket's version"))),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "The caller's role may not set a field", body = ErrorBody),
        (status = 404, description = "No such ticket, or not visible to the caller", body = ErrorBody),
        (status = 409, description = "Illegal transition or stale version", body = ErrorBody),
        (status = 422, description = "Unknown field or bad value", body = ErrorBody),
    )
)]
#[tracing::instrument(skip_all, fields(ticket_id = id))]
async fn update_ticket(
    State(state): State<AppState>,
    caller: CurrentAgent,
    PathId(id): PathId,
    headers: HeaderMap,
    object: PatchObject,
) -> Result<Response, ApiError> {
    let expected_version = if_match(&headers)?;
    let patch = ticket_patch(object, caller.agent.id)?;
    let ticket = state.store.patch_ticket(TicketId(id), caller.viewer, patch, expected_version, state.now()).await?;
    Ok(ticket_response(StatusCode::OK, &ticket, false))
}

/// `If-Match: 3`, `"3"` or `W/"3"`; `*` or absent means any version.
fn if_match(headers: &HeaderMap) -> Result<Option<i64>, ApiError> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or_default().trim();
    if text == "*" {
        return Ok(None);
    }
    let unquoted = text.strip_prefix("W/").unwrap_or(text).trim_matches('"');
    unquoted
        .parse::<i64>()
        .map(Some)
        .map_err(|_| ApiError::invalid("If-Match", "If-Match must be a ticket version, such as \"3\""))
}

/// Reads a ticket patch; `me` stands for the caller wherever an owner is
/// named, as in the `owner=me` filter of the list.
fn ticket_patch(mut object: PatchObject, me: AgentId) -> Result<TicketPatch, ApiError> {
    object.only(&["status", "urgency", "priority", "priority_reason", "owner", "team", "tags"])?;
    let status = object.word::<Status>("status")?;
    let urgency = object.word::<Level>("urgency")?;
    let priority = match (object.word::<Level>("priority")?, object.string("priority_reason")?) {
        (Some(level), Some(reason)) => Some((level, reason)),
        (Some(_), None) => {
            return Err(ApiError::invalid("priority_reason", "a priority override needs a priority_reason"));
        }
        (None, Some(_)) => return Err(ApiError::invalid("priority", "priority_reason is only accepted with priority")),
        (None, None) => None,
    };
    let owner = object.nullable_id_or_me("owner", me.0)?.map(|owner| owner.map(AgentId));
    let team = object.nullable_id("team")?.map(|team| team.map(TeamId));
    let tags = object.strings("tags")?;
    Ok(TicketPatch { status, urgency, priority, owner, team, tags })
}

/// Add a public reply (`public: true`) or an internal note.
///
/// A reply to a new ticket opens it. A closed ticket takes notes only. To
/// attach files, send `multipart/form-data` with the text fields `body`,
/// `public` and `channel` and one file part per file (any field name).
#[utoipa::path(
    post, path = "/tickets/{id}/messages", tag = "tickets",
    request_body(content(
        (AddMessageRequest = "application/json"),
        (AddMessageRequest = "multipart/form-data"),
    )),
    params(("id" = i64, Path, description = "The ticket's number")),
    responses(
        (status = 201, description = "The message", body = MessageDto),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such ticket, or not visible to the caller", body = ErrorBody),
        (status = 409, description = "The ticket is closed (`ticket_closed`)", body = ErrorBody),
        (status = 413, description = "A file or the files together over their limit (names both)", body = ErrorBody),
        (status = 422, description = "Invalid field", body = ErrorBody),
    )
)]
#[tracing::instrument(skip_all, fields(ticket_id = id))]
async fn add_message(
    State(state): State<AppState>,
    caller: CurrentAgent,
    PathId(id): PathId,
    body: Request,
) -> Result<(StatusCode, Json<MessageDto>), ApiError> {
    let (request, attachments) = if crate::api::attachments::is_multipart(body.headers()) {
        let limits = crate::api::attachments::UploadLimits::of(&state);
        crate::api::attachments::read_message_form(body, &state, limits).await?
    } else {
        let JsonBody(request) = JsonBody::<AddMessageRequest>::from_request(body, &state).await?;
        (request, Vec::new())
    };
    let message =
        agent_message(&state, caller.agent.id, request.public, request.channel.as_deref(), request.body, attachments)?;
    let (_ticket, message) = state.store.add_message(TicketId(id), Some(caller.viewer), message).await?;
    Ok((StatusCode::CREATED, Json(MessageDto::from(&message))))
}

/// An agent's message as the API and the workspace both build it: the text
/// checked, the channel (public replies only) parsed, and a public reply
/// given its Message-ID and the queued state. The store then routes it and
/// queues it for the outbox in the same transaction.
pub fn agent_message(
    state: &AppState,
    agent: AgentId,
    public: bool,
    channel: Option<&str>,
    text: String,
    attachments: Vec<rapport_store::NewAttachment>,
) -> Result<NewMessage, ApiError> {
    rapport_core::message::check_text(&text).map_err(|error| ApiError::invalid("body", format!("body {error}")))?;
    let kind = if public { MessageKind::Reply } else { MessageKind::Note };
    let channel = match (channel, kind) {
        (None, _) => None,
        (Some(_), MessageKind::Note) => {
            return Err(ApiError::invalid("channel", "an internal note is not sent: omit channel or set public"));
        }
        (Some(word), _) => {
            Some(word.parse::<Channel>().map_err(|error| ApiError::invalid("channel", error.to_string()))?)
        }
    };
    // A public reply gets its Message-ID now; the store queues it for the
    // customer's channel in the same transaction (or drops the id when no
    // channel can carry it).
    let origin = match kind {
        MessageKind::Reply => rapport_store::MessageOrigin {
            external_id: Some(rapport_channels::email::outbound::new_message_id(state.config.mail.domain())),
            delivery: Some(rapport_core::outbox::DeliveryState::Queued),
            channel,
            ..Default::default()
        },
        _ => rapport_store::MessageOrigin::default(),
    };
    Ok(NewMessage { kind, author: Author::Agent(agent), text, html: None, attachments, origin, now: state.now() })
}
