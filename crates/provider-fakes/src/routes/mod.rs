//! The HTTP routes: one module per provider, the authorization endpoint, the admin API, and the
//! shared request flow and wording they use.

mod admin;
mod authorize;
mod flow;
mod instagram;
mod oauth2;
mod reddit;
mod tiktok;
mod wire;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderMap, header};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::app::App;
use crate::config::Provider;
use flow::Credentials;

/// Every route, over the shared state.
pub(crate) fn router(app: Arc<App>) -> Router {
    let mut router = Router::new()
        .route(Provider::Tiktok.token_path(), post(tiktok::token))
        .route(Provider::Reddit.token_path(), post(reddit::token))
        .route(Provider::Instagram.token_path(), get(instagram::refresh))
        .route(
            "/instagram/oauth/access_token",
            post(instagram::exchange_code),
        )
        .route("/instagram/access_token", get(instagram::long_lived))
        .route(Provider::Oauth2.token_path(), post(oauth2::token));
    for provider in Provider::ALL {
        let path = format!("/{provider}/authorize");
        let handler =
            move |state, query| async move { authorize::authorize(provider, state, query) };
        router = router.route(&path, get(handler));
    }
    router.merge(admin::router()).with_state(app)
}

/// Client credentials from `Authorization: Basic`; `Err` if the header is there but unreadable.
fn basic_credentials(headers: &HeaderMap) -> Result<Option<Credentials>, ()> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let encoded = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Basic "))
        .ok_or(())?;
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| ())?;
    let text = String::from_utf8(decoded).map_err(|_| ())?;
    let (id, secret) = text.split_once(':').ok_or(())?;
    Ok(Some(Credentials {
        id: id.to_owned(),
        secret: secret.to_owned(),
    }))
}

/// Client credentials sent as form fields `id_field` and `client_secret`.
fn body_credentials(
    form: &std::collections::HashMap<String, String>,
    id_field: &str,
) -> Option<Credentials> {
    Some(Credentials {
        id: form.get(id_field)?.clone(),
        secret: form.get("client_secret")?.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn basic_credentials_are_decoded() {
        let mut headers = HeaderMap::new();
        assert_eq!(basic_credentials(&headers), Ok(None));
        let value = format!("Basic {}", STANDARD.encode("id:se:cret"));
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&value).unwrap(),
        );
        let creds = basic_credentials(&headers).unwrap().unwrap();
        assert_eq!(
            (creds.id.as_str(), creds.secret.as_str()),
            ("id", "se:cret")
        );
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer x"));
        assert_eq!(basic_credentials(&headers), Err(()));
    }
}
