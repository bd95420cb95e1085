#include "gateway/rollout_report.hpp"

#include <cmath>
#include <cstdio>
#include <ctime>

#include "gateway/rollout/state_file.hpp"
#include "gateway/rollout/window.hpp"

namespace slipway {

namespace json = boost::json;

std::string iso8601(int64_t unix_ms) {
  if (unix_ms <= 0) return {};
  std::time_t t = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(unix_ms % 1000));
  return buf;
}

std::string sli_label(const rollout::TriggerSpec& t) {
  if (t.kind == rollout::TriggerKind::rate) return rollout::to_string(t.rate_sli);
  return std::string(rollout::to_string(t.latency_sli)) + ":p" + std::to_string(static_cast<int>(std::lround(t.quantile * 100)));
}

namespace {

// A double that JSON can carry (no NaN or infinity).
json::value num(double x) { return std::isfinite(x) ? json::value(x) : json::value(nullptr); }

}  // namespace

json::object evaluation_json(const rollout::Evaluation& e, double scale) {
  json::object o = rollout::to_json(e);
  for (auto& kv : o)
    if (kv.value().is_double()) kv.value() = num(kv.value().get_double());
  if (e.canary_value != 0 || e.baseline_value != 0) {
    o["canary_value"] = num(e.canary_value * scale);
    o["baseline_value"] = num(e.baseline_value * scale);
  } else {
    o.erase("canary_value");
    o.erase("baseline_value");
  }
  return o;
}

}  // namespace slipway
