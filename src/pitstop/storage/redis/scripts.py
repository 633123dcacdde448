"""Server-side Lua scripts of the Redis backend: each one is one atomic transition.

Redis runs a script to completion before any other command, so a script that checks a job's
state and changes it is the Redis equivalent of a SQLite transaction: two servers claiming,
finishing or sweeping at once are serialised and every transition happens exactly once.

Every script receives the same four leading arguments, then its own from ``ARGV[5]``:
``prefix``, ``grace_s`` (how long a finished job's keys outlive its retention, a backstop for
the sweeper), ``retention_run_s`` and ``retention_sync_s`` (retention of jobs that end
without a caller-given one: cancel, lost lease). Wakeups are ``PUBLISH``\\ ed from the scripts
themselves, on ``{prefix}:wake:{key}``. Times arrive as exact decimal text from Python; a time
computed here is written back with ``%.17g`` so it round-trips (see :mod:`.keys`).
"""

from __future__ import annotations

from pitstop.storage.stats import (
    LUA_MS_BIN,
    MAX_EVENTS,
    MAX_PROGRESS_EVENTS,
    ROLLUP_S,
    STATS_KEEP_S,
)

CONSTANTS = f"""
local MAX_EVENTS = {MAX_EVENTS}
local MAX_PROGRESS_EVENTS = {MAX_PROGRESS_EVENTS}
local STATS_KEEP_MS = {STATS_KEEP_S * 1000}
local ROLLUP_S = {ROLLUP_S}
{LUA_MS_BIN}"""
"""Limits shared with :mod:`pitstop.storage.stats`, and its histogram bin function."""

