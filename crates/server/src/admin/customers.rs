//! Customers (`/admin/customers`): find a customer by address, number or
//! name; on a customer's page change the name and tier, confirm an
//! identity (a supervisor who checked it otherwise: a phone call, a signed
//! contract), merge the record into another one of the same person (the
//! merge is recorded with what moved), or erase the customer's personal data
//! after typing their number to confirm. The API's rules (`api::customers`).

use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use rapport_core::{Actor, Customer, CustomerId, Identity, IdentityKind, OrganizationId};
use rapport_store::{CustomerChanges, StoreError};

use crate::admin::form::{FormErrors, field_words};
use crate::admin::{Manager, ManagerForm};
use crate::api::dto::customer::known_tier;
use crate::http::error::ApiError;
use crate::state::AppState;
use crate::workspace::frame::{Current, Frame};
use crate::workspace::page::{PageError, message_page, render};
use crate::workspace::session::Desk;
use crate::workspace::view::When;

/// Customers listed on a page.
const LISTED: i64 = 100;

/// Organizations offered in a customer's menu.
const ORGANIZATIONS: i64 = 500;

/// A customer in the list.
pub struct Listed {
    id: i64,
    name: String,
    identities: String,
    tier: String,
    state: &'static str,
}

fn listed(customer: &Customer) -> Listed {
    Listed {
        id: customer.id.0,
        name: if customer.name.is_empty() { "(no name)".to_owned() } else { customer.name.clone() },
        identities: customer.identities.iter().map(|identity| identity.value.clone()).collect::<Vec<_>>().join(", "),
        tier: customer.tier.as_ref().map_or_else(|| "—".to_owned(), |tier| tier.0.clone()),
        state: state_words(customer),
    }
}

fn state_words(customer: &Customer) -> &'static str {
    if customer.erased_at.is_some() {
        "Erased"
    } else if customer.merged_into.is_some() {
        "Merged"
    } else {
        "Active"
    }
}

#[derive(Template)]
#[template(path = "admin/customers.html")]
struct ListPage {
    frame: Frame,
    customers: Vec<Listed>,
    query: String,
    next: Option<i64>,
}

/// One of the customer's identities on their page.
pub struct IdentityRow {
    kind: &'static str,
    value: String,
    state: String,
    confirmable: bool,
}

#[derive(Template)]
#[template(path = "admin/customer.html")]
struct CustomerPage {
    frame: Frame,
    id: i64,
    title: String,
    state: &'static str,
    active: bool,
    merged_into: Option<i64>,
    created: When,
    /// A search for their tickets by their first address, URL-encoded.
    search: Option<String>,
    identities: Vec<IdentityRow>,
    tiers: Vec<String>,
    /// Every organization, by id and name, for the menu.
    organizations: Vec<(String, String)>,
    name: String,
    tier: String,
    organization: String,
    merge_into: String,
    confirm: String,
    errors: FormErrors,
    notice: Option<String>,
}

/// `GET /admin/customers[?q=...&after=N]`: by number, address or name.
pub async fn list(
    State(state): State<AppState>,
    Manager(desk): Manager,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let params: Vec<(String, String)> =
        form_urlencoded::parse(query.unwrap_or_default().as_bytes()).into_owned().collect();
    let param = |name: &str| params.iter().find(|(key, _)| key == name).map(|(_, value)| value.trim().to_owned());
    let query = param("q").unwrap_or_default();
    let after = param("after").and_then(|after| after.parse::<i64>().ok());
    let frame = Frame::build(&state, &desk, &headers, "Customers".to_owned(), Current::Admin("customers")).await?;
    let (customers, next) = if query.is_empty() {
        let page = state.store.list_customers(after.map(CustomerId), LISTED).await?;
        let next = (page.len() as i64 == LISTED).then(|| page.last().map(|customer| customer.id.0)).flatten();
        (page, next)
    } else {
        (find(&state, &query).await?, None)
    };
    let customers = customers.iter().map(listed).collect();
    Ok(render(StatusCode::OK, &ListPage { frame, customers, query, next }))
}

