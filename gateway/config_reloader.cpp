#include "gateway/config_reloader.hpp"
#include "gateway/metrics.hpp"

#include <sys/inotify.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

namespace slipway {

namespace net = boost::asio;

ConfigReloader::ConfigReloader(net::io_context& ioc, SnapshotStore& store, const Log& log, std::string path,
                               std::string loaded_text)
    : ioc_(ioc), store_(store), log_(log), path_(std::move(path)), last_text_(std::move(loaded_text)),
      inotify_(ioc), debounce_(ioc), poll_(ioc) {}

ConfigReloader::~ConfigReloader() {
  boost::system::error_code ec;
  inotify_.close(ec);
}

void ConfigReloader::start() {
  if (path_.empty()) return;
  inotify_fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (inotify_fd_ < 0) {
    log_.write(LogLevel::warn, "config_watch_unavailable", {{"reason", "inotify_init1 failed"}});
    return;
  }
  std::string dir = std::filesystem::absolute(path_).parent_path().string();
  if (inotify_add_watch(inotify_fd_, dir.c_str(),
                        IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_MODIFY | IN_ATTRIB) < 0) {
    log_.write(LogLevel::warn, "config_watch_unavailable", {{"reason", "inotify_add_watch failed"}, {"dir", dir}});
    ::close(inotify_fd_);
    return;
  }
  inotify_.assign(inotify_fd_);
  arm_inotify();
}

void ConfigReloader::arm_inotify() {
  inotify_.async_read_some(net::buffer(events_), [this](boost::system::error_code ec, std::size_t) {
    if (ec) return;
    schedule_check();
    arm_inotify();
  });
}

// Editors and ConfigMap updates touch the directory several times in a burst: settle first.
void ConfigReloader::schedule_check() {
  debounce_.expires_after(std::chrono::milliseconds(100));
  debounce_.async_wait([this](boost::system::error_code ec) {
    if (!ec) reload("file_changed");
  });
}

void ConfigReloader::reload(std::string_view why) {
  if (path_.empty()) {
    log_.write(LogLevel::info, "config_reload_skipped", {{"reason", "embedded config has no file"}});
    return;
  }
  std::ifstream in(path_, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  bool forced = why == "sighup";
  if (!in && text.empty()) {
    // Mid-swap a ConfigMap directory can briefly lack the file; the next event will bring it.
    if (forced) log_.write(LogLevel::warn, "config_rejected", {{"reason", why}, {"errors", boost::json::array{"cannot read " + path_}}});
    return;
  }
  if (text == last_text_ && !forced) return;
  last_text_ = text;
  auto result = config::parse_config(text, path_);
  if (!result.errors.empty()) {
    boost::json::array errors;
    for (const auto& e : result.errors) errors.push_back(boost::json::string(e.to_string()));
    if (auto* m = global_metrics()) m->reload_rejected();
    log_.write(LogLevel::error, "config_rejected",
               {{"reason", why}, {"file", path_}, {"errors", std::move(errors)},
                {"kept_generation", store_.current()->config->generation}});
    return;
  }
  auto old = store_.current();
  auto snap = store_.publish(result.config);
  if (auto* m = global_metrics()) m->reload_applied();
  if (on_applied_) on_applied_(*snap->config);
  snap = store_.current();  // the rollout service may have republished it with its weights
  boost::json::object fields{{"reason", why}, {"file", path_}, {"generation", snap->config->generation}};
  if (old->config->listen.address != snap->config->listen.address || old->config->listen.port != snap->config->listen.port ||
      old->config->threads != snap->config->threads)
    fields["restart_needed_for"] = "listen/threads (not applied until restart)";
  boost::json::array weights;
  for (const auto& m : snap->config->models)
    weights.push_back({{"model", m.name}, {"canary_weight", m.canary ? m.canary->weight_percent : 0.0}});
  for (std::size_t i = 0; i < snap->models.size() && i < weights.size(); ++i)
    if (snap->models[i].canary) weights[i].as_object()["effective_weight"] = snap->models[i].canary_weight_percent;
  fields["weights"] = std::move(weights);
  log_.write(LogLevel::info, "config_reloaded", fields);
}

}  // namespace slipway