PREAMBLE = r"""
local P = ARGV[1]
local GRACE = tonumber(ARGV[2])
local TERMINAL = {COMPLETED = true, FAILED = true, CANCELLED = true, TIMED_OUT = true}

local function key(kind, name)
  if name then return P .. ':' .. kind .. ':' .. name end
  return P .. ':' .. kind
end
local function wake(k) redis.call('PUBLISH', P .. ':wake:' .. k, '1') end
local function num(x) return string.format('%.17g', x) end

local function retention(jk)
  if redis.call('HGET', jk, 'sync') == '1' then return tonumber(ARGV[4]) end
  return tonumber(ARGV[3])
end

-- Job pages: one zset per status and endpoint, member id, score the enqueue number.
local function page_key(status, ep) return key('bystatus', status .. ':' .. ep) end

local function move(jk, ep, old, new)
  redis.call('HSET', jk, 'st', new)
  local ck = key('counts', ep)
  redis.call('HINCRBY', ck, old, -1)
  redis.call('HINCRBY', ck, new, 1)
  local qm = redis.call('HGET', jk, 'qm')
  local id = string.sub(qm, 18)
  redis.call('ZREM', page_key(old, ep), id)
  redis.call('ZADD', page_key(new, ep), tonumber(string.sub(qm, 1, 16)), id)
end

-- Timeline: a list of JSON objects {s: seq, t: time text, k: kind, w, n: attempt, d}.
local function event(id, at, kind, worker, attempt, detail)
  local ek = key('events', id)
  local n = redis.call('LLEN', ek)
  local cap = MAX_EVENTS
  if kind == 'progress' then cap = MAX_PROGRESS_EVENTS end
  if n >= cap then return end
  redis.call('RPUSH', ek, cjson.encode({s = n, t = at, k = kind, w = worker,
                                        n = tonumber(attempt), d = detail}))
  local ttl = redis.call('PTTL', key('job', id))
  if ttl > 0 then redis.call('PEXPIRE', ek, ttl) end
end

-- Statistics: the job's status, delay and execution bins in its endpoint's minute bucket.
local function tally(jk, ep, status, now)
  local f = redis.call('HMGET', jk, 'cr', 'sa')
  local t = tonumber(now)
  local fields = {status}
  if f[2] then
    local sa = tonumber(f[2])
    fields[2] = 'd' .. ms_bin((sa - tonumber(f[1])) * 1000)
    fields[3] = 'x' .. ms_bin((t - sa) * 1000)
  end
  for _, width in ipairs({{'stats', 60}, {'stats15', ROLLUP_S}}) do
    local start = string.format('%d', math.floor(t / width[2]) * width[2])
    local sk = key(width[1], start .. ':' .. ep)
    for _, name in ipairs(fields) do redis.call('HINCRBY', sk, name, 1) end
    redis.call('PEXPIRE', sk, STATS_KEEP_MS)
  end
end

local function add_retry(jk, ep)
  redis.call('HINCRBY', jk, 'ret', 1)
  redis.call('HINCRBY', key('counts', ep), 'retried', 1)
end

local function unqueue(jk, id, ep)
  local qm = redis.call('HGET', jk, 'qm')
  redis.call('ZREM', key('q', ep), qm)
  redis.call('ZREM', key('qlow', ep), qm)
  redis.call('ZREM', key('ttl'), id)
end

local function requeue(jk, id, ep)
  local f = redis.call('HMGET', jk, 'qm', 'cr', 'plow', 'qdl')
  local qn = 'q'
  if f[3] == '1' then qn = 'qlow' end
  redis.call('ZADD', key(qn, ep), f[2], f[1])
  if f[4] then redis.call('ZADD', key('ttl'), f[4], id) end
  wake('queue:' .. ep)
end

local function unlease(jk, id)
  redis.call('HDEL', jk, 'lease')
  redis.call('ZREM', key('leases'), id)
  redis.call('ZREM', key('runs'), id)
end

local function expire_after(id, seconds)
  local ms = math.max(1000, math.floor((seconds + GRACE) * 1000))
  redis.call('PEXPIRE', key('job', id), ms)
  redis.call('PEXPIRE', key('chunks', id), ms)
  redis.call('PEXPIRE', key('logs', id), ms)
  redis.call('PEXPIRE', key('whjob', id), ms)
  redis.call('PEXPIRE', key('events', id), ms)
end

local function persist(id)
  redis.call('PERSIST', key('job', id))
  redis.call('PERSIST', key('chunks', id))
  redis.call('PERSIST', key('logs', id))
  redis.call('PERSIST', key('whjob', id))
  redis.call('PERSIST', key('events', id))
end

local function push_stop(worker, id)
  if not worker then return end
  local sk = key('stops', worker)
  redis.call('RPUSH', sk, id)
  redis.call('PEXPIRE', sk, 86400000)
  wake('stop:' .. worker)
end

local function ms_between(a, b)
  local d = (tonumber(b) - tonumber(a)) * 1000
  if d < 0 then d = 0 end
  return string.format('%d', math.floor(d + 0.5))
end

-- The webhook body is RunPod's status body plus input and webhook, assembled as text so the
-- stored JSON of input and output is passed through byte for byte.
local function outbox(jk, id, now, keep)
  local f = redis.call('HMGET', jk, 'wh', 'st', 'cr', 'sa', 'fa', 'in', 'hout', 'out', 'err',
                       'wk', 'ret')
  if not f[1] then return end
  local body = '{"id":' .. cjson.encode(id) .. ',"status":"' .. f[2] .. '"'
  if f[4] then
    body = body .. ',"delayTime":' .. ms_between(f[3], f[4])
    if f[5] then body = body .. ',"executionTime":' .. ms_between(f[4], f[5]) end
  end
  if f[10] then body = body .. ',"workerId":' .. cjson.encode(f[10]) end
  if f[7] == '1' then body = body .. ',"output":' .. f[8] end
  if f[9] then body = body .. ',"error":' .. cjson.encode(f[9]) end
  if f[11] and f[11] ~= '0' then body = body .. ',"retries":' .. f[11] end
  body = body .. ',"input":' .. f[6]
  body = body .. ',"webhook":' .. cjson.encode(f[1]) .. '}'
  local did = 'wh-' .. redis.call('INCR', key('whseq'))
  local dk = key('wh', did)
  redis.call('HSET', dk, 'id', did, 'job', id, 'url', f[1], 'payload', body,
             'att', '0', 'next', now, 'dlv', '0')
  redis.call('PEXPIRE', dk, math.floor((keep + GRACE) * 1000))
  redis.call('ZADD', key('whdue'), now, did)
  redis.call('RPUSH', key('whjob', id), did)
end

-- End a job: status, finish time, retention, indexes, key expiry, webhook, wakeup.
local function end_job(jk, id, ep, old, new, now, keep, why, hook)
  move(jk, ep, old, new)
  local until_ = tonumber(now) + keep
  local prev = tonumber(redis.call('HGET', jk, 'exp') or '0')
  if prev > until_ then
    until_ = prev
    keep = prev - tonumber(now)
  end
  local exp = num(until_)
  redis.call('HSET', jk, 'fa', now, 'exp', exp, 'why', why)
  unlease(jk, id)
  redis.call('ZADD', key('retain'), exp, id)
  tally(jk, ep, new, now)
  if hook then outbox(jk, id, now, keep) end
  expire_after(id, keep)
  wake('job:' .. id)
end

-- 'ok' while worker (and attempt, when given) hold the running job. Another holder is
-- 'stale'; the holder reporting on a job already ended is 'ignored', or own_done when it was
-- the holder's own result that ended it.
local function fence(jk, worker, attempt, own_done)
  local f = redis.call('HMGET', jk, 'st', 'wk', 'att', 'why')
  if not f[1] then return 'unknown' end
  if f[2] ~= worker or (attempt ~= '' and f[3] ~= attempt) then return 'stale' end
  if f[1] == 'IN_PROGRESS' then return 'ok' end
  if f[4] == 'worker' then return own_done end
  return 'ignored'
end
"""

