//! Random scenarios from a seed: the same seed gives the same scenario, which replays it.

use std::time::Duration;

use super::model::{self, Expectation};
use super::scenario::{
    Behaviour, Body, Call, Front, Hints, Hop, Method, Rule, Scenario, Settings, Target,
};

/// SplitMix64: small, fast, and the same everywhere, so that a printed seed replays.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator started at `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// True with probability `percent` / 100.
    pub fn percent(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    /// One of `items`.
    pub fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())].clone()
    }

    /// A duration of `low..=high` milliseconds.
    pub fn millis(&mut self, low: u64, high: u64) -> Duration {
        Duration::from_millis(low + self.next_u64() % (high - low + 1))
    }
}

/// The seed of case `case` of a run seeded with `seed`: case 0 is `seed` itself, so that a
/// failing case replays as a run of one case with its own seed.
pub fn case_seed(seed: u64, case: u64) -> u64 {
    if case == 0 {
        seed
    } else {
        Rng::new(seed ^ case.wrapping_mul(0xD6E8_FEB8_6659_FD93)).next_u64()
    }
}

/// The scenario of `seed` and what the model expects of it, with how many scenarios were
/// drawn and set aside as ambiguous before it.
pub fn scenario(seed: u64, front: Front) -> (Scenario, Expectation, usize) {
    let mut rng = Rng::new(seed);
    for discarded in 0.. {
        let mut scenario = draw(&mut rng, seed);
        // The same draws for every front end, then what it cannot express taken out.
        scenario.front = front;
        if !front.per_call_settings() {
            for call in &mut scenario.calls {
                call.own_settings = None;
            }
        }
        if let Ok(expectation) = model::expect(&scenario) {
            return (scenario, expectation, discarded);
        }
    }
    unreachable!()
}

fn draw(rng: &mut Rng, seed: u64) -> Scenario {
    let servers = 2 + rng.below(2);
    let share = rng.percent(15);
    let mut settings = settings(rng, share);
    // From a generator of its own, so that the scenarios drawn before `replay_limit` existed
    // stay what they were. Around the bodies' lengths (a call's index, a colon and up to 16
    // hex digits).
    settings.replay_limit = Rng::new(seed ^ 0x5245_504C_4159).pick(&[0, 0, 0, 1, 16, 17, 18, 64]);
    let session_timeout = rng.percent(20).then(|| rng.millis(100, 400));
    let calls = if share || rng.percent(10) { 2 } else { 1 };
    let mut scenario = Scenario {
        seed,
        front: Front::Session,
        servers,
        session_timeout,
        settings,
        calls: Vec::new(),
    };
    for index in 0..calls {
        let call = call(rng, &scenario, index);
        scenario.calls.push(call);
    }
    scenario
}

fn settings(rng: &mut Rng, share: bool) -> Settings {
    let all = rng.percent(35);
    let mut allowed_methods: Vec<Method> = Method::ALL
        .into_iter()
        .filter(|_| all || rng.percent(50))
        .collect();
    if allowed_methods.is_empty() {
        allowed_methods.push(rng.pick(&Method::ALL));
    }
    Settings {
        max_retries: rng.pick(&[0, 1, 2, 2, 3, 3]),
        backoff_factor: rng.pick(&[0.0, 0.002, 0.01, 0.02]),
        status_forcelist: [413, 429, 500, 502, 503]
            .into_iter()
            .filter(|_| rng.percent(60))
            .collect(),
        allowed_methods,
        raise_on_status: rng.percent(30),
        error_for_status: rng.percent(20),
        backoff_max: rng.pick(&[
            Duration::from_millis(5),
            Duration::from_millis(15),
            Duration::from_secs(120),
        ]),
        respect_retry_after_header: rng.percent(80),
        // Shared holds last up to this cap: kept short where the next call may wait for one.
        retry_after_max: if share {
            Duration::from_millis(rng.pick(&[300, 500, 1500]))
        } else {
            Duration::from_millis(rng.pick(&[500, 2000, 120_000]))
        },
        total_timeout: rng.percent(25).then(|| rng.millis(150, 900)),
        attempt_timeout: rng.percent(25).then(|| rng.millis(100, 400)),
        idempotency_key: rng.percent(50),
        share_retry_after: share,
        respect_retry_after_ms: rng.percent(40),
        should_retry_header: rng.percent(40),
        rate_limit_reset: rng.percent(30),
        keyed_retries: rng.percent(30),
        classify: rng.percent(35).then(|| rng.pick(&Rule::ALL)),
        classify_body_bytes: rng.pick(&[0, 0, 8, 64]),
        replay_limit: 0,
    }
}

