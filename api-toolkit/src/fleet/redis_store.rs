//! The fleet's store in Redis (feature `redis`).
//!
//! Keys are `atk:{<fleet>|<origin>}:<what>`: the braces are a Redis Cluster hash tag, so each
//! host's keys live on one shard and a script may touch them together. The budget, which is
//! the fleet's rather than a host's, is `atk:{<fleet>}:budget`. Every key expires: a hold or an
//! open breaker when it ends, a quota when its window resets, the budget two windows after its
//! last use.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use futures_util::StreamExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig, PubSub};
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

use super::fallback::Fallback;
use super::{scripts, Claim, Link, Listener, Observation, Pending};
use crate::settings::SettingsError;
use crate::{Result, RetryBudget};

/// How long a fleet waits for a Redis operation on a call's path before the call goes on with
/// its own state.
const DEFAULT_BOUND: Duration = Duration::from_millis(25);
/// How often the calls a session counted for the budget are added to the fleet's.
const DEFAULT_BATCH: Duration = Duration::from_millis(100);
/// A lease of a quota is this share of what remains (at least one unit).
const LEASE_DIVISOR: u64 = 16;
/// While the fleet knows no window of a host's quota and as many attempts as may go unknown
/// are out, the next asks again after this.
const UNKNOWN_WAIT_MS: u64 = 25;
/// The longest pause or break a message from the fleet is believed for.
const MAX_PUSHED: Duration = Duration::from_secs(24 * 60 * 60);
/// Writes waiting for the store; beyond it, a write is dropped (and counted as a fallback).
const QUEUE: usize = 1024;

/// A fleet of workers sharing their hosts' state through one Redis (feature `redis`).
///
/// Connect once, then give it to each session's builder ([`SessionBuilder::fleet`]): the
/// sessions of every process connected to the same Redis under the same name share each host's
/// `Retry-After` pause, its quota (pacing), its open circuit breaker and the retry budget.
/// Nothing is sent to Redis on a call's success path; see the README's "Fleet" section for
/// what is shared when.
///
/// [`SessionBuilder::fleet`]: crate::SessionBuilder::fleet
///
/// # Examples
///
/// ```no_run
/// use api_toolkit::{Fleet, RetrySettings, Session};
///
/// # async fn run() -> api_toolkit::Result<()> {
/// let fleet = Fleet::redis("redis://127.0.0.1:6379/").name("payments").connect().await?;
/// let session = Session::builder()
///     .retry_settings(RetrySettings { share_retry_after: true, ..RetrySettings::default() })
///     .fleet(&fleet)
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Fleet {
    inner: Arc<Inner>,
}

impl fmt::Debug for Fleet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fleet")
            .field("name", &self.inner.core.name)
            .field("fallbacks", &self.fallbacks())
            .finish_non_exhaustive()
    }
}

impl Fleet {
    /// A fleet over the Redis at `url` (`redis://[:password@]host:port[/db]`), to be named and
    /// connected.
    pub fn redis(url: &str) -> FleetBuilder {
        FleetBuilder {
            url: url.to_owned(),
            name: None,
            bound: DEFAULT_BOUND,
            batch: DEFAULT_BATCH,
            connect_timeout: Duration::from_secs(2),
        }
    }

    /// The fleet's name, which its keys carry.
    pub fn name(&self) -> &str {
        &self.inner.core.name
    }

    /// Operations that fell back to the process's own state: Redis failed, was too slow, or a
    /// write found the queue full. A session's [`Stats::fleet_fallbacks`](crate::Stats) is this
    /// count.
    pub fn fallbacks(&self) -> u64 {
        self.inner.core.fallback.count()
    }

    pub(crate) fn link(&self) -> Link {
        Link(self.inner.clone())
    }
}

/// How to connect a [`Fleet`]: its name and bounds.
#[derive(Clone)]
#[must_use]
pub struct FleetBuilder {
    url: String,
    name: Option<String>,
    bound: Duration,
    batch: Duration,
    connect_timeout: Duration,
}

impl fmt::Debug for FleetBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FleetBuilder")
            .field("url", &shown(&self.url))
            .field("name", &self.name)
            .field("timeout", &self.bound)
            .finish_non_exhaustive()
    }
}

