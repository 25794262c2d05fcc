//! The public help pages: the web form at `/help/new`, the magic links that
//! let a customer follow their tickets, and the signed-in ticket pages.
//!
//! These pages are for customers, not agents, so they answer in HTML, need no
//! account and no JavaScript, and never show internal notes (the store's
//! [`rapport_store::PortalTicket`] holds none). Everything a customer sends
//! goes through the same intake as email (`Store::file_inbound`, channel
//! `web`), so threading, reopening and the stranger rule apply unchanged.
//!
//! Spam protection needs no outside service: a honeypot field hidden from
//! people (bots that fill it get a thank-you page and nothing is stored), and
//! rate limits per email address and per client address kept in the database
//! (`rate_counters`), so every instance behind a load balancer counts together.
//!
//! Every form carries a CSRF token: tied to the session once the customer is
//! signed in, and before that to a random cookie set with the form (another
//! site can make a browser post, but cannot read the cookie to forge the
//! token). The pages speak the customer's language (`rapport_catalog`), chosen
//! by the browser's `Accept-Language`.
//!
//! Following a magic link proves the customer controls the address: the
//! identity is marked verified and a session cookie is set. Links and sessions
//! are random secrets of which only SHA-256 hashes are stored. Links are built
//! from the configured public address, never from the request's `Host`, which
//! a sender could forge to have us email a link pointing at their own site.

mod form;
mod page;
pub(crate) mod visitor;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use rapport_channels::email::outbound::new_message_id;
use rapport_core::intake::{ThreadHints, is_system_address, portal_link_request_text, portal_link_subject};
use rapport_core::outbox::{Automatic, OutboundPayload, Recipient};
use rapport_core::time::{DAY, HOUR};
use rapport_core::{AgentId, Author, Channel, InboundMessage, MessageId, TicketId, Timestamp};
use rapport_store::{FileInbound, MagicLink, NewPortalSession, PortalSession, PortalTicket, RateCheck, StoreError};

use crate::settings::ServerConfig;
use crate::state::AppState;
use form::{Fields, ReadError};
use page::{Authors, Draft, FieldError, Listed, RequestForm, Visit};
use rapport_catalog::Words;
use visitor::FormToken;

/// Room for the text fields of a form, on top of its attachments.
const FORM_TEXT_BYTES: usize = 512 * 1024;
/// The largest link-request form.
const LINK_FORM_BYTES: usize = 16 * 1024;
/// How many tickets the list shows.
const LIST_LIMIT: i64 = 100;

/// The help pages' routes. Forms with files may be as large as the
/// attachment limit allows, plus room for their text.
pub fn router(config: &ServerConfig) -> Router<AppState> {
    let form_limit = form_limit(config);
    Router::new()
        .route("/help", get(|| async { Redirect::to("/help/new") }))
        .route("/help/new", get(new_request).post(submit_request).layer(DefaultBodyLimit::max(form_limit)))
        .route("/help/link", get(link_page).post(request_link).layer(DefaultBodyLimit::max(LINK_FORM_BYTES)))
        .route("/help/t/{token}", get(follow_link))
        .route("/help/tickets", get(list_tickets))
        .route("/help/tickets/{id}", get(show_ticket))
        .route("/help/tickets/{id}/messages/{message}/attachments/{index}", get(download_attachment))
        .route("/help/tickets/{id}/reply", post(reply).layer(DefaultBodyLimit::max(form_limit)))
        .route("/help/signout", post(sign_out).layer(DefaultBodyLimit::max(LINK_FORM_BYTES)))
}

fn form_limit(config: &ServerConfig) -> usize {
    config.mail.max_attachment_bytes.saturating_add(FORM_TEXT_BYTES)
}

/// A store failure: logged, and answered with an opaque error page.
struct PageError(anyhow::Error);

impl From<StoreError> for PageError {
    fn from(error: StoreError) -> PageError {
        PageError(anyhow::Error::new(error))
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        tracing::error!(error = ?self.0, "help page failed");
        html(StatusCode::INTERNAL_SERVER_ERROR, page::internal_error(&Visit::default()))
    }
}

type PageResult = Result<Response, PageError>;

