//! The HTTPS client every provider adapter sends with (Telegram, WhatsApp,
//! Messenger, Twilio): reqwest over rustls with the *ring* provider and
//! Mozilla's roots, like IMAPS. reqwest's own rustls default would pull in
//! aws-lc, whose build dominates a cold compile, so its TLS is configured here
//! instead; a client built any other way in this process needs
//! [`install_crypto_provider`] first.

use std::sync::Arc;
use std::time::Duration;

use tokio_rustls::rustls;

/// Makes *ring* the process's rustls provider, so that plain
/// `reqwest::Client::new()` works too (the binary's own HTTP clients, tests).
/// Calling it again does nothing.
pub fn install_crypto_provider() {
    // An error means a provider is installed already: fine.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// TLS for outgoing HTTPS: TLS 1.2 and 1.3 with *ring*, Mozilla's roots.
fn tls_config() -> Result<rustls::ClientConfig, rustls::Error> {
    let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config)
}

/// A client for a provider's API: HTTPS as above, 10 s to connect.
pub fn client() -> reqwest::Client {
    let builder = reqwest::Client::builder().connect_timeout(Duration::from_secs(10));
    let built = match tls_config() {
        Ok(tls) => builder.tls_backend_preconfigured(tls).build(),
        Err(error) => {
            tracing::error!(%error, "configuring TLS for outgoing HTTPS");
            install_crypto_provider();
            builder.build()
        }
    };
    built.unwrap_or_else(|error| {
        tracing::error!(%error, "building the HTTPS client; using the defaults");
        install_crypto_provider();
        reqwest::Client::new()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_provider_client_builds_without_a_process_provider() {
        tls_config().unwrap();
        let _client = client();
    }
}