ENQUEUE = r"""
local id, ep, maxq, ikey, ifp = ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9]
local jk = key('job', id)
if ikey ~= '' then
  local held = redis.call('HGET', key('idem', ep), ikey)
  if held then
    local cut = string.find(held, '\n', 1, true)
    local hid = string.sub(held, 1, cut - 1)
    if redis.call('EXISTS', key('job', hid)) == 1 then
      if string.sub(held, cut + 1) ~= ifp then return 'conflict:' .. hid end
      return 'existing:' .. hid
    end
  end
end
if redis.call('EXISTS', jk) == 1 then return 'duplicate' end
if maxq ~= '' then
  local n = redis.call('ZCARD', key('q', ep)) + redis.call('ZCARD', key('qlow', ep))
  if n >= tonumber(maxq) then return 'full' end
end
local qm = string.format('%016d', redis.call('INCR', key('seq'))) .. ':' .. id
local fields = {}
for i = 10, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', jk, 'st', 'IN_QUEUE', 'qm', qm, unpack(fields))
if ikey ~= '' then
  redis.call('HSET', key('idem', ep), ikey, id .. '\n' .. ifp)
  redis.call('HSET', jk, 'idem', ikey)
end
local cr = redis.call('HGET', jk, 'cr')
redis.call('ZADD', key('recent', ep), cr, qm)
redis.call('ZADD', key('recent'), cr, qm)
redis.call('HINCRBY', key('counts', ep), 'IN_QUEUE', 1)
redis.call('SADD', key('endpoints'), ep)
redis.call('ZADD', page_key('IN_QUEUE', ep), tonumber(string.sub(qm, 1, 16)), id)
local submitted = nil
if redis.call('HGET', jk, 'sync') == '1' then submitted = 'runsync' end
event(id, cr, 'submitted', nil, nil, submitted)
requeue(jk, id, ep)
wake('job:' .. id)
return 'ok'
"""

