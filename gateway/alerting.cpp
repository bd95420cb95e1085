// Rollback alerts to on-call. One delivery coroutine per (alert form, receiver): it posts the alert,
// retries with capped exponential backoff until the receiver answers 2xx, and, for a firing alert, re-sends it
// every `resend_every` until the alert is replaced or resolved. All state sits behind one mutex in Impl so that
// the coroutines (control thread) and callers (control thread, or a test's thread) see the same picture; the
// coroutines hold shared_ptr<Impl>, so a notifier destroyed with deliveries in flight leaves them a valid
// object whose `stopped` flag tells them to end.
#include "gateway/alerting.hpp"
#include "gateway/tls_stream.hpp"

#include <algorithm>
#include <ctime>
#include <mutex>
#include <random>
#include <set>
#include <utility>
#include <vector>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <boost/url/parse.hpp>

namespace slipway {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = net::ip::tcp;
using SteadyDuration = std::chrono::steady_clock::duration;

std::string hmac_sha256_hex(std::string_view secret, std::string_view body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  static const unsigned char kEmpty = 0;  // HMAC() wants a non-null pointer even for an empty key or message
  const void* key = secret.empty() ? &kEmpty : static_cast<const void*>(secret.data());
  const auto* data = body.empty() ? &kEmpty : reinterpret_cast<const unsigned char*>(body.data());
  if (!HMAC(EVP_sha256(), key, static_cast<int>(secret.size()), data, body.size(), mac, &mac_len)) return {};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(mac_len * 2);
  for (unsigned int i = 0; i < mac_len; ++i) {
    hex.push_back(kHex[mac[i] >> 4]);
    hex.push_back(kHex[mac[i] & 0xf]);
  }
  return hex;
}

namespace {

enum class Receiver { alertmanager, webhook };

std::string_view receiver_name(Receiver r) { return r == Receiver::alertmanager ? "alertmanager" : "webhook"; }

bool configured(const std::optional<config::Alerting>& cfg, Receiver r) {
  if (!cfg) return false;
  return r == Receiver::alertmanager ? cfg->alertmanager.has_value() : cfg->webhook.has_value();
}

// RFC 3339 in UTC with milliseconds, as Alertmanager's API expects (strfmt date-time).
std::string rfc3339(std::chrono::system_clock::time_point t) {
  auto secs = std::chrono::system_clock::to_time_t(t);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count() % 1000;
  if (ms < 0) ms += 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(ms));
  return buf;
}

// One alert in one form: the firing alert, or its resolved twin (same labels, endsAt set).
struct Job {
  RollbackAlert alert;
  bool resolved = false;
  std::chrono::system_clock::time_point ends_at{};
  // Everything below is guarded by Impl::mutex.
  bool superseded = false;  // replaced by a newer form of the same alert: its deliveries end
  std::map<Receiver, std::shared_ptr<net::cancellation_signal>> running;  // one delivery coroutine per receiver
  std::set<Receiver> accepted;                                            // receivers that answered 2xx
};

// Prometheus treats an empty label value as an absent label; leaving it out keeps one meaning everywhere.
json::object labels_of(const RollbackAlert& a) {
  json::object labels;
  auto put = [&](std::string_view k, std::string_view v) {
    if (!v.empty()) labels[k] = v;
  };
  put("alertname", AlertNotifier::kAlertName);
  put("model", a.model);
  put("trigger", a.trigger);
  put("slice", a.slice);
  put("severity", a.severity);
  put("service", "slipway");
  return labels;
}

json::object annotations_of(const RollbackAlert& a, const config::Alerting& cfg) {
  json::object ann;
  // The numbers first, so that summary, description and runbook_url cannot be overwritten by a number's name.
  for (const auto& [k, v] : a.numbers) ann[k] = v;
  if (!a.summary.empty()) ann["summary"] = a.summary;
  if (!a.description.empty()) ann["description"] = a.description;
  if (!cfg.runbook_url.empty()) ann["runbook_url"] = cfg.runbook_url;
  return ann;
}

std::string alertmanager_body(const Job& job, const config::Alerting& cfg) {
  json::object alert;
  alert["labels"] = labels_of(job.alert);
  alert["annotations"] = annotations_of(job.alert, cfg);
  alert["startsAt"] = rfc3339(job.alert.starts_at);
  // Without endsAt Alertmanager keeps the alert firing for resolve_timeout after the last post.
  if (job.resolved) alert["endsAt"] = rfc3339(job.ends_at);
  if (!cfg.generator_url.empty()) alert["generatorURL"] = cfg.generator_url;
  json::array body;
  body.push_back(std::move(alert));
  return json::serialize(body);
}

std::string webhook_body(const Job& job, const config::Alerting& cfg, int64_t unix_seconds) {
  json::object alert;
  alert["labels"] = labels_of(job.alert);
  alert["annotations"] = annotations_of(job.alert, cfg);
  alert["startsAt"] = rfc3339(job.alert.starts_at);
  alert["endsAt"] = job.resolved ? json::value(rfc3339(job.ends_at)) : json::value(nullptr);
  if (!cfg.generator_url.empty()) alert["generatorURL"] = cfg.generator_url;
  json::object body;
  body["version"] = 1;
  body["status"] = job.resolved ? "resolved" : "firing";
  body["timestamp"] = unix_seconds;  // inside the signed body, so a captured request cannot be replayed as new
  body["alert"] = std::move(alert);
  return json::serialize(body);
}

struct Request {
  std::string url;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  SteadyDuration timeout;
};

struct Outcome {
  bool accepted = false;
  int status = 0;     // HTTP status, 0 when there was no answer
  std::string error;  // why not accepted
};

// One POST with a deadline over resolve, connect, write and read. http:// only (on-call receivers are
// expected beside the gateway or behind a local proxy; TLS is not implemented).
net::awaitable<Outcome> post_once(Request req) {
  auto ex = co_await net::this_coro::executor;
  auto parsed = boost::urls::parse_absolute_uri(req.url);
  if (!parsed) co_return Outcome{false, 0, "invalid URL " + req.url};
  auto url = *parsed;
  if (url.scheme_id() != boost::urls::scheme::http) co_return Outcome{false, 0, "only http:// URLs are supported: " + req.url};
  std::string host = url.host_address();
  if (host.size() > 1 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  std::string port = url.has_port() ? std::string(url.port()) : "80";
  std::string target = url.encoded_resource().empty() ? "/" : std::string(url.encoded_resource());

  auto deadline = std::chrono::steady_clock::now() + req.timeout;
  boost::system::error_code ec;
  // The resolver has no timeout of its own: a timer cancels it at the deadline (shared_ptr: the timer's
  // handler may run after this frame has moved on).
  auto resolver = std::make_shared<tcp::resolver>(ex);
  auto resolve_timer = std::make_shared<net::steady_timer>(ex, deadline);
  resolve_timer->async_wait([resolver](boost::system::error_code e) {
    if (!e) resolver->cancel();
  });
  auto results = co_await resolver->async_resolve(host, port, net::redirect_error(net::use_awaitable, ec));
  resolve_timer->cancel();
  if (ec) co_return Outcome{false, 0, std::chrono::steady_clock::now() >= deadline ? "timeout resolving " + host : "resolve: " + ec.message()};

  TcpOrTlsStream stream(ex);  // its reads and writes are compiled once, in tls_stream.cpp
  stream.expires_at(deadline);  // covers connect, write and read
  co_await stream.connect(TcpOrTlsStream::Endpoints(results.begin(), results.end()), ec);
  if (ec) co_return Outcome{false, 0, ec == beast::error::timeout ? "timeout connecting" : "connect: " + ec.message()};

  http::request<http::string_body> msg{http::verb::post, target, 11};
  msg.set(http::field::host, std::string(url.encoded_host_and_port()));
  msg.set(http::field::user_agent, "slipway-alerting");
  msg.set(http::field::content_type, "application/json");
  for (const auto& [k, v] : req.headers) msg.set(k, v);
  msg.keep_alive(false);
  msg.body() = std::move(req.body);
  msg.prepare_payload();
  co_await http::async_write(stream, msg, net::redirect_error(net::use_awaitable, ec));
  if (ec) co_return Outcome{false, 0, ec == beast::error::timeout ? "timeout writing" : "write: " + ec.message()};

  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024);
  co_await http::async_read(stream, buffer, parser, net::redirect_error(net::use_awaitable, ec));
  if (ec) co_return Outcome{false, 0, ec == beast::error::timeout ? "timeout reading" : "read: " + ec.message()};
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);

