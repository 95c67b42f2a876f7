//! Starting and stopping: load and warm up the model, start the batcher, bind, then accept
//! HTTP/1.1 connections until the shutdown signal; then stop accepting, let the requests in
//! flight finish (up to [`GRACE`]), drain the queue and stop the worker.
//!
//! Each connection has a header read timeout (a client that trickles its headers is cut off);
//! the body read timeout is the handlers' (408).

use crate::app::router;
use crate::batcher::Batcher;
use crate::config::ServerConfig;
use crate::error::Error;
use crate::metrics::Metrics;
use crate::model::{with_threads, Model};
use crate::model_path;
use crate::state::{AppState, Limits};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use qkv_encoder::LoadOptions;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// Longest wait for requests in flight at shutdown.
pub const GRACE: Duration = Duration::from_secs(30);

/// A server with its model loaded and its address bound, not yet accepting.
pub struct Server {
    listener: TcpListener,
    addr: SocketAddr,
    state: Arc<AppState>,
    read_timeout: Duration,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Validates the configuration, loads and warms up the model, starts the batching worker
    /// and binds the address. Every startup error (bad setting, missing model, port in use)
    /// comes back here, before anything listens.
    pub async fn bind(config: ServerConfig) -> Result<Server, Error> {
        config.validate()?;
        let dir = model_path::resolve(&config.model)?;
        let model_name = config.model_name.clone().unwrap_or_else(|| {
            let given = config.model.to_string_lossy();
            let name = given.trim_end_matches('/');
            if config.model.is_dir() {
                name.rsplit('/').next().unwrap_or(name).to_string()
            } else {
                name.to_string()
            }
        });
        let cfg = config.clone();
        let threads = config.threads;
        let load = LoadOptions::with_precision(config.precision);
        let (model, max_queue_tokens) = tokio::task::spawn_blocking(move || {
            let mut queue = 0;
            let model = Model::open(&dir, &load, |max| {
                let (input, q) = cfg.resolve_limits(max)?;
                queue = q;
                Ok(input)
            })?;
            with_threads(threads, || model.warm_up())??;
            Ok::<_, Error>((model, queue))
        })
        .await
        .map_err(|e| Error::Worker(format!("model loading task failed: {e}")))??;
        let model = Arc::new(model);
        let metrics = Arc::new(
            Metrics::new().map_err(|e| Error::Worker(format!("cannot create metrics: {e}")))?,
        );
        let info = model.info();
        metrics
            .model
            .with_label_values(&[info.kind.as_str(), info.precision.name()])
            .set(1);
        let batcher = Batcher::start(
            model.clone(),
            config.max_batch_tokens,
            max_queue_tokens,
            threads,
            Arc::clone(&metrics),
        )?;
        let addr = SocketAddr::new(config.host, config.port);
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| Error::Bind { addr, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| Error::Bind { addr, source })?;
        let state = Arc::new(AppState {
            model,
            batcher,
            metrics,
            permits: Arc::new(Semaphore::new(config.max_concurrent_requests)),
            limits: Limits {
                max_client_batch_size: config.max_client_batch_size,
                max_concurrent_requests: config.max_concurrent_requests,
                max_batch_tokens: config.max_batch_tokens,
                max_queue_tokens,
                body_limit: config.body_limit,
                read_timeout: config.read_timeout,
            },
            api_key: config.api_key.clone(),
            model_name,
        });
        Ok(Server {
            listener,
            addr,
            state,
            read_timeout: config.read_timeout,
        })
    }

    /// The bound address (with the real port when port 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until `shutdown` completes, then shuts down gracefully.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send) -> Result<(), Error> {
        let Server {
            listener,
            addr,
            state,
            read_timeout,
        } = self;
        let service = TowerToHyperService::new(router(Arc::clone(&state)));
        let graceful = GracefulShutdown::new();
        let info = state.model.info();
        tracing::info!(
            address = %format_args!("http://{addr}"),
            model = %state.model_name,
            kind = info.kind.as_str(),
            precision = info.precision.name(),
            dim = info.dim,
            max_input_tokens = info.max_input_tokens,
            "qkv serve: ready, listening on http://{addr}"
        );
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let stream = match accepted {
                        Ok((s, _)) => s,
                        Err(e) => {
                            // Out of file descriptors and the like: wait, do not spin.
                            tracing::warn!(error = %e, "accept failed");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        }
                    };
                    let _ = stream.set_nodelay(true);
                    let conn = http1::Builder::new()
                        .timer(TokioTimer::new())
                        .header_read_timeout(read_timeout)
                        .serve_connection(TokioIo::new(stream), service.clone());
                    let conn = graceful.watch(conn);
                    tokio::spawn(async move {
                        if let Err(e) = conn.await {
                            tracing::debug!(error = %e, "connection ended with an error");
                        }
                    });
                }
                () = &mut shutdown => break,
            }
        }
        drop(listener);
        tracing::info!("qkv serve: shutting down, finishing the requests in flight");
        if tokio::time::timeout(GRACE, graceful.shutdown())
            .await
            .is_err()
        {
            tracing::warn!("requests still in flight after {GRACE:?}: closing anyway");
        }
        let s = Arc::clone(&state);
        tokio::task::spawn_blocking(move || s.batcher.shutdown())
            .await
            .map_err(|e| Error::Worker(format!("shutdown task failed: {e}")))??;
        tracing::info!("qkv serve: stopped");
        Ok(())
    }
}

/// A future that completes on SIGTERM or SIGINT (Ctrl-C). The handlers are installed when
/// this is called (inside a tokio runtime), so a signal that arrives before the future is
/// first polled is not lost.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let term = signal(SignalKind::terminate()).ok();
        let int = signal(SignalKind::interrupt()).ok();
        async move {
            let wait = |s: Option<tokio::signal::unix::Signal>| async move {
                match s {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                () = wait(term) => tracing::info!("SIGTERM received"),
                () = wait(int) => tracing::info!("SIGINT received"),
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}