CLAIM = r"""
local ep, worker, n, lease, now = ARGV[5], ARGV[6], tonumber(ARGV[7]), ARGV[8], ARGV[9]
local tnow = tonumber(now)
local out = {}
for _, qn in ipairs({'q', 'qlow'}) do
  local qk = key(qn, ep)
  local skipped = 0
  while #out < n do
    local batch = redis.call('ZRANGE', qk, skipped, skipped + 63)
    if #batch == 0 then break end
    for _, qm in ipairs(batch) do
      if #out >= n then break end
      local id = string.sub(qm, 18)
      local jk = key('job', id)
      local f = redis.call('HMGET', jk, 'st', 'qdl', 'pexec')
      if f[1] ~= 'IN_QUEUE' then
        redis.call('ZREM', qk, qm)
      elseif f[2] and tonumber(f[2]) <= tnow then
        skipped = skipped + 1
      else
        redis.call('ZREM', qk, qm)
        redis.call('ZREM', key('ttl'), id)
        move(jk, ep, 'IN_QUEUE', 'IN_PROGRESS')
        local att = redis.call('HINCRBY', jk, 'att', 1)
        redis.call('HSET', jk, 'wk', worker, 'lease', lease, 'sa', now)
        event(id, now, 'taken', worker, att, nil)
        redis.call('ZADD', key('leases'), lease, id)
        if f[3] then
          redis.call('ZADD', key('runs'), num(tnow + tonumber(f[3]) / 1000), id)
        end
        wake('job:' .. id)
        out[#out + 1] = redis.call('HGETALL', jk)
      end
    end
  end
end
return out
"""

RENEW = r"""
local worker, lease = ARGV[5], ARGV[6]
local out = {}
for i = 7, #ARGV do
  local id = ARGV[i]
  local jk = key('job', id)
  local f = redis.call('HMGET', jk, 'st', 'wk')
  if f[1] == 'IN_PROGRESS' and f[2] == worker then
    redis.call('HSET', jk, 'lease', lease)
    redis.call('ZADD', key('leases'), lease, id)
    out[#out + 1] = id
  end
end
return out
"""

RELEASE = r"""
local worker = ARGV[5]
local ids = {}
for i = 6, #ARGV do ids[#ids + 1] = ARGV[i] end
if #ids == 0 then ids = redis.call('ZRANGE', key('leases'), 0, -1) end
local out = {}
for _, id in ipairs(ids) do
  local jk = key('job', id)
  local f = redis.call('HMGET', jk, 'st', 'wk')
  if f[1] == 'IN_PROGRESS' and f[2] == worker then
    redis.call('HSET', jk, 'lease', '0')
    redis.call('ZADD', key('leases'), 0, id)
    out[#out + 1] = id
  end
end
return out
"""

SET_PROGRESS = r"""
local id = ARGV[5]
local jk = key('job', id)
local r = fence(jk, ARGV[6], ARGV[7], 'ignored')
if r ~= 'ok' then return r end
redis.call('HSET', jk, 'prog', ARGV[8], 'hprog', '1')
event(id, ARGV[9], 'progress', ARGV[6], redis.call('HGET', jk, 'att'), ARGV[10])
wake('job:' .. id)
return 'accepted'
"""

APPEND_CHUNKS = r"""
local id = ARGV[5]
local jk = key('job', id)
local r = fence(jk, ARGV[6], ARGV[7], 'ignored')
if r ~= 'ok' then return r end
local ck = key('chunks', id)
for i = 9, #ARGV do redis.call('RPUSH', ck, ARGV[i]) end
if redis.call('HINCRBY', jk, 'nch', #ARGV - 8) == #ARGV - 8 then
  event(id, ARGV[8], 'first_chunk', ARGV[6], redis.call('HGET', jk, 'att'), nil)
end
wake('job:' .. id)
return 'accepted'
"""

FINISH_ONE = r"""
local function finish_one(id, worker, attempt, now, keep, status, has_out, out, has_err, err, spod)
  local jk = key('job', id)
  local r = fence(jk, worker, attempt, 'duplicate')
  if r ~= 'ok' then return r end
  if has_out == '1' then
    redis.call('HSET', jk, 'out', out, 'hout', '1')
  else
    redis.call('HDEL', jk, 'out', 'hout')
  end
  if has_err == '1' then
    redis.call('HSET', jk, 'err', err)
  else
    redis.call('HDEL', jk, 'err')
  end
  redis.call('HSET', jk, 'spod', spod)
  local ep = redis.call('HGET', jk, 'ep')
  end_job(jk, id, ep, 'IN_PROGRESS', status, now, keep, 'worker', true)
  event(id, now, 'finished', worker, redis.call('HGET', jk, 'att'), status)
  return 'accepted'
end
"""
"""One worker result: fenced, stored, the job ended (shared by ``finish`` and
``finish_many``)."""