  const auto& res = parser.get();
  int status = static_cast<int>(res.result_int());
  if (status >= 200 && status < 300) co_return Outcome{true, status, {}};
  std::string err = "HTTP " + std::to_string(status);
  if (!res.body().empty()) err += ": " + res.body().substr(0, 200);
  co_return Outcome{false, status, std::move(err)};
}

constexpr SteadyDuration kFirstRetry = std::chrono::seconds(1);
constexpr SteadyDuration kMaxRetry = std::chrono::seconds(30);

}  // namespace

struct AlertNotifier::Impl {
  Impl(net::any_io_executor e, const Log& l) : ex(std::move(e)), log(l) {}

  net::any_io_executor ex;
  const Log& log;  // used only while !stopped (under the mutex): the notifier's owner keeps it alive until then

  mutable std::mutex mutex;
  bool stopped = false;
  std::optional<config::Alerting> cfg;
  std::map<std::string, std::shared_ptr<Job>, std::less<>> firing;  // by model
  std::vector<std::shared_ptr<Job>> resolving;                        // resolved forms not yet accepted
  AlertStats counts;                                                  // `pending` is computed in stats()
  std::mt19937_64 rng{std::random_device{}()};

  // All of the following are called with the mutex held.

  void start_deliveries(const std::shared_ptr<Impl>& self, const std::shared_ptr<Job>& job) {
    for (Receiver r : {Receiver::alertmanager, Receiver::webhook}) {
      if (!configured(cfg, r) || job->running.count(r)) continue;
      auto signal = std::make_shared<net::cancellation_signal>();
      job->running[r] = signal;
      // Spawned from a posted handler: co_spawn may start the coroutine inline on the control thread, and
      // it takes the mutex held here.
      net::post(ex, [self, job, r, signal] {
        net::co_spawn(self->ex, deliver(self, job, r, signal),
                      net::bind_cancellation_slot(signal->slot(), net::detached));
      });
    }
  }

