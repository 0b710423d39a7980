//! Medians over rounds, the markdown table, the targets of issue 4, and the SVG chart.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::Duration;

use crate::load::Sample;
use crate::{DriverId, Workload, WORKLOADS};

/// Every sample, by workload, driver and round.
pub(crate) struct Results {
    rounds: usize,
    round: usize,
    samples: HashMap<(&'static str, DriverId), Vec<Option<Sample>>>,
}

/// One line of the table: medians over rounds.
pub(crate) struct Row {
    pub(crate) workload: &'static Workload,
    pub(crate) driver: DriverId,
    pub(crate) per_second: f64,
    pub(crate) p50: Duration,
    pub(crate) p99: Duration,
    /// The median of the per-round ratios to raw reqwest's calls/s.
    pub(crate) to_raw: Option<f64>,
    pub(crate) attempts_per_call: f64,
    /// The share of calls whose final status was 200, over all rounds.
    pub(crate) ok_share: f64,
    /// New connections the server accepted per retry, over all rounds.
    pub(crate) connections_per_retry: Option<f64>,
    pub(crate) swaps_per_second: f64,
    /// The client's CPU time per call, median over rounds.
    pub(crate) cpu_per_call: Option<Duration>,
}

impl Results {
    pub(crate) fn new(rounds: usize) -> Results {
        Results {
            rounds,
            round: 0,
            samples: HashMap::new(),
        }
    }

    /// Starts the next round.
    pub(crate) fn next_round(&mut self) {
        self.round += 1;
    }

    pub(crate) fn add(&mut self, workload: &Workload, driver: DriverId, sample: Sample) {
        let slots = self
            .samples
            .entry((workload.name, driver))
            .or_insert_with(|| vec![None; self.rounds]);
        slots[self.round] = Some(sample);
    }

    fn get(&self, workload: &Workload, driver: DriverId) -> impl Iterator<Item = &Sample> {
        self.samples
            .get(&(workload.name, driver))
            .into_iter()
            .flatten()
            .flatten()
    }

    /// The median over rounds of `f(a, b)` for the rounds where both drivers ran.
    fn paired(
        &self,
        workload: &Workload,
        a: DriverId,
        b: DriverId,
        f: impl Fn(&Sample, &Sample) -> f64,
    ) -> Option<f64> {
        median(self.per_round(workload, a, b, f)?)
    }

    /// `f(a, b)` for each round where both drivers ran.
    fn per_round(
        &self,
        workload: &Workload,
        a: DriverId,
        b: DriverId,
        f: impl Fn(&Sample, &Sample) -> f64,
    ) -> Option<Vec<f64>> {
        let (a, b) = (
            self.samples.get(&(workload.name, a))?,
            self.samples.get(&(workload.name, b))?,
        );
        Some(
            a.iter()
                .zip(b)
                .filter_map(|(a, b)| Some(f(a.as_ref()?, b.as_ref()?)))
                .collect(),
        )
    }

    /// The 95% confidence interval of [`paired`](Self::paired)'s median, when there are rounds
    /// enough for one.
    fn paired_interval(
        &self,
        workload: &Workload,
        a: DriverId,
        b: DriverId,
        f: impl Fn(&Sample, &Sample) -> f64,
    ) -> Option<(f64, f64)> {
        median_interval(self.per_round(workload, a, b, f)?)
    }

    /// calls/s of `a` over calls/s of `b`, median of the per-round ratios.
    fn ratio(&self, workload: &Workload, a: DriverId, b: DriverId) -> Option<f64> {
        self.paired(workload, a, b, throughput_ratio)
    }

    /// p50 of `a` minus p50 of `b` in microseconds, median over rounds.
    fn p50_overhead(&self, workload: &Workload, a: DriverId, b: DriverId) -> Option<f64> {
        self.paired(workload, a, b, p50_difference)
    }

