//! The simulator runs the engine, not a copy of it: random scripts played by the simulator and
//! by a real `Session` against a scripted server on 127.0.0.1 (under paused time) give identical
//! records and endings.
//!
//! `SIMULATOR_CASES` sets how many scripts run (default 1,000), `SIMULATOR_SEED` the seed.

use std::time::Duration;

use api_toolkit::reqwest::header::HeaderName;
use api_toolkit::simulate::{Ending, Step};
use api_toolkit::{
    AttemptOutcome, CallRecord, Method, RateLimitReset, ResetForm, RetrySettings, Session,
    WaitSource,
};
use testkit::conformance::generate::Rng;
use testkit::{Reply, TestServer};

/// One attempt's outcome, for both sides.
#[derive(Clone, Debug)]
enum Planned {
    Status(u16, Vec<(&'static str, String)>),
    Closed,
}

impl Planned {
    fn step(&self) -> Step {
        match self {
            Planned::Status(status, headers) => headers
                .iter()
                .fold(Step::status(*status), |step, (name, value)| {
                    step.header(name, value)
                }),
            Planned::Closed => Step::closed(),
        }
    }

    fn reply(&self) -> Reply {
        match self {
            Planned::Status(status, headers) => headers
                .iter()
                .fold(Reply::status(*status), |reply, (name, value)| {
                    reply.header(name, value)
                }),
            Planned::Closed => Reply::Close,
        }
    }
}

/// Settings whose rules read no wall clock and draw no chance: jitter, budgets, shared holds
/// and epoch resets are the simulator's own tests'.
fn settings(rng: &mut Rng) -> RetrySettings {
    let mut allowed_methods = vec![Method::GET];
    if rng.percent(50) {
        allowed_methods.push(Method::POST);
    }
    RetrySettings {
        max_retries: rng.pick(&[0, 1, 2, 3, 4]),
        backoff_factor: rng.pick(&[0.0, 0.5, 1.0, 2.0]),
        status_forcelist: [429, 500, 502, 503]
            .into_iter()
            .filter(|_| rng.percent(75))
            .collect(),
        allowed_methods,
        raise_on_status: rng.percent(30),
        error_for_status: rng.percent(20),
        backoff_max: rng.pick(&[
            Duration::from_secs(1),
            Duration::from_secs(3),
            Duration::from_secs(120),
        ]),
        respect_retry_after_header: rng.percent(80),
        retry_after_max: rng.pick(&[
            Duration::from_secs(2),
            Duration::from_secs(10),
            Duration::from_secs(120),
        ]),
        respect_retry_after_ms: rng.percent(30),
        should_retry_header: rng
            .percent(30)
            .then(|| HeaderName::from_static("x-should-retry")),
        rate_limit_reset: rng.percent(30).then(|| RateLimitReset {
            form: ResetForm::DeltaSeconds,
            ..RateLimitReset::default()
        }),
        keyed_retries: rng.percent(20),
        ..RetrySettings::default()
    }
}

fn planned(rng: &mut Rng) -> Planned {
    if rng.percent(15) {
        return Planned::Closed;
    }
    let status = rng.pick(&[200, 201, 404, 403, 429, 429, 500, 502, 503, 503, 503]);
    let mut headers = Vec::new();
    if rng.percent(30) {
        headers.push((
            "retry-after",
            rng.pick(&["0", "1", "3", "15", "soon"]).to_owned(),
        ));
    }
    if rng.percent(20) {
        headers.push(("retry-after-ms", rng.pick(&["250", "1500", "x"]).to_owned()));
    }
    if rng.percent(20) {
        headers.push((
            "x-should-retry",
            rng.pick(&["true", "false", "maybe"]).to_owned(),
        ));
    }
    if rng.percent(20) {
        headers.push(("x-ratelimit-remaining", rng.pick(&["0", "5"]).to_owned()));
        headers.push(("x-ratelimit-reset", rng.pick(&["1", "4", "30"]).to_owned()));
    }
    Planned::Status(status, headers)
}

fn ending(result: api_toolkit::Result<api_toolkit::reqwest::Response>) -> (Ending, CallRecord) {
    match result {
        Ok(response) => (
            Ending::Response(response.status()),
            CallRecord::of(&response).clone(),
        ),
        Err(error) => (
            Ending::Error {
                kind: error.kind(),
                status: error.status(),
            },
            error.record().clone(),
        ),
    }
}

#[test]
fn the_simulator_and_a_real_session_keep_identical_records() {
    let cases: u64 =
        std::env::var("SIMULATOR_CASES").map_or(1000, |n| n.parse().expect("a number"));
    let seed: u64 = std::env::var("SIMULATOR_SEED").map_or(0x51_u64, |n| n.parse().expect("a u64"));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    let session = runtime.block_on(async {
        Session::builder()
            .client_builder(testkit::dns::client_builder().no_proxy().tls_certs_only([]))
            .build()
            .unwrap()
    });
    let mut rng = Rng::new(seed);
    let mut differences = Vec::new();
    let mut seen = Coverage::default();
    for case in 0..cases {
        let settings = settings(&mut rng);
        let method = if rng.percent(70) {
            Method::GET
        } else {
            Method::POST
        };
        let script: Vec<Planned> = (0..=settings.max_retries)
            .map(|_| planned(&mut rng))
            .collect();
        let simulated = settings
            .simulate(method.clone(), script.iter().map(Planned::step))
            .unwrap();
        session.set_retry_settings(settings.clone()).unwrap();
        let (real_ending, real_record, received) = runtime.block_on(async {
            let server = TestServer::start(script.iter().map(Planned::reply).collect()).await;
            let result = session
                .request(method.clone(), server.url("/"))
                .body("x")
                .send()
                .await;
            let (ending, record) = ending(result);
            (ending, record, server.count())
        });
        assert_eq!(
            received as u32,
            real_record.attempt_count(),
            "case {case}: the server saw every attempt"
        );
        seen.add(&real_record);
        if (simulated.ending(), simulated.record()) != (real_ending, &real_record) {
            differences.push(format!(
                "case {case}: {method} {settings:?}\nscript {script:?}\nsimulated {:?} {:#?}\nreal {real_ending:?} {real_record:#?}",
                simulated.ending(),
                simulated.record()
            ));
        }
    }
    assert!(
        differences.is_empty(),
        "{} of {cases} differ (seed {seed}); the first:\n{}",
        differences.len(),
        differences[0]
    );
    println!("{cases} scripts: {seen:?}");
    if cases >= 1000 {
        // The scripts reach every kind of wait and outcome the comparison is about.
        assert!(
            seen.retries > cases / 2 && seen.closed > 50 && seen.gave_up > 100,
            "{seen:?}"
        );
        for source in [
            WaitSource::Backoff,
            WaitSource::RetryAfter,
            WaitSource::RetryAfterMs,
            WaitSource::RateLimitReset,
        ] {
            assert!(
                seen.sources.contains(&source),
                "no {source:?} wait: {seen:?}"
            );
        }
    }
}

/// What the compared records covered.
#[derive(Debug, Default)]
struct Coverage {
    retries: u64,
    closed: u64,
    gave_up: u64,
    sources: Vec<WaitSource>,
}

impl Coverage {
    fn add(&mut self, record: &CallRecord) {
        self.retries += u64::from(record.attempt_count().saturating_sub(1));
        self.gave_up += u64::from(record.give_up().is_some());
        for attempt in record.attempts() {
            self.closed += u64::from(attempt.outcome() == AttemptOutcome::Closed);
            if !self.sources.contains(&attempt.wait_source()) {
                self.sources.push(attempt.wait_source());
            }
        }
    }
}
