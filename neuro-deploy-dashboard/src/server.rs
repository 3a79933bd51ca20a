//! The server: reads the world through a [`Reader`] every refresh (never per request, so any
//! number of open pages costs the same), keeps the latest read, and serves it — the page, the
//! part the page's script swaps in, `/api/state`, the embedded assets. Only GET and HEAD are
//! routed (anything else is 405); every answer carries a strict Content-Security-Policy; with a
//! token, every request must carry it.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::state::{DashboardState, QueuePoint};

/// What every answer says about what the page may load: only itself, no inline script, no
/// frames, no forms.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// How many samples of each queue the sparkline keeps (an hour at a 10 s refresh).
const SAMPLES_KEPT: usize = 360;

const STYLE: &str = include_str!("../assets/dashboard.css");
const SCRIPT: &str = include_str!("../assets/dashboard.js");
const ICON: &str = include_str!("../assets/favicon.svg");

/// Reads the world: one [`DashboardState`] per call. What it cannot read goes into the state
/// (`unread`, an environment's `unreachable`), never an error: the page shows what it could.
#[async_trait::async_trait]
pub trait Reader: Send + Sync + 'static {
    /// One read of everything the page shows.
    async fn read(&self) -> DashboardState;
}

/// How the dashboard serves.
#[derive(Clone)]
pub struct ServeOptions {
    /// How often the world is read (and the page updates).
    pub refresh: Duration,
    /// A bearer token every request must carry (`Authorization: Bearer …`, or `?token=…` for a
    /// browser's first visit), when it listens beyond loopback.
    pub token: Option<String>,
}

impl std::fmt::Debug for ServeOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the token.
        f.debug_struct("ServeOptions")
            .field("refresh", &self.refresh)
            .field("token", &self.token.as_ref().map(|_| "…"))
            .finish()
    }
}

/// Why the dashboard stopped serving.
#[derive(Debug, thiserror::Error)]
pub enum DashboardError {
    /// The listener failed.
    #[error(
        "the dashboard stopped serving: {0}; start it again (another `--listen` address if this one is taken)"
    )]
    Serve(#[from] std::io::Error),
}

#[derive(Clone)]
struct Shared {
    latest: watch::Receiver<Arc<DashboardState>>,
    token: Option<Arc<str>>,
}

/// Serves the dashboard on `listener` until `shutdown` completes: `first` until the first read
/// of `reader` ends, then the latest read, read again every `options.refresh`.
pub async fn serve(
    listener: TcpListener,
    reader: Arc<dyn Reader>,
    first: DashboardState,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), DashboardError> {
    let (publish, latest) = watch::channel(Arc::new(first));
    let refreshing = tokio::spawn(refresh(reader, publish, options.refresh));
    let shared = Shared {
        latest,
        token: options.token.map(Arc::from),
    };
    let served = axum::serve(listener, router(shared))
        .with_graceful_shutdown(shutdown)
        .await;
    refreshing.abort();
    Ok(served?)
}

/// Reads the world every `every`, adding each queue's sample to what the sparklines draw.
async fn refresh(
    reader: Arc<dyn Reader>,
    publish: watch::Sender<Arc<DashboardState>>,
    every: Duration,
) {
    let mut samples: HashMap<(String, String), VecDeque<QueuePoint>> = HashMap::new();
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let mut state = reader.read().await;
        let Some(at) = state.read_at else {
            continue;
        };
        for queue in &mut state.queues {
            let kept = samples
                .entry((queue.queue.clone(), queue.region.clone()))
                .or_default();
            if let Some(depth) = queue.depth {
                if kept.len() == SAMPLES_KEPT {
                    kept.pop_front();
                }
                kept.push_back(QueuePoint {
                    at,
                    messages: depth.total(),
                });
            }
            queue.samples = kept.iter().copied().collect();
        }
        if publish.send(Arc::new(state)).is_err() {
            return;
        }
    }
}