    pub(crate) fn rows(&self) -> Vec<Row> {
        let mut rows = Vec::new();
        for workload in WORKLOADS {
            for &driver in workload.drivers {
                let samples: Vec<&Sample> = self.get(workload, driver).collect();
                if samples.is_empty() {
                    continue;
                }
                let of = |f: fn(&Sample) -> f64| median(samples.iter().map(|s| f(s)).collect());
                let calls: u64 = samples.iter().map(|s| s.calls).sum();
                let ok: u64 = samples.iter().map(|s| s.ok).sum();
                let requests: u64 = samples.iter().map(|s| s.server.requests).sum();
                let retries: u64 = samples.iter().map(|s| s.retries()).sum();
                let connections: u64 = samples.iter().map(|s| s.server.connections).sum();
                rows.push(Row {
                    workload,
                    driver,
                    per_second: of(Sample::per_second).unwrap_or(0.0),
                    p50: Duration::from_secs_f64(of(|s| s.p50.as_secs_f64()).unwrap_or(0.0)),
                    p99: Duration::from_secs_f64(of(|s| s.p99.as_secs_f64()).unwrap_or(0.0)),
                    to_raw: self.ratio(workload, driver, DriverId::Raw),
                    attempts_per_call: requests as f64 / calls.max(1) as f64,
                    ok_share: ok as f64 / calls.max(1) as f64,
                    connections_per_retry: (retries > 0)
                        .then(|| connections as f64 / retries as f64),
                    swaps_per_second: of(|s| s.swaps as f64 / s.elapsed.as_secs_f64())
                        .unwrap_or(0.0),
                    cpu_per_call: median(
                        samples
                            .iter()
                            .filter_map(|s| Some(s.cpu_per_call()?.as_secs_f64()))
                            .collect(),
                    )
                    .map(Duration::from_secs_f64),
                });
            }
        }
        rows
    }

    /// Every sample, one line each, in round order: the data behind the medians.
    pub(crate) fn csv(&self) -> String {
        let mut csv = String::from(
            "round,workload,driver,calls,seconds,calls_per_second,p50_us,p99_us,client_cpu_us_per_call,server_requests,server_connections\n",
        );
        for round in 0..self.rounds {
            for workload in WORKLOADS {
                for &driver in workload.drivers {
                    let Some(Some(s)) = self
                        .samples
                        .get(&(workload.name, driver))
                        .map(|slots| &slots[round])
                    else {
                        continue;
                    };
                    let _ = writeln!(
                        csv,
                        "{round},{},{},{},{:.3},{:.1},{:.1},{:.1},{},{},{}",
                        workload.name.replace(',', ";"),
                        driver.label(),
                        s.calls,
                        s.elapsed.as_secs_f64(),
                        s.per_second(),
                        s.p50.as_secs_f64() * 1e6,
                        s.p99.as_secs_f64() * 1e6,
                        s.cpu_per_call()
                            .map_or(String::new(), |c| format!("{:.2}", c.as_secs_f64() * 1e6)),
                        s.server.requests,
                        s.server.connections,
                    );
                }
            }
        }
        csv
    }

    /// The results table, the allocations and the targets, in markdown.
    pub(crate) fn markdown(
        &self,
        machine: &str,
        plan: &str,
        allocations: &[(DriverId, (f64, f64))],
    ) -> String {
        let mut md = String::new();
        let _ = writeln!(md, "Machine: {machine}  \nRun: {plan}\n");
        md.push_str(
            "| workload | driver | calls/s | p50 | p99 | × raw reqwest | client CPU/call | calls ending in 200 | attempts/call | new connections/retry |\n\
             |---|---|--:|--:|--:|--:|--:|--:|--:|--:|\n",
        );
        for row in self.rows() {
            let _ = writeln!(
                md,
                "| {} | {} | {:.0} | {} | {} | {} | {} | {:.1}% | {:.2} | {} |",
                row.workload.name,
                row.driver.label(),
                row.per_second,
                micros(row.p50),
                micros(row.p99),
                row.to_raw.map_or("—".into(), |r| format!("{r:.3}")),
                row.cpu_per_call.map_or("—".into(), micros),
                row.ok_share * 100.0,
                row.attempts_per_call,
                row.connections_per_retry
                    .map_or("—".into(), |c| format!("{c:.3}")),
            );
        }
        md.push_str(
            "\nHeap allocations per successful call (`GET /small`, body read; counted on the \
             client's thread):\n\n| driver | allocations/call | bytes/call |\n|---|--:|--:|\n",
        );
        for (driver, (allocs, bytes)) in allocations {
            let _ = writeln!(md, "| {} | {allocs:.2} | {bytes:.0} |", driver.label());
        }
        md.push_str("\nTargets (issue 4):\n\n");
        for line in self.targets(allocations) {
            let _ = writeln!(md, "- {line}");
        }
        md
    }

