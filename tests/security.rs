//! Security: credentials stay with their origin; `Debug`, `Display` and tracing never show header
//! values or bodies; TLS certificates are verified unless the user opts out; and no server can
//! make a call sleep longer than `retry_after_max`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use api_toolkit::reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION};
use api_toolkit::reqwest::{self, Certificate};
use api_toolkit::{CallRecord, GiveUp, Method, RetrySettings, Session};
use testkit::{capture_tracing, refused_url, Reply, TestServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// What must never show: a token, a cookie, a body.
const SECRET: &str = "s3cr3t-t0k3n";

const CREDENTIALS: [&str; 3] = ["authorization", "cookie", "proxy-authorization"];

fn retrying(max_retries: u32) -> RetrySettings {
    RetrySettings {
        max_retries,
        backoff_factor: 0.0,
        ..RetrySettings::default()
    }
}

/// A server that redirects everything to `target`.
async fn redirecting_to(target: &str) -> TestServer {
    TestServer::start(vec![Reply::status(302).header("location", target)]).await
}

fn credential_headers(received: &testkit::Received) -> Vec<&str> {
    CREDENTIALS
        .into_iter()
        .filter(|name| received.header(name).is_some())
        .collect()
}

#[tokio::test]
async fn credentials_not_forwarded_on_redirect_to_another_origin() {
    let target = TestServer::start(vec![Reply::status(200)]).await;
    let origin = redirecting_to(&target.url("/landing")).await;
    let response = Session::new(retrying(0))
        .unwrap()
        .get(origin.url("/start"))
        .header("authorization", format!("Bearer {SECRET}"))
        .header("cookie", format!("session={SECRET}"))
        .header("proxy-authorization", format!("Basic {SECRET}"))
        .header("x-trace", "kept")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(credential_headers(&origin.received()[0]), CREDENTIALS);
    let landed = &target.received()[0];
    assert_eq!(landed.path, "/landing");
    assert_eq!(
        landed.header("x-trace"),
        Some("kept"),
        "other headers follow"
    );
    assert_eq!(credential_headers(landed), Vec::<&str>::new());
}

#[tokio::test]
async fn default_and_url_credentials_not_forwarded_on_redirect_to_another_origin() {
    let target = TestServer::start(vec![Reply::status(200)]).await;
    let origin = redirecting_to(&target.url("/landing")).await;
    let mut headers = HeaderMap::new();
    headers.insert(
        AUTHORIZATION,
        HeaderValue::from_static("Bearer s3cr3t-t0k3n"),
    );
    let with_defaults = Session::builder().default_headers(headers).build().unwrap();
    with_defaults.get(origin.url("/")).send().await.unwrap();
    // user:password in the URL becomes an Authorization header.
    let with_userinfo = origin
        .url("/")
        .replace("http://", &format!("http://user:{SECRET}@"));
    Session::new(retrying(0))
        .unwrap()
        .get(with_userinfo)
        .send()
        .await
        .unwrap();
    for request in origin.received() {
        assert!(request.header("authorization").is_some());
    }
    for request in target.received() {
        assert_eq!(credential_headers(&request), Vec::<&str>::new());
    }
    assert_eq!(target.count(), 2);
}

#[tokio::test]
async fn retried_redirects_never_forward_credentials() {
    // The other origin fails twice: each retry starts over at the first origin.
    let target = TestServer::start(vec![
        Reply::status(503),
        Reply::status(503),
        Reply::status(200),
    ])
    .await;
    let origin = redirecting_to(&target.url("/landing")).await;
    let response = Session::new(retrying(3))
        .unwrap()
        .put(origin.url("/"))
        .bearer_auth(SECRET)
        .body("same")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(origin.count(), 3);
    assert!(origin
        .received()
        .iter()
        .all(|r| r.header("authorization").is_some()));
    assert_eq!(target.count(), 3);
    assert!(target
        .received()
        .iter()
        .all(|r| credential_headers(r).is_empty()));
}

#[tokio::test]
async fn credentials_kept_on_redirect_within_the_origin() {
    let server = TestServer::start(vec![
        Reply::status(302).header("location", "/landing"),
        Reply::status(200),
    ])
    .await;
    Session::new(retrying(0))
        .unwrap()
        .get(server.url("/"))
        .bearer_auth(SECRET)
        .send()
        .await
        .unwrap();
    let received = server.received();
    assert_eq!(received[1].path, "/landing");
    assert_eq!(
        received[1].header("authorization"),
        Some("Bearer s3cr3t-t0k3n")
    );
}

fn assert_hidden(what: &str, text: &str) {
    assert!(!text.contains(SECRET), "{what} shows the secret: {text}");
}

#[tokio::test]
async fn debug_and_display_never_show_header_values_or_bodies() {
    let mut headers = HeaderMap::new();
    headers.insert("x-api-key", HeaderValue::from_static(SECRET)); // not marked sensitive
    let builder = Session::builder()
        .retry_settings(RetrySettings {
            max_retries: 1,
            backoff_factor: 0.0,
            raise_on_status: true,
            ..RetrySettings::default()
        })
        .default_headers(headers)
        .user_agent(SECRET);
    assert_hidden("SessionBuilder", &format!("{builder:?} {builder:#?}"));
    let session = builder.build().unwrap();
    assert_hidden("Session", &format!("{session:?} {session:#?}"));
    let settings = session.retry_settings();
    assert_hidden("RetrySettings", &format!("{settings:?} {settings:#?}"));

    let server = TestServer::start(vec![Reply::status(500)
        .header("set-cookie", SECRET)
        .body(SECRET)])
    .await;
    let request = || {
        session
            .post(server.url("/charges"))
            .header("x-api-key", SECRET)
            .header("cookie", SECRET)
            .bearer_auth(SECRET)
            .body(SECRET)
    };
    let builder = request();
    assert_hidden("RequestBuilder", &format!("{builder:?} {builder:#?}"));
    let error = request().send().await.unwrap_err();
    assert!(error.is_status());
    assert_hidden("status Error", &format!("{error} {error:?} {error:#?}"));
    let record = error.record();
    assert_hidden("CallRecord", &format!("{record:?}"));
    assert_eq!(server.count(), 2, "the secrets were sent, twice");

    // A URL with a password: reqwest turns it into a header, so errors never show it.
    let url = refused_url("/")
        .await
        .replace("http://", &format!("http://user:{SECRET}@"));
    let error = session.get(url).send().await.unwrap_err();
    assert!(error.is_connect());
    assert_hidden("connect Error", &format!("{error} {error:?} {error:#?}"));
    assert_hidden(
        "Error::url",
        error.url().map(reqwest::Url::as_str).unwrap_or_default(),
    );
    let source = std::error::Error::source(&error).unwrap();
    assert_hidden("the source", &format!("{source} {source:?}"));
}

#[tokio::test]
async fn errors_never_show_a_secret_in_the_query() {
    let session = Session::new(retrying(1)).unwrap();
    let url = format!(
        "{}?api_key={SECRET}#{SECRET}",
        refused_url("/v1/charges").await
    );
    let error = session.get(url).send().await.unwrap_err();
    assert_hidden("connect Error", &format!("{error} {error:?} {error:#?}"));
    assert_eq!(
        error.url().unwrap().path(),
        "/v1/charges",
        "the URL itself is kept"
    );

    let server = TestServer::start(vec![Reply::status(503)]).await;
    let raising = RetrySettings {
        raise_on_status: true,
        ..retrying(0)
    };
    let url = format!("{}?api_key={SECRET}", server.url("/v1/charges"));
    let error = Session::new(raising)
        .unwrap()
        .get(url)
        .send()
        .await
        .unwrap_err();
    assert_hidden("status Error", &format!("{error} {error:?} {error:#?}"));
}

// One thread: every task of the calls, reqwest's and hyper's included, logs to this capture.
#[tokio::test(flavor = "current_thread")]
async fn tracing_output_of_every_crate_at_every_level_never_shows_secrets() {
    let (captured, _guard) = capture_tracing();

    let target = TestServer::start(vec![
        Reply::status(503)
            .header("retry-after", "0")
            .header("set-cookie", SECRET)
            .body(SECRET),
        Reply::status(200).header("x-token", SECRET).body(SECRET),
    ])
    .await;
    let origin = redirecting_to(&target.url("/landing")).await;
    let session = Session::builder()
        .retry_settings(retrying(2))
        .on_retry(|_| {})
        .build()
        .unwrap();
    let response = session
        .post(origin.url("/charges"))
        .bearer_auth(SECRET)
        .header("cookie", SECRET)
        .body(SECRET)
        .send()
        .await
        .unwrap();
    assert_eq!(response.text().await.unwrap(), SECRET);
    let _ = session
        .get(
            refused_url("/")
                .await
                .replace("http://", &format!("http://u:{SECRET}@")),
        )
        .send()
        .await;

    let output = captured.text();
    assert!(output.contains("api_toolkit"), "{output}");
    assert!(output.contains("retrying"), "{output}");
    assert_hidden("tracing output", &output);
}

/// A TLS server on 127.0.0.1 with a self-signed certificate; answers `200 secure` and counts the
/// requests it read (none, if the handshake fails).
struct TlsServer {
    url: String,
    certificate: Vec<u8>,
    requests: Arc<AtomicUsize>,
}

async fn tls_server() -> TlsServer {
    use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
    use tokio_rustls::rustls::ServerConfig;

    let issued = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let certificate = issued.cert.der().to_vec();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(issued.signing_key.serialize_der()));
    let config = ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![issued.cert.der().clone()], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}/", listener.local_addr().unwrap());
    let requests = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&requests);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (acceptor, counted) = (acceptor.clone(), Arc::clone(&counted));
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(stream).await else {
                    return; // the client refused the certificate
                };
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && tls.read(&mut byte).await.unwrap_or(0) == 1 {
                    head.push(byte[0]);
                }
                counted.fetch_add(1, Ordering::SeqCst);
                let reply =
                    "HTTP/1.1 200 OK\r\ncontent-length: 6\r\nconnection: close\r\n\r\nsecure";
                let _ = tls.write_all(reply.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    TlsServer {
        url,
        certificate,
        requests,
    }
}

