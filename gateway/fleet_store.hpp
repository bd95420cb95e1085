// The fleet's client of Redis (docs/fleet.md). All store I/O runs on two threads of its own, with blocking
// hiredis calls bounded by a short timeout: one command connection (pipelined bucket writes and reads, the
// latch script, the heartbeat) and one subscriber connection (the change announcements). The control thread
// hands it requests (submit: a push under a short lock, never a wait) and takes its replies (take_replies)
// after `wake` told it there are some. Nothing here is ever on a request's path.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "gateway/fleet_buckets.hpp"

namespace slipway::fleet {

struct StoreSettings {
  std::string host = "127.0.0.1";
  uint16_t port = 6379;
  int db = 0;
  std::string prefix = "slipway";
  std::string replica_id;
  std::chrono::milliseconds timeout{200};
  bool operator==(const StoreSettings&) const = default;
};

// A model's shared state as the store holds it (the hash at state_key()).
struct StateView {
  std::string model, revision;
  bool exists = false;
  uint64_t seq = 0;           // +1 per change
  std::string born;           // set when the hash is created: a store that lost its data has another one
  int64_t at_unix_ms = 0;     // time of the last change
  bool latched = false;
  std::string latch;          // the latched RolloutState as JSON (state_file.hpp's to_json)
  std::string weight_override;  // "" = none, else percent
  std::string winner;         // replica id that wrote the latch
  std::string alerted;        // replica id that sent (or claimed) the latch's alert; "" = nobody yet
};

struct BucketWrite {
  std::string key;
  std::vector<Field> fields;
  int ttl_s = 3600;
};

struct ModelRead {
  std::string model, revision;
  std::vector<int64_t> epochs;       // bucket epochs to read
  std::vector<std::string> keys;     // their keys
  std::string state_key;
};

struct ModelData {
  std::string model, revision;
  std::vector<int64_t> epochs;                                  // the buckets read (as asked)
  std::vector<std::pair<int64_t, std::vector<Field>>> buckets;  // the non-empty ones among them
  StateView state;
};

// A change of a model's shared state. latch: first writer wins; resume clears latch and override;
// weight sets the override ("" clears it); alert: marks the current latch's alert as sent by this replica,
// first claimer wins (won: it is this replica's), only while latched.
struct StateOp {
  enum class Kind { latch, resume, weight, alert } kind = Kind::latch;
  std::string model, revision, state_key;
  std::string value;  // latch: the RolloutState JSON; weight: percent or ""
  int64_t at_unix_ms = 0;
};

struct Reply {
  enum class Kind { tick, op, announced } kind = Kind::tick;
  bool ok = false;
  std::string error;
  // tick
  std::vector<ModelData> models;
  std::size_t bucket_writes = 0;
  int64_t replicas = 0;
  // op
  StateOp op;
  bool won = false;  // latch: this write set it (else someone else's latch was there)
  // op and announced
  StateView state;
};

class Store {
 public:
  // wake is called from the store's threads after replies were queued; it must not block (it posts).
  Store(StoreSettings settings, std::function<void()> wake);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Control thread. A tick writes the buckets, beats the heartbeat, then reads the buckets and states, in
  // one pipeline. Returns false (nothing queued) when too many requests wait: the store is too slow.
  bool submit_tick(std::vector<BucketWrite> writes, std::vector<ModelRead> reads);
  bool submit_op(StateOp op);
  std::vector<Reply> take_replies();

  const StoreSettings& settings() const { return settings_; }
  uint64_t errors() const { return errors_.load(std::memory_order_relaxed); }
  bool subscribed() const { return subscribed_.load(std::memory_order_relaxed); }

 private:
  struct Request {
    bool tick = true;
    std::vector<BucketWrite> writes;
    std::vector<ModelRead> reads;
    StateOp op;
  };
  void command_loop();
  void subscriber_loop();
  void push_reply(Reply r);

  StoreSettings settings_;
  std::function<void()> wake_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Request> requests_;
  std::vector<Reply> replies_;
  bool stopping_ = false;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> errors_{0};
  std::atomic<bool> subscribed_{false};
  std::thread command_;
  std::thread subscriber_;
};

// At startup only, on the calling thread (before the listeners open, so a new replica of a rolled-back fleet
// serves no request to the canary): the shared states of (model, revision) pairs, one round trip bounded by
// settings.timeout. Empty with `error` set when the store does not answer.
std::vector<StateView> fetch_states(const StoreSettings& settings,
                                    const std::vector<std::pair<std::string, std::string>>& models, std::string& error);

// The fields of a state announcement or script reply, in this order:
// model, revision, seq, born, at, latched, latch, override, winner[, alerted].
bool parse_state_fields(const std::vector<std::string>& f, StateView& out);

}  // namespace slipway::fleet