    fn targets(&self, allocations: &[(DriverId, (f64, f64))]) -> Vec<String> {
        use DriverId::{Middleware, Python, Raw, Toolkit, ToolkitChurn};
        let [c1, c32, big, flaky, flaky_page, churn] = WORKLOADS else {
            unreachable!("six workloads")
        };
        let verdict = |met: bool| if met { "met" } else { "MISSED" };
        // The success path's targets are within this machine's round-to-round noise: each
        // verdict, on the median, comes with the interval that says whether the run can tell.
        let interval = |interval: Option<(f64, f64)>, target: f64, digits: usize| {
            interval.map_or(String::new(), |(low, high)| {
                let tells = if low > target || high < target {
                    ""
                } else {
                    ", which holds the target: this run cannot tell"
                };
                format!(" (95% interval {low:.digits$} to {high:.digits$}{tells})")
            })
        };
        let mut lines = Vec::new();
        for workload in [c1, c32] {
            if let Some(ratio) = self.ratio(workload, Toolkit, Raw) {
                lines.push(format!(
                    "throughput ≥ 0.98 × raw reqwest, {}: {ratio:.3} — {}{}",
                    workload.name,
                    verdict(ratio >= 0.98),
                    interval(
                        self.paired_interval(workload, Toolkit, Raw, throughput_ratio),
                        0.98,
                        3
                    ),
                ));
            }
        }
        for workload in [c1, c32] {
            let cpu = self.paired(workload, Toolkit, Raw, |a, b| {
                match (a.cpu_per_call(), b.cpu_per_call()) {
                    (Some(a), Some(b)) => (a.as_secs_f64() - b.as_secs_f64()) * 1e9,
                    _ => f64::NAN,
                }
            });
            if let Some(extra) = cpu.filter(|extra| extra.is_finite()) {
                lines.push(format!(
                    "(for insight) client CPU per call over raw reqwest, {}: {extra:+.0} ns",
                    workload.name
                ));
            }
        }
        for workload in [c1, c32] {
            if let Some(extra) = self.p50_overhead(workload, Toolkit, Raw) {
                lines.push(format!(
                    "p50 overhead ≤ 5 µs, {}: {extra:+.1} µs — {}{}",
                    workload.name,
                    verdict(extra <= 5.0),
                    interval(
                        self.paired_interval(workload, Toolkit, Raw, p50_difference),
                        5.0,
                        1
                    ),
                ));
            }
        }
        let allocs = |driver| {
            allocations
                .iter()
                .find(|(d, _)| *d == driver)
                .map(|(_, (n, _))| *n)
        };
        if let (Some(raw), Some(toolkit)) = (allocs(Raw), allocs(Toolkit)) {
            lines.push(format!(
                "allocations per call ≤ raw + 4: {toolkit:.2} vs {raw:.2} (+{:.2}) — {}",
                toolkit - raw,
                verdict(toolkit <= raw + 4.0)
            ));
        }
        if let Some(ratio) = self.ratio(flaky, Toolkit, Middleware) {
            lines.push(format!(
                "20% 503: logical calls/s ≥ reqwest-retry's: {ratio:.2} × — {}",
                verdict(ratio >= 1.0)
            ));
        }
        if let Some(ratio) = self.ratio(churn, ToolkitChurn, Toolkit) {
            let swaps = self
                .rows()
                .iter()
                .find(|row| row.driver == ToolkitChurn)
                .map_or(0.0, |row| row.swaps_per_second);
            lines.push(format!(
                "settings churn ({swaps:.0} replacements/s) ≥ 0.95 × without: {ratio:.3} — {}",
                verdict(ratio >= 0.95)
            ));
        }
        let python: Vec<String> = [c1, c32, big, flaky]
            .into_iter()
            .filter_map(|w| {
                Some(format!(
                    "{} {:.0}×",
                    w.name,
                    self.ratio(w, Toolkit, Python)?
                ))
            })
            .collect();
        if python.is_empty() {
            lines.push(
                "vs the Python original: not measured (python3 with requests missing)".into(),
            );
        } else {
            lines.push(format!(
                "api-toolkit vs the Python original: {}",
                python.join(", ")
            ));
        }
        let p99 = |driver| {
            let row = self
                .rows()
                .into_iter()
                .find(|r| r.workload == flaky && r.driver == driver);
            row.map(|row| row.p99)
        };
        if let (Some(toolkit), Some(middleware)) = (p99(Toolkit), p99(Middleware)) {
            lines.push(format!(
                "zero waits skip the timer: p99 under 20% 503 {} (api-toolkit) vs {} (reqwest-retry, which sleeps 0)",
                micros(toolkit),
                micros(middleware)
            ));
        }
        for workload in [flaky, flaky_page] {
            let per_retry = self
                .rows()
                .into_iter()
                .filter(|r| r.workload == workload)
                .filter_map(|r| {
                    Some(format!(
                        "{} {:.3}",
                        r.driver.label(),
                        r.connections_per_retry?
                    ))
                })
                .collect::<Vec<_>>();
            lines.push(format!(
                "new connections per retry, {}: {}",
                workload.name,
                per_retry.join(", ")
            ));
        }
        lines
    }
}

/// calls/s of `a` over calls/s of `b`.
fn throughput_ratio(a: &Sample, b: &Sample) -> f64 {
    a.per_second() / b.per_second()
}

/// p50 of `a` minus p50 of `b`, in microseconds.
fn p50_difference(a: &Sample, b: &Sample) -> f64 {
    (a.p50.as_secs_f64() - b.p50.as_secs_f64()) * 1e6
}

fn median(mut values: Vec<f64>) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    })
}

