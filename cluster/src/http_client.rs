//! The HTTP/1.1 client every outgoing request of `cargo dynamo` uses (except peer links, which
//! speak [`crate::wire`]): the command-line tools, `--join`, the bench's load generator and the
//! dashboard's fan-out to the other members.
//!
//! It is a thin layer over hyper-util's pooled client ([`hyper_util::client::legacy::Client`] on
//! an [`HttpConnector`]), which is what a general-purpose client such as reqwest wraps too. We
//! only ever speak plain `http://` to addresses we were given (`http://host:port/path`), so we
//! need none of what such a client adds on top: no TLS, no redirects, no cookies, no proxy, no
//! URL parser. Dropping it dropped the `url` -> `idna` -> ICU stack, whose proc-macros turned on
//! extra `syn` features and so made cargo build `serde_derive` (and everything after it) twice.
//!
//! What this layer adds is small:
//! - a per-request deadline ([`Config::timeout`]) that covers the whole exchange, reading the
//!   body included, as reqwest's did; streams ([`Request::stream`]) are bounded only until the
//!   response head arrives, as a server-sent event stream is meant to stay open;
//! - errors that name the URL and say what went wrong in a few words
//!   (`http://127.0.0.1:7001/kv/x: connection refused`): the command-line tools print them.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};

/// Why a request got no answer.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The request could not be built: a URL that is not `http://host:port/path`, or a header
    /// name or value HTTP does not allow.
    #[error("{url}: {reason}")]
    Invalid {
        /// The request's URL, as given.
        url: String,
        /// What is wrong with the request.
        reason: String,
    },
    /// No connection could be made (refused, unreachable, or not within the connect timeout).
    #[error("{url}: {reason}")]
    Connect {
        /// The request's URL.
        url: String,
        /// Why, in a few words (`connection refused`).
        reason: String,
    },
    /// The connection failed while sending the request or reading the answer.
    #[error("{url}: {reason}")]
    Exchange {
        /// The request's URL.
        url: String,
        /// Why, in a few words (`connection closed before message completed`).
        reason: String,
    },
    /// The whole exchange did not finish within the client's timeout.
    #[error("{url}: no answer within {} ms", after.as_millis())]
    Timeout {
        /// The request's URL.
        url: String,
        /// The timeout that passed.
        after: Duration,
    },
}

/// How a [`HttpClient`] connects and how long it waits.
#[derive(Debug, Clone)]
pub struct Config {
    /// The limit on one whole exchange, from sending the request to the last byte of the
    /// answer's body; `None` waits for ever.
    pub timeout: Option<Duration>,
    /// The limit on opening a TCP connection; `None` leaves it to the operating system.
    pub connect_timeout: Option<Duration>,
    /// Disables Nagle's algorithm, so a small request leaves at once rather than waiting for
    /// the previous one's acknowledgement.
    pub nodelay: bool,
    /// How many idle keep-alive connections to keep per host.
    pub max_idle_per_host: usize,
}

impl Default for Config {
    /// No timeouts, `TCP_NODELAY` on and an unbounded pool: reqwest's defaults, which every
    /// caller had before this module.
    fn default() -> Self {
        Self {
            timeout: None,
            connect_timeout: None,
            nodelay: true,
            max_idle_per_host: usize::MAX,
        }
    }
}

/// A pooled HTTP/1.1 client; clones share the pool.
#[derive(Clone)]
pub struct HttpClient {
    inner: Client<HttpConnector, Full<Bytes>>,
    config: Config,
}

impl HttpClient {
    /// A client configured by `config`. It needs a Tokio runtime only once it sends.
    pub fn new(config: Config) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(config.nodelay);
        connector.set_connect_timeout(config.connect_timeout);
        let inner = Client::builder(TokioExecutor::new())
            // Idle connections close after hyper's default 90 s, as with reqwest; the timer is
            // what lets the pool notice.
            .pool_timer(TokioTimer::new())
            .pool_max_idle_per_host(config.max_idle_per_host)
            .build(connector);
        Self { inner, config }
    }

    /// A client with `timeout` on every exchange and the other settings at their defaults.
    pub fn with_timeout(timeout: Duration) -> Self {
        Self::new(Config {
            timeout: Some(timeout),
            ..Config::default()
        })
    }

    /// Starts a request: `method` to `url` (`http://host:port/path`).
    pub fn request(&self, method: Method, url: impl Into<String>) -> Request<'_> {
        Request {
            client: self,
            method,
            url: url.into(),
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }

    /// Starts a GET of `url`.
    pub fn get(&self, url: impl Into<String>) -> Request<'_> {
        self.request(Method::GET, url)
    }
}

/// A request being built; [`Request::send`] or [`Request::stream`] sends it.
pub struct Request<'c> {
    client: &'c HttpClient,
    method: Method,
    url: String,
    headers: Vec<(String, String)>,
    body: Bytes,
}

/// A complete answer: its status, headers and whole body.
#[derive(Debug)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The headers.
    pub headers: HeaderMap,
    /// The whole body.
    pub body: Bytes,
}