FINISH = (
    FINISH_ONE
    + r"""
return finish_one(ARGV[5], ARGV[6], ARGV[7], ARGV[8], tonumber(ARGV[9]), ARGV[10], ARGV[11],
                  ARGV[12], ARGV[13], ARGV[14], ARGV[15])
"""
)

FINISH_MANY = (
    FINISH_ONE
    + r"""
local now = ARGV[5]
local out = {}
for i = 6, #ARGV, 10 do
  out[#out + 1] = finish_one(ARGV[i], ARGV[i + 1], ARGV[i + 2], now, tonumber(ARGV[i + 3]),
                             ARGV[i + 4], ARGV[i + 5], ARGV[i + 6], ARGV[i + 7], ARGV[i + 8],
                             ARGV[i + 9])
end
return out
"""
)

CANCEL = r"""
local id, now = ARGV[5], ARGV[6]
local jk = key('job', id)
local f = redis.call('HMGET', jk, 'st', 'ep', 'wk', 'att')
if not f[1] then return {} end
if f[1] == 'IN_QUEUE' then
  unqueue(jk, id, f[2])
  end_job(jk, id, f[2], 'IN_QUEUE', 'CANCELLED', now, retention(jk), 'cancel', true)
  event(id, now, 'cancelled', nil, nil, nil)
elseif f[1] == 'IN_PROGRESS' then
  end_job(jk, id, f[2], 'IN_PROGRESS', 'CANCELLED', now, retention(jk), 'cancel', true)
  event(id, now, 'cancelled', f[3], f[4], nil)
  push_stop(f[3], id)
end
return redis.call('HGETALL', jk)
"""

RETRY = r"""
local id, now = ARGV[5], ARGV[6]
local jk = key('job', id)
local f = redis.call('HMGET', jk, 'st', 'ep', 'pttl')
if not f[1] then return {} end
if f[1] == 'FAILED' or f[1] == 'TIMED_OUT' then
  redis.call('HDEL', jk, 'out', 'hout', 'err', 'prog', 'hprog', 'spod', 'wk', 'lease', 'sa',
             'fa', 'exp', 'why', 'qdl')
  redis.call('HSET', jk, 'nch', '0', 'cur', '0', 'abase', redis.call('HGET', jk, 'att'))
  if f[3] then redis.call('HSET', jk, 'qdl', num(tonumber(now) + tonumber(f[3]) / 1000)) end
  redis.call('DEL', key('chunks', id))
  redis.call('ZREM', key('retain'), id)
  persist(id)
  add_retry(jk, f[2])
  move(jk, f[2], f[1], 'IN_QUEUE')
  requeue(jk, id, f[2])
  event(id, now, 'retried', nil, nil, nil)
  wake('job:' .. id)
end
return redis.call('HGETALL', jk)
"""

PURGE = r"""
local ep, now, limit = ARGV[5], ARGV[6], tonumber(ARGV[7])
local n, seen = 0, 0
for _, qn in ipairs({'q', 'qlow'}) do
  local qk = key(qn, ep)
  for _, qm in ipairs(redis.call('ZRANGE', qk, 0, limit - seen - 1)) do
    seen = seen + 1
    local id = string.sub(qm, 18)
    local jk = key('job', id)
    redis.call('ZREM', qk, qm)
    if redis.call('HGET', jk, 'st') == 'IN_QUEUE' then
      redis.call('ZREM', key('ttl'), id)
      end_job(jk, id, ep, 'IN_QUEUE', 'CANCELLED', now, retention(jk), 'cancel', true)
      event(id, now, 'cancelled', nil, nil, 'purged')
      n = n + 1
    end
  end
  if seen >= limit then break end
end
return {n, seen}
"""

