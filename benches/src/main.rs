//! Benchmark of api-toolkit against raw reqwest, reqwest-middleware + reqwest-retry and the
//! Python original's stack (requests + urllib3), against a hyper server on 127.0.0.1.
//!
//! ```text
//! cargo run --release -p api-toolkit-bench              # full run, a few minutes
//! cargo run --release -p api-toolkit-bench -- --quick   # under 30 s (CI)
//! ```
//!
//! Each round runs every workload once per driver, interleaved (A B C D, then D C B A, …), so
//! drift of the machine hits every driver alike and no driver always follows the same one; the
//! table reports medians over rounds, and each driver's ratio to raw reqwest is the median of
//! its per-round ratios (rounds.csv has every sample).

mod alloc;
#[cfg(feature = "blocking")]
mod blocking;
mod drivers;
#[cfg(feature = "front-ends")]
mod front_ends;
mod load;
mod python;
#[cfg(feature = "fleet")]
mod redis;
mod report;
mod server;
mod tail;

use std::cell::LazyCell;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use api_toolkit::RetrySettings;

#[cfg(feature = "fleet")]
use crate::drivers::LazyFleet;
use crate::drivers::{Adjusted, Driver, Middleware, Raw, Toolkit};
#[cfg(feature = "front-ends")]
use crate::front_ends::{Layer, Service, ToolkitMiddleware};
use crate::load::Sample;
use crate::report::{Results, Row};
use crate::server::Server;

#[global_allocator]
static ALLOCATOR: alloc::Counting = alloc::Counting;

/// A load: which path, at which concurrency, by which drivers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Workload {
    pub(crate) name: &'static str,
    pub(crate) path: &'static str,
    pub(crate) concurrency: usize,
    pub(crate) drivers: &'static [DriverId],
}

/// The clients measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum DriverId {
    Raw,
    Toolkit,
    Middleware,
    Python,
    /// api-toolkit while another task replaces its settings 1,000 times a second.
    ToolkitChurn,
    /// api-toolkit with a classifier that defers (instruction counts only).
    ToolkitClassified,
    /// api-toolkit with the default circuit breaker (instruction counts only).
    ToolkitBreaker,
    /// api-toolkit with default adaptive throttling (instruction counts only).
    ToolkitThrottled,
    /// `Session::from_service` over reqwest's client (instruction counts only).
    #[cfg(feature = "front-ends")]
    ToolkitService,
    /// `RetryLayer` over reqwest's client in a tower stack (instruction counts only).
    #[cfg(feature = "front-ends")]
    ToolkitLayer,
    /// `RetryMiddleware` in reqwest-middleware (instruction counts only).
    #[cfg(feature = "front-ends")]
    ToolkitMiddleware,
    /// api-toolkit in a fleet over redis-server (instruction counts only).
    #[cfg(feature = "fleet")]
    ToolkitFleet,
    /// api-toolkit in a fleet with every setting it shares on (instruction counts only).
    #[cfg(feature = "fleet")]
    ToolkitFleetAll,
}

impl DriverId {
    pub(crate) fn label(self) -> &'static str {
        match self {
            DriverId::Raw => "raw reqwest",
            DriverId::Toolkit => "api-toolkit",
            DriverId::Middleware => "reqwest-retry",
            DriverId::Python => "python requests",
            DriverId::ToolkitChurn => "api-toolkit + settings churn",
            DriverId::ToolkitClassified => "api-toolkit + deferring classifier",
            DriverId::ToolkitBreaker => "api-toolkit + circuit breaker",
            DriverId::ToolkitThrottled => "api-toolkit + throttling",
            #[cfg(feature = "front-ends")]
            DriverId::ToolkitService => "api-toolkit over a service",
            #[cfg(feature = "front-ends")]
            DriverId::ToolkitLayer => "api-toolkit RetryLayer",
            #[cfg(feature = "front-ends")]
            DriverId::ToolkitMiddleware => "api-toolkit middleware",
            #[cfg(feature = "fleet")]
            DriverId::ToolkitFleet => "api-toolkit in a fleet",
            #[cfg(feature = "fleet")]
            DriverId::ToolkitFleetAll => "api-toolkit in a fleet, all it shares on",
        }
    }
}

