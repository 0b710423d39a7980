//! The fleet's updates, each one Lua script: Redis runs a script atomically, so no two
//! workers ever interleave a read and a write of the same state. Times are relative (`PX`,
//! `PTTL`) or the server's own (`TIME`): the workers' clocks are never compared.

use std::sync::LazyLock;

use redis::Script;

/// Extends a key's life to at least `ARGV[1]` ms (a later pause wins), then tells every worker.
///
/// KEYS[1]: the hold or breaker key. ARGV: ms, channel, message.
pub(crate) static EXTEND: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local left = redis.call('PTTL', KEYS[1])
if left < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
end
redis.call('PUBLISH', ARGV[2], ARGV[3])
return 1
",
    )
});

/// What a response said of the host's quota: the fleet keeps the lower estimate and the later
/// reset, as a session does. A reset stated in whole seconds (rounded up) puts the fleet's end
/// of a window up to a second past the host's: attempts sent in that second count in the
/// host's next window, and their answers must keep the fleet from opening the next one as if
/// it were empty.
///
/// A new window starts only from the answer to an attempt sent while the fleet knew none (or
/// to a `quiet` host's): an answer to an attempt of the window that ended speaks of that
/// window, not the host's current one. It starts from the response, less the attempts sent
/// while nothing was known (which the host may not have counted yet); it also sets how many
/// attempts may go unknown at the next window's start (half the window's quota), and clears
/// the host's `quiet` mark.
///
/// KEYS: quota, unknown, cap, quiet. ARGV: remaining, reset in ms, 1 if this response's own
/// attempt is among those counted unknown (the host counted it already), the quota per window
/// (0: not stated).
pub(crate) static OBSERVE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local said = tonumber(ARGV[1])
local known = redis.call('GET', KEYS[1])
if known then
  if said < tonumber(known) then
    redis.call('SET', KEYS[1], said, 'KEEPTTL')
  end
  if tonumber(ARGV[2]) > redis.call('PTTL', KEYS[1]) then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
  end
  return 0
end
if ARGV[3] ~= '1' and redis.call('EXISTS', KEYS[4]) == 0 then
  return 0
end
local unknown = tonumber(redis.call('GET', KEYS[2]) or '0')
local limit = tonumber(ARGV[4])
if limit <= 0 then
  limit = said + unknown
end
redis.call('SET', KEYS[1], math.max(0, said - math.max(0, unknown - tonumber(ARGV[3]))), 'PX', ARGV[2])
redis.call('SET', KEYS[3], math.max(1, math.floor(limit / 2)), 'PX', 600000)
redis.call('DEL', KEYS[2], KEYS[4])
return 1
",
    )
});

/// A host's first answer to a session stated no quota: until a response states one, the
/// fleet does not make the host's first attempts wait for a window (for 10 s).
///
/// KEYS: quota, unknown, quiet.
pub(crate) static QUIET: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('SET', KEYS[3], '1', 'PX', 10000)
  redis.call('DEL', KEYS[2])
end
return 1
",
    )
});

/// A lease of the host's quota: a share of what remains (`remaining / ARGV[1]`, at least one),
/// with the time left in the window: `{units, ttl}`; `{0, ttl}` when it is spent.
///
/// While the fleet knows no window (at the start, after a reset), attempts go unknown, each
/// counted (`{-1, 0}`), up to the cap the last window left (one, the first time: a probe);
/// past it, `{0, ARGV[2]}`: ask again then. A host marked quiet (it states no quota) lets its
/// attempts go uncounted (`{-2, 0}`).
///
/// KEYS: quota, unknown, cap, quiet. ARGV: the divisor, the wait in ms past the cap.
pub(crate) static CLAIM: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local known = redis.call('GET', KEYS[1])
if not known then
  if redis.call('EXISTS', KEYS[4]) == 1 then
    return {-2, 0}
  end
  local cap = tonumber(redis.call('GET', KEYS[3]) or '1')
  local sent = redis.call('INCR', KEYS[2])
  redis.call('PEXPIRE', KEYS[2], 2000)
  if sent > cap then
    redis.call('DECR', KEYS[2])
    return {0, tonumber(ARGV[2])}
  end
  return {-1, 0}
end
local left = tonumber(known)
local ttl = redis.call('PTTL', KEYS[1])
if left <= 0 then
  return {0, ttl}
end
local units = math.min(left, math.max(1, math.floor(left / tonumber(ARGV[1]))))
redis.call('DECRBY', KEYS[1], units)
return {units, ttl}
",
    )
});

/// Counts `ARGV[1]` calls in the budget's current slot (of `ARGV[2]` ms, by the server's clock).
///
/// KEYS[1]: the budget hash. ARGV: calls, slot ms, window ms.
pub(crate) static DEPOSIT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local t = redis.call('TIME')
local slot = math.floor((tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)) / tonumber(ARGV[2]))
redis.call('HINCRBY', KEYS[1], 'c:' .. slot, ARGV[1])
redis.call('PEXPIRE', KEYS[1], 2 * tonumber(ARGV[3]))
return 1
",
    )
});

/// Takes one retry from the fleet's budget: 1 if the window's calls allow it (`calls × ratio +
/// floor`), else 0. Slots older than the window are dropped as it goes.
///
/// KEYS[1]: the budget hash. ARGV: slot ms, window ms, ratio, floor.
pub(crate) static WITHDRAW: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local t = redis.call('TIME')
local slot = math.floor((tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)) / tonumber(ARGV[1]))
local calls, retries = 0, 0
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local number = tonumber(string.sub(all[i], 3))
  if number and number > slot - 10 then
    if string.sub(all[i], 1, 1) == 'c' then
      calls = calls + tonumber(all[i + 1])
    else
      retries = retries + tonumber(all[i + 1])
    end
  else
    redis.call('HDEL', KEYS[1], all[i])
  end
end
if retries + 1 > calls * tonumber(ARGV[3]) + tonumber(ARGV[4]) then
  return 0
end
redis.call('HINCRBY', KEYS[1], 'r:' .. slot, 1)
redis.call('PEXPIRE', KEYS[1], 2 * tonumber(ARGV[2]))
return 1
",
    )
});

/// Every script, loaded into Redis when a fleet connects: the first call that runs one then
/// makes one round trip, not three (`NOSCRIPT`, `SCRIPT LOAD`, again).
pub(crate) fn all() -> [&'static Script; 6] {
    [&EXTEND, &OBSERVE, &QUIET, &CLAIM, &DEPOSIT, &WITHDRAW]
}