READ_CURSOR = r"""
local id, ep = ARGV[5], ARGV[6]
local jk = key('job', id)
local owner = redis.call('HGET', jk, 'ep')
if not owner or (ep ~= '' and owner ~= ep) then return {} end
local cur = tonumber(redis.call('HGET', jk, 'cur') or '0')
local chunks = redis.call('LRANGE', key('chunks', id), cur, -1)
if #chunks > 0 then redis.call('HINCRBY', jk, 'cur', #chunks) end
return {redis.call('HGETALL', jk), cur, chunks}
"""

SET_RETENTION = r"""
local id, now, secs = ARGV[5], ARGV[6], tonumber(ARGV[7])
local jk = key('job', id)
local st = redis.call('HGET', jk, 'st')
if not st then return {} end
local exp = num(tonumber(now) + secs)
redis.call('HSET', jk, 'exp', exp)
if TERMINAL[st] then
  redis.call('ZADD', key('retain'), exp, id)
  expire_after(id, secs)
end
return redis.call('HGETALL', jk)
"""

EXPIRE_LEASES = r"""
local now, maxa, limit = ARGV[5], tonumber(ARGV[6]), tonumber(ARGV[7])
local tnow = tonumber(now)
local ids = redis.call('ZRANGEBYSCORE', key('leases'), '-inf', '(' .. now, 'LIMIT', 0, limit)
local requeued, failed = {}, {}
for _, id in ipairs(ids) do
  local jk = key('job', id)
  local f = redis.call('HMGET', jk, 'st', 'ep', 'att', 'lease', 'abase', 'wk')
  if f[1] ~= 'IN_PROGRESS' or not f[4] then
    redis.call('ZREM', key('leases'), id)
  elseif tonumber(f[4]) < tnow then
    local used = tonumber(f[3]) - tonumber(f[5] or '0')
    if used >= maxa then
      local why = 'worker ' .. (f[6] or '?') .. ' was lost (lease expired) on attempt ' ..
        f[3] .. '; giving up after ' .. used .. ' of ' .. ARGV[6] .. ' attempts'
      redis.call('HSET', jk, 'err', why)
      end_job(jk, id, f[2], 'IN_PROGRESS', 'FAILED', now, retention(jk), 'lost', true)
      event(id, now, 'lost', f[6], f[3], why)
      failed[#failed + 1] = id
    else
      unlease(jk, id)
      redis.call('HDEL', jk, 'wk', 'sa', 'prog', 'hprog')
      add_retry(jk, f[2])
      move(jk, f[2], 'IN_PROGRESS', 'IN_QUEUE')
      requeue(jk, id, f[2])
      event(id, now, 'requeued', f[6], f[3], nil)
      wake('job:' .. id)
      requeued[#requeued + 1] = id
    end
  end
end
return {requeued, failed, #ids}
"""

EXPIRE_DEADLINES = r"""
local now, keep, limit = ARGV[5], tonumber(ARGV[6]), tonumber(ARGV[7])
local timed = {}
local qids = redis.call('ZRANGEBYSCORE', key('ttl'), '-inf', now, 'LIMIT', 0, limit)
for _, id in ipairs(qids) do
  local jk = key('job', id)
  redis.call('ZREM', key('ttl'), id)
  local f = redis.call('HMGET', jk, 'st', 'ep', 'pttl')
  if f[1] == 'IN_QUEUE' then
    unqueue(jk, id, f[2])
    local why = 'job TTL of ' .. (f[3] or '?') .. ' ms expired before a worker took it'
    redis.call('HSET', jk, 'err', why)
    end_job(jk, id, f[2], 'IN_QUEUE', 'TIMED_OUT', now, keep, 'timeout', true)
    event(id, now, 'timed_out', nil, nil, why)
    timed[#timed + 1] = id
  end
end
local rids = redis.call('ZRANGEBYSCORE', key('runs'), '-inf', now, 'LIMIT', 0, limit)
for _, id in ipairs(rids) do
  local jk = key('job', id)
  redis.call('ZREM', key('runs'), id)
  local f = redis.call('HMGET', jk, 'st', 'ep', 'pexec', 'wk', 'att')
  if f[1] == 'IN_PROGRESS' then
    local why = 'execution timeout of ' .. (f[3] or '?') .. ' ms exceeded'
    redis.call('HSET', jk, 'err', why)
    end_job(jk, id, f[2], 'IN_PROGRESS', 'TIMED_OUT', now, keep, 'timeout', true)
    event(id, now, 'timed_out', f[4], f[5], why)
    push_stop(f[4], id)
    timed[#timed + 1] = id
  end
end
return {timed, math.max(#qids, #rids)}
"""