  // The resolved form of `alert` (endsAt = now), sent until every configured receiver accepts it.
  void start_resolved(const std::shared_ptr<Impl>& self, const RollbackAlert& alert) {
    auto job = std::make_shared<Job>();
    job->alert = alert;
    job->resolved = true;
    job->ends_at = std::chrono::system_clock::now();
    start_deliveries(self, job);
    if (!job->running.empty()) resolving.push_back(job);  // no receiver: nothing to tell, nothing to keep
  }

  // The job's deliveries end at their next step; a backoff or resend wait is cut short.
  void supersede(const std::shared_ptr<Job>& job) {
    job->superseded = true;
    for (auto& [r, signal] : job->running)
      net::post(ex, [signal = signal] { signal->emit(net::cancellation_type::terminal); });
  }

  void forget_resolving(const std::shared_ptr<Job>& job) {
    resolving.erase(std::remove(resolving.begin(), resolving.end(), job), resolving.end());
  }

  std::optional<Request> request_for(const Job& job, Receiver r) const {
    if (!configured(cfg, r)) return std::nullopt;
    Request req;
    req.timeout = cfg->timeout;
    if (r == Receiver::alertmanager) {
      std::string base = cfg->alertmanager->url;
      while (!base.empty() && base.back() == '/') base.pop_back();
      req.url = base + "/api/v2/alerts";
      req.body = alertmanager_body(job, *cfg);
    } else {
      auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
      req.url = cfg->webhook->url;
      req.body = webhook_body(job, *cfg, now);
      if (cfg->webhook->secret && !cfg->webhook->secret->empty()) {
        req.headers.emplace_back("X-Slipway-Signature", "sha256=" + hmac_sha256_hex(*cfg->webhook->secret, req.body));
        req.headers.emplace_back("X-Slipway-Timestamp", std::to_string(now));
      }
    }
    return req;
  }