/// The customers a search names: `#12` or `12`, an address or number they
/// wrote from, or (among the first thousand) part of their name.
async fn find(state: &AppState, query: &str) -> Result<Vec<Customer>, PageError> {
    if let Ok(id) = query.trim_start_matches('#').parse::<i64>() {
        return match state.store.get_customer(CustomerId(id)).await {
            Ok(customer) => Ok(vec![customer]),
            Err(StoreError::NotFound(_)) => Ok(Vec::new()),
            Err(error) => Err(error.into()),
        };
    }
    for identity in [Identity::email(query), Identity::phone(query)].into_iter().flatten() {
        if let Some(customer) = state.store.find_customer_by_identity(&identity).await? {
            return Ok(vec![customer]);
        }
    }
    let needle = query.to_lowercase();
    let some = state.store.list_customers(None, 1_000).await?;
    Ok(some
        .into_iter()
        .filter(|customer| customer.name.to_lowercase().contains(&needle))
        .take(LISTED as usize)
        .collect())
}

fn no_such_customer() -> Response {
    message_page(
        StatusCode::NOT_FOUND,
        "No such customer",
        "There is no customer with this number. Go back to the list.",
    )
}

async fn customer_or_none(state: &AppState, id: i64) -> Result<Option<Customer>, PageError> {
    match state.store.get_customer(CustomerId(id)).await {
        Ok(customer) => Ok(Some(customer)),
        Err(StoreError::NotFound(_)) => Ok(None),
        Err(error) => Err(error.into()),
    }
}

/// What was typed in the page's forms, shown again beside their errors.
#[derive(Default)]
struct Typed {
    name: Option<String>,
    tier: Option<String>,
    organization: Option<String>,
    merge_into: String,
    confirm: String,
}

#[allow(clippy::too_many_arguments)]
async fn customer_view(
    state: &AppState,
    desk: &Desk,
    headers: &HeaderMap,
    customer: &Customer,
    typed: Typed,
    errors: FormErrors,
    notice: Option<String>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let title = if customer.name.is_empty() { format!("Customer #{}", customer.id) } else { customer.name.clone() };
    let frame = Frame::build(state, desk, headers, title.clone(), Current::Admin("customers")).await?;
    let now = state.now();
    let identities = customer
        .identities
        .iter()
        .map(|identity| {
            let entered_by = customer.added_by_agent.iter().find(|(entered, _)| entered == identity);
            let verified = customer.verified.contains(identity);
            let state = match (verified, entered_by) {
                (_, Some((_, agent))) => format!("Entered by agent #{agent}; not confirmed"),
                (true, None) => "Verified".to_owned(),
                (false, None) => "Not verified".to_owned(),
            };
            IdentityRow {
                kind: kind_words(identity.kind),
                value: identity.value.clone(),
                confirmable: customer.erased_at.is_none() && (!verified || entered_by.is_some()),
                state,
            }
        })
        .collect();
    let page = CustomerPage {
        frame,
        id: customer.id.0,
        title,
        state: state_words(customer),
        active: customer.erased_at.is_none() && customer.merged_into.is_none(),
        merged_into: customer.merged_into.map(|target| target.0),
        created: When::of(customer.created_at, now),
        search: customer
            .identities
            .first()
            .map(|identity| form_urlencoded::byte_serialize(identity.value.as_bytes()).collect()),
        identities,
        tiers: state.store.matrix().tiers().map(str::to_owned).collect(),
        organizations: state
            .store
            .list_organizations(None, ORGANIZATIONS)
            .await?
            .into_iter()
            .map(|organization| (organization.id.0.to_string(), organization.name))
            .collect(),
        organization: typed.organization.unwrap_or_else(|| {
            customer.organization.map(|organization| organization.0.to_string()).unwrap_or_default()
        }),
        name: typed.name.unwrap_or_else(|| customer.name.clone()),
        tier: typed.tier.unwrap_or_else(|| customer.tier.as_ref().map(|tier| tier.0.clone()).unwrap_or_default()),
        merge_into: typed.merge_into,
        confirm: typed.confirm,
        errors,
        notice,
    };
    Ok(render(status, &page))
}

