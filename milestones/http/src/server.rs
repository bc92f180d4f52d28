//! Running a server: the standard middleware stack, graceful drain, logging.
//!
//! * [`with_standard_layers`] wraps a router, outermost first: request id,
//!   metrics and access log ([`crate::observe`]) → body limit (413) → body
//!   idle timeout (408) → JSON 405 → the routes, with a JSON 404 fallback.
//!   The idle timeout is what a slow client meets: a request whose body stops
//!   arriving for `body_timeout` is answered 408 and its connection freed,
//!   instead of holding a task (and a concurrency slot) for as long as the
//!   client likes. It is per wait, not per body, so a large upload on a slow
//!   but steady link still gets through; handlers bound their own work.
//! * [`serve`] serves until a shutdown future completes (normally
//!   [`shutdown_signal`]: SIGTERM, what `docker stop` and Kubernetes send, or
//!   Ctrl-C), then stops accepting, lets in-flight requests finish — at most
//!   `drain` long, so a stuck client cannot hold a deploy forever — and returns.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::Router;
use tokio::net::TcpListener;
use tower_http::timeout::RequestBodyTimeoutLayer;

use crate::error;
use crate::json::BodyLimit;
use crate::observe::{self, Observer};

/// Adds the shared middleware and fallbacks to `router` (see the module doc).
pub fn with_standard_layers(
    router: Router,
    observer: Arc<dyn Observer>,
    body_limit: usize,
    body_timeout: Duration,
) -> Router {
    router
        .fallback(error::not_found)
        .layer(axum::middleware::map_response(
            error::json_method_not_allowed,
        ))
        .layer(RequestBodyTimeoutLayer::new(body_timeout))
        .layer(axum::Extension(BodyLimit(body_limit)))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(axum::middleware::from_fn_with_state(
            observer,
            observe::observe,
        ))
}

/// Serves `app` on `listener` until `shutdown` completes, then drains: new
/// connections are refused, idle keep-alive connections closed, and requests
/// in flight finish — for at most `drain` if given (then the rest are cut).
pub async fn serve<F>(
    listener: TcpListener,
    app: Router,
    shutdown: F,
    drain: Option<Duration>,
) -> std::io::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    let (told, draining) = tokio::sync::oneshot::channel::<()>();
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        shutdown.await;
        tracing::info!("shutdown requested: finishing in-flight requests");
        let _ = told.send(());
    });
    let Some(limit) = drain else {
        return server.await;
    };
    let deadline = async move {
        if draining.await.is_err() {
            std::future::pending::<()>().await;
        }
        tokio::time::sleep(limit).await;
    };
    tokio::select! {
        r = server => r,
        () = deadline => {
            tracing::warn!(seconds = limit.as_secs_f64(), "drain time over: closing the remaining connections");
            Ok(())
        }
    }
}

/// Completes on Ctrl-C (SIGINT) or, on Unix, SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sig) => {
                sig.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("received Ctrl-C"),
        () = terminate => tracing::info!("received SIGTERM"),
    }
}

/// Installs a JSON log subscriber on stderr filtered by `RUST_LOG` (default
/// `info`). Returns an error message if a subscriber was already installed.
pub fn init_json_logging() -> Result<(), String> {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_current_span(false)
        .try_init()
        .map_err(|e| e.to_string())
}