  // 1 s, 2 s, 4 s ... capped at 30 s, each times a random factor in [0.8, 1.2] (never above the cap), so that
  // gateways that lost the same receiver at the same moment do not retry in step.
  SteadyDuration jittered(SteadyDuration base) {
    std::uniform_real_distribution<double> factor(0.8, 1.2);
    auto d = std::chrono::duration_cast<SteadyDuration>(base * factor(rng));
    return std::min(d, kMaxRetry);
  }

  static net::awaitable<void> deliver(std::shared_ptr<Impl> self, std::shared_ptr<Job> job, Receiver r,
                                      std::shared_ptr<net::cancellation_signal> signal);
};

net::awaitable<void> AlertNotifier::Impl::deliver(std::shared_ptr<Impl> self, std::shared_ptr<Job> job, Receiver r,
                                                  std::shared_ptr<net::cancellation_signal> signal) {
  (void)signal;  // kept alive here: the cancellation slot of this coroutine lives in it
  auto ex = co_await net::this_coro::executor;
  net::steady_timer timer(ex);
  int attempt = 0;
  SteadyDuration backoff = kFirstRetry;
  const std::string status = job->resolved ? "resolved" : "firing";
  try {
    for (;;) {
      std::optional<Request> req;
      {
        std::lock_guard lock(self->mutex);
        if (self->stopped || job->superseded) break;
        req = self->request_for(*job, r);  // read per attempt: a reload's new URL applies to the next one
        if (!req) {
          self->log.write(LogLevel::warn, "alert_dropped",
                          {{"receiver", receiver_name(r)}, {"model", job->alert.model}, {"status", status},
                           {"error", "receiver no longer configured"}});
          break;
        }
      }
      ++attempt;
      Outcome out;
      try {
        out = co_await post_once(std::move(*req));
      } catch (const std::exception& e) {
        out = Outcome{false, 0, e.what()};
      }

      SteadyDuration wait{};
      bool done = false;
      {
        std::lock_guard lock(self->mutex);
        auto& accepted = r == Receiver::alertmanager ? self->counts.alertmanager_accepted : self->counts.webhook_accepted;
        auto& failed = r == Receiver::alertmanager ? self->counts.alertmanager_failed : self->counts.webhook_failed;
        // An attempt of a form that was replaced meanwhile (or cut short by that) is abandoned, not failed.
        const bool abandoned = self->stopped || job->superseded;
        if (out.accepted) ++accepted;
        else if (!abandoned) ++failed;
        if (abandoned) break;
        if (out.accepted) {
          self->log.write(LogLevel::info, "alert_sent",
                          {{"receiver", receiver_name(r)}, {"model", job->alert.model}, {"status", status},
                           {"attempt", attempt}, {"http_status", out.status}});
          job->accepted.insert(r);
          if (job->resolved) {
            done = true;
          } else {
            // Re-sent while it fires: Alertmanager resolves an alert it has not heard of for resolve_timeout.
            wait = self->cfg && self->cfg->resend_every.count() > 0 ? SteadyDuration(self->cfg->resend_every)
                                                                    : SteadyDuration(std::chrono::hours(24 * 365));
            attempt = 0;
            backoff = kFirstRetry;
          }
        } else {
          wait = self->jittered(backoff);
          backoff = std::min(backoff * 2, kMaxRetry);
          self->log.write(LogLevel::warn, "alert_failed",
                            {{"receiver", receiver_name(r)}, {"model", job->alert.model}, {"status", status},
                             {"attempt", attempt}, {"error", out.error},
                             {"retry_in_ms", std::chrono::duration_cast<std::chrono::milliseconds>(wait).count()}});
        }
      }
      if (done) break;
      timer.expires_after(wait);
      auto [ec] = co_await timer.async_wait(net::as_tuple(net::use_awaitable));
      (void)ec;  // cancelled: the loop's top sees why (superseded or stopped)
    }
  } catch (...) {
    // Nothing here should throw; if it does, the delivery ends and the bookkeeping below still runs.
  }
  std::lock_guard lock(self->mutex);
  job->running.erase(r);
  if (job->resolved && job->running.empty()) self->forget_resolving(job);
}