const ALL: &[DriverId] = &[
    DriverId::Raw,
    DriverId::Toolkit,
    DriverId::Middleware,
    DriverId::Python,
];

pub(crate) const WORKLOADS: &[Workload] = &[
    Workload {
        name: "small 200, c=1",
        path: server::SMALL,
        concurrency: 1,
        drivers: ALL,
    },
    Workload {
        name: "small 200, c=32",
        path: server::SMALL,
        concurrency: 32,
        drivers: ALL,
    },
    Workload {
        name: "64 KiB 200, c=8",
        path: server::BIG,
        concurrency: 8,
        drivers: ALL,
    },
    Workload {
        name: "20% 503, c=32",
        path: server::FLAKY,
        concurrency: 32,
        drivers: ALL,
    },
    Workload {
        name: "20% 503 (48 KiB page), c=32",
        path: server::FLAKY_PAGE,
        concurrency: 32,
        drivers: &[DriverId::Toolkit, DriverId::Middleware, DriverId::Python],
    },
    Workload {
        name: "settings churn, c=64",
        path: server::SMALL,
        concurrency: 64,
        drivers: &[DriverId::Raw, DriverId::Toolkit, DriverId::ToolkitChurn],
    },
];

/// How long and how often.
#[derive(Clone, Debug)]
struct Plan {
    rounds: usize,
    warmup: Duration,
    duration: Duration,
    alloc_calls: u64,
    python: bool,
    out: PathBuf,
    quick: bool,
    /// `--only <workload index> <driver>`: one segment, for a profiler.
    only: Option<(usize, DriverId)>,
    /// `--allocs`: only the allocation counts.
    allocs_only: bool,
    /// `--blocking`: the blocking Session against `reqwest::blocking` (see blocking.rs).
    blocking: bool,
    /// `--driver <driver>`: with `--allocs`, only this driver.
    driver: Option<DriverId>,
    /// `--alloc-big`: with `--allocs`, count calls of the 64 KiB response instead.
    alloc_big: bool,
    /// `--alloc-concurrency N`: with `--allocs`, the calls are made by N tasks at once.
    alloc_concurrency: u64,
    /// `--workloads 0,1`: only these workloads (indexes into [`WORKLOADS`]).
    workloads: Option<Vec<usize>>,
    /// `--drivers raw,toolkit`: only these drivers.
    drivers: Option<Vec<DriverId>>,
    /// Pin the client and the server to cores of their own (`--no-pin` to leave it to the OS).
    pin: bool,
    /// `--hedging`: only the tail-latency figure of hedged requests (see tail.rs).
    hedging: bool,
}

fn parse_args() -> Result<Plan, String> {
    let mut plan = Plan {
        rounds: 20,
        warmup: Duration::from_millis(200),
        duration: Duration::from_millis(500),
        alloc_calls: 10_000,
        python: true,
        out: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/results")),
        quick: false,
        only: None,
        allocs_only: false,
        blocking: false,
        driver: None,
        alloc_big: false,
        alloc_concurrency: 1,
        workloads: None,
        drivers: None,
        pin: true,
        hedging: false,
    };
    let mut out = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--quick" => {
                plan.quick = true;
                plan.rounds = 3;
                plan.warmup = Duration::from_millis(50);
                plan.duration = Duration::from_millis(200);
                plan.alloc_calls = 2_000;
            }
            "--rounds" => plan.rounds = number(&value("--rounds")?)?,
            "--secs" => plan.duration = Duration::from_secs_f64(number(&value("--secs")?)?),
            "--no-python" => plan.python = false,
            "--no-pin" => plan.pin = false,
            "--workloads" => {
                let list = value("--workloads")?;
                plan.workloads = Some(list.split(',').map(number).collect::<Result<_, _>>()?);
            }
            "--drivers" => {
                let list = value("--drivers")?;
                plan.drivers = Some(list.split(',').map(driver).collect::<Result<_, _>>()?);
            }
            "--allocs" => plan.allocs_only = true,
            "--blocking" => plan.blocking = true,
            "--hedging" => plan.hedging = true,
            "--driver" => plan.driver = Some(driver(&value("--driver")?)?),
            "--alloc-calls" => plan.alloc_calls = number(&value("--alloc-calls")?)?,
            "--alloc-big" => plan.alloc_big = true,
            "--alloc-concurrency" => {
                plan.alloc_concurrency = number(&value("--alloc-concurrency")?)?;
                if plan.alloc_concurrency == 0 {
                    return Err("--alloc-concurrency must be at least 1".into());
                }
            }
            "--out" => out = Some(PathBuf::from(value("--out")?)),
            "--only" => {
                let workload: usize = number(&value("--only")?)?;
                let driver = driver(&value("--only")?)?;
                if workload >= WORKLOADS.len() {
                    return Err(format!("workloads are 0..{}", WORKLOADS.len()));
                }
                plan.only = Some((workload, driver));
            }
            "-h" | "--help" => {
                return Err(
                    "usage: api-toolkit-bench [--quick] [--rounds N] [--secs S] \
                    [--no-python] [--no-pin] [--out DIR] [--workloads 0,1,..] [--drivers raw,..] [--only <workload 0-5> <driver>] \
                    [--allocs [--driver <driver>] [--alloc-calls N] [--alloc-big] [--alloc-concurrency N]] [--blocking] [--hedging]; drivers: raw, toolkit, \
                    middleware, python, churn; counted only when named: classified, breaker, throttled, service, layer, \
                    toolkit-middleware (these three: --features front-ends), fleet, fleet-all (--features fleet; each \
                    starts a redis-server of its own)"
                        .into(),
                )
            }
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    // A quick run must not overwrite the committed results of a full run.
    plan.out = out.unwrap_or(if plan.quick {
        PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../target/api-toolkit-bench"
        ))
    } else {
        plan.out
    });
    Ok(plan)
}