impl FleetBuilder {
    /// The fleet's name: the workers that share state use the same one (default: `"default"`;
    /// a connector's fleet, [`ApiConnector::fleet`](crate::ApiConnector::fleet), is named after
    /// its type). Letters, digits and `-_.:/`, at most 100.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// How long a call waits for Redis before it goes on with its process's own state
    /// (default: 25 ms). Also bounds the writes made in the background.
    pub fn timeout(mut self, bound: Duration) -> Self {
        self.bound = bound;
        self
    }

    /// How often the calls counted for the retry budget are added to the fleet's (default:
    /// 100 ms): the budget's view of the fleet's calls is this much behind, at most, plus a
    /// round trip.
    pub fn budget_batch(mut self, every: Duration) -> Self {
        self.batch = every;
        self
    }

    /// How long connecting may take before [`connect`](FleetBuilder::connect) fails (default:
    /// 2 s).
    pub fn connect_timeout(mut self, limit: Duration) -> Self {
        self.connect_timeout = limit;
        self
    }

    /// Connects to Redis and subscribes to the fleet's news. Fails, with a
    /// [`SettingsError`](crate::SettingsError) naming the field, when the URL is not a Redis
    /// URL, the server cannot be reached or refuses the credentials (within the connect
    /// timeout), or a bound or the name is invalid. Its tasks run on the current tokio runtime.
    pub async fn connect(self) -> Result<Fleet> {
        let name = self.name.unwrap_or_else(|| "default".to_owned());
        check_name(&name)?;
        for (field, value) in [
            ("fleet.timeout", self.bound),
            ("fleet.budget_batch", self.batch),
            ("fleet.connect_timeout", self.connect_timeout),
        ] {
            if value.is_zero() || value > Duration::from_secs(60) {
                return Err(SettingsError::new(
                    field,
                    format_args!("{value:?}"),
                    "a duration above zero, at most 60 s",
                )
                .into());
            }
        }
        let url = shown(&self.url);
        let client = redis::Client::open(self.url.as_str())
            .map_err(|e| SettingsError::new("fleet.url", &url, format!("a Redis URL ({e})")))?;
        let unreachable = |why: String| {
            SettingsError::new(
                "fleet.url",
                &url,
                format!("a Redis server that answers and accepts the credentials: {why}"),
            )
        };
        let within = |what: &str| {
            unreachable(format!(
                "no answer ({what}) within the connect timeout, {:?}",
                self.connect_timeout
            ))
        };
        // One deadline for every step: `connect` never takes longer than its timeout.
        let deadline = tokio::time::Instant::now() + self.connect_timeout;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.connect_timeout))
            .set_number_of_retries(1);
        let mut conn = tokio::time::timeout_at(
            deadline,
            ConnectionManager::new_with_config(client.clone(), config),
        )
        .await
        .map_err(|_| within("connecting"))?
        .map_err(|e| unreachable(e.to_string()))?;
        tokio::time::timeout_at(
            deadline,
            redis::cmd("PING").query_async::<String>(&mut conn),
        )
        .await
        .map_err(|_| within("PING"))?
        .map_err(|e| unreachable(e.to_string()))?;
        for script in scripts::all() {
            tokio::time::timeout_at(deadline, script.load_async(&mut conn))
                .await
                .map_err(|_| within("SCRIPT LOAD"))?
                .map_err(|e| unreachable(e.to_string()))?;
        }
        let channel = format!("atk:{{{name}}}:news");
        let pubsub = tokio::time::timeout_at(deadline, subscribed(&client, &channel))
            .await
            .map_err(|_| within("subscribing"))?
            .map_err(|e| unreachable(e.to_string()))?;

        let core = Arc::new(Core {
            name: name.into(),
            channel,
            conn,
            fallback: Fallback::new(self.bound),
            deposits: AtomicU64::new(0),
            window_ms: AtomicU64::new(0),
        });
        let listeners: Listeners = Arc::default();
        let (writes, queue) = mpsc::channel(QUEUE);
        let tasks = vec![
            tokio::spawn(write_behind(core.clone(), queue, self.batch)).abort_handle(),
            tokio::spawn(listen(
                client,
                core.channel.clone(),
                pubsub,
                listeners.clone(),
            ))
            .abort_handle(),
        ];
        Ok(Fleet {
            inner: Arc::new(Inner {
                core,
                writes,
                listeners,
                tasks,
            }),
        })
    }
}

