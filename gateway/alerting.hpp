// Rollback alerts to on-call: Prometheus Alertmanager (v2 API) and/or a generic webhook (JSON body, optional
// HMAC-SHA256 signature). Runs on the control thread's io_context; nothing here is on a request's path.
// Each alert is retried with backoff until a receiver accepts it, re-sent every `resend_every` while it
// fires (Alertmanager resolves alerts it has not heard of for resolve_timeout), and resolved when the
// latch is cleared.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>

#include "config/config.hpp"
#include "gateway/log.hpp"

namespace slipway {

struct RollbackAlert {
  // Labels (Alertmanager identifies an alert by its label set, so resolve sends the same ones).
  std::string model;
  std::string trigger;    // trigger name, or "manual"
  std::string slice;      // "all", a slice name, or "" for manual rollbacks
  std::string severity = "page";
  // Annotations: summary, description, runbook_url (from config), and the numbers
  // (canary_rate, baseline_rate, canary_n, baseline_n, statistic, p_value, threshold, ...) as strings.
  std::string summary;
  std::string description;
  std::map<std::string, std::string> numbers;
  std::chrono::system_clock::time_point starts_at{};
};

struct AlertStats {
  uint64_t alertmanager_accepted = 0, alertmanager_failed = 0;  // delivery attempts by result
  uint64_t webhook_accepted = 0, webhook_failed = 0;
  std::size_t pending = 0;                                      // alerts not yet accepted by every receiver
};

// Every call may come from any thread (one mutex inside); deliveries run on `control`, whose io_context must
// outlive the notifier (the destructor posts the cancellation of deliveries in flight there).
class AlertNotifier {
 public:
  AlertNotifier(boost::asio::any_io_executor control, const Log& log);
  ~AlertNotifier();
  // Called at start and after every reload (control thread). nullopt: alerts are dropped (logged).
  void configure(const std::optional<config::Alerting>& alerting);
  // The alert of `alert.model` starts firing (replaces a firing one of the same model).
  void fire(RollbackAlert alert);
  // The model's alert (if any) is resolved: sent with endsAt = now until accepted, then forgotten.
  void resolve(std::string_view model);
  AlertStats stats() const;
  // The model's firing alert was accepted by a receiver (fleet mode marks a latch as alerted only then).
  bool delivered(std::string_view model) const;

  // The alertname label of every rollback alert.
  static constexpr std::string_view kAlertName = "SlipwayCanaryRolledBack";

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;  // shared with in-flight deliveries (they may outlive a reconfigure)
};

// HMAC-SHA256 of `body` keyed with `secret`, lower-case hex (the webhook's X-Slipway-Signature: sha256=<hex>).
std::string hmac_sha256_hex(std::string_view secret, std::string_view body);

}  // namespace slipway
