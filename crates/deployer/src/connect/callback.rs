//! The redirect back from the consent page: reading it (pure) and receiving it on a loopback
//! listener (RFC 8252 §7.3: a native app's redirect to `http://127.0.0.1:PORT/...`).
//!
//! The listener answers the browser at once and hands the query to the command; it serves the
//! redirect path only and stops when dropped. A redirect URI that is not loopback http cannot be
//! listened on (a provider that insists on https, say); the operator pastes the URL the browser
//! ended on instead, and [`read_pasted`] reads it.

use std::net::SocketAddr;

use anyhow::{Context, Result, bail};
use axum::Router;
use axum::extract::{Query, State};
use axum::response::Html;
use axum::routing::get;
use refresher::secret::SecretString;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use url::Url;

/// The query of a redirect, as name/value pairs.
pub type Pairs = Vec<(String, String)>;

/// Why a redirect carries no usable code. Values from the query are never quoted, except the
/// RFC 6749 §4.1.2.1 error code when it is a plain identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedirectError {
    #[error(
        "the redirect's `state` does not match this run's; it came from another attempt or \
         another site, and was ignored: start `tokens connect` again and use the URL it prints"
    )]
    StateMismatch,
    #[error("the provider refused the authorization ({code}); {hint}")]
    Refused { code: String, hint: &'static str },
    #[error("the redirect has no `code`; was the consent page's URL changed?")]
    NoCode,
}

/// The authorization code of a redirect, checked against `state`.
pub fn read_redirect(
    pairs: &[(String, String)],
    state: &str,
) -> Result<SecretString, RedirectError> {
    let field = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    if field("state") != Some(state) {
        return Err(RedirectError::StateMismatch);
    }
    if let Some(error) = field("error") {
        return Err(refusal(error));
    }
    field("code")
        .filter(|c| !c.is_empty())
        .map(SecretString::new)
        .ok_or(RedirectError::NoCode)
}

/// The refusal an `error` redirect stands for: its code when it is a plain identifier, and what
/// to check.
fn refusal(error: &str) -> RedirectError {
    let code = if !error.is_empty()
        && error.len() <= 40
        && error.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        error.to_owned()
    } else {
        "an unreadable error".to_owned()
    };
    let hint = match code.as_str() {
        "access_denied" => "the user declined; ask them to approve the consent page",
        "invalid_scope" => {
            "a scope is unknown to the provider or not granted to the app; check the stage's `scopes`"
        }
        "unauthorized_client" | "unsupported_response_type" => {
            "the app is not allowed the code flow; check its settings at the provider"
        }
        _ => "see the provider's app settings (client id, redirect URI)",
    };
    RedirectError::Refused { code, hint }
}

/// The query of a URL the operator pasted (where the browser ended after the consent).
pub fn read_pasted(text: &str) -> Result<Pairs> {
    let url = Url::parse(text.trim()).context(
        "the pasted text is not a URL; paste the whole address the browser shows after the consent",
    )?;
    Ok(url.query_pairs().into_owned().collect())
}

/// Whether a redirect URI can be listened on here: `http` to a loopback address.
pub fn is_loopback(url: &Url) -> bool {
    url.scheme() == "http" && matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"))
}

/// A loopback listener for the redirect.
#[derive(Debug)]
pub struct Listener {
    redirect: Url,
    received: mpsc::Receiver<Pairs>,
    server: JoinHandle<()>,
}

const PAGE: &str = "<!doctype html><meta charset=utf-8><title>deployer tokens connect</title>\
<p>The deployer has the provider's answer. You can close this tab; the terminal shows the result.";

impl Listener {
    /// Listens on the redirect URI's address (port 0: any free port, put into the URI).
    pub async fn bind(redirect: &Url) -> Result<Self> {
        if !is_loopback(redirect) {
            bail!(
                "cannot listen on `{redirect}`: only http://127.0.0.1, localhost or [::1] redirects are served here"
            );
        }
        let (socket, redirect) = bind_loopback(redirect).await?;
        let (send, received) = mpsc::channel(4);
        let router = Router::new()
            .route(redirect.path(), get(receive))
            .with_state(send);
        let server = tokio::spawn(async move {
            // Ends when the task is aborted (on drop); a failing accept loop ends the wait early.
            let _ = axum::serve(socket, router).await;
        });
        Ok(Self {
            redirect,
            received,
            server,
        })
    }

