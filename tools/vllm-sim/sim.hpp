// vllm-sim: shared types. A simulated vLLM OpenAI-compatible server for tests, the demo and benchmarks.
#pragma once

#include <boost/json.hpp>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sim {

// Small, fast, deterministic generator (splitmix64). One per request, seeded from
// (seed, body bytes, x-request-id), so answers do not depend on concurrency.
struct Rng {
  std::uint64_t s;
  explicit Rng(std::uint64_t seed) : s(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  // Inclusive range.
  std::int64_t range(std::int64_t lo, std::int64_t hi) {
    if (hi <= lo) return lo;
    return lo + static_cast<std::int64_t>(next() % static_cast<std::uint64_t>(hi - lo + 1));
  }
  bool chance(double p) { return p > 0 && uniform() < p; }
};

inline std::uint64_t fnv1a(std::string_view s, std::uint64_t h = 1469598103934665603ull) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

std::string hex_id(Rng& rng, int nhex);

// ---- profile (profile.cpp) ----
struct Timing {
  double ttft_ms = 0;
  double token_ms = 0;
  int output_tokens = 16;  // mean; actual varies +-30%
  double tail_p = 0;
  double tail_extra_ms = 600;
};

struct When {
  std::optional<int> min_prompt_tokens, min_schema_depth, min_tools;
  std::optional<bool> tools, stream;
  std::optional<std::pair<std::string, std::string>> header;  // name lowercased
};

struct Rule {
  std::string kind;
  double p = 1.0;
  When when;
  double delay_ms = 2000;  // faults: slow
};

struct Profile {
  std::optional<std::uint64_t> seed;
  Timing timing;
  std::vector<std::string> refuse_phrases{"[harmful]"};
  std::vector<Rule> slippage;
  std::vector<Rule> faults;
};

struct ProfileError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

Profile load_profile(const std::string& path);  // throws ProfileError (message names key and line)
bool is_slip_kind(std::string_view k);
bool is_fault_kind(std::string_view k);

using Headers = std::vector<std::pair<std::string, std::string>>;  // lowercased names

// What `when` conditions look at.
struct Features {
  int prompt_tokens = 0;
  int schema_depth = 0;
  int n_tools = 0;
  bool stream = false;
  const Headers* headers = nullptr;
};
bool when_matches(const When& w, const Features& f);
std::string_view find_header(const Headers& h, std::string_view lname);

// ---- global configuration (main.cpp) ----
struct Config {
  std::string host = "127.0.0.1";
  unsigned short port = 0;
  std::string model;
  std::string name;
  std::uint64_t seed = 42;
  Profile profile;
  int threads = 1;
  bool log_requests = false;
};
const Config& config();
Config& mutable_config();  // main.cpp fills it before the server starts

// Binds (one acceptor per thread, SO_REUSEPORT when threads > 1), prints the listening line, serves until
// SIGINT/SIGTERM. Returns the process exit code.
int run_server();

// ---- JSON Schema instances (schema_instance.cpp, schema_violate.cpp, pattern_gen.cpp) ----
boost::json::value make_instance(const boost::json::value& schema, Rng& rng);
int schema_depth(const boost::json::value& schema);
// Mutates `inst` so that it violates `schema` (drop required key / wrong type / bad enum).
// mode: 0 any, 1 wrong type only, 2 drop required only. Returns false if nothing applicable.
bool violate_schema(boost::json::value& inst, const boost::json::value& schema, Rng& rng, int mode);
// A string matching a simple regex pattern, or nullopt when the pattern is beyond the subset.
std::optional<std::string> string_for_pattern(std::string_view pattern, Rng& rng);
// Resolve "#/$defs/x", "#/definitions/x", "#" and other local JSON pointers against root.
const boost::json::value* resolve_ref(const boost::json::value& root, std::string_view ref);

// ---- generation (plan.cpp) ----
struct ToolCallOut {
  std::string id, name, arguments;
  std::vector<std::string> arg_pieces;  // for streaming
};

struct Reply {
  bool chat = true;
  std::string id;
  std::int64_t created = 0;
  bool stream = false, include_usage = false, continuous_usage = false;
  bool content_null = false;           // chat: content is null (tool calls)
  std::string content;                 // full content
  std::vector<std::string> pieces;     // streaming content pieces, concat == content
  std::vector<ToolCallOut> calls;
  std::string finish_reason = "stop";
  int prompt_tokens = 0, completion_tokens = 0;
  double ttft_ms = 0, token_ms = 0;
  std::string fault;                   // empty: none
  double fault_delay_ms = 0;
  std::string slips;                   // applied slippage kinds, comma separated (x-sim-slip-applied)
};

Reply plan_reply(const boost::json::object& body, bool chat, const Headers& headers, std::string_view body_bytes,
                 std::string_view request_id);

// ---- bodies (responses.cpp) ----
std::string error_body(std::string_view message, std::string_view type, int code);
std::string full_body(const Reply& r);
// A stream's SSE events ("data: ...\n\n"), in order, without [DONE]. Each is built when asked for, as vLLM
// writes a chunk when its token exists: building all of them before the first (0.2 ms for 200) delayed
// every stream's first byte, and more for a request that asks for usage (each chunk then carries it).
class StreamEvents {
 public:
  explicit StreamEvents(const Reply& r);  // `r` outlives this
  std::size_t size() const;
  // The next event, or false after the last. `paced`: wait token_ms before it (the first event comes at ttft,
  // the usage chunk with the last).
  bool next(std::string& event, bool& paced);

 private:
  void chunk(std::string& out, std::string_view delta_or_text, const char* finish) const;
  const Reply& r_;
  std::vector<std::string> deltas_;
  std::size_t next_ = 0;
  int emitted_ = 0;
};
std::string endless_event(const Reply& r, Rng& rng);
std::string models_body();
std::string embeddings_body(const boost::json::object& body, std::string& err, int& status);
std::string tokenize_body(const boost::json::object& body);
std::string lorem_words(Rng& rng, int n);  // n words separated by single spaces
std::string_view lorem_word(Rng& rng);
// Compact JSON with numbers as a model would write them (0.15, not Boost's 1.5E-1).
std::string to_json(const boost::json::value& v);

// ---- stats (stats.cpp) ----
enum class PathId : int {
  chat, completions, models, health, embeddings, tokenize, metrics, sim_stats, sim_reset, other, count_
};
PathId path_id(std::string_view target);
std::string_view path_name(PathId id);

struct LastRequest {
  std::string path, model, x_request_id, authorization, stream_options;
  bool has_model = false, has_x_request_id = false, has_authorization = false, has_stream_options = false;
  bool stream = false;
  std::size_t body_bytes = 0;
  Headers headers;
};

void stats_request_begin(PathId id, bool active);  // active: counted in active_requests
void stats_request_end();
void stats_stream_begin();
enum class StreamEnd { completed, cancelled, faulted };  // faulted (reset_mid_stream) counts in neither
void stats_stream_end(StreamEnd how);
void stats_request_cancelled();
void stats_tokens(int prompt, int completion, std::string_view finish_reason);
// Slot per worker thread; swapped in under the slot's lock (capacity is reused). The newest is reported.
void stats_last_store(int thread_index, LastRequest& lr);
void stats_init(int threads);
std::string stats_body();
std::string metrics_body();
void stats_reset();

}  // namespace sim
