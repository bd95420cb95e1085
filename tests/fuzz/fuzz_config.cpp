// Fuzz target: the config loader on arbitrary YAML. parse_config must never crash or throw, and must
// return either a config or at least one error (never both, never neither), each error printable.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "config/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view yaml(reinterpret_cast<const char*>(data), size);
  auto result = slipway::config::parse_config(yaml, "fuzz.yaml");
  if (result.config.operator bool() == !result.errors.empty()) {
    std::fprintf(stderr, "parse_config returned %s config and %zu errors\n", result.config ? "a" : "no",
                 result.errors.size());
    std::abort();
  }
  for (const auto& e : result.errors)
    if (e.to_string().empty()) std::abort();
  return 0;
}
