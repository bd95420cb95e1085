#include "gateway/fleet_store.hpp"

#include <poll.h>
#include <sys/time.h>

#include <hiredis/hiredis.h>

#include <charconv>
#include <chrono>
#include <memory>

namespace slipway::fleet {

namespace {

// Changes one model's shared state and announces it, atomically (Redis runs a script alone).
// A latch is written only if none is there: the first writer wins, the others get the winner's.
// `alerted` names the replica that sent the current latch's alert: cleared by a latch or a resume, claimed
// by the `alert` op only while latched and unclaimed (first claimer wins, like the latch; no seq bump, no
// announcement: it changes nothing a replica applies).
// KEYS[1] state key; ARGV: op, value, at (unix ms), replica, born, channel, model, revision.
// Returns {won, model, revision, seq, born, at, latched, latch, override, winner, alerted}.
constexpr const char* kStateScript = R"lua(
local k = KEYS[1]
local won = 0
local changed = 0
if ARGV[1] == 'alert' then
  if redis.call('HGET', k, 'latched') == '1' then
    local a = redis.call('HGET', k, 'alerted')
    if not a or a == '' then
      redis.call('HSET', k, 'alerted', ARGV[4])
      won = 1
    elseif a == ARGV[4] then
      won = 1
    end
  end
else
  redis.call('HSETNX', k, 'born', ARGV[5])
  if ARGV[1] == 'latch' then
    if redis.call('HGET', k, 'latched') ~= '1' then
      redis.call('HSET', k, 'latched', '1', 'latch', ARGV[2], 'winner', ARGV[4], 'alerted', '')
      won = 1
    end
  elseif ARGV[1] == 'resume' then
    redis.call('HSET', k, 'latched', '0', 'latch', '', 'override', '', 'winner', '', 'alerted', '')
    won = 1
  else
    redis.call('HSET', k, 'override', ARGV[2])
    won = 1
  end
  changed = won
end
if changed == 1 then
  redis.call('HINCRBY', k, 'seq', 1)
  redis.call('HSET', k, 'at', ARGV[3])
end
local h = redis.call('HMGET', k, 'seq', 'born', 'at', 'latched', 'latch', 'override', 'winner', 'alerted')
local f = {ARGV[7], ARGV[8]}
for i = 1, 8 do f[i + 2] = h[i] or '' end
if changed == 1 then redis.call('PUBLISH', ARGV[6], table.concat(f, '\n')) end
table.insert(f, 1, tostring(won))
return f
)lua";

struct ContextFree {
  void operator()(redisContext* c) const { redisFree(c); }
};
using Context = std::unique_ptr<redisContext, ContextFree>;
struct ReplyFree {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyFree>;

timeval to_timeval(std::chrono::milliseconds ms) {
  return timeval{static_cast<time_t>(ms.count() / 1000), static_cast<suseconds_t>((ms.count() % 1000) * 1000)};
}

int64_t unix_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void append(redisContext* c, const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  argv.reserve(args.size());
  lens.reserve(args.size());
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  redisAppendCommandArgv(c, static_cast<int>(args.size()), argv.data(), lens.data());
}

// The next pipelined reply; null with `error` set when the connection failed (it is then unusable).
ReplyPtr next_reply(redisContext* c, std::string& error) {
  void* r = nullptr;
  if (redisGetReply(c, &r) != REDIS_OK || !r) {
    error = c->errstr[0] ? c->errstr : "connection lost";
    return nullptr;
  }
  return ReplyPtr(static_cast<redisReply*>(r));
}

std::string as_string(const redisReply* r) {
  if (!r) return {};
  if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) return std::string(r->str, r->len);
  if (r->type == REDIS_REPLY_INTEGER) return std::to_string(r->integer);
  return {};
}

template <class T>
T to_number(std::string_view s) {
  T v{};
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

Context connect(const StoreSettings& s, std::string& error) {
  Context c(redisConnectWithTimeout(s.host.c_str(), s.port, to_timeval(s.timeout)));
  if (!c) {
    error = "cannot allocate a connection";
    return nullptr;
  }
  if (c->err) {
    error = c->errstr;
    return nullptr;
  }
  redisSetTimeout(c.get(), to_timeval(s.timeout));
  if (s.db != 0) {
    append(c.get(), {"SELECT", std::to_string(s.db)});
    auto r = next_reply(c.get(), error);
    if (!r) return nullptr;
    if (r->type == REDIS_REPLY_ERROR) {
      error = "SELECT " + std::to_string(s.db) + ": " + std::string(r->str, r->len);
      return nullptr;
    }
  }
  return c;
}

}  // namespace

bool parse_state_fields(const std::vector<std::string>& f, StateView& out) {
  // 9 fields: an announcement of a replica older than the `alerted` field.
  if (f.size() != 9 && f.size() != 10) return false;
  out.model = f[0];
  out.revision = f[1];
  out.seq = to_number<uint64_t>(f[2]);
  out.born = f[3];
  out.at_unix_ms = to_number<int64_t>(f[4]);
  out.latched = f[5] == "1";
  out.latch = f[6];
  out.weight_override = f[7];
  out.winner = f[8];
  out.alerted = f.size() > 9 ? f[9] : std::string();
  out.exists = !out.born.empty();
  return true;
}

std::vector<StateView> fetch_states(const StoreSettings& settings,
                                    const std::vector<std::pair<std::string, std::string>>& models, std::string& error) {
  std::vector<StateView> out;
  Context c = connect(settings, error);
  if (!c) return out;
  for (const auto& [model, revision] : models)
    append(c.get(), {"HMGET", state_key(settings.prefix, model, revision), "seq", "born", "at", "latched", "latch", "override", "winner", "alerted"});
  for (const auto& [model, revision] : models) {
    auto r = next_reply(c.get(), error);
    if (!r) return {};
    std::vector<std::string> f{model, revision};
    if (r->type == REDIS_REPLY_ARRAY)
      for (std::size_t j = 0; j < r->elements; ++j) f.push_back(as_string(r->element[j]));
    StateView v;
    if (!parse_state_fields(f, v)) {
      v.model = model;
      v.revision = revision;
    }
    out.push_back(std::move(v));
  }
  return out;
}

Store::Store(StoreSettings settings, std::function<void()> wake) : settings_(std::move(settings)), wake_(std::move(wake)) {
  command_ = std::thread([this] { command_loop(); });
  subscriber_ = std::thread([this] { subscriber_loop(); });
}

Store::~Store() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  stop_.store(true);
  cv_.notify_all();
  command_.join();
  subscriber_.join();
}

