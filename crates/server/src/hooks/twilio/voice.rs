//! `/hooks/twilio/voice...`: the phone. An incoming call is filed on the
//! caller's ticket through the shared intake (one message "Call from +…",
//! on their open ticket if they have one) and put in the queue; while it
//! waits the caller hears their place and may press 1 for a callback, which
//! keeps that place in the callback queue; after `voicemail_after_secs` the
//! caller may leave a voicemail. Status callbacks, the queue's outcome and the
//! recording are the call's events; core decides what each changes, so
//! repeated and out-of-order callbacks are harmless.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::post;
use rapport_channels::twilio::Params;
use rapport_channels::twilio::voice::{
    VoiceRequest, VoiceUrls, callback_confirmed, empty, enqueue, leave_queue, parse_call, record_voicemail,
    say_and_hang_up, wait_prompt,
};
use rapport_core::call::CallEvent;
use rapport_core::{Channel, TicketId};
use rapport_store::{CallEventFiling, CallbackSource, FileInbound, NewCallback, QuarantineReason};

use super::signature::{twiml, verified};
use crate::http::body::HookBody;
use crate::http::error::ApiError;
use crate::settings::TwilioSettings;
use crate::state::AppState;

/// The voice routes.
pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/hooks/twilio/voice", post(incoming_call))
        .route("/hooks/twilio/voice/status", post(call_status))
        .route("/hooks/twilio/voice/queue", post(queue_result))
        .route("/hooks/twilio/voice/voicemail", post(voicemail))
        .route("/hooks/twilio/voice/gather", post(gather))
}

fn urls(settings: &TwilioSettings) -> VoiceUrls {
    VoiceUrls {
        queue: settings.hook_url("/hooks/twilio/voice/queue"),
        gather: settings.hook_url("/hooks/twilio/voice/gather"),
        voicemail: settings.hook_url("/hooks/twilio/voice/voicemail"),
    }
}

/// Reads a verified voice request; an unreadable one is kept in the quarantine (`None`).
async fn read_call(state: &AppState, params: &Params, body: &Bytes) -> Result<Option<VoiceRequest>, ApiError> {
    let received_at = state.now();
    match parse_call(params, received_at) {
        Ok(voice_request) => Ok(Some(voice_request)),
        Err(error) => {
            let detail = error.to_string();
            state
                .store
                .quarantine(Channel::Phone, QuarantineReason::Unparseable, detail, body.to_vec(), received_at)
                .await?;
            Ok(None)
        }
    }
}

/// Files the call on the caller's ticket the first time Rapport hears of it;
/// returns that ticket.
async fn file_call(state: &AppState, voice_request: &VoiceRequest, body: &Bytes) -> Result<Option<TicketId>, ApiError> {
    if let Some(call) = state.store.find_call(&voice_request.sid).await?
        && call.ticket.is_some()
    {
        return Ok(call.ticket);
    }
    let mut message = voice_request.message(None, state.now());
    if let Some(ticket) = state.store.find_open_ticket_of(&voice_request.customer).await? {
        message.thread.tokens.push(ticket);
    }
    let request =
        FileInbound { message, raw: body.to_vec(), acknowledgment: None, rate_limit: state.config.mail.rate_limit };
    Ok(state.store.file_inbound(request).await?.ticket())
}

/// Files the call if needed and records `event`.
async fn record(
    state: &AppState,
    voice_request: &VoiceRequest,
    event: Option<CallEvent>,
    body: &Bytes,
) -> Result<Option<TicketId>, ApiError> {
    let ticket = file_call(state, voice_request, body).await?;
    if let Some(event) = event {
        let filing = CallEventFiling {
            sid: voice_request.sid.clone(),
            caller: voice_request.customer.clone(),
            ticket,
            event,
            now: state.now(),
        };
        state.store.record_call_event(filing).await?;
    }
    Ok(ticket)
}

async fn incoming_call(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    HookBody(body): HookBody,
) -> Result<Response, ApiError> {
    let (settings, params) = verified(&state, &headers, &uri, &body)?;
    // Even a caller we cannot identify is put through to an agent.
    if let Some(voice_request) = read_call(&state, &params, &body).await? {
        // The caller enters our queue now; Twilio's `ringing` here is the call ringing at us.
        record(&state, &voice_request, Some(CallEvent::Queued(voice_request.at)), &body).await?;
    }
    Ok(twiml(enqueue(&settings.queue, &urls(settings))))
}

async fn call_status(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    HookBody(body): HookBody,
) -> Result<Response, ApiError> {
    let (_, params) = verified(&state, &headers, &uri, &body)?;
    if let Some(voice_request) = read_call(&state, &params, &body).await? {
        record(&state, &voice_request, voice_request.status_event(), &body).await?;
    }
    Ok(twiml(empty()))
}

async fn queue_result(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    HookBody(body): HookBody,
) -> Result<Response, ApiError> {
    let (settings, params) = verified(&state, &headers, &uri, &body)?;
    let Some(voice_request) = read_call(&state, &params, &body).await? else { return Ok(twiml(empty())) };
    record(&state, &voice_request, voice_request.queue_event(), &body).await?;
    match voice_request.queue_result.as_deref() {
        // Taken by an agent, or gone: nothing more to say.
        Some("bridged" | "hangup") | None => Ok(twiml(empty())),
        // Left the queue (a callback, or the wait ran long) or the queue failed.
        Some(_) => {
            if state.store.find_callback_for_call(&voice_request.sid).await?.is_some() {
                Ok(twiml(say_and_hang_up("Goodbye.")))
            } else {
                Ok(twiml(record_voicemail(&urls(settings), settings.voicemail_max_secs)))
            }
        }
    }
}

async fn voicemail(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    HookBody(body): HookBody,
) -> Result<Response, ApiError> {
    let (_, params) = verified(&state, &headers, &uri, &body)?;
    if let Some(voice_request) = read_call(&state, &params, &body).await? {
        record(&state, &voice_request, voice_request.voicemail_event(), &body).await?;
    }
    Ok(twiml(say_and_hang_up("Thank you for your message. Goodbye.")))
}

/// The queue's wait URL and the `<Gather>` action: the callback offer, a
/// callback request on "1", and the way to the voicemail after a long wait.
async fn gather(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    HookBody(body): HookBody,
) -> Result<Response, ApiError> {
    let (settings, params) = verified(&state, &headers, &uri, &body)?;
    let position = params.get("QueuePosition").and_then(|value| value.trim().parse::<i64>().ok());
    let Some(voice_request) = read_call(&state, &params, &body).await? else {
        return Ok(twiml(wait_prompt(position, &urls(settings))));
    };
    if voice_request.digits.as_deref() == Some("1") {
        let ticket = record(&state, &voice_request, None, &body).await?;
        let request = NewCallback {
            phone: voice_request.customer.clone(),
            ticket,
            source: CallbackSource::Phone,
            call_sid: Some(voice_request.sid.clone()),
            now: state.now(),
        };
        state.store.request_callback(request).await?;
        return Ok(twiml(callback_confirmed()));
    }
    if voice_request.queue_secs.is_some_and(|secs| secs >= i64::from(settings.voicemail_after_secs)) {
        return Ok(twiml(leave_queue()));
    }
    Ok(twiml(wait_prompt(position, &urls(settings))))
}
