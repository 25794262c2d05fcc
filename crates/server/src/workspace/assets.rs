//! The workspace's stylesheet and script, embedded in the binary and served
//! under names that carry a hash of their content. A page links the hashed
//! name, so a browser may keep an asset for a year: a new build changes the
//! name, never the bytes behind an old one.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// One embedded file.
pub struct Asset {
    /// Its hashed name, as pages link it (`workspace-1a2b3c4d5e6f.css`).
    pub name: String,
    content_type: &'static str,
    bytes: &'static [u8],
}

/// The stylesheet.
pub static STYLE: LazyLock<Asset> = LazyLock::new(|| {
    Asset::new("workspace", "css", "text/css; charset=utf-8", include_bytes!("../../assets/workspace.css"))
});

/// The script (an ES module).
pub static SCRIPT: LazyLock<Asset> = LazyLock::new(|| {
    Asset::new("workspace", "js", "text/javascript; charset=utf-8", include_bytes!("../../assets/workspace.js"))
});

/// The live chat console's script (an ES module), on its page only.
pub static CONSOLE: LazyLock<Asset> = LazyLock::new(|| {
    Asset::new("console", "js", "text/javascript; charset=utf-8", include_bytes!("../../assets/console.js"))
});

impl Asset {
    fn new(stem: &str, extension: &str, content_type: &'static str, bytes: &'static [u8]) -> Asset {
        let digest = hex::encode(Sha256::digest(bytes));
        Asset { name: format!("{stem}-{}.{extension}", &digest[..12]), content_type, bytes }
    }

    /// The path a page links.
    pub fn href(&self) -> String {
        format!("/assets/{}", self.name)
    }
}

/// `GET /assets/{name}`: an embedded asset by its hashed name, cached for a year.
pub async fn serve_asset(Path(name): Path<String>) -> Response {
    for asset in [&*STYLE, &*SCRIPT, &*CONSOLE] {
        if asset.name == name {
            let headers = [
                (header::CONTENT_TYPE, asset.content_type),
                (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            ];
            return (headers, asset.bytes).into_response();
        }
    }
    (StatusCode::NOT_FOUND, [(header::CACHE_CONTROL, "no-store")], "no such asset").into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_a_hash_of_the_content() {
        assert!(STYLE.name.starts_with("workspace-") && STYLE.name.ends_with(".css"), "{}", STYLE.name);
        assert_eq!(STYLE.name.len(), "workspace-".len() + 12 + ".css".len());
        assert_ne!(STYLE.name.trim_end_matches(".css"), SCRIPT.name.trim_end_matches(".js"));
        assert_eq!(SCRIPT.href(), format!("/assets/{}", SCRIPT.name));
    }
}