/// The 95% confidence interval of the median of `values`, from their order statistics: the
/// median lies below the k-th smallest value with the probability that fewer than k of n fair
/// coin flips come up heads. `None` for fewer than 6 values, too few for a 95% interval.
fn median_interval(mut values: Vec<f64>) -> Option<(f64, f64)> {
    let n = values.len();
    // P(Binomial(n, 1/2) < k), for k = 0, 1, …, while it stays within 2.5%.
    let mut below = 0.0;
    let mut pmf = 0.5f64.powi(i32::try_from(n).ok()?);
    let mut k = 0;
    while k < n && below + pmf <= 0.025 {
        below += pmf;
        pmf *= (n - k) as f64 / (k + 1) as f64;
        k += 1;
    }
    if k == 0 {
        return None;
    }
    values.sort_by(f64::total_cmp);
    Some((values[k - 1], values[n - k]))
}

fn micros(duration: Duration) -> String {
    let us = duration.as_secs_f64() * 1e6;
    if us < 1000.0 {
        format!("{us:.1} µs")
    } else {
        format!("{:.2} ms", us / 1000.0)
    }
}

/// The machine, as far as the table needs it.
pub(crate) fn machine(cores: usize, pinned: bool, python: Option<&str>) -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name"))
        .and_then(|rest| rest.split_once(':'))
        .map_or("unknown CPU", |(_, name)| name.trim());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| {
            let kib: u64 = info
                .lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))?
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse()
                .ok()?;
            Some(format!(", {:.0} GiB", kib as f64 / 1024.0 / 1024.0))
        })
        .unwrap_or_default();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let python = python.map_or(String::new(), |v| format!("; {v}"));
    let placement = if pinned {
        "pinned to the first core, server: hyper HTTP/1.1 on its own thread pinned to the last"
    } else {
        "server: hyper HTTP/1.1 on its own thread"
    };
    format!(
        "{cores} cores ({model}){memory}, Linux {}; rustc {}; client: one current-thread tokio \
         runtime {placement}{python}",
        kernel.trim(),
        env!("BENCH_RUSTC_VERSION"),
    )
}

const COLORS: [(DriverId, &str); 5] = [
    (DriverId::Raw, "#7f7f7f"),
    (DriverId::Toolkit, "#1f77b4"),
    (DriverId::Middleware, "#ff7f0e"),
    (DriverId::Python, "#2ca02c"),
    (DriverId::ToolkitChurn, "#6baed6"),
];

/// A horizontal bar chart of calls/s, one group per workload, one bar per driver.
pub(crate) fn svg(rows: &[Row], machine: &str) -> String {
    let (left, bar_width, bar_height, gap, group_gap) = (230.0, 520.0, 16.0, 4.0, 30.0);
    let width = left + bar_width + 170.0;
    let max = rows.iter().map(|r| r.per_second).fold(1.0, f64::max);
    let mut body = String::new();
    let mut y = 50.0;
    for workload in WORKLOADS {
        let group: Vec<&Row> = rows.iter().filter(|r| r.workload == workload).collect();
        if group.is_empty() {
            continue;
        }
        let _ = writeln!(
            body,
            r#"<text x="10" y="{y}" font-weight="bold">{}</text>"#,
            escape(workload.name)
        );
        y += 8.0;
        for row in group {
            let color = COLORS
                .iter()
                .find(|(d, _)| *d == row.driver)
                .map_or("#000", |(_, c)| c);
            let length = (row.per_second / max * bar_width).max(1.0);
            let ratio = row
                .to_raw
                .filter(|_| row.driver != DriverId::Raw)
                .map_or(String::new(), |r| format!(" ({r:.2}× raw)"));
            let _ = writeln!(
                body,
                r#"<text x="{tx}" y="{ty}" text-anchor="end">{label}</text><rect x="{left}" y="{y}" width="{length:.1}" height="{bar_height}" fill="{color}"/><text x="{vx:.1}" y="{ty}">{value:.0}/s{ratio}</text>"#,
                tx = left - 8.0,
                ty = y + bar_height - 4.0,
                label = escape(row.driver.label()),
                vx = left + length + 6.0,
                value = row.per_second,
            );
            y += bar_height + gap;
        }
        y += group_gap;
    }
    for line in machine.split("; ") {
        let _ = writeln!(
            body,
            r##"<text x="10" y="{y}" font-size="10" fill="#555">{}</text>"##,
            escape(line)
        );
        y += 13.0;
    }
    let height = y;
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="#fff"/>
<text x="10" y="22" font-size="15" font-weight="bold">Throughput by driver and workload (calls/s, median over rounds; higher is better)</text>
{body}</svg>
"##
    )
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
