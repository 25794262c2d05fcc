//! A form's errors, each beside its field: the API's own refusals (an
//! [`ApiError`] names the field at fault) turned into what a page shows.

use crate::http::error::ApiError;

/// The errors of a posted form, by field; `form` holds what belongs to no field.
#[derive(Debug, Clone, Default)]
pub struct FormErrors(Vec<(String, String)>);

impl FormErrors {
    /// No errors.
    pub fn none() -> FormErrors {
        FormErrors::default()
    }

    /// Adds `message` beside `field`.
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0.push((field.to_owned(), message.into()));
    }

    /// Adds the API's refusal beside the field it names (else as the form's),
    /// with the message a person reads; `None` for a failure that is not the
    /// person's to fix (the caller shows the error page).
    pub fn add_api(&mut self, error: &ApiError) -> Option<axum::http::StatusCode> {
        let (status, field, message) = error.for_page()?;
        self.add(field.unwrap_or("form"), capitalised(&message));
        Some(status)
    }

    /// The error beside `field`, if any.
    pub fn of(&self, field: &str) -> Option<&str> {
        self.0.iter().find(|(name, _)| name == field).map(|(_, message)| message.as_str())
    }

    /// True when there is none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many there are, for the summary at the top of the form.
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

/// The API's refusal of a text (a policy's or a rule's JSON) as one line
/// beside it: the field at fault first when there is one; `fallback` for a
/// failure that names nothing.
pub fn field_words(error: &ApiError, fallback: &str) -> String {
    match error.for_page() {
        Some((_, Some(field), message)) => format!("{field}: {message}"),
        Some((_, None, message)) => capitalised(&message),
        None => fallback.to_owned(),
    }
}

/// The message with a capital first letter and a full stop, as a page shows it.
pub fn capitalised(message: &str) -> String {
    let mut chars = message.chars();
    let mut text = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect::<String>(),
        None => String::new(),
    };
    if !text.ends_with(['.', '!', '?']) {
        text.push('.');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_refusals_land_beside_their_field_or_on_the_form() {
        let mut errors = FormErrors::none();
        assert!(errors.is_empty());
        errors.add_api(&ApiError::invalid("email", "email must contain one @"));
        errors.add_api(&ApiError::forbidden("only an admin may change an admin"));
        assert_eq!(errors.of("email"), Some("Email must contain one @."));
        assert_eq!(errors.of("form"), Some("Only an admin may change an admin."));
        assert_eq!((errors.of("name"), errors.len()), (None, 2));
        let internal = ApiError::Internal(anyhow::anyhow!("disk full"));
        assert_eq!(errors.add_api(&internal), None, "not the person's to fix");
    }
}
