// slipway: an OpenAI-compatible gateway that ships a quantized model as a canary.
//   slipway [--config FILE] [--threads N] [--drain-timeout SECONDS]
//   slipway --check-config FILE
//   slipway --version
#include <csignal>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>

#include "config/config.hpp"
#include "gateway/server.hpp"

namespace slipway {
const char* version();
}

namespace {

int usage(const char* why) {
  if (why) std::cerr << "slipway: " << why << "\n";
  std::cerr << "usage: slipway [--config FILE] [--threads N] [--drain-timeout SECONDS]\n"
               "       slipway --check-config FILE\n"
               "       slipway --version\n"
               "Without --config, slipway runs its embedded demo config (two simulators on 127.0.0.1:8001/8002).\n";
  return 2;
}

void print_errors(const std::string& source, const std::vector<slipway::config::ConfigError>& errors) {
  for (const auto& e : errors) std::cerr << source << ": " << e.to_string() << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path, check_path;
  int threads = 0;
  int drain_timeout = 30;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&](const char* name) -> const char* {
      if (i + 1 >= argc) return nullptr;
      (void)name;
      return argv[++i];
    };
    if (arg == "--config" || arg == "-c") {
      const char* v = value("--config");
      if (!v) return usage("--config needs a file");
      config_path = v;
    } else if (arg == "--check-config") {
      const char* v = value("--check-config");
      if (!v) return usage("--check-config needs a file");
      check_path = v;
    } else if (arg == "--threads") {
      const char* v = value("--threads");
      if (!v) return usage("--threads needs a number");
      threads = std::atoi(v);
      if (threads < 1 || threads > 256) return usage("--threads must be between 1 and 256");
    } else if (arg == "--drain-timeout") {
      const char* v = value("--drain-timeout");
      if (!v) return usage("--drain-timeout needs seconds");
      drain_timeout = std::atoi(v);
    } else if (arg == "--version") {
      std::cout << "slipway " << slipway::version() << "\n";
      return 0;
    } else if (arg == "--help" || arg == "-h") {
      usage(nullptr);
      return 0;
    } else {
      return usage(("unknown argument: " + arg).c_str());
    }
  }

  if (!check_path.empty()) {
    auto result = slipway::config::load_config_file(check_path);
    if (!result.errors.empty()) {
      print_errors(check_path, result.errors);
      std::cerr << check_path << ": " << result.errors.size() << " error(s); config rejected\n";
      return 1;
    }
    std::cout << check_path << ": ok (" << result.config->models.size() << " model(s), " << result.config->routes.size()
              << " route rule(s))\n";
    return 0;
  }

  slipway::config::ParseResult loaded;
  std::string text;
  if (config_path.empty()) {
    text = std::string(slipway::config::embedded_default_config());
    loaded = slipway::config::parse_config(text, "<embedded>");
  } else {
    // Parse the very bytes we keep: the reloader compares later reads against them.
    FILE* f = std::fopen(config_path.c_str(), "rb");
    if (!f) {
      loaded = slipway::config::load_config_file(config_path);  // for its message naming the file
    } else {
      char buf[65536];
      std::size_t n;
      while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
      std::fclose(f);
      loaded = slipway::config::parse_config(text, config_path);
    }
  }
  if (!loaded.errors.empty()) {
    print_errors(config_path.empty() ? "<embedded>" : config_path, loaded.errors);
    return 1;
  }
  std::signal(SIGPIPE, SIG_IGN);
  slipway::ServerOptions options;
  options.config_path = config_path;
  options.config_text = text;
  options.threads = threads;
  options.drain_timeout = std::chrono::seconds(drain_timeout);
  slipway::Server server(std::move(options), loaded.config);
  return server.run();
}