    /// The redirect URI to register and send, with the port actually bound.
    pub fn redirect_uri(&self) -> &Url {
        &self.redirect
    }

    /// The next redirect's query; `None` when the listener stopped.
    pub async fn next(&mut self) -> Option<Pairs> {
        self.received.recv().await
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// A socket bound to the redirect URI's loopback address, and the URI with the port bound.
async fn bind_loopback(redirect: &Url) -> Result<(TcpListener, Url)> {
    let host = match redirect.host_str() {
        Some("[::1]") => "[::1]",
        _ => "127.0.0.1",
    };
    let port = redirect.port().unwrap_or(80);
    let socket = TcpListener::bind(format!("{host}:{port}"))
        .await
        .with_context(|| {
            format!("cannot listen on {host}:{port} for the redirect; free the port or pass another --port")
        })?;
    let addr: SocketAddr = socket
        .local_addr()
        .context("cannot read the listener's address")?;
    let mut redirect = redirect.clone();
    redirect
        .set_port(Some(addr.port()))
        .map_err(|()| anyhow::anyhow!("cannot set the port of `{redirect}`"))?;
    Ok((socket, redirect))
}

async fn receive(
    State(send): State<mpsc::Sender<Pairs>>,
    Query(pairs): Query<Pairs>,
) -> Html<&'static str> {
    let _ = send.send(pairs).await;
    Html(PAGE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Pairs {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn a_redirect_gives_its_code_only_with_this_runs_state() {
        let ok = pairs(&[("code", "c-1"), ("state", "s")]);
        assert_eq!(read_redirect(&ok, "s").unwrap().expose(), "c-1");
        assert_eq!(
            read_redirect(&ok, "other"),
            Err(RedirectError::StateMismatch)
        );
        let none = pairs(&[("state", "s")]);
        assert_eq!(read_redirect(&none, "s"), Err(RedirectError::NoCode));
    }

    #[test]
    fn a_refusal_names_its_error_code_but_never_free_text() {
        let denied = pairs(&[("error", "access_denied"), ("state", "s")]);
        let err = read_redirect(&denied, "s").unwrap_err().to_string();
        assert!(
            err.contains("access_denied") && err.contains("declined"),
            "{err}"
        );
        let odd = pairs(&[("error", "<script>token=abc</script>"), ("state", "s")]);
        let err = read_redirect(&odd, "s").unwrap_err().to_string();
        assert!(!err.contains("abc"), "{err}");
    }

    #[test]
    fn only_loopback_http_is_listened_on() {
        let yes = Url::parse("http://127.0.0.1:0/callback").unwrap();
        let no = Url::parse("https://app.example/callback").unwrap();
        assert!(is_loopback(&yes) && !is_loopback(&no));
        let pasted = read_pasted(" https://app.example/callback?code=x&state=y\n").unwrap();
        assert_eq!(pasted, pairs(&[("code", "x"), ("state", "y")]));
        assert!(read_pasted("not a url").is_err());
    }

    #[tokio::test]
    async fn the_listener_hands_over_the_redirect() {
        let mut listener = Listener::bind(&Url::parse("http://127.0.0.1:0/cb").unwrap())
            .await
            .unwrap();
        let uri = listener.redirect_uri().clone();
        assert_ne!(uri.port(), Some(0));
        let addr = format!("127.0.0.1:{}", uri.port().unwrap());
        let request = "GET /cb?code=abc&state=s1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        tokio::io::AsyncWriteExt::write_all(&mut stream, request.as_bytes())
            .await
            .unwrap();
        let mut answer = String::new();
        tokio::io::AsyncReadExt::read_to_string(&mut stream, &mut answer)
            .await
            .unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        let got = listener.next().await.unwrap();
        assert_eq!(read_redirect(&got, "s1").unwrap().expose(), "abc");
    }
}
