//! The JSON API under `/api/v1`: one module per resource, each exposing a
//! `router()` whose handlers carry their own OpenAPI description, merged by
//! [`openapi`] into the routes and the document at once.
//!
//! A handler reads like a recipe: parse the request (the extractors in
//! `http`), call the store (which calls core), respond with a DTO. The JSON
//! shapes several resources share (a ticket, a customer, a service level)
//! live in [`dto`], below the resources, so no resource imports another.

pub mod agents;
pub mod attachments;
pub mod audit;
pub mod callbacks;
pub mod customers;
pub mod dto;
pub mod health;
pub mod openapi;
pub mod organizations;
pub mod problems;
pub mod rules;
pub mod search;
pub mod service_levels;
pub mod teams;
pub mod tickets;
pub mod tokens;
