// Hot reload. Watches the config file's directory with inotify (so a Kubernetes ConfigMap's symlink
// swap is seen, not only an in-place write) and reloads on SIGHUP. A new file is validated whole;
// if good it is published atomically, if bad its errors are logged and the running config stays.
#pragma once

#include <functional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include "gateway/log.hpp"
#include "gateway/runtime.hpp"

namespace slipway {

class ConfigReloader {
 public:
  ConfigReloader(boost::asio::io_context& ioc, SnapshotStore& store, const Log& log, std::string path,
                 std::string loaded_text);
  ~ConfigReloader();
  void start();           // begins watching (no-op when the config is embedded: empty path)
  void reload(std::string_view why);  // read, validate, publish or reject
  // Called on the control thread right after a new config is published (the rollout service, alerts).
  void on_applied(std::function<void(const config::Config&)> f) { on_applied_ = std::move(f); }

 private:
  void arm_inotify();
  void schedule_check();

  boost::asio::io_context& ioc_;
  SnapshotStore& store_;
  const Log& log_;
  std::function<void(const config::Config&)> on_applied_;
  std::string path_;
  std::string last_text_;        // the text last applied or rejected: unchanged text is not re-read twice
  int inotify_fd_ = -1;
  boost::asio::posix::stream_descriptor inotify_;
  boost::asio::steady_timer debounce_;
  boost::asio::steady_timer poll_;
  char events_[4096];
};

}  // namespace slipway
