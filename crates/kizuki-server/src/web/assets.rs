//! Static files of the web UI, compiled into the binary and served under a name that
//! carries a hash of their content. A browser may then keep them for a year: a changed file
//! has a new name, so a stale copy is never used.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// One embedded file.
#[derive(Debug)]
pub struct Asset {
    /// The name pages link to: `kizuki.<hash>.css`.
    pub name: String,
    pub body: &'static [u8],
    pub media_type: &'static str,
}

impl Asset {
    fn new(stem: &str, ext: &str, body: &'static [u8], media_type: &'static str) -> Self {
        use sha2::Digest;
        let digest = hex::encode(sha2::Sha256::digest(body));
        let short = digest.get(..12).unwrap_or(&digest);
        Self {
            name: format!("{stem}.{short}.{ext}"),
            body,
            media_type,
        }
    }

    /// The URL path a page links to.
    pub fn href(&self) -> String {
        format!("/static/{}", self.name)
    }
}

/// The one stylesheet.
pub static STYLESHEET: LazyLock<Asset> = LazyLock::new(|| {
    Asset::new(
        "kizuki",
        "css",
        include_bytes!("../../static/kizuki.css"),
        "text/css; charset=utf-8",
    )
});

/// The one script: progressive enhancement only (every page works without it).
pub static SCRIPT: LazyLock<Asset> = LazyLock::new(|| {
    Asset::new(
        "kizuki",
        "js",
        include_bytes!("../../static/kizuki.js"),
        "text/javascript; charset=utf-8",
    )
});

/// `GET /static/{file}`: only the current hashed name answers, so an old name cannot be
/// cached forever under the new content.
pub async fn serve(Path(file): Path<String>) -> Response {
    let assets = [&*STYLESHEET, &*SCRIPT];
    match assets.into_iter().find(|a| a.name == file) {
        Some(asset) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(asset.media_type),
                ),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=31536000, immutable"),
                ),
            ],
            asset.body,
        )
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "not found",
        )
            .into_response(),
    }
}