impl Response {
    /// The value of header `name`, when present and text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body as text (invalid UTF-8 replaced, as it is only ever shown).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// An answer whose body is read as it arrives (a server-sent event stream). Its status is not
/// kept: the one reader, the dashboard's forwarder, looks only for events in the body.
pub struct Streaming {
    url: String,
    body: Incoming,
}

impl Streaming {
    /// The next piece of the body as the server sent it; `None` at its end.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, HttpError> {
        loop {
            match self.body.frame().await {
                None => return Ok(None),
                Some(Err(e)) => return Err(exchange_error(&self.url, &e)),
                // Trailers carry no data: skip them.
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        return Ok(Some(data));
                    }
                }
            }
        }
    }
}

impl Request<'_> {
    /// Adds a header.
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// Sends the request and reads the whole answer, within the client's timeout.
    pub async fn send(self) -> Result<Response, HttpError> {
        let timeout = self.client.config.timeout;
        let url = self.url.clone();
        let exchange = async move {
            let (url, response) = self.start().await?;
            let (parts, body) = response.into_parts();
            let body = body
                .collect()
                .await
                .map_err(|e| exchange_error(&url, &e))?
                .to_bytes();
            Ok(Response {
                status: parts.status.as_u16(),
                headers: parts.headers,
                body,
            })
        };
        within(timeout, url, exchange).await
    }

    /// Sends the request and answers once the response head arrives (within the client's
    /// timeout), leaving the body to be read piece by piece for as long as it lasts.
    pub async fn stream(self) -> Result<Streaming, HttpError> {
        let timeout = self.client.config.timeout;
        let url = self.url.clone();
        let (url, response) = within(timeout, url, self.start()).await?;
        Ok(Streaming {
            url,
            body: response.into_body(),
        })
    }

    /// Builds the request and sends it; answers the URL (for later errors) and the response.
    async fn start(self) -> Result<(String, hyper::Response<Incoming>), HttpError> {
        let invalid = |reason: String| HttpError::Invalid {
            url: self.url.clone(),
            reason,
        };
        let uri: Uri = self
            .url
            .parse()
            .map_err(|e| invalid(format!("not a URL ({e})")))?;
        if uri.scheme_str() != Some("http") || uri.authority().is_none() {
            return Err(invalid("not an http://host:port/path URL".into()));
        }
        let mut request = hyper::Request::new(Full::new(self.body));
        *request.method_mut() = self.method;
        *request.uri_mut() = uri;
        for (name, value) in self.headers {
            let name = HeaderName::try_from(name.as_str())
                .map_err(|e| invalid(format!("header {name}: {e}")))?;
            let value =
                HeaderValue::try_from(value).map_err(|e| invalid(format!("header {name}: {e}")))?;
            request.headers_mut().append(name, value);
        }
        match self.client.inner.request(request).await {
            Ok(response) => Ok((self.url, response)),
            Err(e) if e.is_connect() => Err(HttpError::Connect {
                reason: connect_reason(&e, self.client.config.connect_timeout),
                url: self.url,
            }),
            Err(e) => Err(exchange_error(&self.url, &e)),
        }
    }
}

/// Runs `exchange` within `timeout`, if any.
async fn within<T>(
    timeout: Option<Duration>,
    url: String,
    exchange: impl Future<Output = Result<T, HttpError>>,
) -> Result<T, HttpError> {
    match timeout {
        None => exchange.await,
        Some(after) => tokio::time::timeout(after, exchange)
            .await
            .unwrap_or(Err(HttpError::Timeout { url, after })),
    }
}

/// Why no connection was made: the operating system's words (`connection refused`).
fn connect_reason(error: &hyper_util::client::legacy::Error, limit: Option<Duration>) -> String {
    match first_io_error(error) {
        Some(io) if io.kind() == std::io::ErrorKind::TimedOut => match limit {
            Some(limit) => format!("no connection within {} ms", limit.as_millis()),
            None => "connection timed out".into(),
        },
        Some(io) => io_reason(io),
        None => chain(error),
    }
}

/// An error met while sending or reading: hyper's words, then the operating system's when a
/// socket error is the cause (`error reading a body from connection: connection reset by peer`).
fn exchange_error(url: &str, error: &(dyn std::error::Error + 'static)) -> HttpError {
    HttpError::Exchange {
        url: url.to_string(),
        reason: chain(error),
    }
}

/// The messages of `error` and its causes, joined by `: `, without hyper-util's generic
/// `client error (SendRequest)` wrapper, ending at the first socket error.
fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = Vec::new();
    let mut next = Some(error);
    while let Some(e) = next {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            parts.push(io_reason(io));
            break;
        }
        if !e.is::<hyper_util::client::legacy::Error>() {
            parts.push(e.to_string());
        }
        next = e.source();
    }
    if parts.is_empty() {
        error.to_string()
    } else {
        parts.join(": ")
    }
}