fn driver(name: &str) -> Result<DriverId, String> {
    Ok(match name {
        "raw" => DriverId::Raw,
        "toolkit" => DriverId::Toolkit,
        "middleware" => DriverId::Middleware,
        "python" => DriverId::Python,
        "churn" => DriverId::ToolkitChurn,
        "classified" => DriverId::ToolkitClassified,
        "breaker" => DriverId::ToolkitBreaker,
        "throttled" => DriverId::ToolkitThrottled,
        #[cfg(feature = "front-ends")]
        "service" => DriverId::ToolkitService,
        #[cfg(feature = "front-ends")]
        "layer" => DriverId::ToolkitLayer,
        #[cfg(feature = "front-ends")]
        "toolkit-middleware" => DriverId::ToolkitMiddleware,
        #[cfg(not(feature = "front-ends"))]
        "service" | "layer" | "toolkit-middleware" => {
            return Err(format!(
                "the driver {name:?} needs a build with --features front-ends"
            ))
        }
        #[cfg(feature = "fleet")]
        "fleet" => DriverId::ToolkitFleet,
        #[cfg(feature = "fleet")]
        "fleet-all" => DriverId::ToolkitFleetAll,
        #[cfg(not(feature = "fleet"))]
        "fleet" | "fleet-all" => {
            return Err(format!(
                "the driver {name:?} needs a build with --features fleet"
            ))
        }
        other => return Err(format!("unknown driver {other:?}")),
    })
}

fn number<T: std::str::FromStr>(text: &str) -> Result<T, String> {
    text.parse().map_err(|_| format!("not a number: {text:?}"))
}

/// The clients, each built on first use and kept warm across rounds: a run that measures one
/// driver builds only that one, so that the others' start-up leaves no trace in its heap (which
/// moved the instruction counts of a driver by a few hundred when another driver changed).
struct Clients {
    raw: LazyCell<Arc<Raw>, fn() -> Arc<Raw>>,
    toolkit: LazyCell<Arc<Toolkit>, fn() -> Arc<Toolkit>>,
    middleware: LazyCell<Arc<Middleware>, fn() -> Arc<Middleware>>,
    classified: LazyCell<Arc<Adjusted>, fn() -> Arc<Adjusted>>,
    breaker: LazyCell<Arc<Adjusted>, fn() -> Arc<Adjusted>>,
    throttled: LazyCell<Arc<Adjusted>, fn() -> Arc<Adjusted>>,
    #[cfg(feature = "front-ends")]
    service: LazyCell<Arc<Service>, fn() -> Arc<Service>>,
    #[cfg(feature = "front-ends")]
    layer: LazyCell<Arc<Layer>, fn() -> Arc<Layer>>,
    #[cfg(feature = "front-ends")]
    toolkit_middleware: LazyCell<Arc<ToolkitMiddleware>, fn() -> Arc<ToolkitMiddleware>>,
    /// Started on the runtime (the fleet connects asynchronously), on first use as the others.
    #[cfg(feature = "fleet")]
    fleet: LazyFleet,
    #[cfg(feature = "fleet")]
    fleet_all: LazyFleet,
}