fn kind_words(kind: IdentityKind) -> &'static str {
    match kind {
        IdentityKind::Email => "Email",
        IdentityKind::Phone => "Phone",
        IdentityKind::Chat => "Chat visitor",
        IdentityKind::Handle => "Messaging",
    }
}

/// `GET /admin/customers/{id}[?done=...]`.
pub async fn show(
    State(state): State<AppState>,
    Manager(desk): Manager,
    Path(id): Path<i64>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let Some(customer) = customer_or_none(&state, id).await? else { return Ok(no_such_customer()) };
    let notice = match query.as_deref() {
        Some("done=saved") => Some("Saved.".to_owned()),
        Some("done=confirmed") => {
            Some("Confirmed: this address now reaches all of the customer's requests.".to_owned())
        }
        Some("done=merged") => {
            Some("Merged: the other record's addresses and tickets are now this customer's.".to_owned())
        }
        Some("done=erased") => Some("Erased: the name, addresses and message texts are gone.".to_owned()),
        _ => None,
    };
    customer_view(&state, &desk, &headers, &customer, Typed::default(), FormErrors::none(), notice, StatusCode::OK)
        .await
}

/// `POST /admin/customers/{id}`: name, organization and tier.
pub async fn save(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    ManagerForm { desk, fields }: ManagerForm,
) -> Result<Response, PageError> {
    let Some(customer) = customer_or_none(&state, id).await? else { return Ok(no_such_customer()) };
    let name = rapport_core::text::one_line(fields.get("name").trim());
    let tier_typed = fields.get("tier").trim().to_owned();
    let mut errors = FormErrors::none();
    if name.chars().count() > 200 {
        errors.add("name", "Keep the name to 200 characters.");
    }
    let tier = match tier_typed.as_str() {
        "" => Some(None),
        word => known_tier(&state.store, word.to_owned()).map(Some).map_err(|error| errors.add_api(&error)).ok(),
    };
    let organization_typed = fields.get("organization").trim().to_owned();
    let organization = match organization_typed.as_str() {
        "" => Some(None),
        number => match number.parse::<i64>() {
            Ok(id) => match state.store.get_organization(OrganizationId(id)).await {
                Ok(found) => Some(Some(found.id)),
                Err(StoreError::NotFound(_)) => {
                    errors.add("organization", "That organization no longer exists: reload the page and choose again.");
                    None
                }
                Err(error) => return Err(error.into()),
            },
            Err(_) => {
                errors.add("organization", "Choose an organization from the list, or none.");
                None
            }
        },
    };
    let typed = Typed {
        name: Some(name.clone()),
        tier: Some(tier_typed),
        organization: Some(organization_typed),
        ..Typed::default()
    };
    let (Some(tier), Some(organization)) = (tier.filter(|_| errors.is_empty()), organization) else {
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return customer_view(&state, &desk, &headers, &customer, typed, errors, None, status).await;
    };
    let changes = CustomerChanges {
        name: Some(name),
        tier: Some(tier),
        organization: Some(organization),
        added_by: Some(desk.agent.id),
        ..CustomerChanges::default()
    };
    match state.store.update_customer(customer.id, changes).await {
        Ok(_) => Ok(Redirect::to(&format!("/admin/customers/{id}?done=saved")).into_response()),
        Err(error) => refused(&state, &desk, &headers, &customer, typed, error).await,
    }
}

/// A change the store refused (an erased or merged customer): the page again, with why.
async fn refused(
    state: &AppState,
    desk: &Desk,
    headers: &HeaderMap,
    customer: &Customer,
    typed: Typed,
    error: StoreError,
) -> Result<Response, PageError> {
    let mut errors = FormErrors::none();
    let api = ApiError::from(error);
    match errors.add_api(&api) {
        Some(status) => customer_view(state, desk, headers, customer, typed, errors, None, status).await,
        None => Err(PageError::from(api)),
    }
}

