#include "gateway/split.hpp"

#include <algorithm>
#include <cstdint>

namespace slipway {

std::string_view to_string(VariantKind v) { return v == VariantKind::canary ? "canary" : "baseline"; }

namespace {
// FNV-1a spreads short ids poorly in the high bits; the splitmix64 finaliser fixes that.
uint64_t fnv1a(uint64_t h, std::string_view s) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}
uint64_t splitmix64_finalise(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
}  // namespace

double sticky_point(std::string_view model, std::string_view key) {
  uint64_t h = fnv1a(0xcbf29ce484222325ULL, model);
  h = fnv1a(h, std::string_view("\0", 1));
  h = fnv1a(h, key);
  return static_cast<double>(splitmix64_finalise(h) >> 11) * 0x1.0p-53;
}

bool route_matches(const config::RouteRule& rule, const RouteView& request) {
  if (rule.model && *rule.model != request.model) return false;
  if (rule.path_prefix && !request.path.starts_with(*rule.path_prefix)) return false;
  if (rule.header) {
    bool present = false;
    std::string_view value = request.header(rule.header->name, present);
    if (!present) return false;
    const auto& allowed = rule.header->values;
    if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), value) == allowed.end()) return false;
  }
  return true;
}

const config::RouteRule* find_pin(const config::Config& cfg, const RouteView& request) {
  for (const auto& rule : cfg.routes)
    if (rule.pin_baseline && route_matches(rule, request)) return &rule;
  return nullptr;
}

config::OnInvalid find_on_invalid(const config::Config& cfg, const RouteView& request) {
  for (const auto& rule : cfg.routes)
    if (rule.on_invalid && route_matches(rule, request)) return *rule.on_invalid;
  return cfg.validation.on_invalid;
}

SplitDecision decide_variant(const config::Model& model, const config::RouteRule* pin, std::string_view user,
                             std::string_view header_key, double random_point) {
  return decide_variant(model, pin, user, header_key, random_point, model.canary ? model.canary->weight_percent : 0.0);
}

SplitDecision decide_variant(const config::Model& model, const config::RouteRule* pin, std::string_view user,
                             std::string_view header_key, double random_point, double canary_weight_percent) {
  if (!model.canary) return {VariantKind::baseline, "no_canary", 0.0};
  if (pin) return {VariantKind::baseline, "pinned", 0.0};
  SplitDecision d;
  if (!user.empty()) {
    d.point = sticky_point(model.name, user);
    d.reason = "sticky_user";
  } else if (!header_key.empty()) {
    d.point = sticky_point(model.name, header_key);
    d.reason = "sticky_header";
  } else {
    d.point = random_point;
    d.reason = "random";
  }
  d.variant = in_canary(d.point, canary_weight_percent) ? VariantKind::canary : VariantKind::baseline;
  return d;
}

}  // namespace slipway