fn main() {
    let plan = match parse_args() {
        Ok(plan) => plan,
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(2);
        }
    };
    let started = Instant::now();
    if cfg!(debug_assertions) {
        eprintln!("note: a debug build; run with --release for meaningful figures");
    }
    // The client (and the Python child, which inherits the mask) on the first core, the
    // server on the last: on two cores each side gets one, and the scheduler cannot put both
    // on the same core for a while, which made runs differ by a third.
    let cores = core_affinity::get_core_ids().unwrap_or_default();
    let (client_core, server_core) = match (cores.first(), cores.last()) {
        (Some(&first), Some(&last)) if plan.pin && first != last => (Some(first), Some(last)),
        _ => (None, None),
    };
    if let Some(core) = client_core {
        core_affinity::set_for_current(core);
    }
    if plan.hedging {
        tail::run(if plan.quick { 1_000 } else { 4_000 }, server_core);
        return;
    }
    let server = Server::start(server_core).expect("the server starts");
    if plan.blocking {
        #[cfg(feature = "blocking")]
        blocking::run(&server, plan.rounds, plan.duration);
        #[cfg(not(feature = "blocking"))]
        eprintln!("--blocking needs a build with --features blocking");
        return;
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let clients = Clients {
        raw: LazyCell::new(|| Arc::new(Raw::new())),
        toolkit: LazyCell::new(|| {
            Arc::new(Toolkit::new().expect("the connector's session builds"))
        }),
        middleware: LazyCell::new(|| Arc::new(Middleware::new())),
        classified: LazyCell::new(|| {
            Arc::new(Adjusted::classified().expect("the connector's session builds"))
        }),
        breaker: LazyCell::new(|| {
            Arc::new(Adjusted::breaker().expect("the connector's session builds"))
        }),
        throttled: LazyCell::new(|| {
            Arc::new(Adjusted::throttled().expect("the connector's session builds"))
        }),
        #[cfg(feature = "front-ends")]
        service: LazyCell::new(|| Arc::new(Service::new().expect("the session builds"))),
        #[cfg(feature = "front-ends")]
        layer: LazyCell::new(|| Arc::new(Layer::new().expect("the layer builds"))),
        #[cfg(feature = "front-ends")]
        toolkit_middleware: LazyCell::new(|| {
            Arc::new(ToolkitMiddleware::new().expect("the middleware builds"))
        }),
        #[cfg(feature = "fleet")]
        fleet: LazyFleet::defaults(),
        #[cfg(feature = "fleet")]
        fleet_all: LazyFleet::all(),
    };
    let python = if plan.python && plan.only.is_none_or(|(_, d)| d == DriverId::Python) {
        match python::available() {
            Ok(versions) => Some(versions),
            Err(reason) => {
                eprintln!("notice: skipping the Python driver: {reason}");
                None
            }
        }
    } else {
        None
    };

    if let Some((workload, driver)) = plan.only {
        let sample = segment(
            &runtime,
            &server,
            &clients,
            &WORKLOADS[workload],
            driver,
            &plan,
        );
        match sample {
            Some(s) => println!(
                "{} / {}: {:.0} calls/s, p50 {:?}, p99 {:?}, {:.3} attempts/call, {} new connections",
                WORKLOADS[workload].name,
                driver.label(),
                s.per_second(),
                s.p50,
                s.p99,
                s.attempts_per_call(),
                s.server.connections
            ),
            None => println!("skipped"),
        }
        return;
    }

    let small = server.url(if plan.alloc_big {
        server::BIG
    } else {
        server::SMALL
    });
    let count_allocations = |only: Option<DriverId>| {
        let wanted = |driver| only.is_none_or(|only| only == driver);
        runtime.block_on(async {
            let mut counts = Vec::new();
            // A macro rather than a loop: each driver is its own type.
            macro_rules! count {
                ($id:expr, $driver:expr) => {
                    if wanted($id) {
                        let count = load::allocations(
                            $driver,
                            &small,
                            plan.alloc_calls,
                            plan.alloc_concurrency,
                        )
                        .await;
                        counts.push(($id, count));
                    }
                };
            }
            count!(DriverId::Raw, &*clients.raw);
            count!(DriverId::Toolkit, &*clients.toolkit);
            count!(DriverId::Middleware, &*clients.middleware);
            // Only when asked for: not part of the benchmark's tables.
            if only == Some(DriverId::ToolkitClassified) {
                count!(DriverId::ToolkitClassified, &*clients.classified);
            }
            if only == Some(DriverId::ToolkitBreaker) {
                count!(DriverId::ToolkitBreaker, &*clients.breaker);
            }
            if only == Some(DriverId::ToolkitThrottled) {
                count!(DriverId::ToolkitThrottled, &*clients.throttled);
            }
            #[cfg(feature = "front-ends")]
            if only == Some(DriverId::ToolkitService) {
                count!(DriverId::ToolkitService, &*clients.service);
            }
            #[cfg(feature = "front-ends")]
            if only == Some(DriverId::ToolkitLayer) {
                count!(DriverId::ToolkitLayer, &*clients.layer);
            }
            #[cfg(feature = "front-ends")]
            if only == Some(DriverId::ToolkitMiddleware) {
                count!(DriverId::ToolkitMiddleware, &*clients.toolkit_middleware);
            }
            #[cfg(feature = "fleet")]
            if only == Some(DriverId::ToolkitFleet) {
                count!(DriverId::ToolkitFleet, clients.fleet.get().await);
            }
            #[cfg(feature = "fleet")]
            if only == Some(DriverId::ToolkitFleetAll) {
                count!(DriverId::ToolkitFleetAll, clients.fleet_all.get().await);
            }
            counts
        })
    };
    if plan.allocs_only {
        for (driver, (allocs, bytes)) in count_allocations(plan.driver) {
            println!(
                "{}: {allocs:.2} allocations, {bytes:.0} bytes per call",
                driver.label()
            );
        }
        return;
    }

    let mut results = Results::new(plan.rounds);
    for round in 0..plan.rounds {
        if round > 0 {
            results.next_round();
        }
        for (index, workload) in WORKLOADS.iter().enumerate() {
            if plan.workloads.as_ref().is_some_and(|w| !w.contains(&index)) {
                continue;
            }
            // A B C D in even rounds, D C B A in odd ones: no driver always runs right after
            // another's (the Python child's exit, a cold pool), so the order's effect cancels.
            let mut order = workload.drivers.to_vec();
            if round % 2 == 1 {
                order.reverse();
            }
            for driver in order {
                if driver == DriverId::Python && python.is_none()
                    || plan.drivers.as_ref().is_some_and(|d| !d.contains(&driver))
                {
                    continue;
                }
                if let Some(sample) = segment(&runtime, &server, &clients, workload, driver, &plan)
                {
                    results.add(workload, driver, sample);
                }
            }
        }
        eprintln!(
            "round {}/{} done ({:.1} s)",
            round + 1,
            plan.rounds,
            started.elapsed().as_secs_f64()
        );
    }

    let allocations = count_allocations(None);

    let machine = report::machine(cores.len(), client_core.is_some(), python.as_deref());
    let settings = format!(
        "{} rounds × {:.2} s per segment (after {:.2} s warm-up); allocations over {} sequential calls",
        plan.rounds,
        plan.duration.as_secs_f64(),
        plan.warmup.as_secs_f64(),
        plan.alloc_calls
    );
    let markdown = results.markdown(&machine, &settings, &allocations);
    println!("{markdown}");
    let rows: Vec<Row> = results.rows();
    if let Err(error) = std::fs::create_dir_all(&plan.out)
        .and_then(|()| std::fs::write(plan.out.join("results.md"), &markdown))
        .and_then(|()| std::fs::write(plan.out.join("rounds.csv"), results.csv()))
        .and_then(|()| {
            std::fs::write(
                plan.out.join("throughput.svg"),
                report::svg(&rows, &machine),
            )
        })
    {
        eprintln!("could not write to {}: {error}", plan.out.display());
    } else {
        eprintln!(
            "wrote {}/results.md, rounds.csv and throughput.svg",
            plan.out.display()
        );
    }
    eprintln!("total {:.1} s", started.elapsed().as_secs_f64());
}