/// `POST /admin/customers/{id}/verify`: confirms one of the customer's identities.
pub async fn verify(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    ManagerForm { desk, fields }: ManagerForm,
) -> Result<Response, PageError> {
    let Some(customer) = customer_or_none(&state, id).await? else { return Ok(no_such_customer()) };
    let kind = IdentityKind::parse(fields.get("kind"));
    let identity = kind.and_then(|kind| Identity::parse(kind, fields.get("value")).ok());
    let Some(identity) = identity.filter(|identity| customer.identities.contains(identity)) else {
        let mut errors = FormErrors::none();
        errors.add("identity", "That is not one of this customer's addresses: reload the page and try again.");
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return customer_view(&state, &desk, &headers, &customer, Typed::default(), errors, None, status).await;
    };
    match state.store.verify_identity(customer.id, identity, state.now()).await {
        Ok(_) => Ok(Redirect::to(&format!("/admin/customers/{id}?done=confirmed")).into_response()),
        Err(error) => refused(&state, &desk, &headers, &customer, Typed::default(), error).await,
    }
}

/// `POST /admin/customers/{id}/merge`: merges this record into customer `into`.
pub async fn merge(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    ManagerForm { desk, fields }: ManagerForm,
) -> Result<Response, PageError> {
    let Some(customer) = customer_or_none(&state, id).await? else { return Ok(no_such_customer()) };
    let typed_into = fields.get("into").trim().to_owned();
    let typed = Typed { merge_into: typed_into.clone(), ..Typed::default() };
    let mut errors = FormErrors::none();
    let into = match typed_into.trim_start_matches('#').parse::<i64>() {
        Ok(into) if into == id => {
            errors.add("into", "Choose another customer: a record cannot be merged into itself.");
            None
        }
        Ok(into) => Some(into),
        Err(_) => {
            errors.add("into", "Type the number of the customer to keep, like 42.");
            None
        }
    };
    let Some(into) = into else {
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return customer_view(&state, &desk, &headers, &customer, typed, errors, None, status).await;
    };
    let actor = Actor::Agent(desk.agent.id);
    match state.store.merge_customers(customer.id, CustomerId(into), actor, state.now()).await {
        Ok(_) => Ok(Redirect::to(&format!("/admin/customers/{into}?done=merged")).into_response()),
        Err(StoreError::NotFound(_)) => {
            errors.add("into", format!("There is no customer #{into}."));
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            customer_view(&state, &desk, &headers, &customer, typed, errors, None, status).await
        }
        Err(error) => {
            let mut errors = FormErrors::none();
            let api = ApiError::from(error);
            let words = field_words(&api, "The records cannot be merged as they stand.");
            errors.add("into", words);
            let status = StatusCode::CONFLICT;
            customer_view(&state, &desk, &headers, &customer, typed, errors, None, status).await
        }
    }
}

/// `POST /admin/customers/{id}/erase`: erases the customer's personal data,
/// once their number is typed to confirm.
pub async fn erase(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    ManagerForm { desk, fields }: ManagerForm,
) -> Result<Response, PageError> {
    let Some(customer) = customer_or_none(&state, id).await? else { return Ok(no_such_customer()) };
    let confirm = fields.get("confirm").trim().to_owned();
    if confirm.trim_start_matches('#') != id.to_string() {
        let mut errors = FormErrors::none();
        errors.add("confirm", format!("Type {id}, this customer's number, to confirm: erasing cannot be undone."));
        let typed = Typed { confirm, ..Typed::default() };
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return customer_view(&state, &desk, &headers, &customer, typed, errors, None, status).await;
    }
    match state.store.erase_customer(customer.id, Actor::Agent(desk.agent.id), state.now()).await {
        Ok(_) => Ok(Redirect::to(&format!("/admin/customers/{id}?done=erased")).into_response()),
        Err(error) => refused(&state, &desk, &headers, &customer, Typed::default(), error).await,
    }
}