/// A URL as errors show it: without its credentials.
fn shown(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(parsed) => crate::redact::redacted(&parsed).to_string(),
        Err(_) if url.contains('@') => "(a URL that does not parse)".to_owned(),
        Err(_) => url.to_owned(),
    }
}

fn check_name(name: &str) -> Result<()> {
    let fits = |c: char| c.is_ascii_alphanumeric() || "-_.:/".contains(c);
    if name.is_empty() || name.len() > 100 || !name.chars().all(fits) {
        return Err(SettingsError::new(
            "fleet.name",
            name,
            "1 to 100 letters, digits or -_.:/ (the braces of a Redis hash tag are the crate's)",
        )
        .into());
    }
    Ok(())
}

type Listeners = Arc<Mutex<Vec<Weak<dyn Listener>>>>;

/// What the background writer and the calls share.
struct Core {
    name: Box<str>,
    channel: String,
    conn: ConnectionManager,
    fallback: Fallback,
    /// Calls counted for the budget since the last batch.
    deposits: AtomicU64,
    /// The budget window of the last call counted, in ms.
    window_ms: AtomicU64,
}

impl Core {
    fn key(&self, origin: &str, what: &str) -> String {
        format!("atk:{{{}|{}}}:{}", self.name, origin, what)
    }

    /// The keys of a host's quota: the window's remaining, the attempts sent unknown, how many
    /// may be, and the mark of a host that states no quota.
    fn quota_keys(&self, origin: &str) -> [String; 4] {
        ["quota", "unknown", "cap", "quiet"].map(|what| self.key(origin, what))
    }

    fn budget_key(&self) -> String {
        format!("atk:{{{}}}:budget", self.name)
    }
}

/// A fleet's state: dropped with its last handle, which stops its tasks.
pub(crate) struct Inner {
    core: Arc<Core>,
    writes: mpsc::Sender<Write>,
    listeners: Listeners,
    tasks: Vec<AbortHandle>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// A write made in the background, off the call's path.
enum Write {
    /// A hold or an open breaker: the key lives at least `ms`, and the workers are told.
    Extend { key: String, ms: u64, news: String },
    /// A response's quota; `unknown`: its attempt was counted as sent unknown.
    Observe {
        origin: String,
        remaining: u64,
        reset_ms: u64,
        limit: u64,
        unknown: bool,
    },
    /// A host's first answer to a session stated no quota.
    Quiet { origin: String },
}

impl Inner {
    fn write(&self, write: Write) {
        if self.writes.try_send(write).is_err() {
            self.core
                .fallback
                .fell_back("write", &"the queue of writes is full");
        }
    }
}

/// The engine's side of a link: each method is where a call meets the fleet.
impl Link {
    pub(crate) fn attach(&self, listener: Weak<dyn Listener>) {
        let mut listeners = self
            .0
            .listeners
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        listeners.retain(|l| l.strong_count() > 0);
        listeners.push(listener);
    }

    /// Counts a call for the fleet's budget: added in the next batch.
    #[inline]
    pub(crate) fn deposit(&self, budget: &RetryBudget) {
        let core = &self.0.core;
        core.deposits.fetch_add(1, Relaxed);
        core.window_ms
            .store(budget.window.as_millis().max(10) as u64, Relaxed);
    }

    /// Takes a retry from the fleet's budget; `true` too when Redis cannot say (the process's
    /// own budget, already asked, decides).
    pub(crate) fn withdraw(&self, budget: &RetryBudget) -> Pending<'_, bool> {
        let core = &self.0.core;
        let window_ms = budget.window.as_millis().max(10) as u64;
        let floor = f64::from(budget.min_per_second) * budget.window.as_secs_f64();
        let (key, ratio) = (core.budget_key(), budget.ratio);
        Box::pin(async move {
            let mut conn = core.conn.clone();
            let mut call = scripts::WITHDRAW.prepare_invoke();
            call.key(key)
                .arg(window_ms / 10)
                .arg(window_ms)
                .arg(ratio.to_string())
                .arg(floor.to_string());
            let op = call.invoke_async::<i64>(&mut conn);
            core.fallback.run("budget", op).await.is_none_or(|v| v == 1)
        })
    }