bool Store::submit_tick(std::vector<BucketWrite> writes, std::vector<ModelRead> reads) {
  {
    std::lock_guard lock(mutex_);
    std::size_t ticks = 0;
    for (const auto& r : requests_) ticks += r.tick;
    if (ticks >= 2) return false;  // the store is slower than our ticks: skip, the counts wait in `unsent`
    Request r;
    r.writes = std::move(writes);
    r.reads = std::move(reads);
    requests_.push_back(std::move(r));
  }
  cv_.notify_all();  // the subscriber waits on the same condition (its pauses)
  return true;
}

bool Store::submit_op(StateOp op) {
  {
    std::lock_guard lock(mutex_);
    if (requests_.size() >= 256) return false;
    Request r;
    r.tick = false;
    r.op = std::move(op);
    requests_.push_back(std::move(r));
  }
  cv_.notify_all();  // the subscriber waits on the same condition (its pauses)
  return true;
}

std::vector<Reply> Store::take_replies() {
  std::lock_guard lock(mutex_);
  std::vector<Reply> out;
  out.swap(replies_);
  return out;
}

void Store::push_reply(Reply r) {
  if (!r.ok && r.kind != Reply::Kind::announced) errors_.fetch_add(1, std::memory_order_relaxed);
  {
    std::lock_guard lock(mutex_);
    replies_.push_back(std::move(r));
  }
  wake_();
}

