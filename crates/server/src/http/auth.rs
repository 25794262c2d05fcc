//! Authentication: API tokens, password hashes, the [`CurrentAgent`]
//! extractor that every `/api/v1` handler takes, and the role extractors
//! ([`Manager`], [`Director`]) a handler names in its signature when only
//! some roles may call it.
//!
//! A token is 32 random bytes shown once (`rap_` + base64url); only its
//! SHA-256 is stored, which is enough for a 256-bit secret and cheap on every
//! request. Passwords are human-chosen, so they get argon2id instead.
//!
//! Looking a token up costs a few queries; on the hot path (ticket creation at
//! thousands per second) that would double the database work, so a resolved
//! token is cached for [`CACHE_TTL`]. A revoked token or a changed role is
//! therefore honoured within five seconds; changes made through this API
//! clear the cache at once.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::ops::Deref;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rapport_core::{Agent, Viewer};
use sha2::{Digest, Sha256};

use crate::http::error::ApiError;
use crate::state::AppState;

/// The prefix of every API token, so a leaked one is recognisable.
pub const TOKEN_PREFIX: &str = "rap_";

/// How long a resolved token is trusted without asking the database again.
pub const CACHE_TTL: Duration = Duration::from_secs(5);

/// The most tokens cached at once; beyond it the cache starts over.
const CACHE_CAPACITY: usize = 10_000;

/// A new API token: the secret to show once, and the SHA-256 hex to store.
pub fn new_token() -> (String, String) {
    let bytes: [u8; 32] = rand::random();
    let secret = format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
    let hash = hash_token(&secret);
    (secret, hash)
}

/// The stored form of a token secret: lower-case hex SHA-256.
pub fn hash_token(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Hashes a password with argon2id into a PHC string (salt and parameters included).
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let hash = Argon2::default()
        .hash_password(password.as_bytes())
        .map_err(|error| anyhow::anyhow!("hashing a password: {error}"))?;
    Ok(hash.to_string())
}

/// The shortest password an agent may choose.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// The longest (argon2 hashes any length; this bounds the work per attempt).
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// What is wrong with a password an agent chose, if anything.
pub fn password_problem(password: &str) -> Option<String> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        Some(format!("choose a password of at least {MIN_PASSWORD_CHARS} characters"))
    } else if password.len() > MAX_PASSWORD_BYTES {
        Some(format!("choose a password of at most {MAX_PASSWORD_BYTES} bytes"))
    } else {
        None
    }
}

/// True when `password` matches the PHC string `phc`; false for a malformed `phc`.
pub fn verify_password(password: &str, phc: &str) -> bool {
    Argon2::default().verify_password(password.as_bytes(), phc).is_ok()
}

/// The authenticated caller: their agent record and what they may see.
#[derive(Debug, Clone)]
pub struct CurrentAgent {
    /// The agent the token belongs to.
    pub agent: Agent,
    /// Their access, for visibility checks in the store.
    pub viewer: Viewer,
}

impl FromRequestParts<AppState> for CurrentAgent {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let secret = bearer(parts)?;
        let hash = hash_token(secret);
        let cache = parts.extensions.get::<TokenCache>().cloned();
        if let Some(agent) = cache.as_ref().and_then(|cache| cache.get(&hash)) {
            return Ok(CurrentAgent { viewer: Viewer::of(&agent), agent });
        }
        let agent = state
            .store
            .find_agent_by_token(&hash)
            .await?
            .ok_or(ApiError::Unauthorized("the token is unknown or revoked"))?;
        if let Some(cache) = cache {
            cache.insert(hash, agent.clone());
        }
        Ok(CurrentAgent { viewer: Viewer::of(&agent), agent })
    }
}

/// What a caller without the role is told (the 403's message), named per
/// resource by a marker type: `Manager<ManageTeams>` refuses with "only
/// supervisors and admins manage teams".
pub trait Forbidden {
    /// The message of the 403.
    const MESSAGE: &'static str;
}

/// The caller, when they may manage people and settings (a supervisor or an
/// admin); anyone else is refused with 403 and `R`'s message before the
/// handler runs. Reads as the [`CurrentAgent`] it wraps.
pub struct Manager<R> {
    caller: CurrentAgent,
    refusal: PhantomData<R>,
}

impl<R: Forbidden> FromRequestParts<AppState> for Manager<R> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let caller = CurrentAgent::from_request_parts(parts, state).await?;
        if caller.viewer.can_manage_people() {
            Ok(Manager { caller, refusal: PhantomData })
        } else {
            Err(ApiError::forbidden(R::MESSAGE))
        }
    }
}

impl<R> Deref for Manager<R> {
    type Target = CurrentAgent;

    fn deref(&self) -> &CurrentAgent {
        &self.caller
    }
}

/// The caller, when they may direct work (override priorities, assign
/// others, run problems: supervisors and admins); anyone else is refused with
/// 403 and `R`'s message before the handler runs. Reads as the
/// [`CurrentAgent`] it wraps.
pub struct Director<R> {
    caller: CurrentAgent,
    refusal: PhantomData<R>,
}

impl<R: Forbidden> FromRequestParts<AppState> for Director<R> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let caller = CurrentAgent::from_request_parts(parts, state).await?;
        if caller.viewer.can_direct_work() || caller.viewer.can_manage_people() {
            Ok(Director { caller, refusal: PhantomData })
        } else {
            Err(ApiError::forbidden(R::MESSAGE))
        }
    }
}

impl<R> Deref for Director<R> {
    type Target = CurrentAgent;

    fn deref(&self) -> &CurrentAgent {
        &self.caller
    }
}

/// The secret of an `Authorization: Bearer …` header.
fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    let value = parts
        .headers
        .get(header::AUTHORIZATION)
        .ok_or(ApiError::Unauthorized("send an API token as Authorization: Bearer <token>"))?;
    let value = value.to_str().map_err(|_| ApiError::Unauthorized("the Authorization header is malformed"))?;
    let (scheme, secret) = value.trim().split_once(' ').unwrap_or((value, ""));
    let secret = secret.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || secret.is_empty() || secret.len() > 256 {
        return Err(ApiError::Unauthorized("send an API token as Authorization: Bearer <token>"));
    }
    Ok(secret)
}

/// Token hash → agent, for [`CACHE_TTL`]. One per router, shared by its handlers.
#[derive(Clone, Default)]
pub(crate) struct TokenCache {
    entries: Arc<Mutex<HashMap<String, (Instant, Agent)>>>,
}

impl TokenCache {
    fn get(&self, hash: &str) -> Option<Agent> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let (at, agent) = entries.get(hash)?;
        (at.elapsed() < CACHE_TTL).then(|| agent.clone())
    }

    fn insert(&self, hash: String, agent: Agent) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= CACHE_CAPACITY {
            entries.clear();
        }
        entries.insert(hash, (Instant::now(), agent));
    }

    /// Forgets every token, after a change to agents (role, teams, active).
    pub(crate) fn clear(&self) {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner).clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_prefixed_random_and_hashed() {
        let (secret, hash) = new_token();
        assert!(secret.starts_with(TOKEN_PREFIX));
        assert_eq!(secret.len(), TOKEN_PREFIX.len() + 43);
        assert_eq!(hash, hash_token(&secret));
        assert_eq!(hash.len(), 64);
        assert_ne!(new_token().0, secret);
    }

    #[test]
    fn passwords_verify() {
        let phc = hash_password("correct horse").expect("hashing works");
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &phc));
        assert!(!verify_password("wrong horse", &phc));
        assert!(!verify_password("correct horse", "not a phc string"));
    }
}