    /// A host asked for a pause of `for_`: the fleet's workers hold their calls to it too.
    pub(crate) fn held(&self, origin: &str, for_: Duration) {
        self.extend(origin, "hold", 'h', for_);
    }

    /// This process's breaker of a host opened for `for_`: the fleet's open theirs.
    pub(crate) fn opened(&self, origin: &str, for_: Duration) {
        self.extend(origin, "breaker", 'b', for_);
    }

    fn extend(&self, origin: &str, what: &str, tag: char, for_: Duration) {
        let ms = for_.min(MAX_PUSHED).as_millis().max(1) as u64;
        self.0.write(Write::Extend {
            key: self.0.core.key(origin, what),
            ms,
            news: format!("{tag} {ms} {origin}"),
        });
    }

    /// A response stated the host's quota; `unknown`: its attempt was counted as sent unknown
    /// (before the fleet knew the window).
    pub(crate) fn observed(&self, origin: &str, quota: Observation, unknown: bool) {
        let reset_ms = quota.reset.as_millis() as u64;
        if reset_ms > 0 {
            self.0.write(Write::Observe {
                origin: origin.to_owned(),
                remaining: quota.remaining,
                reset_ms,
                limit: quota.limit.unwrap_or(0),
                unknown,
            });
        }
    }

    /// The host's first answer to this session stated no quota.
    pub(crate) fn quiet(&self, origin: &str) {
        self.0.write(Write::Quiet {
            origin: origin.to_owned(),
        });
    }

    /// A lease of the host's quota from the fleet.
    pub(crate) fn claim(&self, origin: &str) -> Pending<'_, Claim> {
        let core = &self.0.core;
        let keys = core.quota_keys(origin);
        Box::pin(async move {
            let mut conn = core.conn.clone();
            let mut call = scripts::CLAIM.prepare_invoke();
            call.key(&keys[..]).arg(LEASE_DIVISOR).arg(UNKNOWN_WAIT_MS);
            let op = call.invoke_async::<(i64, i64)>(&mut conn);
            match core.fallback.run("quota", op).await {
                Some((units, ttl)) if units > 0 => Claim::Granted {
                    units: units as u64,
                    valid_for: Duration::from_millis(ttl.max(0) as u64),
                },
                // A key without a time to live (not ours) is no window: it holds nothing.
                Some((0, ttl)) if ttl > 0 => Claim::Spent {
                    for_: Duration::from_millis(ttl as u64),
                },
                Some((-1, _)) => Claim::Unknown { counted: true },
                _ => Claim::Unknown { counted: false },
            }
        })
    }

    pub(crate) fn fallbacks(&self) -> u64 {
        self.0.core.fallback.count()
    }
}

/// Makes the writes queued by the calls, and adds the budget's calls every `batch`; ends when
/// the fleet is dropped.
async fn write_behind(core: Arc<Core>, mut queue: mpsc::Receiver<Write>, batch: Duration) {
    let mut tick = tokio::time::interval(batch);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            write = queue.recv() => match write {
                Some(write) => apply(&core, write).await,
                None => return,
            },
            _ = tick.tick() => flush_deposits(&core).await,
        }
    }
}

