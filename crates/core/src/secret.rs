//! A secret from the configuration: a provider's token or signing secret, a
//! password, a URL with a password in it. Its `Debug` and `Display` print
//! `[redacted]`, so a configuration, a settings struct or an error that
//! carries one can be logged whole; [`Secret::expose`] hands the text to the
//! one place that sends or checks it.

use std::fmt;

/// Text that never prints.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    /// Wraps `text`.
    pub fn new(text: impl Into<String>) -> Secret {
        Secret(text.into())
    }

    /// The text, for the one place that uses it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(text: String) -> Secret {
        Secret(text)
    }
}

impl From<&str> for Secret {
    fn from(text: &str) -> Secret {
        Secret(text.to_owned())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::Secret;

    #[test]
    fn a_secret_never_prints_and_is_there_when_asked() {
        let secret = Secret::new("hunter2-very-secret");
        assert_eq!(format!("{secret}"), "[redacted]");
        assert!(!format!("{secret:?} {:?}", Some(secret.clone())).contains("hunter2"));
        assert_eq!(secret.expose(), "hunter2-very-secret");
    }
}
