//! Every Twilio request is checked against `X-Twilio-Signature` before it
//! is read; TwiML is what Twilio's requests are answered with.

use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use rapport_channels::twilio::Params;
use rapport_channels::webhook::verify_twilio;

use crate::http::error::ApiError;
use crate::settings::TwilioSettings;
use crate::state::AppState;

/// A TwiML answer.
pub(super) fn twiml(xml: String) -> Response {
    ([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], xml).into_response()
}

pub(super) fn not_configured() -> ApiError {
    ApiError::NotFound("Twilio is not configured ([twilio] in the configuration)".to_owned())
}

/// Checks the signature of a request to `uri` and reads its form.
pub(super) fn verified<'a>(
    state: &'a AppState,
    headers: &HeaderMap,
    uri: &axum::http::Uri,
    body: &[u8],
) -> Result<(&'a TwilioSettings, Params), ApiError> {
    let settings = state.config.twilio.as_ref().ok_or_else(not_configured)?;
    let path_and_query = uri.path_and_query().map_or_else(|| uri.path().to_owned(), |value| value.as_str().to_owned());
    let url = match &settings.public_url {
        Some(base) => format!("{}{path_and_query}", base.trim_end_matches('/')),
        None => {
            let host = headers.get(header::HOST).and_then(|value| value.to_str().ok()).unwrap_or_default();
            format!("http://{host}{path_and_query}")
        }
    };
    let params = Params::parse(body);
    let signature = headers.get("x-twilio-signature").and_then(|value| value.to_str().ok());
    verify_twilio(settings.auth_token.expose(), signature, &url, &params.0)
        .map_err(|_| ApiError::Unauthorized("the X-Twilio-Signature header is missing or does not match"))?;
    Ok((settings, params))
}
