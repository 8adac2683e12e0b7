//! The accept loop. It serves each connection itself, instead of `axum::serve`, so that a handler
//! can drop its connection without answering (the `reset` and `timeout` faults): every request
//! carries a [`ConnKill`] that ends the task owning the socket.

use std::future::pending;
use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::response::Response;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tower_service::Service as _;

/// Ends the connection a request arrived on.
#[derive(Clone, Debug, Default)]
pub(crate) struct ConnKill(Arc<Notify>);

impl ConnKill {
    /// Closes the connection; the handler's future is dropped with it, so this never returns.
    pub(crate) async fn drop_connection(&self) -> Response {
        self.0.notify_one();
        pending().await
    }
}

/// Accepts connections until the task running it is aborted; aborting also ends every connection.
pub(crate) async fn serve(listener: TcpListener, router: Router) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                // An accept error (e.g. too many open files) concerns one connection, not the server.
                if let Ok((stream, _)) = accepted {
                    connections.spawn(connection(stream, router.clone()));
                }
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

async fn connection(stream: TcpStream, router: Router) {
    let kill = ConnKill::default();
    let signal = kill.0.clone();
    let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(kill.clone());
        let mut router = router.clone();
        async move { router.call(request).await }
    });
    let serving = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        // A client that hangs up or sends garbage ends its own connection; nothing to report.
        _ = serving => {}
        () = signal.notified() => {}
    }
}