fn first_io_error<'e>(error: &'e (dyn std::error::Error + 'static)) -> Option<&'e std::io::Error> {
    let mut next = error.source();
    while let Some(e) = next {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return Some(io);
        }
        next = e.source();
    }
    None
}

/// A socket error in lowercase words, without the errno: `connection refused`.
fn io_reason(error: &std::io::Error) -> String {
    let text = error.to_string();
    let text = match text.find(" (os error") {
        Some(at) => &text[..at],
        None => &text,
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => error.kind().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A listener on a free loopback port, and its address.
    async fn loopback() -> (tokio::net::TcpListener, std::net::SocketAddr) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        (listener, addr)
    }

    /// Method, headers and body reach the server, and status, headers and body come back;
    /// two requests in a row share one kept-alive connection.
    #[tokio::test]
    async fn round_trip_on_one_connection() {
        use axum::routing::put;
        use axum::serve::ListenerExt;
        let app = axum::Router::new().route(
            "/kv/{key}",
            put(
                |axum::extract::Path(key): axum::extract::Path<String>,
                 headers: axum::http::HeaderMap,
                 body: Bytes| async move {
                    let context = headers
                        .get("x-test")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("none")
                        .to_string();
                    (
                        axum::http::StatusCode::CREATED,
                        [("x-dynamo-context", format!("{key}:{context}"))],
                        body,
                    )
                },
            ),
        );
        let (listener, addr) = loopback().await;
        let connections = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = connections.clone();
        let server = tokio::spawn(async move {
            let listener = listener.tap_io(move |_| {
                counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            });
            axum::serve(listener, app).await
        });
        let client = HttpClient::with_timeout(Duration::from_secs(5));
        for value in ["one", "two"] {
            let response = client
                .request(Method::PUT, format!("http://{addr}/kv/k"))
                .header("x-test", "ctx")
                .body(value)
                .send()
                .await
                .expect("answer");
            assert_eq!(response.status, 201);
            assert!(response.is_success());
            assert_eq!(response.header("x-dynamo-context"), Some("k:ctx"));
            assert_eq!(response.text(), value);
        }
        assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 1);
        server.abort();
    }

    /// A streamed body yields each piece as the server sends it, before the rest exists.
    #[tokio::test]
    async fn stream_yields_pieces_as_they_arrive() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (listener, addr) = loopback().await;
        let (got_first, first_seen) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.expect("accept");
            let mut request = Vec::new();
            let mut buffer = [0u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = socket.read(&mut buffer).await.expect("read");
                assert!(n > 0, "request ended early");
                request.extend_from_slice(&buffer[..n]);
            }
            let head = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nfirst\r\n";
            socket.write_all(head).await.expect("write");
            // The rest is sent only once the client has read the first piece.
            first_seen.await.expect("client read the first piece");
            socket
                .write_all(b"6\r\nsecond\r\n0\r\n\r\n")
                .await
                .expect("write");
        });
        let client = HttpClient::new(Config::default());
        let mut stream = client
            .get(format!("http://{addr}/events"))
            .stream()
            .await
            .expect("head");
        assert_eq!(
            stream.chunk().await.expect("first"),
            Some(Bytes::from("first"))
        );
        got_first.send(()).expect("server waits");
        assert_eq!(
            stream.chunk().await.expect("second"),
            Some(Bytes::from("second"))
        );
        assert_eq!(stream.chunk().await.expect("end"), None);
        server.await.expect("server");
    }

    /// A closed port answers `connection refused`, named with the URL, not a panic or a hang.
    #[tokio::test]
    async fn refused_connection_names_the_url() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        drop(listener);
        let client = HttpClient::with_timeout(Duration::from_secs(5));
        let url = format!("http://{addr}/kv/x");
        let error = client.get(&url).send().await.expect_err("nothing listens");
        assert!(matches!(error, HttpError::Connect { .. }), "{error:?}");
        assert_eq!(error.to_string(), format!("{url}: connection refused"));
    }

    /// A URL that is not `http://host:port/path` is refused before anything is sent.
    #[tokio::test]
    async fn bad_url_is_invalid() {
        let client = HttpClient::new(Config::default());
        for url in ["127.0.0.1:1/kv", "https://127.0.0.1:1/", "http:// bad"] {
            let error = client.get(url).send().await.expect_err(url);
            assert!(
                matches!(error, HttpError::Invalid { .. }),
                "{url}: {error:?}"
            );
            assert!(error.to_string().starts_with(url), "{error}");
        }
    }

    /// A server that accepts but never answers costs the timeout, then a `Timeout` error.
    #[tokio::test]
    async fn silent_server_times_out() {
        let (listener, addr) = loopback().await;
        let held = tokio::spawn(async move { listener.accept().await });
        let client = HttpClient::with_timeout(Duration::from_millis(200));
        let error = client
            .get(format!("http://{addr}/"))
            .send()
            .await
            .expect_err("no answer");
        assert!(matches!(error, HttpError::Timeout { .. }), "{error:?}");
        assert!(
            error.to_string().ends_with("no answer within 200 ms"),
            "{error}"
        );
        held.abort();
    }
}
