//! The transport: HTTPS (rustls) and an optional plain HTTP listener, HTTP/1.1 by hyper,
//! requests handed to [`Api`] whole, JSON or watch-stream answers, and the fault actions
//! that act on the connection (stall, drop, exit).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, Limited, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::service::service_fn;
use hyper::{Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::api::{Api, Reply};
use crate::faults::Action;
use crate::request::Request;
use crate::status::ApiError;

/// Largest request body accepted (the real server's limit is 3 MiB).
const MAX_BODY: usize = 3 * 1024 * 1024;

type Body = BoxBody<Bytes, Infallible>;

fn full(b: impl Into<Bytes>) -> Body {
    Full::new(b.into()).boxed()
}

fn header(req: &hyper::Request<Incoming>, name: hyper::header::HeaderName) -> Option<String> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn reply(r: Reply) -> Response<Body> {
    match r {
        Reply::Json {
            code,
            content_type,
            body,
            retry_after,
        } => {
            let bytes = match &body {
                serde_json::Value::String(s) if content_type == "text/plain" => {
                    s.clone().into_bytes()
                }
                b => serde_json::to_vec(b).unwrap_or_default(),
            };
            let mut resp = Response::new(full(bytes));
            *resp.status_mut() =
                StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            if let Ok(v) = HeaderValue::from_str(&content_type) {
                resp.headers_mut().insert(CONTENT_TYPE, v);
            }
            if let Some(s) = retry_after {
                resp.headers_mut()
                    .insert("retry-after", HeaderValue::from(s));
            }
            resp
        }
        Reply::Watch(plan) => {
            let body = StreamBody::new(plan.stream().map(|b| Ok::<_, Infallible>(Frame::data(b))));
            let mut resp = Response::new(BodyExt::boxed(body));
            resp.headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            resp
        }
        Reply::Fault(_) => Response::new(full(Bytes::new())),
    }
}

async fn handle(
    api: Arc<Api>,
    req: hyper::Request<Incoming>,
    insecure: bool,
) -> Result<Response<Body>, std::io::Error> {
    let method = req.method().as_str().to_string();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let accept = header(&req, hyper::header::ACCEPT).unwrap_or_default();
    let content_type = header(&req, CONTENT_TYPE);
    let authorization = header(&req, hyper::header::AUTHORIZATION);
    let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(b) => b.to_bytes().to_vec(),
        Err(_) => {
            let e = ApiError::new(
                413,
                "RequestEntityTooLarge",
                "Request entity too large: limit is 3145728",
            );
            return Ok(reply(Reply::error(&e)));
        }
    };
    let r = Request {
        method,
        path,
        query,
        accept,
        content_type,
        authorization,
        body,
        insecure,
    };
    let out = api.handle(&r);
    tracing::debug!("{} {}?{} -> {}", r.method, r.path, r.query, out.code());
    match out {
        Reply::Fault(Action::Stall) => std::future::pending().await,
        Reply::Fault(Action::Drop) => Err(std::io::Error::other("fault: drop")),
        Reply::Fault(Action::Exit) => std::process::exit(3),
        other => Ok(reply(other)),
    }
}

async fn serve_conn<S>(io: S, api: Arc<Api>, insecure: bool)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let svc = service_fn(move |req| handle(api.clone(), req, insecure));
    if let Err(e) = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(io), svc)
        .await
    {
        tracing::debug!("connection: {e}");
    }
}

/// Accepts connections on `listener` until the task is dropped; TLS when `tls` is given.
pub async fn accept_loop(listener: TcpListener, api: Arc<Api>, tls: Option<TlsAcceptor>) {
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!("accept: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let api = api.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            match tls {
                Some(acceptor) => match acceptor.accept(tcp).await {
                    Ok(s) => serve_conn(s, api, false).await,
                    Err(e) => tracing::debug!("TLS handshake with {peer}: {e}"),
                },
                None => serve_conn(tcp, api, true).await,
            }
        });
    }
}

/// Binds `addr` (port 0 picks one).
pub async fn bind(addr: SocketAddr) -> std::io::Result<(TcpListener, SocketAddr)> {
    let l = TcpListener::bind(addr).await?;
    let a = l.local_addr()?;
    Ok((l, a))
}
