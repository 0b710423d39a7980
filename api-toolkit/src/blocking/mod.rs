//! A blocking API: the same retrying session for code without an async runtime (feature
//! `blocking`).
//!
//! # Why a front end, not a second engine
//!
//! Which outcomes are retried, how long to wait and when to give up are decided in one place,
//! the async [`crate::Session`]'s call loop; a second, blocking copy of it would drift. So a
//! [`Session`] here is a thin front end: it holds an async session and a small tokio runtime of
//! its own (shared by its clones), and each call runs the async call to its end on the runtime's
//! worker thread (named `api-toolkit-blocking`), beside the connections it drives, while the
//! calling thread waits for it (tokio's `block_on` of the spawned call) inside the caller's
//! span and subscriber. The waits between attempts are tokio sleeps: no thread spins.
//!
//! Everything the async session does is there: the settings, the [`CallRecord`](crate::CallRecord)
//! of each response, the [`Stats`](crate::Stats), the `on_retry` hook, tracing, and
//! `#[derive(Connector)]` on a struct holding a blocking session. [`Session::as_async`] gives
//! the async session itself, for code that has both: its clones share the settings, the
//! connection pool and the counters.
//!
//! # How long a call may block
//!
//! An async call is stopped by dropping its future; a blocking call cannot be dropped. What
//! bounds it is its settings: `total_timeout` bounds the whole call, waits included, and
//! `attempt_timeout` (or the session's or the request's `timeout`) each attempt. Without them,
//! a call to a server that accepts the connection and never answers blocks the thread for as
//! long as the server holds it. **Set `total_timeout`** for every blocking session that talks
//! to a server you do not control.
//!
//! # Errors
//!
//! A call returns this crate's [`Error`](crate::Error), as an async call does. Reading a body
//! ([`Response::text`], [`Response::bytes`], [`Response::json`]) returns a `reqwest::Error`,
//! as reqwest's async and blocking responses do: those reads are not retried, and the error
//! says what went wrong with the body.
//!
//! # Panics
//!
//! A blocking call (sending, reading a body) must not be made from inside an async runtime:
//! tokio panics with "Cannot start a runtime from within a runtime", as it does for
//! `reqwest::blocking`. Use the async [`crate::Session`] there (or [`Session::as_async`]), or
//! make the call from `tokio::task::spawn_blocking`. Creating and dropping a blocking session
//! inside an async runtime is fine.
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use api_toolkit::blocking::Session;
//! use api_toolkit::RetrySettings;
//! # use std::io::{Read, Write};
//! # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
//! # let base_url = format!("http://{}", listener.local_addr()?);
//! # std::thread::spawn(move || {
//! #     for reply in ["503 Service Unavailable", "200 OK"] {
//! #         let (mut stream, _) = listener.accept().unwrap();
//! #         let _ = stream.read(&mut [0; 4096]);
//! #         let body = if reply.starts_with("200") { "order 7" } else { "" };
//! #         let head = format!("HTTP/1.1 {reply}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n", body.len());
//! #         stream.write_all(format!("{head}{body}").as_bytes()).unwrap();
//! #     }
//! # });
//!
//! let session = Session::new(RetrySettings {
//!     max_retries: 3,
//!     backoff_factor: 0.1,
//!     total_timeout: Some(Duration::from_secs(10)), // no call blocks longer, waits included
//!     ..RetrySettings::default()
//! })?;
//! let response = session.get(format!("{base_url}/orders/7")).send()?; // a 503, then a 200
//! assert_eq!(response.status(), 200);
//! assert_eq!(response.record().attempt_count(), 2);
//! assert_eq!(response.text()?, "order 7");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! A connector holding a blocking session, derived as usual:
//!
//! ```
//! use api_toolkit::{blocking, ApiConnector, Connector};
//!
//! #[derive(Connector)]
//! #[retry(max_retries = 2, status_forcelist = [503], total_timeout = 30)]
//! struct Shop {
//!     session: blocking::Session,
//! }
//!
//! let shop = Shop { session: Shop::new_session()? };
//! assert_eq!(shop.get_retry_settings().max_retries, 2);
//! # Ok::<(), api_toolkit::Error>(())
//! ```

mod request;
mod response;
mod session;

pub use request::RequestBuilder;
pub use response::Response;
pub use session::{Session, SessionBuilder};
