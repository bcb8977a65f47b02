//! The server's accept loop: every connection a task the loop owns.
//!
//! axum's own `serve` spawns each connection as a task of its own, which outlives the loop.
//! Here each connection is a task of the loop's set: a graceful stop lets open requests finish
//! and then ends, and a loop that is dropped (the server's process dying) closes every
//! connection at once, answering nothing more, as a killed process would.

use std::net::SocketAddr;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinSet;
use tower_service::Service as _;

/// Serves `app` on `listener` until `stop`, then lets the open connections finish their
/// requests and close. Each request carries the client's address as axum's [`ConnectInfo`].
///
/// # Errors
/// None so far: an accept that fails (too many open files) is logged and tried again.
pub(super) async fn serve(
    listener: TcpListener,
    app: Router,
    mut stop: oneshot::Receiver<()>,
) -> std::io::Result<()> {
    let (closing, closed) = watch::channel(false);
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    connections.spawn(connection(stream, peer, app.clone(), closed.clone()));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "could not accept a connection");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            _ = &mut stop => break,
        }
    }
    drop(listener);
    let _ = closing.send(true);
    while connections.join_next().await.is_some() {}
    Ok(())
}

/// One connection's requests, until the client closes it or the loop asks it to close (after
/// the request under way, if any).
async fn connection(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    app: Router,
    mut closing: watch::Receiver<bool>,
) {
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        let mut app = app.clone();
        async move { app.call(request).await }
    });
    let served =
        hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    tokio::pin!(served);
    let asked = async move {
        let _ = closing.wait_for(|c| *c).await;
    };
    let ended = tokio::select! {
        ended = served.as_mut() => ended,
        () = asked => {
            served.as_mut().graceful_shutdown();
            served.await
        }
    };
    if let Err(e) = ended {
        tracing::debug!(error = %e, %peer, "a connection ended with an error");
    }
}