void Store::command_loop() {
  Context c;
  const std::string born_seed = settings_.replica_id + "@" + std::to_string(unix_ms_now());
  const std::string replicas = replicas_key(settings_.prefix);
  const std::string channel = events_channel(settings_.prefix);
  for (;;) {
    Request req;
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [&] { return stopping_ || !requests_.empty(); });
      if (stopping_) return;
      req = std::move(requests_.front());
      requests_.pop_front();
    }
    Reply rep;
    rep.kind = req.tick ? Reply::Kind::tick : Reply::Kind::op;
    rep.op = req.op;
    std::string error;
    if (!c) c = connect(settings_, error);
    if (!c) {
      rep.error = "connect to " + settings_.host + ":" + std::to_string(settings_.port) + ": " + error;
      push_reply(std::move(rep));
      continue;
    }
    bool failed = false;
    auto fail = [&](std::string why) {
      rep.error = std::move(why);
      failed = true;
    };
    if (req.tick) {
      // Writes first, so this replica's own counts are in what it reads back.
      std::size_t sent = 0;
      for (const auto& w : req.writes) {
        if (w.fields.empty()) continue;
        for (const auto& [field, n] : w.fields) {
          append(c.get(), {"HINCRBY", w.key, field, std::to_string(n)});
          ++sent;
        }
        append(c.get(), {"EXPIRE", w.key, std::to_string(w.ttl_s)});
        ++sent;
        ++rep.bucket_writes;
      }
      const int64_t now = unix_ms_now();
      append(c.get(), {"ZADD", replicas, std::to_string(now), settings_.replica_id});
      append(c.get(), {"ZREMRANGEBYSCORE", replicas, "-inf", "(" + std::to_string(now - 10'000)});
      append(c.get(), {"ZCARD", replicas});
      sent += 3;
      for (const auto& m : req.reads) {
        for (const auto& k : m.keys) append(c.get(), {"HGETALL", k});
        append(c.get(), {"HMGET", m.state_key, "seq", "born", "at", "latched", "latch", "override", "winner", "alerted"});
        sent += m.keys.size() + 1;
      }
      // Replies in order: writes (+3 heartbeat), then per model its buckets and its state.
      const std::size_t writes = sent - 3 - [&] {
        std::size_t n = 0;
        for (const auto& m : req.reads) n += m.keys.size() + 1;
        return n;
      }();
      for (std::size_t i = 0; i < writes + 3 && !failed; ++i) {
        auto r = next_reply(c.get(), error);
        if (!r) fail(error);
        else if (r->type == REDIS_REPLY_ERROR) fail(std::string(r->str, r->len));
        else if (i == writes + 2 && r->type == REDIS_REPLY_INTEGER) rep.replicas = r->integer;
      }
      for (const auto& m : req.reads) {
        if (failed) break;
        ModelData d;
        d.model = m.model;
        d.revision = m.revision;
        d.epochs = m.epochs;
        for (std::size_t i = 0; i < m.keys.size() && !failed; ++i) {
          auto r = next_reply(c.get(), error);
          if (!r) {
            fail(error);
            break;
          }
          if (r->type != REDIS_REPLY_ARRAY || r->elements == 0) continue;
          std::vector<Field> fields;
          fields.reserve(r->elements / 2);
          for (std::size_t j = 0; j + 1 < r->elements; j += 2)
            fields.emplace_back(as_string(r->element[j]), to_number<int64_t>(as_string(r->element[j + 1])));
          d.buckets.emplace_back(m.epochs[i], std::move(fields));
        }
        if (failed) break;
        auto r = next_reply(c.get(), error);
        if (!r) {
          fail(error);
          break;
        }
        std::vector<std::string> f{m.model, m.revision};
        if (r->type == REDIS_REPLY_ARRAY)
          for (std::size_t j = 0; j < r->elements; ++j) f.push_back(as_string(r->element[j]));
        if (!parse_state_fields(f, d.state)) {
          d.state = StateView{};
          d.state.model = m.model;
          d.state.revision = m.revision;
        }
        rep.models.push_back(std::move(d));
      }
    } else {
      const StateOp& op = req.op;
      const char* kind = op.kind == StateOp::Kind::latch    ? "latch"
                         : op.kind == StateOp::Kind::resume ? "resume"
                         : op.kind == StateOp::Kind::alert  ? "alert"
                                                            : "weight";
      append(c.get(), {"EVAL", kStateScript, "1", op.state_key, kind, op.value, std::to_string(op.at_unix_ms),
                       settings_.replica_id, born_seed, channel, op.model, op.revision});
      auto r = next_reply(c.get(), error);
      if (!r) {
        fail(error);
      } else if (r->type == REDIS_REPLY_ERROR) {
        fail(std::string(r->str, r->len));
      } else if (r->type == REDIS_REPLY_ARRAY && r->elements == 11) {
        rep.won = as_string(r->element[0]) == "1";
        std::vector<std::string> f;
        for (std::size_t j = 1; j < r->elements; ++j) f.push_back(as_string(r->element[j]));
        parse_state_fields(f, rep.state);
      } else {
        fail("unexpected reply to the state script");
      }
    }
    // A connection that failed is unusable (hiredis), and one that answered an error may hold unread
    // replies of the pipeline: either way the next request connects again.
    if (failed) c.reset();
    rep.ok = !failed;
    push_reply(std::move(rep));
  }
}

void Store::subscriber_loop() {
  const std::string channel = events_channel(settings_.prefix);
  auto pause = [&](std::chrono::milliseconds d) {
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, d, [&] { return stopping_; });
  };
  while (!stop_.load()) {
    std::string error;
    Context c = connect(settings_, error);
    if (!c) {
      pause(std::chrono::milliseconds(500));
      continue;
    }
    append(c.get(), {"SUBSCRIBE", channel});
    auto first = next_reply(c.get(), error);
    if (!first || first->type == REDIS_REPLY_ERROR) {
      pause(std::chrono::milliseconds(500));
      continue;
    }
    subscribed_.store(true);
    // Wait with poll, so a quiet channel is no error and the loop sees stop_; then take every whole
    // message the read brought.
    bool broken = false;
    while (!stop_.load() && !broken) {
      pollfd p{c->fd, POLLIN, 0};
      const int n = ::poll(&p, 1, 200);
      if (n == 0) continue;
      if (n < 0 || redisBufferRead(c.get()) != REDIS_OK) {
        broken = true;
        break;
      }
      for (;;) {
        void* raw = nullptr;
        if (redisGetReplyFromReader(c.get(), &raw) != REDIS_OK) {
          broken = true;
          break;
        }
        if (!raw) break;
        ReplyPtr r(static_cast<redisReply*>(raw));
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 3 || as_string(r->element[0]) != "message") continue;
        const std::string payload = as_string(r->element[2]);
        std::vector<std::string> f;
        std::size_t from = 0;
        for (;;) {
          auto nl = payload.find('\n', from);
          f.push_back(payload.substr(from, nl == std::string::npos ? std::string::npos : nl - from));
          if (nl == std::string::npos) break;
          from = nl + 1;
        }
        Reply rep;
        rep.kind = Reply::Kind::announced;
        rep.ok = parse_state_fields(f, rep.state);
        if (rep.ok) push_reply(std::move(rep));
      }
    }
    subscribed_.store(false);
    if (!stop_.load()) pause(std::chrono::milliseconds(200));
  }
}

}  // namespace slipway::fleet