fn router(shared: Shared) -> Router {
    Router::new()
        .route("/", get(whole_page))
        .route("/fragment", get(main_part))
        .route("/api/state", get(api_state))
        .route(
            "/assets/dashboard.css",
            get(|| asset("text/css; charset=utf-8", STYLE)),
        )
        .route(
            "/assets/dashboard.js",
            get(|| asset("text/javascript; charset=utf-8", SCRIPT)),
        )
        .route("/favicon.ico", get(|| asset("image/svg+xml", ICON)))
        .route("/assets/favicon.svg", get(|| asset("image/svg+xml", ICON)))
        .fallback(not_here)
        .layer(middleware::from_fn_with_state(shared.clone(), guard))
        .with_state(shared)
}

/// Every answer: the token checked first (when one is required), then the security headers.
async fn guard(State(shared): State<Shared>, request: Request, next: Next) -> Response {
    let allowed = match &shared.token {
        None => true,
        Some(token) => carries(&request, token),
    };
    let mut response = if allowed {
        next.run(request).await
    } else {
        let mut refused = (
            StatusCode::UNAUTHORIZED,
            "this dashboard needs the bearer token printed when it started: `Authorization: Bearer TOKEN`, or `?token=TOKEN` in the URL\n",
        )
            .into_response();
        refused
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        refused
    };
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Whether `request` carries `token`, in its `Authorization` header or its `token` parameter.
fn carries(request: &Request, token: &str) -> bool {
    let bearer = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let parameter = request.uri().query().and_then(|query| {
        query
            .split('&')
            .find_map(|pair| pair.strip_prefix("token="))
    });
    [bearer, parameter]
        .into_iter()
        .flatten()
        .any(|given| same(given.as_bytes(), token.as_bytes()))
}

/// Compares without stopping at the first difference, so the time taken says nothing about
/// how much of a guess was right.
fn same(given: &[u8], expected: &[u8]) -> bool {
    given.len() == expected.len()
        && given
            .iter()
            .zip(expected)
            .fold(0u8, |differ, (a, b)| differ | (a ^ b))
            == 0
}

async fn whole_page(State(shared): State<Shared>) -> Response {
    let state = shared.latest.borrow().clone();
    html(|| crate::page::page(&state))
}

async fn main_part(State(shared): State<Shared>) -> Response {
    let state = shared.latest.borrow().clone();
    html(|| crate::page::fragment(&state))
}

/// Renders HTML, saying how long it took (`Server-Timing`: what the benchmark reads).
fn html(render: impl FnOnce() -> Result<String, askama::Error>) -> Response {
    let started = Instant::now();
    match render() {
        Ok(text) => {
            let took = started.elapsed().as_secs_f64() * 1000.0;
            let mut response =
                ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], text).into_response();
            if let Ok(timing) = HeaderValue::from_str(&format!("render;dur={took:.2}")) {
                response.headers_mut().insert("server-timing", timing);
            }
            response
        }
        Err(error) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the page could not be rendered ({error}); /api/state still answers\n"),
        )
            .into_response(),
    }
}

async fn api_state(State(shared): State<Shared>) -> Response {
    let state = shared.latest.borrow().clone();
    match serde_json::to_string(&*state) {
        Ok(json) => ([(header::CONTENT_TYPE, "application/json")], json).into_response(),
        Err(error) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the state could not be written as JSON ({error})\n"),
        )
            .into_response(),
    }
}

async fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

/// Anything not routed: 405 for a method other than GET and HEAD (this server changes
/// nothing), 404 for a path it does not have.
async fn not_here(method: Method) -> Response {
    if method == Method::GET || method == Method::HEAD {
        return (
            StatusCode::NOT_FOUND,
            "no such page; the dashboard is at /\n",
        )
            .into_response();
    }
    let mut response = Response::new(Body::from(
        "this dashboard is read-only: only GET and HEAD are answered\n",
    ));
    *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
    response
}