DELETE_EXPIRED = r"""
local now, limit = ARGV[5], tonumber(ARGV[6])
local ids = redis.call('ZRANGEBYSCORE', key('retain'), '-inf', now, 'LIMIT', 0, limit)
local n = 0
for _, id in ipairs(ids) do
  redis.call('ZREM', key('retain'), id)
  local jk = key('job', id)
  local f = redis.call('HMGET', jk, 'st', 'ep', 'qm', 'ret', 'idem')
  if f[1] and TERMINAL[f[1]] then
    if f[5] then redis.call('HDEL', key('idem', f[2]), f[5]) end
    for _, did in ipairs(redis.call('LRANGE', key('whjob', id), 0, -1)) do
      if not redis.call('ZSCORE', key('whdue'), did) then  -- pending ones expire on their own
        redis.call('DEL', key('wh', did))
      end
    end
    redis.call('DEL', jk, key('chunks', id), key('logs', id), key('whjob', id),
               key('events', id))
    redis.call('ZREM', page_key(f[1], f[2]), id)
    redis.call('ZREM', key('recent', f[2]), f[3])
    redis.call('ZREM', key('recent'), f[3])
    local ck = key('counts', f[2])
    redis.call('HINCRBY', ck, f[1], -1)
    local retries = tonumber(f[4] or '0')
    if retries > 0 then redis.call('HINCRBY', ck, 'retried', 0 - retries) end
    n = n + 1
  end
end
return {n, #ids}
"""

DUE_WEBHOOKS = r"""
local now, limit, until_ = ARGV[5], tonumber(ARGV[6]), ARGV[7]
local out = {}
for _, did in ipairs(redis.call('ZRANGEBYSCORE', key('whdue'), '-inf', now, 'LIMIT', 0, limit)) do
  local dk = key('wh', did)
  if redis.call('EXISTS', dk) == 1 then
    redis.call('HSET', dk, 'next', until_)
    redis.call('ZADD', key('whdue'), until_, did)
    out[#out + 1] = redis.call('HGETALL', dk)
  else
    redis.call('ZREM', key('whdue'), did)
  end
end
return out
"""

WEBHOOK_ATTEMPTED = r"""
local did, ok, herr, err, nxt = ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9]
local dk = key('wh', did)
if redis.call('EXISTS', dk) == 0 then return 0 end
local calls = redis.call('HINCRBY', dk, 'att', 1)
local hook = redis.call('HMGET', dk, 'job', 'url')
local said = ARGV[11]
if ok == '1' then said = 'delivered to ' .. hook[2] end
event(hook[1], ARGV[10], 'webhook', nil, calls, said)
if herr == '1' and ok ~= '1' then
  redis.call('HSET', dk, 'err', err)
else
  redis.call('HDEL', dk, 'err')
end
if ok == '1' then
  redis.call('HSET', dk, 'dlv', '1')
  redis.call('ZREM', key('whdue'), did)
elseif nxt ~= '' then
  redis.call('HSET', dk, 'next', nxt)
  redis.call('ZADD', key('whdue'), nxt, did)
else
  redis.call('HSET', dk, 'gave', '1')
  redis.call('ZREM', key('whdue'), did)
end
return 1
"""