/// An HTML answer that is never cached, leaks no link through `Referer`, and
/// may run no script.
fn html(status: StatusCode, body: String) -> Response {
    let mut response = (status, Html(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::VARY, HeaderValue::from_static("Accept-Language, Cookie"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; \
             base-uri 'none'",
        ),
    );
    response
}

/// Who asked: their language, their forms' token (and the cookie that
/// token needs, when the browser has none yet) and their session.
struct Visitor {
    visit: Visit,
    set_cookie: Option<String>,
    session: Option<PortalSession>,
}

impl Visitor {
    /// The visitor a request's headers describe, with their session if it is still good.
    async fn of(state: &AppState, headers: &HeaderMap) -> Result<Visitor, PageError> {
        let session = session(state, headers).await?;
        Ok(Visitor::with(state, headers, session))
    }

    fn with(state: &AppState, headers: &HeaderMap, session: Option<PortalSession>) -> Visitor {
        let accept = headers.get(header::ACCEPT_LANGUAGE).and_then(|value| value.to_str().ok());
        let token = FormToken::of(headers, state.config.portal.secure());
        let visit = Visit {
            words: Words::negotiate(None, accept),
            csrf: token.token,
            signed_in: session.as_ref().map(|session| session.identity.value.clone()),
        };
        Visitor { visit, set_cookie: token.set_cookie, session }
    }

    fn words(&self) -> &Words {
        &self.visit.words
    }

    /// A page for this visitor, with the form cookie when it is new.
    fn page(&self, status: StatusCode, body: String) -> Response {
        let mut response = html(status, body);
        if let Some(cookie) = &self.set_cookie
            && let Ok(value) = HeaderValue::from_str(cookie)
        {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
        response
    }

    fn signed_out_page(&self) -> Response {
        self.page(StatusCode::NOT_FOUND, page::link_not_working(&self.visit, "need-link"))
    }

    fn no_such_ticket(&self) -> Response {
        self.page(StatusCode::NOT_FOUND, page::link_not_working(&self.visit, "no-such-ticket"))
    }

    fn no_such_file(&self) -> Response {
        self.page(StatusCode::NOT_FOUND, page::link_not_working(&self.visit, "no-such-file"))
    }

    fn read_failed(&self, error: ReadError, config: &ServerConfig) -> Response {
        match error {
            ReadError::TooLarge => {
                self.page(StatusCode::PAYLOAD_TOO_LARGE, page::too_large(&self.visit, config.mail.max_attachment_bytes))
            }
            ReadError::Unreadable(message) => self.page(StatusCode::BAD_REQUEST, page::bad_form(&self.visit, &message)),
        }
    }

    /// The error of a form whose token is missing or not this browser's.
    fn expired(&self) -> Vec<FieldError> {
        vec![("form", self.words().get("form-expired"))]
    }
}

/// Counts one attempt against each `(key, limit)` in turn, for the hour;
/// the first limit reached answers when to try again.
async fn rate_limited(
    state: &AppState,
    visitor: &Visitor,
    keys: [(String, i64); 2],
    now: Timestamp,
) -> Result<Option<Response>, PageError> {
    for (key, limit) in keys {
        if let RateCheck::Limited { retry_at } = state.store.count_attempt(key.clone(), HOUR, limit, now).await? {
            tracing::info!(%key, "help pages: rate limit reached");
            let mut response =
                visitor.page(StatusCode::TOO_MANY_REQUESTS, page::too_many(&visitor.visit, retry_at, now));
            let seconds = (retry_at.0.saturating_sub(now.0) / 1000).max(1);
            if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            return Ok(Some(response));
        }
    }
    Ok(None)
}

/// Whether the help pages' mail (acknowledgments, links) leaves now or waits.
fn mail(config: &ServerConfig) -> page::Mail {
    if crate::api::health::can_send(config, Channel::Web) { page::Mail::Sending } else { page::Mail::Waiting }
}

/// `GET /help/new`: the empty form (without name and address for a
/// signed-in customer).
async fn new_request(State(state): State<AppState>, headers: HeaderMap) -> PageResult {
    let visitor = Visitor::of(&state, &headers).await?;
    let form = RequestForm { submission: form::new_submission_id(), ..RequestForm::default() };
    let body = page::request_form(&visitor.visit, &form, &[], state.config.mail.max_attachment_bytes);
    Ok(visitor.page(StatusCode::OK, body))
}

/// `POST /help/new`: checks the form, applies the spam protection, files the
/// message as a web ticket and emails the acknowledgment with a magic link.
/// A signed-in customer's request is filed from their verified address and
/// they are taken to it.
async fn submit_request(State(state): State<AppState>, request: Request) -> PageResult {
    let now = state.now();
    let config = &state.config;
    let client = crate::connections::client_address(&request, config.portal.trust_forwarded_for);
    let headers = request.headers().clone();
    let visitor = Visitor::of(&state, &headers).await?;
    let words = *visitor.words();
    let fields = match Fields::read(request, &state, form_limit(config)).await {
        Ok(fields) => fields,
        Err(error) => return Ok(visitor.read_failed(error, config)),
    };
    if !fields.get("website").is_empty() {
        // People never see the honeypot; whatever fills it is a bot. It is
        // told all went well, so it learns nothing to adapt to.
        tracing::info!(%client, "web form: honeypot filled, nothing filed");
        return Ok(visitor.page(StatusCode::OK, page::request_received(&visitor.visit, None, "", page::Mail::Sending)));
    }
    let form = RequestForm {
        name: fields.get("name"),
        email: fields.get("email"),
        subject: fields.get("subject"),
        message: fields.text("message"),
        submission: form::submission_id(&fields.get("submission")),
    };
    let max_bytes = config.mail.max_attachment_bytes;
    if !visitor::valid_token(&headers, &fields.get("csrf")) {
        let body = page::request_form(&visitor.visit, &form, &visitor.expired(), max_bytes);
        return Ok(visitor.page(StatusCode::FORBIDDEN, body));
    }
    let mut errors: Vec<FieldError> = Vec::new();
    let sender = match &visitor.session {
        Some(session) => Some(session.identity.clone()),
        None => {
            form::check_name(&words, &form.name, &mut errors);
            form::check_email(&words, &form.email, &mut errors).filter(|identity| {
                // Our own addresses and system mailboxes would have the
                // acknowledgment mailed to a robot, or back to us.
                let answerable =
                    !crate::workers::mail::is_own(&config.mail, identity) && !is_system_address(&identity.value);
                if !answerable {
                    errors.push(("email", words.get("email-not-yours")));
                }
                answerable
            })
        }
    };
    form::check_subject(&words, &form.subject, &mut errors);
    form::check_message(&words, &form.message, &mut errors);
    form::check_files(&words, &fields, max_bytes, &mut errors);
    let Some(sender) = sender.filter(|_| errors.is_empty()) else {
        let body = page::request_form(&visitor.visit, &form, &errors, max_bytes);
        return Ok(visitor.page(StatusCode::UNPROCESSABLE_ENTITY, body));
    };
    let portal = &config.portal;
    let keys = [
        (format!("form:ip:{client}"), portal.limit_per_ip),
        (format!("form:address:{}", sender.value), portal.limit_per_address),
    ];
    if let Some(refusal) = rate_limited(&state, &visitor, keys, now).await? {
        return Ok(refusal);
    }
    let domain = config.mail.domain();
    let message = InboundMessage {
        sender_name: (!form.name.is_empty()).then(|| form.name.clone()),
        // The form's one-time id: a resubmission (reload, double click) is filed once.
        external_id: Some(format!("web-{}@{domain}", form.submission)),
        attachments: fields.files,
        // The acknowledgment speaks the language of the page the form was on.
        language: Some(words.tag().to_owned()),
        ..InboundMessage::new(Channel::Web, sender.clone(), form.subject.clone(), form.message.clone(), now)
    };
    let raw = serde_json::to_vec(&message).map_err(|error| PageError(error.into()))?;
    let request = FileInbound {
        message,
        raw,
        // The form always acknowledges: the email carries the link to the ticket.
        acknowledgment: Some(new_message_id(domain)),
        rate_limit: config.mail.rate_limit,
    };
    if visitor.session.is_some() {
        // Signed in: no link is needed, the customer goes straight to the ticket.
        let filed = state.store.file_inbound(request).await?;
        tracing::info!(ticket = ?filed.ticket(), "web form filed by a signed-in customer");
        return Ok(match filed.ticket() {
            Some(ticket) => Redirect::to(&format!("/help/tickets/{ticket}")).into_response(),
            None => visitor.page(StatusCode::OK, page::reply_held(&visitor.visit)),
        });
    }
    let (secret, token_hash) = visitor::new_secret();
    let link = MagicLink { token_hash, url: portal.link_url(&secret), valid_days: portal.link_valid_days };
    let filed = state.store.file_inbound_with_link(request, link).await?;
    tracing::info!(ticket = ?filed.ticket(), "web form filed");
    let body = page::request_received(&visitor.visit, filed.ticket(), &sender.value, mail(config));
    Ok(visitor.page(StatusCode::OK, body))
}

/// `GET /help/link`: the form that asks for a new link.
async fn link_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let visitor = Visitor::with(&state, &headers, None);
    visitor.page(StatusCode::OK, page::link_request_invalid(&visitor.visit, "", &[]))
}

/// `POST /help/link`: emails a fresh link if the address is one of a
/// customer's. The answer is the same either way.
async fn request_link(State(state): State<AppState>, request: Request) -> PageResult {
    let now = state.now();
    let config = &state.config;
    let client = crate::connections::client_address(&request, config.portal.trust_forwarded_for);
    let headers = request.headers().clone();
    let visitor = Visitor::with(&state, &headers, None);
    let fields = match Fields::read(request, &state, LINK_FORM_BYTES).await {
        Ok(fields) => fields,
        Err(error) => return Ok(visitor.read_failed(error, config)),
    };
    let email = fields.get("email");
    if !visitor::valid_token(&headers, &fields.get("csrf")) {
        let body = page::link_request_invalid(&visitor.visit, &email, &visitor.expired());
        return Ok(visitor.page(StatusCode::FORBIDDEN, body));
    }
    let mut errors: Vec<FieldError> = Vec::new();
    let Some(identity) = form::check_email(visitor.words(), &email, &mut errors) else {
        let body = page::link_request_invalid(&visitor.visit, &email, &errors);
        return Ok(visitor.page(StatusCode::UNPROCESSABLE_ENTITY, body));
    };
    let portal = &config.portal;
    let keys = [
        (format!("link:ip:{client}"), portal.limit_per_ip),
        (format!("link:address:{}", identity.value), portal.limit_per_address),
    ];
    if let Some(refusal) = rate_limited(&state, &visitor, keys, now).await? {
        return Ok(refusal);
    }
    let (secret, token_hash) = visitor::new_secret();
    let url = portal.link_url(&secret);
    let email_payload = OutboundPayload {
        ticket: None,
        to: vec![Recipient { name: None, identity: identity.clone() }],
        cc: Vec::new(),
        subject: portal_link_subject(visitor.words()),
        in_reply_to: None,
        references: Vec::new(),
        author_name: None,
        text: portal_link_request_text(visitor.words(), &url, portal.link_valid_days),
        html: None,
        automatic: Some(Automatic::AutoGenerated),
    };
    let link = MagicLink { token_hash, url, valid_days: portal.link_valid_days };
    let external_id = new_message_id(config.mail.domain());
    let sent = state.store.send_magic_link(identity.clone(), link, external_id, email_payload, now).await?;
    tracing::info!(known = sent, "help pages: link requested");
    let body = page::link_requested(&visitor.visit, &identity.value, portal.link_valid_days, mail(config));
    Ok(visitor.page(StatusCode::OK, body))
}

/// `GET /help/t/{token}`: follows a magic link. A working link verifies the
/// identity, signs the customer in and shows the ticket it was sent for (or
/// their tickets); any other link offers to send a new one.
async fn follow_link(State(state): State<AppState>, Path(token): Path<String>, headers: HeaderMap) -> PageResult {
    let now = state.now();
    let portal = &state.config.portal;
    let not_working =
        |visitor: &Visitor| visitor.page(StatusCode::NOT_FOUND, page::link_not_working(&visitor.visit, "link-dead"));
    if !visitor::well_formed(&token) {
        return Ok(not_working(&Visitor::with(&state, &headers, None)));
    }
    let (secret, session_hash) = visitor::new_secret();
    let new_session =
        NewPortalSession { token_hash: session_hash, expires_at: now.plus_millis(portal.session_days * DAY) };
    let followed = state.store.follow_magic_link(visitor::hash_secret(&token), new_session, now).await?;
    let Some(followed) = followed else {
        return Ok(not_working(&Visitor::with(&state, &headers, None)));
    };
    tracing::info!(customer = followed.customer.0, "help pages: link followed, identity verified");
    let session = PortalSession { customer: followed.customer, identity: followed.identity, reach: followed.reach };
    let mut visitor = Visitor::with(&state, &headers, Some(session.clone()));
    // The pages from here on are the new session's: their forms carry its token.
    visitor.visit.csrf = FormToken::of_session(&secret).token;
    visitor.set_cookie = None;
    let ticket = match followed.ticket {
        Some(ticket) => find_ticket(&state, &session, ticket).await?,
        None => None,
    };
    let mut response = match ticket {
        Some(ticket) => ticket_response(&state, &visitor, &session, &ticket, "", &[], StatusCode::OK).await?,
        None => ticket_list_response(&state, &visitor, &session).await?,
    };
    let cookie = visitor::session_cookie(&secret, portal.session_days * DAY / 1000, portal.secure());
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    Ok(response)
}

/// The session the request's cookie names, if it is still good.
async fn session(state: &AppState, headers: &HeaderMap) -> Result<Option<PortalSession>, PageError> {
    let Some(secret) = visitor::session_secret(headers) else { return Ok(None) };
    Ok(state.store.find_portal_session(visitor::hash_secret(&secret), state.now()).await?)
}

/// `GET /help/tickets`: the signed-in customer's tickets.
async fn list_tickets(State(state): State<AppState>, headers: HeaderMap) -> PageResult {
    let visitor = Visitor::of(&state, &headers).await?;
    match &visitor.session {
        Some(session) => ticket_list_response(&state, &visitor, session).await,
        None => Ok(visitor.signed_out_page()),
    }
}

/// The names of these agents, by id (a deleted agent is left out).
async fn agent_names(state: &AppState, ids: Vec<AgentId>) -> Result<Vec<(AgentId, String)>, PageError> {
    let mut names: Vec<(AgentId, String)> = Vec::new();
    for id in ids {
        if names.iter().any(|(known, _)| *known == id) {
            continue;
        }
        match state.store.get_agent(id).await {
            Ok(agent) => names.push((id, agent.name)),
            Err(StoreError::NotFound(_)) => {}
            Err(error) => return Err(error.into()),
        }
    }
    Ok(names)
}

async fn ticket_list_response(state: &AppState, visitor: &Visitor, session: &PortalSession) -> PageResult {
    let tickets = state.store.list_customer_tickets(session, LIST_LIMIT).await?;
    let owners = agent_names(state, tickets.iter().filter_map(|ticket| ticket.owner).collect()).await?;
    let listed: Vec<Listed<'_>> = tickets
        .iter()
        .map(|ticket| Listed {
            ticket,
            owner: ticket
                .owner
                .and_then(|owner| owners.iter().find(|(id, _)| *id == owner).map(|(_, name)| name.as_str())),
        })
        .collect();
    Ok(visitor.page(StatusCode::OK, page::ticket_list(&visitor.visit, &listed)))
}

/// `GET /help/tickets/{id}`: one of the signed-in customer's tickets.
async fn show_ticket(State(state): State<AppState>, Path(id): Path<String>, headers: HeaderMap) -> PageResult {
    let visitor = Visitor::of(&state, &headers).await?;
    let Some(session) = &visitor.session else { return Ok(visitor.signed_out_page()) };
    let ticket = match id.parse::<i64>() {
        Ok(id) => find_ticket(&state, session, TicketId(id)).await?,
        Err(_) => None,
    };
    match ticket {
        Some(ticket) => ticket_response(&state, &visitor, session, &ticket, "", &[], StatusCode::OK).await,
        None => Ok(visitor.no_such_ticket()),
    }
}

/// `GET /help/tickets/{id}/messages/{message}/attachments/{index}`: a file
/// of one of the signed-in customer's messages or our replies to them
/// (never of an internal note), served as a download.
async fn download_attachment(
    State(state): State<AppState>,
    Path((id, message, index)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> PageResult {
    let visitor = Visitor::of(&state, &headers).await?;
    let Some(session) = &visitor.session else { return Ok(visitor.signed_out_page()) };
    let (Ok(id), Ok(message), Ok(index)) = (id.parse::<i64>(), message.parse::<i64>(), index.parse::<usize>()) else {
        return Ok(visitor.no_such_file());
    };
    match state.store.get_customer_attachment(session, TicketId(id), MessageId(message), index).await {
        Ok(file) => Ok(crate::http::files::download(file)),
        Err(StoreError::NotFound(_)) => Ok(visitor.no_such_file()),
        Err(error) => Err(error.into()),
    }
}

/// The customer's ticket, or `None` when it is not theirs or does not exist.
async fn find_ticket(
    state: &AppState,
    session: &PortalSession,
    ticket: TicketId,
) -> Result<Option<PortalTicket>, PageError> {
    match state.store.get_customer_ticket(session, ticket).await {
        Ok(ticket) => Ok(Some(ticket)),
        Err(StoreError::NotFound(_)) => Ok(None),
        Err(error) => Err(error.into()),
    }
}

async fn ticket_response(
    state: &AppState,
    visitor: &Visitor,
    session: &PortalSession,
    ticket: &PortalTicket,
    reply: &str,
    errors: &[FieldError],
    status: StatusCode,
) -> PageResult {
    let writers = ticket.messages.iter().filter_map(|message| match message.author {
        Author::Agent(id) => Some(id),
        _ => None,
    });
    let agents = agent_names(state, ticket.ticket.owner.into_iter().chain(writers).collect()).await?;
    let authors = Authors { customer: session.customer, agents: &agents };
    let submission = form::new_submission_id();
    let draft = Draft {
        text: reply,
        submission: &submission,
        errors,
        max_attachment_bytes: state.config.mail.max_attachment_bytes,
    };
    let body = page::ticket_page(&visitor.visit, &ticket.ticket, &ticket.messages, &authors, &draft);
    Ok(visitor.page(status, body))
}

/// `POST /help/tickets/{id}/reply`: files the customer's reply through intake,
/// so it lands on the ticket (reopening a solved one) or, for a closed
/// ticket, opens a new one linked to it.
async fn reply(State(state): State<AppState>, Path(id): Path<String>, request: Request) -> PageResult {
    let now = state.now();
    let config = &state.config;
    let headers = request.headers().clone();
    let visitor = Visitor::of(&state, &headers).await?;
    let words = *visitor.words();
    let Some(session) = &visitor.session else { return Ok(visitor.signed_out_page()) };
    let ticket = match id.parse::<i64>() {
        Ok(id) => find_ticket(&state, session, TicketId(id)).await?,
        Err(_) => None,
    };
    let Some(ticket) = ticket else { return Ok(visitor.no_such_ticket()) };
    let fields = match Fields::read(request, &state, form_limit(config)).await {
        Ok(fields) => fields,
        Err(error) => return Ok(visitor.read_failed(error, config)),
    };
    let text = fields.text("message");
    if !visitor::valid_token(&headers, &fields.get("csrf")) {
        let errors = visitor.expired();
        return ticket_response(&state, &visitor, session, &ticket, &text, &errors, StatusCode::FORBIDDEN).await;
    }
    let mut errors: Vec<FieldError> = Vec::new();
    form::check_message(&words, &text, &mut errors);
    form::check_files(&words, &fields, config.mail.max_attachment_bytes, &mut errors);
    if !errors.is_empty() {
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return ticket_response(&state, &visitor, session, &ticket, &text, &errors, status).await;
    }
    let domain = config.mail.domain();
    let submission = form::submission_id(&fields.get("submission"));
    let message = InboundMessage {
        external_id: Some(format!("web-{submission}@{domain}")),
        thread: ThreadHints { references: Vec::new(), tokens: vec![ticket.ticket.id] },
        attachments: fields.files,
        language: Some(words.tag().to_owned()),
        ..InboundMessage::new(Channel::Web, session.identity.clone(), ticket.ticket.subject.clone(), text, now)
    };
    let raw = serde_json::to_vec(&message).map_err(|error| PageError(error.into()))?;
    let request =
        FileInbound { message, raw, acknowledgment: Some(new_message_id(domain)), rate_limit: config.mail.rate_limit };
    let filed = state.store.file_inbound(request).await?;
    tracing::info!(ticket = ?filed.ticket(), "help pages: reply filed");
    Ok(match filed.ticket() {
        Some(ticket) => Redirect::to(&format!("/help/tickets/{ticket}")).into_response(),
        None => visitor.page(StatusCode::OK, page::reply_held(&visitor.visit)),
    })
}

/// `POST /help/signout`: ends the session and clears the cookie. Without
/// this browser's token nothing ends: another site cannot sign a customer out.
async fn sign_out(State(state): State<AppState>, request: Request) -> PageResult {
    let headers = request.headers().clone();
    let visitor = Visitor::with(&state, &headers, None);
    let fields = match Fields::read(request, &state, LINK_FORM_BYTES).await {
        Ok(fields) => fields,
        Err(error) => return Ok(visitor.read_failed(error, &state.config)),
    };
    if !visitor::valid_token(&headers, &fields.get("csrf")) {
        let body = page::bad_form(&visitor.visit, &visitor.words().get("form-expired"));
        return Ok(visitor.page(StatusCode::FORBIDDEN, body));
    }
    if let Some(secret) = visitor::session_secret(&headers) {
        state.store.delete_portal_session(visitor::hash_secret(&secret)).await?;
    }
    let mut response = visitor.page(StatusCode::OK, page::signed_out(&visitor.visit));
    if let Ok(value) = HeaderValue::from_str(&visitor::expired_cookie(state.config.portal.secure())) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    Ok(response)
}