fn call(rng: &mut Rng, scenario: &Scenario, index: usize) -> Call {
    // POST and PATCH more often than the others: keys, keyed retries and the should-retry
    // header are about them.
    let method = if rng.percent(25) {
        rng.pick(&[Method::Post, Method::Patch])
    } else {
        rng.pick(&Method::ALL)
    };
    let own_key = rng.percent(if matches!(method, Method::Post | Method::Patch) {
        35
    } else {
        10
    });
    let bytes = format!("{index}:{:x}", rng.next_u64()).into_bytes();
    let body = if matches!(
        method,
        Method::Post | Method::Put | Method::Patch | Method::Delete
    ) {
        match rng.below(100) {
            0..45 => Body::Bytes(bytes),
            45..70 => Body::Stream(bytes),
            _ => Body::None,
        }
    } else {
        Body::None
    };
    let request_timeout = rng.percent(20).then(|| rng.millis(100, 400));
    // The second call of a sharing scenario sometimes runs with settings of its own, which
    // decide whether it waits for the first call's hold.
    let own_settings =
        (index > 0 && scenario.settings.share_retry_after && rng.percent(50)).then(|| {
            let mut own = scenario.settings.clone();
            match rng.below(3) {
                0 => own.respect_retry_after_header = false,
                1 => own.retry_after_max = Duration::from_millis(100),
                _ => own.total_timeout = Some(rng.millis(150, 400)),
            }
            own
        });
    let settings = own_settings.as_ref().unwrap_or(&scenario.settings);
    let can_hang = request_timeout.is_some()
        || scenario.session_timeout.is_some()
        || settings.attempt_timeout.is_some()
        || settings.total_timeout.is_some();
    let attempts = 1 + settings.max_retries as usize;
    let length = 1 + rng.pick(&[0, 0, 0, 0, 1, 1, 1, 2, 2, 3]);
    let mut hops: Vec<Hop> = (0..length)
        .map(|hop| {
            let target = match rng.below(100) {
                0..8 => Target::Refused,
                8..16 if can_hang => Target::NeverConnects,
                _ => Target::Server(rng.below(scenario.servers)),
            };
            let last = hop + 1 == length;
            let script = match target {
                Target::Server(_) => (0..attempts)
                    .map(|_| {
                        if !last && rng.percent(55) {
                            Behaviour::Redirect(rng.pick(&[301, 302, 303, 307, 308]))
                        } else {
                            terminal(rng, can_hang)
                        }
                    })
                    .collect(),
                _ => Vec::new(),
            };
            Hop { target, script }
        })
        .collect();
    // Sharing is tested by a second call to the origin the first call was sent to.
    if index > 0 && scenario.settings.share_retry_after {
        hops[0].target = match scenario.calls[0].hops[0].target {
            Target::NeverConnects if !can_hang => Target::Refused,
            target => target,
        };
        if hops[0].script.is_empty() {
            hops[0].script = vec![terminal(rng, can_hang)];
        }
        if !matches!(hops[0].target, Target::Server(_)) {
            hops[0].script.clear();
        }
    }
    Call {
        method,
        body,
        request_timeout,
        own_settings,
        unbuildable: rng.percent(3),
        own_key,
        hops,
    }
}

fn terminal(rng: &mut Rng, can_hang: bool) -> Behaviour {
    let behaviour = match rng.below(100) {
        0..24 => respond(200, None),
        24..28 => respond(404, None),
        28..33 => respond(409, retry_after(rng)),
        33..38 => respond(rng.pick(&[403, 429]), retry_after(rng)),
        38..66 => {
            let status = rng.pick(&[500, 502, 503, 429, 413]);
            respond(status, retry_after(rng))
        }
        66..74 => Behaviour::Respond {
            status: rng.pick(&[200, 500, 503]),
            retry_after: None,
            mid_body: true,
            hints: Hints::default(),
        },
        74..88 => Behaviour::Reset,
        _ if can_hang => Behaviour::Hang,
        _ => respond(503, retry_after(rng)),
    };
    match behaviour {
        Behaviour::Respond {
            status,
            retry_after,
            mid_body,
            hints: _,
        } => {
            let hints = hints(rng, status);
            Behaviour::Respond {
                status,
                retry_after,
                mid_body,
                hints,
            }
        }
        behaviour => behaviour,
    }
}

fn respond(status: u16, retry_after: Option<String>) -> Behaviour {
    Behaviour::Respond {
        status,
        retry_after,
        mid_body: false,
        hints: Hints::default(),
    }
}

/// The hint headers of issue 14 on a response, drawn whatever the settings read: small
/// waits (tens of milliseconds), some malformed, some beyond every `retry_after_max`.
fn hints(rng: &mut Rng, status: u16) -> Hints {
    let should_retry = rng.percent(30).then(|| {
        rng.pick(&[
            "true", "true", "false", "false", "TRUE", "False", "yes", "1", "",
        ])
        .to_owned()
    });
    let retry_after_ms = rng.percent(30).then(|| {
        rng.pick(&[
            "20", "50", "80", "120", "200", "0", "soon", "-5", "", "5000", "99999999",
        ])
        .to_owned()
    });
    let (remaining, reset) = if matches!(status, 403 | 429) && rng.percent(70) {
        let remaining = rng.pick(&["0", "0", "5"]).to_owned();
        let reset = rng.percent(85).then(|| {
            rng.pick(&["0.05", "0.1", "0.2", "0", "soon", "3600"])
                .to_owned()
        });
        (Some(remaining), reset)
    } else {
        (None, None)
    };
    Hints {
        should_retry,
        retry_after_ms,
        remaining,
        reset,
    }
}

fn retry_after(rng: &mut Rng) -> Option<String> {
    let value = match rng.below(100) {
        0..45 => return None,
        // A real wait of a second: rare, so that the default run stays short.
        45..49 => "1",
        49..61 => "3600",
        61..70 => "0",
        70..78 => "soon",
        78..84 => "",
        84..92 => "Wed, 21 Oct 2015 07:28:00 GMT",
        _ => "Fri, 01 Jan 2100 00:00:00 GMT",
    };
    Some(value.to_owned())
}