/// Runs one driver on one workload; `None` when the Python driver failed.
fn segment(
    runtime: &tokio::runtime::Runtime,
    server: &Server,
    clients: &Clients,
    workload: &Workload,
    driver: DriverId,
    plan: &Plan,
) -> Option<Sample> {
    let url = server.url(workload.path);
    let (c, warmup, duration) = (workload.concurrency, plan.warmup, plan.duration);
    let run = |driver| {
        let url = &url;
        async move {
            match driver {
                DriverId::Raw => measure(&*clients.raw, server, url, c, warmup, duration).await,
                DriverId::Toolkit => {
                    measure(&*clients.toolkit, server, url, c, warmup, duration).await
                }
                DriverId::Middleware => {
                    measure(&*clients.middleware, server, url, c, warmup, duration).await
                }
                DriverId::ToolkitClassified => {
                    measure(&*clients.classified, server, url, c, warmup, duration).await
                }
                DriverId::ToolkitBreaker => {
                    measure(&*clients.breaker, server, url, c, warmup, duration).await
                }
                DriverId::ToolkitThrottled => {
                    measure(&*clients.throttled, server, url, c, warmup, duration).await
                }
                #[cfg(feature = "front-ends")]
                DriverId::ToolkitService => {
                    measure(&*clients.service, server, url, c, warmup, duration).await
                }
                #[cfg(feature = "front-ends")]
                DriverId::ToolkitLayer => {
                    measure(&*clients.layer, server, url, c, warmup, duration).await
                }
                #[cfg(feature = "front-ends")]
                DriverId::ToolkitMiddleware => {
                    measure(
                        &*clients.toolkit_middleware,
                        server,
                        url,
                        c,
                        warmup,
                        duration,
                    )
                    .await
                }
                #[cfg(feature = "fleet")]
                DriverId::ToolkitFleet => {
                    let driver = clients.fleet.get().await;
                    measure(driver, server, url, c, warmup, duration).await
                }
                #[cfg(feature = "fleet")]
                DriverId::ToolkitFleetAll => {
                    let driver = clients.fleet_all.get().await;
                    measure(driver, server, url, c, warmup, duration).await
                }
                DriverId::ToolkitChurn => {
                    let churn = churn(&clients.toolkit);
                    load::run(
                        &*clients.toolkit,
                        server,
                        url,
                        c,
                        warmup,
                        duration,
                        Some(churn),
                    )
                    .await
                }
                DriverId::Python => unreachable!("run in a child process"),
            }
        }
    };
    if driver == DriverId::Python {
        return match python::run(server, &url, c, warmup, duration) {
            Ok(sample) => Some(sample),
            Err(error) => {
                eprintln!("python driver failed: {error}");
                None
            }
        };
    }
    Some(runtime.block_on(run(driver)))
}

async fn measure<D: Driver>(
    driver: &Arc<D>,
    server: &Server,
    url: &str,
    concurrency: usize,
    warmup: Duration,
    duration: Duration,
) -> Sample {
    load::run(driver, server, url, concurrency, warmup, duration, None).await
}

/// A task that replaces the connector's settings every millisecond until the end of the
/// segment, alternating between two valid settings; it returns how many it made.
fn churn(toolkit: &Toolkit) -> Box<dyn FnOnce(Instant) -> tokio::task::JoinHandle<u64>> {
    use api_toolkit::ApiConnector;
    let session = toolkit.session().clone();
    let a = session.retry_settings();
    let b = RetrySettings {
        max_retries: a.max_retries + 1,
        ..a.clone()
    };
    Box::new(move |end| {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(1));
            let mut swaps = 0u64;
            while Instant::now() < end {
                tick.tick().await;
                let next = if swaps.is_multiple_of(2) {
                    b.clone()
                } else {
                    a.clone()
                };
                session.set_retry_settings(next).expect("valid settings");
                swaps += 1;
            }
            // Leave the connector as it was.
            session.set_retry_settings(a).expect("valid settings");
            swaps
        })
    })
}