#[tokio::test]
async fn self_signed_certificate_refused_by_default() {
    let server = tls_server().await;
    let error = Session::new(retrying(2))
        .unwrap()
        .get(&server.url)
        .bearer_auth(SECRET)
        .send()
        .await
        .unwrap_err();
    assert!(error.is_connect(), "{error:?}");
    assert_eq!(
        server.requests.load(Ordering::SeqCst),
        0,
        "nothing was sent over an unverified connection"
    );
}

#[tokio::test]
async fn self_signed_certificate_accepted_when_the_user_trusts_it() {
    let server = tls_server().await;
    let client = reqwest::Client::builder()
        .add_root_certificate(Certificate::from_der(&server.certificate).unwrap());
    let session = Session::builder().client_builder(client).build().unwrap();
    let response = session.get(&server.url).send().await.unwrap();
    assert_eq!(response.text().await.unwrap(), "secure");
}

#[tokio::test]
async fn invalid_certificate_accepted_only_when_the_user_opts_in() {
    let server = tls_server().await;
    let client = reqwest::Client::builder().tls_danger_accept_invalid_certs(true);
    let session = Session::builder().client_builder(client).build().unwrap();
    let response = session.get(&server.url).send().await.unwrap();
    assert_eq!(response.text().await.unwrap(), "secure");
    assert_eq!(server.requests.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn retry_after_never_makes_a_call_sleep_past_retry_after_max() {
    let in_an_hour = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(3600));
    let asked = ["2", "3600", "99999999999999999999", in_an_hour.as_str()];
    for value in asked {
        let server = TestServer::start(vec![
            Reply::status(503).header("retry-after", value),
            Reply::status(200),
        ])
        .await;
        let settings = RetrySettings {
            max_retries: 3,
            retry_after_max: Duration::from_secs(1),
            share_retry_after: true,
            ..RetrySettings::default()
        };
        let session = Session::new(settings).unwrap();
        let started = Instant::now();
        let response = session.get(server.url("/")).send().await.unwrap();
        assert!(started.elapsed() < Duration::from_millis(900), "{value}");
        assert_eq!(response.status(), 503, "{value}");
        assert_eq!(
            CallRecord::of(&response).give_up(),
            Some(GiveUp::RetryAfterTooLong),
            "{value}"
        );
        // The host is held back for other calls, but no longer than retry_after_max either.
        let started = Instant::now();
        let next = session
            .request(Method::GET, server.url("/"))
            .send()
            .await
            .unwrap();
        assert_eq!(next.status(), 200);
        assert!(
            started.elapsed() < Duration::from_millis(1900),
            "{value}: {:?}",
            started.elapsed()
        );
        assert_eq!(server.count(), 2);
    }
}

#[tokio::test]
async fn a_retry_event_never_shows_the_query_or_credentials() {
    let shown = Arc::new(std::sync::Mutex::new(String::new()));
    let seen = Arc::clone(&shown);
    let session = Session::builder()
        .retry_settings(retrying(1))
        .on_retry(move |event| *seen.lock().unwrap() = format!("{event:?} {event:#?}"))
        .build()
        .unwrap();
    let url =
        refused_url("/v1/charges")
            .await
            .replacen("http://", &format!("http://user:{SECRET}@"), 1);
    let _ = session
        .get(format!("{url}?api_key={SECRET}#{SECRET}"))
        .send()
        .await;
    let text = shown.lock().unwrap().clone();
    assert!(text.contains("/v1/charges"), "{text}");
    assert_hidden("RetryEvent", &text);
}

#[tokio::test]
async fn a_post_redirected_to_an_untrusted_certificate_is_not_sent_again() {
    let tls = tls_server().await;
    let front = redirecting_to(&tls.url).await;
    let settings = RetrySettings {
        allowed_methods: vec![Method::GET],
        ..retrying(2)
    };
    let error = Session::new(settings)
        .unwrap()
        .post(front.url("/pay"))
        .body("amount=100")
        .send()
        .await
        .unwrap_err();
    assert_eq!(front.count(), 1, "the POST reached the first hop once");
    assert_eq!(tls.requests.load(Ordering::SeqCst), 0);
    assert!(!error.is_connect(), "{error:?}");
    assert_eq!(error.attempt_count(), 1);
}