AlertNotifier::AlertNotifier(net::any_io_executor control, const Log& log)
    : impl_(std::make_shared<Impl>(std::move(control), log)) {}

AlertNotifier::~AlertNotifier() {
  std::lock_guard lock(impl_->mutex);
  impl_->stopped = true;
  for (auto& [model, job] : impl_->firing) impl_->supersede(job);
  for (auto& job : impl_->resolving) impl_->supersede(job);
}

void AlertNotifier::configure(const std::optional<config::Alerting>& alerting) {
  std::lock_guard lock(impl_->mutex);
  impl_->cfg = alerting;
  // A receiver added by the reload gets the alerts that fire now; one removed ends its deliveries at their
  // next attempt. Resolved forms go only to receivers that already had them.
  for (auto& [model, job] : impl_->firing) impl_->start_deliveries(impl_, job);
}

void AlertNotifier::fire(RollbackAlert alert) {
  if (alert.starts_at == std::chrono::system_clock::time_point{}) alert.starts_at = std::chrono::system_clock::now();
  std::lock_guard lock(impl_->mutex);
  if (impl_->stopped) return;
  auto job = std::make_shared<Job>();
  job->alert = std::move(alert);
  const auto new_labels = labels_of(job->alert);

  // A resolved form of the same labels still in flight would resolve this new alert after the fact.
  for (auto& old : impl_->resolving)
    if (labels_of(old->alert) == new_labels) impl_->supersede(old);

  auto it = impl_->firing.find(job->alert.model);
  if (it != impl_->firing.end()) {
    auto old = it->second;
    impl_->supersede(old);
    if (labels_of(old->alert) != new_labels) {
      // Another label set is another alert to Alertmanager: resolve the old one, or it fires until it times out.
      impl_->start_resolved(impl_, old->alert);
    }
    it->second = job;
  } else {
    impl_->firing.emplace(job->alert.model, job);
  }
  if (!impl_->cfg)
    impl_->log.write(LogLevel::warn, "alert_not_sent",
                     {{"model", job->alert.model}, {"trigger", job->alert.trigger},
                      {"error", "alerting is not configured; kept and sent if a reload configures it"}});
  impl_->start_deliveries(impl_, job);
}

void AlertNotifier::resolve(std::string_view model) {
  std::lock_guard lock(impl_->mutex);
  if (impl_->stopped) return;
  auto it = impl_->firing.find(model);
  if (it == impl_->firing.end()) return;
  auto old = it->second;
  impl_->firing.erase(it);
  impl_->supersede(old);
  impl_->start_resolved(impl_, old->alert);
}

bool AlertNotifier::delivered(std::string_view model) const {
  std::lock_guard lock(impl_->mutex);
  auto it = impl_->firing.find(model);
  return it != impl_->firing.end() && !it->second->accepted.empty();
}

AlertStats AlertNotifier::stats() const {
  std::lock_guard lock(impl_->mutex);
  AlertStats s = impl_->counts;
  s.pending = 0;
  auto not_done = [](const Job& job) {
    for (const auto& [r, signal] : job.running)
      if (!job.accepted.count(r)) return true;
    return false;
  };
  for (const auto& [model, job] : impl_->firing) s.pending += not_done(*job);
  for (const auto& job : impl_->resolving) s.pending += not_done(*job);
  return s;
}

}  // namespace slipway