async fn apply(core: &Core, write: Write) {
    let mut conn = core.conn.clone();
    match write {
        Write::Extend { key, ms, news } => {
            let mut call = scripts::EXTEND.prepare_invoke();
            call.key(key).arg(ms).arg(&core.channel).arg(news);
            let op = call.invoke_async::<i64>(&mut conn);
            core.fallback.run("hold", op).await;
        }
        Write::Observe {
            origin,
            remaining,
            reset_ms,
            limit,
            unknown,
        } => {
            let mut call = scripts::OBSERVE.prepare_invoke();
            call.key(&core.quota_keys(&origin)[..])
                .arg(remaining)
                .arg(reset_ms)
                .arg(u8::from(unknown))
                .arg(limit);
            let op = call.invoke_async::<i64>(&mut conn);
            core.fallback.run("quota", op).await;
        }
        Write::Quiet { origin } => {
            let [quota, unknown, _, quiet] = core.quota_keys(&origin);
            let mut call = scripts::QUIET.prepare_invoke();
            call.key(quota).key(unknown).key(quiet);
            let op = call.invoke_async::<i64>(&mut conn);
            core.fallback.run("quota", op).await;
        }
    }
}

async fn flush_deposits(core: &Core) {
    let calls = core.deposits.swap(0, Relaxed);
    if calls == 0 {
        return;
    }
    let window_ms = core.window_ms.load(Relaxed);
    let mut conn = core.conn.clone();
    let mut call = scripts::DEPOSIT.prepare_invoke();
    call.key(core.budget_key())
        .arg(calls)
        .arg((window_ms / 10).max(1))
        .arg(window_ms);
    let op = call.invoke_async::<i64>(&mut conn);
    core.fallback.run("budget", op).await;
}

async fn subscribed(client: &redis::Client, channel: &str) -> redis::RedisResult<PubSub> {
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.subscribe(channel).await?;
    Ok(pubsub)
}

/// Hands the fleet's news to the sessions; resubscribes after the connection drops.
async fn listen(client: redis::Client, channel: String, first: PubSub, listeners: Listeners) {
    let mut pubsub = Some(first);
    loop {
        if let Some(mut connected) = pubsub.take() {
            let mut messages = connected.on_message();
            while let Some(message) = messages.next().await {
                if let Some((tag, for_, origin)) = parse(message.get_payload_bytes()) {
                    tell(&listeners, tag, for_, origin);
                }
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        let again = tokio::time::timeout(Duration::from_secs(2), subscribed(&client, &channel));
        pubsub = again.await.ok().and_then(|r| r.ok());
    }
}

/// `h <ms> <origin>` or `b <ms> <origin>`; anything else is ignored.
fn parse(payload: &[u8]) -> Option<(u8, Duration, &str)> {
    let text = std::str::from_utf8(payload).ok()?;
    let mut parts = text.splitn(3, ' ');
    let tag = match parts.next()? {
        "h" => b'h',
        "b" => b'b',
        _ => return None,
    };
    let ms: u64 = parts.next()?.parse().ok()?;
    let origin = parts.next().filter(|o| !o.is_empty())?;
    Some((tag, Duration::from_millis(ms).min(MAX_PUSHED), origin))
}

fn tell(listeners: &Listeners, tag: u8, for_: Duration, origin: &str) {
    let alive: Vec<Arc<dyn Listener>> = {
        let mut listeners = listeners
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        listeners.retain(|l| l.strong_count() > 0);
        listeners.iter().filter_map(Weak::upgrade).collect()
    };
    for listener in alive {
        match tag {
            b'h' => listener.held(origin, for_),
            _ => listener.opened(origin, for_),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn news_parses_or_is_ignored() {
        assert_eq!(
            parse(b"h 1500 http://127.0.0.1:80"),
            Some((b'h', Duration::from_millis(1500), "http://127.0.0.1:80"))
        );
        assert_eq!(parse(b"b 10 x").map(|p| p.0), Some(b'b'));
        for bad in [&b"x 1 o"[..], b"h", b"h 1", b"h -1 o", b"h 1 ", b"\xff 1 o"] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
        assert_eq!(parse(b"h 99999999999999 o").map(|p| p.1), Some(MAX_PUSHED));
    }

    #[test]
    fn names_and_urls_are_checked_and_credentials_never_shown() {
        assert!(check_name("payments").is_ok());
        assert!(check_name("my-app/v2.payments:eu").is_ok());
        for bad in ["", "a{b", "a}b", "with space", &"x".repeat(101)] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            shown("redis://:s3cret@127.0.0.1:6379/0"),
            "redis://127.0.0.1:6379/0"
        );
        assert!(!shown("not a url @ s3cret").contains("s3cret"));
    }
}
