//! Security headers on every response: handlers, problem+json errors, the 404 fallback alike.
//!
//! The policy assumes the server-rendered UI serves its own scripts and styles from the same
//! origin and never inline. A handler may choose its own `Cache-Control` (a static asset can be
//! cached); every other header is set here and overrides what a handler set.

use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::response::Response;
use tower::util::MapResponseLayer;

pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
pub const PERMISSIONS_POLICY: &str = "camera=(), microphone=(), geolocation=(), payment=()";
/// Two years, subdomains included; sent only when Kizuki itself serves HTTPS.
pub const STRICT_TRANSPORT_SECURITY: &str = "max-age=63072000; includeSubDomains";

const ALWAYS: [(HeaderName, &str); 7] = [
    (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::REFERRER_POLICY, "no-referrer"),
    (header::X_FRAME_OPTIONS, "DENY"),
    (
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    ),
    (
        HeaderName::from_static("cross-origin-resource-policy"),
        "same-origin",
    ),
    (
        HeaderName::from_static("permissions-policy"),
        PERMISSIONS_POLICY,
    ),
];

/// The layer type [`layer`] returns.
pub type SecurityHeadersLayer = MapResponseLayer<fn(Response) -> Response>;

/// Sets the headers on every response passing through; `tls` adds `Strict-Transport-Security`.
pub fn layer(tls: bool) -> SecurityHeadersLayer {
    if tls {
        MapResponseLayer::new(over_tls as fn(Response) -> Response)
    } else {
        MapResponseLayer::new(over_plain_http as fn(Response) -> Response)
    }
}

fn over_tls(mut response: Response) -> Response {
    apply(response.headers_mut(), true);
    response
}

fn over_plain_http(mut response: Response) -> Response {
    apply(response.headers_mut(), false);
    response
}

/// Sets the security headers in `headers`.
pub fn apply(headers: &mut HeaderMap, tls: bool) {
    for (name, value) in ALWAYS {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if tls {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(STRICT_TRANSPORT_SECURITY),
        );
    } else {
        // Plain HTTP cannot promise HTTPS; a handler must not either.
        headers.remove(header::STRICT_TRANSPORT_SECURITY);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt;

    async fn get(app: Router, uri: &str) -> Response {
        app.oneshot(Request::builder().uri(uri).body(Body::empty()).unwrap())
            .await
            .unwrap()
    }

    fn app(tls: bool) -> Router {
        Router::new()
            .route("/", axum::routing::get(|| async { "ok" }))
            .route(
                "/cached",
                axum::routing::get(|| async {
                    (
                        [(header::CACHE_CONTROL, "public, max-age=3600")],
                        [(header::X_FRAME_OPTIONS, "SAMEORIGIN")],
                        "asset",
                    )
                }),
            )
            .layer(layer(tls))
    }

    #[tokio::test]
    async fn every_response_gets_them_including_the_router_404() {
        for uri in ["/", "/missing"] {
            let res = get(app(false), uri).await;
            let h = res.headers();
            assert_eq!(h[header::CONTENT_SECURITY_POLICY], CONTENT_SECURITY_POLICY);
            assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
            assert_eq!(h[header::REFERRER_POLICY], "no-referrer");
            assert_eq!(h[header::X_FRAME_OPTIONS], "DENY");
            assert_eq!(h["cross-origin-opener-policy"], "same-origin");
            assert_eq!(h["cross-origin-resource-policy"], "same-origin");
            assert_eq!(h["permissions-policy"], PERMISSIONS_POLICY);
            assert_eq!(h[header::CACHE_CONTROL], "no-store");
            assert!(!h.contains_key(header::STRICT_TRANSPORT_SECURITY));
        }
        assert_eq!(
            get(app(false), "/missing").await.status(),
            StatusCode::NOT_FOUND
        );
    }

    #[tokio::test]
    async fn a_handler_keeps_its_cache_control_but_not_a_weaker_frame_policy() {
        let res = get(app(false), "/cached").await;
        assert_eq!(res.headers()[header::CACHE_CONTROL], "public, max-age=3600");
        assert_eq!(res.headers()[header::X_FRAME_OPTIONS], "DENY");
    }

    #[tokio::test]
    async fn hsts_only_over_tls() {
        let res = get(app(true), "/").await;
        assert_eq!(
            res.headers()[header::STRICT_TRANSPORT_SECURITY],
            STRICT_TRANSPORT_SECURITY
        );
    }
}