APPEND_LOGS = r"""
local id, now, cap, worker, attempt, ep = ARGV[5], ARGV[6], tonumber(ARGV[7]), ARGV[8],
  ARGV[9], ARGV[10]
local jk = key('job', id)
local owner = redis.call('HGET', jk, 'ep')
if not owner or (ep ~= '' and owner ~= ep) then return 'unknown' end
if worker ~= '' then
  local r = fence(jk, worker, attempt, 'ignored')
  if r ~= 'ok' then return r end
end
local count = (#ARGV - 10) / 2
local seq = redis.call('HINCRBY', jk, 'nlog', count) - count
local lk = key('logs', id)
for i = 11, #ARGV, 2 do
  redis.call('RPUSH', lk, seq .. '|' .. now .. '|' .. ARGV[i] .. '|' .. ARGV[i + 1])
  seq = seq + 1
end
redis.call('LTRIM', lk, -cap, -1)
local ttl = redis.call('PTTL', jk)
if ttl > 0 then redis.call('PEXPIRE', lk, ttl) end
return 'accepted'
"""

READ_LOGS = r"""
local lk = key('logs', ARGV[5])
local first = redis.call('LINDEX', lk, 0)
if not first then return {} end
local start = tonumber(ARGV[6]) + 1 - tonumber(string.match(first, '^(%d+)|'))
if start < 0 then start = 0 end
return redis.call('LRANGE', lk, start, -1)
"""

RECORD_PING = r"""
local ep, worker, now, ids, hver, ver = ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9], ARGV[10]
local wk, sk, vk = key('workers', ep), key('wseen', ep), key('wver', ep)
redis.call('HSET', wk, worker, ids)
redis.call('ZADD', sk, now, worker)
if hver == '1' then redis.call('HSET', vk, worker, ver) end
if ARGV[12] == '1' then redis.call('HSET', key('wmeta', ep), worker, ARGV[13]) end
redis.call('SADD', key('endpoints'), ep)
local old = redis.call('ZRANGEBYSCORE', sk, '-inf', '(' .. num(tonumber(now) - tonumber(ARGV[11])),
                       'LIMIT', 0, 100)
for _, w in ipairs(old) do
  redis.call('HDEL', wk, w)
  redis.call('HDEL', vk, w)
  redis.call('HDEL', key('wmeta', ep), w)
  redis.call('HDEL', key('wgpus', ep), w)
  redis.call('ZREM', sk, w)
end
return 1
"""

RECORD_GPUS = r"""
local ep = ARGV[5]
local sk, gk = key('wseen', ep), key('wgpus', ep)
local recorded = {}
for i = 6, #ARGV, 2 do
  if redis.call('ZSCORE', sk, ARGV[i]) then
    redis.call('HSET', gk, ARGV[i], ARGV[i + 1])
    recorded[#recorded + 1] = ARGV[i]
  end
end
return recorded
"""

POP_STOPS = r"""
local sk = key('stops', ARGV[5])
local ids = redis.call('LRANGE', sk, 0, -1)
redis.call('DEL', sk)
return ids
"""

SCRIPTS: dict[str, str] = {
    name: CONSTANTS + PREAMBLE + body
    for name, body in {
        "enqueue": ENQUEUE,
        "claim": CLAIM,
        "renew": RENEW,
        "release": RELEASE,
        "set_progress": SET_PROGRESS,
        "append_chunks": APPEND_CHUNKS,
        "finish": FINISH,
        "finish_many": FINISH_MANY,
        "cancel": CANCEL,
        "retry": RETRY,
        "purge": PURGE,
        "read_cursor": READ_CURSOR,
        "set_retention": SET_RETENTION,
        "expire_leases": EXPIRE_LEASES,
        "expire_deadlines": EXPIRE_DEADLINES,
        "delete_expired": DELETE_EXPIRED,
        "due_webhooks": DUE_WEBHOOKS,
        "webhook_attempted": WEBHOOK_ATTEMPTED,
        "append_logs": APPEND_LOGS,
        "read_logs": READ_LOGS,
        "record_ping": RECORD_PING,
        "record_gpus": RECORD_GPUS,
        "pop_stops": POP_STOPS,
    }.items()
}
"""Every script by name, each with the shared helper functions in front."""
