#include "gateway/rollout/state_file.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <boost/json.hpp>

namespace slipway::rollout {

namespace json = boost::json;

namespace {

constexpr int kFormatVersion = 1;

// Typed field access that reports the key on mismatch.
struct Reader {
  std::string& error;
  const json::value* field(const json::object& o, const char* key, const char* where) {
    auto it = o.find(key);
    if (it == o.end()) {
      error = std::string(where) + key + ": missing";
      return nullptr;
    }
    return &it->value();
  }
  bool num(const json::object& o, const char* key, const char* where, double& out) {
    const json::value* v = field(o, key, where);
    if (!v) return false;
    if (v->is_double()) out = v->get_double();
    else if (v->is_int64()) out = static_cast<double>(v->get_int64());
    else if (v->is_uint64()) out = static_cast<double>(v->get_uint64());
    else {
      error = std::string(where) + key + ": expected a number";
      return false;
    }
    return true;
  }
  bool u64(const json::object& o, const char* key, const char* where, uint64_t& out) {
    const json::value* v = field(o, key, where);
    if (!v) return false;
    if (v->is_uint64()) out = v->get_uint64();
    else if (v->is_int64() && v->get_int64() >= 0) out = static_cast<uint64_t>(v->get_int64());
    else {
      error = std::string(where) + key + ": expected a non-negative integer";
      return false;
    }
    return true;
  }
  bool str(const json::object& o, const char* key, const char* where, std::string& out) {
    const json::value* v = field(o, key, where);
    if (!v) return false;
    if (!v->is_string()) {
      error = std::string(where) + key + ": expected a string";
      return false;
    }
    out = std::string(v->get_string());
    return true;
  }
  bool boolean(const json::object& o, const char* key, const char* where, bool& out) {
    const json::value* v = field(o, key, where);
    if (!v) return false;
    if (!v->is_bool()) {
      error = std::string(where) + key + ": expected true or false";
      return false;
    }
    out = v->get_bool();
    return true;
  }
};

bool eval_from_json(const json::object& o, Evaluation& e, Reader& r) {
  const char* w = "reason.numbers.";
  std::string verdict, direction;
  if (!r.str(o, "verdict", w, verdict) || !r.str(o, "direction", w, direction)) return false;
  bool found = false;
  for (auto v : {Verdict::fired, Verdict::min_sample, Verdict::within_tolerance, Verdict::not_significant})
    if (verdict == to_string(v)) e.verdict = v, found = true;
  if (!found) return r.error = std::string(w) + "verdict: unknown value \"" + verdict + "\"", false;
  found = false;
  for (auto d : {Direction::higher_is_worse, Direction::lower_is_worse, Direction::either})
    if (direction == to_string(d)) e.direction = d, found = true;
  if (!found) return r.error = std::string(w) + "direction: unknown value \"" + direction + "\"", false;
  return r.num(o, "canary_rate", w, e.canary_rate) && r.num(o, "baseline_rate", w, e.baseline_rate) &&
         r.u64(o, "canary_n", w, e.canary_n) && r.u64(o, "baseline_n", w, e.baseline_n) &&
         r.u64(o, "canary_events", w, e.canary_events) && r.u64(o, "baseline_events", w, e.baseline_events) &&
         r.num(o, "canary_value", w, e.canary_value) && r.num(o, "baseline_value", w, e.baseline_value) &&
         r.num(o, "excess", w, e.excess) && r.num(o, "statistic", w, e.statistic) &&
         r.num(o, "p_value", w, e.p_value) && r.num(o, "threshold", w, e.threshold);
}

bool fsync_dir_of(const std::string& path, std::string& error) {
  const auto slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return error = dir + ": open: " + std::strerror(errno), false;
  const bool ok = ::fsync(fd) == 0;
  if (!ok) error = dir + ": fsync: " + std::strerror(errno);
  ::close(fd);
  return ok;
}

}  // namespace

boost::json::object to_json(const Evaluation& e) {
  namespace json = boost::json;
  json::object o;
  o["verdict"] = to_string(e.verdict);
  o["direction"] = to_string(e.direction);
  o["canary_rate"] = e.canary_rate;
  o["baseline_rate"] = e.baseline_rate;
  o["canary_n"] = e.canary_n;
  o["baseline_n"] = e.baseline_n;
  o["canary_events"] = e.canary_events;
  o["baseline_events"] = e.baseline_events;
  o["canary_value"] = e.canary_value;
  o["baseline_value"] = e.baseline_value;
  o["excess"] = e.excess;
  o["statistic"] = e.statistic;
  o["p_value"] = e.p_value;
  o["threshold"] = e.threshold;
  return o;
}

std::string to_json(const RolloutState& s) {
  json::object o;
  o["format"] = kFormatVersion;
  o["revision"] = s.revision;
  o["latched"] = s.latched;
  o["latched_at_unix_ms"] = s.latched_at_unix_ms;
  o["step"] = s.step;
  if (s.weight_override) o["weight_override"] = *s.weight_override;
  else o["weight_override"] = nullptr;
  if (s.reason) {
    json::object r;
    r["trigger"] = s.reason->trigger;
    r["slice"] = s.reason->slice;
    r["sli"] = s.reason->sli;
    r["message"] = s.reason->message;
    r["numbers"] = to_json(s.reason->numbers);
    o["reason"] = std::move(r);
  } else {
    o["reason"] = nullptr;
  }
  return json::serialize(o) + "\n";
}

bool from_json(std::string_view text, RolloutState& out, std::string& error) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) return error = "not JSON: " + ec.message(), false;
  if (!v.is_object()) return error = "expected a JSON object", false;
  const json::object& o = v.get_object();
  Reader r{error};
  RolloutState s;
  double format = 0;
  if (!r.num(o, "format", "", format)) return false;
  if (format != kFormatVersion) return error = "format: unsupported version", false;
  uint64_t step = 0;
  int64_t at = 0;
  double atd = 0;
  if (!r.str(o, "revision", "", s.revision) || !r.boolean(o, "latched", "", s.latched) ||
      !r.num(o, "latched_at_unix_ms", "", atd) || !r.u64(o, "step", "", step))
    return false;
  at = static_cast<int64_t>(atd);
  s.latched_at_unix_ms = at;
  s.step = static_cast<std::size_t>(step);
  const json::value* w = r.field(o, "weight_override", "");
  if (!w) return false;
  if (!w->is_null()) {
    double d = 0;
    if (!r.num(o, "weight_override", "", d)) return false;
    if (!(d >= 0 && d <= 100)) return error = "weight_override: must be within [0, 100]", false;
    s.weight_override = d;
  }
  const json::value* rv = r.field(o, "reason", "");
  if (!rv) return false;
  if (!rv->is_null()) {
    if (!rv->is_object()) return error = "reason: expected an object or null", false;
    const json::object& ro = rv->get_object();
    LatchReason lr;
    if (!r.str(ro, "trigger", "reason.", lr.trigger) || !r.str(ro, "slice", "reason.", lr.slice) ||
        !r.str(ro, "sli", "reason.", lr.sli) || !r.str(ro, "message", "reason.", lr.message))
      return false;
    const json::value* nv = r.field(ro, "numbers", "reason.");
    if (!nv) return false;
    if (!nv->is_object()) return error = "reason.numbers: expected an object", false;
    if (!eval_from_json(nv->get_object(), lr.numbers, r)) return false;
    s.reason = std::move(lr);
  }
  if (s.latched && !s.reason) return error = "latched is true but reason is null", false;
  out = std::move(s);
  return true;
}

