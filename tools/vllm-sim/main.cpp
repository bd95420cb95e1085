// vllm-sim: command line. See tools/vllm-sim/README.md.
#include "tools/vllm-sim/sim.hpp"

#include <cstdlib>
#include <cstring>
#include <iostream>

namespace sim {
namespace {
Config g_config;
}
const Config& config() { return g_config; }
Config& mutable_config() { return g_config; }
}  // namespace sim

namespace {

constexpr const char* kUsage =
    "usage: vllm-sim --port N (0 = ephemeral) --model NAME [--host 127.0.0.1] [--seed S]\n"
    "                [--profile FILE.yaml] [--ttft-ms X] [--token-ms X] [--output-tokens N]\n"
    "                [--threads N] [--name LABEL] [--log-requests]\n";

[[noreturn]] void usage_error(const std::string& msg) {
  std::cerr << "vllm-sim: " << msg << "\n" << kUsage;
  std::exit(2);
}

double number(const char* flag, const char* v, double lo, double hi) {
  char* end = nullptr;
  double d = std::strtod(v, &end);
  if (!end || *end || end == v || d < lo || d > hi) usage_error(std::string(flag) + ": bad value \"" + v + "\"");
  return d;
}

}  // namespace

int main(int argc, char** argv) {
  sim::Config& cfg = sim::mutable_config();
  std::string profile_path;
  std::optional<double> ttft, token, out_tokens;
  std::optional<std::uint64_t> seed;
  bool have_port = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::cout << kUsage;
      return 0;
    }
    if (a == "--log-requests") {
      cfg.log_requests = true;
      continue;
    }
    if (i + 1 >= argc) usage_error("missing value for " + a);
    const char* v = argv[++i];
    if (a == "--port") cfg.port = static_cast<unsigned short>(number("--port", v, 0, 65535)), have_port = true;
    else if (a == "--host") cfg.host = v;
    else if (a == "--model") cfg.model = v;
    else if (a == "--seed") seed = static_cast<std::uint64_t>(number("--seed", v, 0, 9.0e15));
    else if (a == "--profile") profile_path = v;
    else if (a == "--ttft-ms") ttft = number("--ttft-ms", v, 0, 3.6e6);
    else if (a == "--token-ms") token = number("--token-ms", v, 0, 3.6e6);
    else if (a == "--output-tokens") out_tokens = number("--output-tokens", v, 0, 1e6);
    else if (a == "--threads") cfg.threads = static_cast<int>(number("--threads", v, 1, 256));
    else if (a == "--name") cfg.name = v;
    else usage_error("unknown option " + a);
  }
  if (!have_port) usage_error("--port is required");
  if (cfg.model.empty()) usage_error("--model is required");
  if (cfg.name.empty()) cfg.name = "vllm-sim";
  if (!profile_path.empty()) {
    try {
      cfg.profile = sim::load_profile(profile_path);
    } catch (const sim::ProfileError& e) {
      std::cerr << "vllm-sim: profile error: " << e.what() << "\n";
      return 2;
    }
  }
  if (cfg.profile.seed) cfg.seed = *cfg.profile.seed;
  if (seed) cfg.seed = *seed;
  if (ttft) cfg.profile.timing.ttft_ms = *ttft;
  if (token) cfg.profile.timing.token_ms = *token;
  if (out_tokens) cfg.profile.timing.output_tokens = static_cast<int>(*out_tokens);
  return sim::run_server();
}