bool write_state_file(const std::string& path, const RolloutState& s, std::string& error) {
  const std::string data = to_json(s);
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return error = tmp + ": open: " + std::strerror(errno), false;
  std::size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      error = tmp + ": write: " + std::strerror(errno);
      ::close(fd);
      ::unlink(tmp.c_str());
      return false;
    }
    off += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    error = tmp + ": fsync: " + std::strerror(errno);
    ::close(fd);
    ::unlink(tmp.c_str());
    return false;
  }
  if (::close(fd) != 0) {
    error = tmp + ": close: " + std::strerror(errno);
    ::unlink(tmp.c_str());
    return false;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    error = path + ": rename: " + std::strerror(errno);
    ::unlink(tmp.c_str());
    return false;
  }
  return fsync_dir_of(path, error);
}

int remove_orphaned_temp_files(const std::string& path) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  const std::string prefix = target.filename().string() + ".tmp.";
  std::error_code ec;
  fs::directory_iterator it(target.has_parent_path() ? target.parent_path() : fs::path("."), ec);
  if (ec) return 0;
  int removed = 0;
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
    const fs::path entry = it->path();
    const std::string name = entry.filename().string();
    if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string digits = name.substr(prefix.size());
    if (digits.find_first_not_of("0123456789") != std::string::npos || digits.size() > 9) continue;
    const pid_t pid = static_cast<pid_t>(std::stol(digits));
    // A live writer (another gateway on the same directory, or this one) may be between write and rename.
    if (pid == ::getpid() || ::kill(pid, 0) == 0 || errno != ESRCH) continue;
    std::error_code rm;
    if (fs::remove(entry, rm)) ++removed;
  }
  return removed;
}

StateFileRead read_state_file(const std::string& path) {
  StateFileRead r;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec) && !ec) {
    r.status = StateFileRead::Status::missing;
    return r;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    r.status = StateFileRead::Status::error;
    r.error = path + ": cannot open: " + std::strerror(errno);
    return r;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  std::string err;
  if (!from_json(ss.str(), r.state, err)) {
    r.status = StateFileRead::Status::error;
    r.error = path + ": " + err;
    return r;
  }
  r.status = StateFileRead::Status::ok;
  return r;
}

}  // namespace slipway::rollout
