// Rollback alerts to on-call: the webhook signature against RFC 4231; delivery to a loopback receiver that
// fails twice (backoff, body, signature, stats, resolve); replacement and resend; timeouts, reload and
// shutdown with a delivery in flight; and the real Alertmanager (Debian prometheus-alertmanager) showing the
// alert with its numbers through its v2 API, then no longer listing it once resolved.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "gateway/alerting.hpp"

using namespace slipway;
using namespace std::chrono_literals;
namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = net::ip::tcp;
using SteadyClock = std::chrono::steady_clock;

namespace {

std::string bytes(std::size_t n, unsigned char c) { return std::string(n, static_cast<char>(c)); }

bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds limit) {
  auto deadline = SteadyClock::now() + limit;
  while (!done()) {
    if (SteadyClock::now() >= deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

// A JSON string's text ("" when it is not a string), for comparisons that print well in Catch.
std::string str(const json::value& v) { return v.is_string() ? std::string(v.as_string()) : std::string(); }

double seconds_between(SteadyClock::time_point a, SteadyClock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

struct Received {
  std::string target;
  std::string body;
  std::string content_type, signature, timestamp;
  SteadyClock::time_point at;
  json::object json() const { return json::parse(body).as_object(); }
};

// A loopback HTTP server on its own thread. Each request is recorded and answered with the next status of the
// script (200 once the script is used up), or never answered when `silent`.
class FakeReceiver {
 public:
  explicit FakeReceiver(std::vector<int> script = {}, bool silent = false)
      : script_(std::move(script)), silent_(silent), acceptor_(ioc_, {net::ip::make_address("127.0.0.1"), 0}) {
    port_ = acceptor_.local_endpoint().port();
    net::co_spawn(ioc_, accept_loop(), net::detached);
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~FakeReceiver() {
    ioc_.stop();
    thread_.join();
  }
  unsigned short port() const { return port_; }
  std::string url(std::string_view path) const { return "http://127.0.0.1:" + std::to_string(port_) + std::string(path); }
  std::vector<Received> received() const {
    std::lock_guard lock(mutex_);
    return received_;
  }
  std::size_t count() const {
    std::lock_guard lock(mutex_);
    return received_.size();
  }
  bool wait_for(std::size_t n, std::chrono::milliseconds limit) const {
    return wait_until([&] { return count() >= n; }, limit);
  }

 private:
  net::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(net::as_tuple(net::use_awaitable));
      if (ec) co_return;
      net::co_spawn(ioc_, serve(std::move(socket)), net::detached);
    }
  }

  // On the bare socket: the test ends every wait itself (beast::tcp_stream's timed operations cost compile time).
  net::awaitable<void> serve(tcp::socket stream) {
    beast::flat_buffer buffer;
    for (;;) {
      http::request<http::string_body> req;
      auto [ec, n] = co_await http::async_read(stream, buffer, req, net::as_tuple(net::use_awaitable));
      if (ec) co_return;
      int status = 200;
      {
        std::lock_guard lock(mutex_);
        received_.push_back(Received{std::string(req.target()), req.body(), std::string(req[http::field::content_type]),
                                     std::string(req["X-Slipway-Signature"]), std::string(req["X-Slipway-Timestamp"]),
                                     SteadyClock::now()});
        if (next_ < script_.size()) status = script_[next_++];
      }
      if (silent_) {
        net::steady_timer hold(ioc_, 60s);  // ends when the test stops the io_context
        co_await hold.async_wait(net::as_tuple(net::use_awaitable));
        co_return;
      }
      http::response<http::string_body> res{static_cast<http::status>(status), 11};
      res.set(http::field::content_type, "text/plain");
      res.body() = status < 300 ? "" : "scripted failure";
      res.keep_alive(req.keep_alive());
      res.prepare_payload();
      auto [wec, wn] = co_await http::async_write(stream, res, net::as_tuple(net::use_awaitable));
      if (wec || !req.keep_alive()) co_return;
    }
  }

  std::vector<int> script_;
  bool silent_;
  std::size_t next_ = 0;
  mutable std::mutex mutex_;
  std::vector<Received> received_;
  net::io_context ioc_;
  tcp::acceptor acceptor_;
  unsigned short port_ = 0;
  std::thread thread_;
};

// The gateway's control thread: an io_context with work, run on its own thread until the test ends.
struct ControlThread {
  net::io_context ioc;
  net::executor_work_guard<net::io_context::executor_type> work{ioc.get_executor()};
  std::thread thread{[this] { ioc.run(); }};
  ~ControlThread() {
    work.reset();
    ioc.stop();
    thread.join();
  }
};

RollbackAlert sample_alert(std::string model = "chat-q4", std::string slice = "nested_schema") {
  RollbackAlert a;
  a.model = std::move(model);
  a.trigger = "schema_compliance";
  a.slice = std::move(slice);
  a.summary = "chat-q4 canary rolled back: schema_compliance on nested_schema";
  a.description = "canary failure rate 6.1% vs baseline 2.1% (mSPRT, p=0.00012)";
  a.numbers = {{"canary_rate", "0.061"}, {"baseline_rate", "0.021"}, {"canary_n", "1840"},
               {"baseline_n", "35012"}, {"statistic", "27.4"},      {"p_value", "0.00012"},
               {"threshold", "0.01"}};
  return a;
}

config::Alerting webhook_config(const std::string& url, std::optional<std::string> secret) {
  config::Alerting a;
  a.webhook = config::Alerting::Webhook{url, secret ? "SLIPWAY_ALERT_SECRET" : "", secret};
  a.runbook_url = "https://runbooks.example/slipway#canary-rolled-back";
  a.generator_url = "http://127.0.0.1:9901/admin/state";
  a.timeout = std::chrono::milliseconds(2000);
  return a;
}

void check_labels(const json::object& labels, std::string_view slice = "nested_schema") {
  CHECK(str(labels.at("alertname")) == "SlipwayCanaryRolledBack");
  CHECK(str(labels.at("model")) == "chat-q4");
  CHECK(str(labels.at("trigger")) == "schema_compliance");
  CHECK(str(labels.at("slice")) == slice);
  CHECK(str(labels.at("severity")) == "page");
  CHECK(str(labels.at("service")) == "slipway");
}

void check_annotations(const json::object& ann) {
  CHECK(str(ann.at("summary")) == "chat-q4 canary rolled back: schema_compliance on nested_schema");
  CHECK(str(ann.at("description")) == "canary failure rate 6.1% vs baseline 2.1% (mSPRT, p=0.00012)");
  CHECK(str(ann.at("runbook_url")) == "https://runbooks.example/slipway#canary-rolled-back");
  for (const auto& [k, v] : sample_alert().numbers) {
    INFO("annotation " << k);
    REQUIRE(ann.contains(k));
    CHECK(str(ann.at(k)) == v);
  }
}

}  // namespace

TEST_CASE("alerting: HMAC-SHA256 matches the RFC 4231 test vectors", "[alerting]") {
  std::string key4;
  for (int i = 1; i <= 25; ++i) key4.push_back(static_cast<char>(i));
  CHECK(hmac_sha256_hex(bytes(20, 0x0b), "Hi There") ==
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  CHECK(hmac_sha256_hex("Jefe", "what do ya want for nothing?") ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  CHECK(hmac_sha256_hex(bytes(20, 0xaa), bytes(50, 0xdd)) ==
        "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
  CHECK(hmac_sha256_hex(key4, bytes(50, 0xcd)) ==
        "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b");
  // Test case 5 publishes only the first 128 bits.
  CHECK(hmac_sha256_hex(bytes(20, 0x0c), "Test With Truncation").substr(0, 32) == "a3b6167473100ee06e0c796c2955552b");
  CHECK(hmac_sha256_hex(bytes(131, 0xaa), "Test Using Larger Than Block-Size Key - Hash Key First") ==
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  CHECK(hmac_sha256_hex(bytes(131, 0xaa),
                        "This is a test using a larger than block-size key and a larger than block-size data. The key "
                        "needs to be hashed before being used by the HMAC algorithm.") ==
        "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
}

TEST_CASE("alerting: webhook retried with backoff until accepted, signed, then resolved", "[alerting]") {
  Log log;
  FakeReceiver receiver({500, 500});  // then 200
  ControlThread control;
  AlertNotifier notifier(control.ioc.get_executor(), log);
  notifier.configure(webhook_config(receiver.url("/hooks/oncall"), "s3cret"));

  auto fired_at = SteadyClock::now();
  notifier.fire(sample_alert());
  REQUIRE(receiver.wait_for(1, 3s));
  {
    auto s = notifier.stats();
    if (receiver.count() < 3) CHECK(s.pending == 1);  // not yet accepted
  }
  REQUIRE(receiver.wait_for(3, 10s));
  REQUIRE(wait_until([&] { return notifier.stats().webhook_accepted == 1; }, 3s));
  auto s = notifier.stats();
  CHECK(s.webhook_failed == 2);
  CHECK(s.webhook_accepted == 1);
  CHECK(s.alertmanager_accepted + s.alertmanager_failed == 0);
  CHECK(s.pending == 0);

  auto got = receiver.received();
  REQUIRE(got.size() == 3);  // nothing more after the 2xx (the resend is a minute away)
  CHECK(seconds_between(fired_at, got[0].at) < 1.0);
  // Backoff: 1 s then 2 s, each times a jitter factor in [0.8, 1.2].
  CHECK(seconds_between(got[0].at, got[1].at) >= 0.75);
  CHECK(seconds_between(got[0].at, got[1].at) < 2.5);
  CHECK(seconds_between(got[1].at, got[2].at) >= 1.55);
  CHECK(seconds_between(got[1].at, got[2].at) < 4.0);

  for (const auto& r : got) {
    CHECK(r.target == "/hooks/oncall");
    CHECK(r.content_type == "application/json");
    // The signature covers the exact body; the timestamp header repeats the signed one.
    CHECK(r.signature == "sha256=" + hmac_sha256_hex("s3cret", r.body));
    CHECK(r.signature != "sha256=" + hmac_sha256_hex("s3cret", r.body + " "));
    auto body = r.json();
    CHECK(body.at("version") == 1);
    CHECK(str(body.at("status")) == "firing");
    CHECK(std::to_string(body.at("timestamp").as_int64()) == r.timestamp);
    const auto& alert = body.at("alert").as_object();
    check_labels(alert.at("labels").as_object());
    check_annotations(alert.at("annotations").as_object());
    CHECK(str(alert.at("startsAt")).ends_with("Z"));
    CHECK(alert.at("endsAt").is_null());
    CHECK(str(alert.at("generatorURL")) == "http://127.0.0.1:9901/admin/state");
  }
  CHECK(got[0].json().at("alert").at("startsAt") == got[2].json().at("alert").at("startsAt"));

  notifier.resolve("chat-q4");
  REQUIRE(receiver.wait_for(4, 3s));
  REQUIRE(wait_until([&] { return notifier.stats().webhook_accepted == 2; }, 3s));
  auto resolved = receiver.received()[3];
  CHECK(resolved.signature == "sha256=" + hmac_sha256_hex("s3cret", resolved.body));
  auto body = resolved.json();
  CHECK(str(body.at("status")) == "resolved");
  const auto& alert = body.at("alert").as_object();
  check_labels(alert.at("labels").as_object());
  REQUIRE(alert.at("endsAt").is_string());
  CHECK(str(alert.at("endsAt")) >= str(alert.at("startsAt")));
  CHECK(notifier.stats().pending == 0);
  // Forgotten once accepted: a second resolve sends nothing.
  notifier.resolve("chat-q4");
  std::this_thread::sleep_for(200ms);
  CHECK(receiver.count() == 4);
}

TEST_CASE("alerting: unsigned webhook has no signature headers", "[alerting]") {
  Log log;
  FakeReceiver receiver;
  ControlThread control;
  AlertNotifier notifier(control.ioc.get_executor(), log);
  notifier.configure(webhook_config(receiver.url("/"), std::nullopt));
  notifier.fire(sample_alert());
  REQUIRE(receiver.wait_for(1, 3s));
  auto r = receiver.received()[0];
  CHECK(r.signature.empty());
  CHECK(r.timestamp.empty());
  CHECK(str(r.json().at("status")) == "firing");
}

TEST_CASE("alerting: a new label set resolves the old alert, and a firing alert is re-sent", "[alerting]") {
  Log log;
  FakeReceiver receiver;
  ControlThread control;
  AlertNotifier notifier(control.ioc.get_executor(), log);
  auto cfg = webhook_config(receiver.url("/hook"), std::nullopt);
  cfg.resend_every = std::chrono::milliseconds(300);
  notifier.configure(cfg);

  notifier.fire(sample_alert("chat-q4", "nested_schema"));
  // The first send and at least two re-sends (every 300 ms).
  REQUIRE(receiver.wait_for(3, 5s));
  for (const auto& r : receiver.received()) {
    CHECK(str(r.json().at("status")) == "firing");
    CHECK(str(r.json().at("alert").at("labels").at("slice")) == "nested_schema");
  }

  std::size_t before = receiver.count();
  notifier.fire(sample_alert("chat-q4", "all"));
  REQUIRE(wait_until([&] { return notifier.stats().webhook_accepted >= before + 2 && notifier.stats().pending == 0; }, 3s));
  std::this_thread::sleep_for(700ms);  // two more resend periods
  auto got = receiver.received();
  int resolved_old = 0, firing_new = 0, firing_old = 0;
  for (std::size_t i = before; i < got.size(); ++i) {
    auto b = got[i].json();
    auto slice = str(b.at("alert").at("labels").at("slice"));
    if (str(b.at("status")) == "resolved") {
      CHECK(slice == "nested_schema");
      CHECK(b.at("alert").at("endsAt").is_string());
      ++resolved_old;
    } else if (slice == "all") {
      ++firing_new;
    } else {
      ++firing_old;
    }
  }
  CHECK(resolved_old == 1);
  CHECK(firing_new >= 2);  // the new alert and its re-sends
  CHECK(firing_old <= 1);  // at most one re-send of the old form that was already on the wire
}

TEST_CASE("alerting: a receiver that never answers times out, and a reload's URL applies to the next attempt",
          "[alerting]") {
  Log log;
  FakeReceiver silent({}, /*silent=*/true);
  FakeReceiver good;
  ControlThread control;
  AlertNotifier notifier(control.ioc.get_executor(), log);
  auto cfg = webhook_config(silent.url("/hook"), "k");
  cfg.timeout = std::chrono::milliseconds(300);
  notifier.configure(cfg);

  auto fired_at = SteadyClock::now();
  notifier.fire(sample_alert());
  REQUIRE(wait_until([&] { return notifier.stats().webhook_failed >= 1; }, 3s));
  double took = seconds_between(fired_at, SteadyClock::now());
  CHECK(took >= 0.28);  // the attempt waited for its timeout
  CHECK(took < 2.0);
  CHECK(silent.count() >= 1);

  cfg.webhook->url = good.url("/hook");
  notifier.configure(cfg);
  REQUIRE(good.wait_for(1, 5s));
  REQUIRE(wait_until([&] { return notifier.stats().webhook_accepted == 1; }, 3s));
  CHECK(notifier.stats().pending == 0);
  CHECK(str(good.received()[0].json().at("status")) == "firing");
}

TEST_CASE("alerting: destroyed with a delivery in flight", "[alerting]") {
  Log log;
  FakeReceiver silent({}, /*silent=*/true);
  ControlThread control;
  auto started = SteadyClock::now();
  {
    AlertNotifier notifier(control.ioc.get_executor(), log);
    auto cfg = webhook_config(silent.url("/hook"), std::nullopt);
    cfg.timeout = std::chrono::milliseconds(5000);
    notifier.configure(cfg);
    notifier.fire(sample_alert());
    notifier.fire(sample_alert("other-model"));
    REQUIRE(silent.wait_for(2, 3s));  // both requests are on the wire, waiting for an answer
  }
  // The control thread keeps running the abandoned deliveries; they must end without touching freed state.
  std::this_thread::sleep_for(300ms);
  CHECK(seconds_between(started, SteadyClock::now()) < 4.0);
}

TEST_CASE("alerting: alerts before configure() are kept and sent once a receiver is configured", "[alerting]") {
  Log log;
  FakeReceiver receiver;
  ControlThread control;
  AlertNotifier notifier(control.ioc.get_executor(), log);
  notifier.configure(std::nullopt);
  notifier.fire(sample_alert());
  std::this_thread::sleep_for(100ms);
  CHECK(receiver.count() == 0);
  CHECK(notifier.stats().pending == 0);
  notifier.configure(webhook_config(receiver.url("/hook"), std::nullopt));
  REQUIRE(receiver.wait_for(1, 3s));
  CHECK(str(receiver.received()[0].json().at("status")) == "firing");
}

// ---- The real Alertmanager -------------------------------------------------------------------------------

namespace {

constexpr const char* kAlertmanagerBin = "/usr/bin/prometheus-alertmanager";

struct HttpAnswer {
  int status = 0;
  std::string body;
};

// One HTTP/1.1 exchange on loopback, bounded by `limit` (run_for: what is still waiting then is dropped with
// the io_context).
HttpAnswer http_call(http::verb verb, unsigned short port, std::string target, std::string body = {},
                     std::chrono::milliseconds limit = 2000ms) {
  net::io_context ioc;
  HttpAnswer out;
  net::co_spawn(
      ioc,
      [&]() -> net::awaitable<void> {
        tcp::socket stream(ioc);
        auto [cec] = co_await stream.async_connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port),
                                                   net::as_tuple(net::use_awaitable));
        if (cec) co_return;
        http::request<http::string_body> req{verb, target, 11};
        req.set(http::field::host, "127.0.0.1:" + std::to_string(port));
        if (!body.empty()) req.set(http::field::content_type, "application/json");
        req.body() = body;
        req.keep_alive(false);
        req.prepare_payload();
        auto [wec, wn] = co_await http::async_write(stream, req, net::as_tuple(net::use_awaitable));
        if (wec) co_return;
        beast::flat_buffer buffer;
        http::response<http::string_body> res;
        auto [rec, rn] = co_await http::async_read(stream, buffer, res, net::as_tuple(net::use_awaitable));
        if (rec) co_return;
        out.status = static_cast<int>(res.result_int());
        out.body = res.body();
      },
      net::detached);
  ioc.run_for(limit + 500ms);
  return out;
}

unsigned short free_loopback_port() {
  net::io_context ioc;
  tcp::acceptor a(ioc, {net::ip::make_address("127.0.0.1"), 0});
  return a.local_endpoint().port();
}

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string templ = (std::filesystem::temp_directory_path() / "slipway-alerting-XXXXXX").string();
    REQUIRE(::mkdtemp(templ.data()) != nullptr);
    path = templ;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

// The Alertmanager process; stopped (TERM, then KILL) whatever way the test ends.
struct Alertmanager {
  pid_t pid = -1;
  unsigned short port = 0;
  std::filesystem::path log_file;

  Alertmanager(const TempDir& dir) {
    port = free_loopback_port();
    auto config = dir.path / "alertmanager.yml";
    std::ofstream(config) << "route:\n  receiver: 'null'\n  group_wait: 1s\nreceivers:\n  - name: 'null'\n";
    std::filesystem::create_directories(dir.path / "data");
    log_file = dir.path / "alertmanager.log";
    std::vector<std::string> args = {kAlertmanagerBin,
                                     "--config.file=" + config.string(),
                                     "--storage.path=" + (dir.path / "data").string(),
                                     "--web.listen-address=127.0.0.1:" + std::to_string(port),
                                     "--cluster.listen-address="};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    int rc = posix_spawn(&pid, kAlertmanagerBin, &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) pid = -1;
  }
  ~Alertmanager() {
    if (pid <= 0) return;
    ::kill(pid, SIGTERM);
    for (int i = 0; i < 200; ++i) {  // 2 s
      if (::waitpid(pid, nullptr, WNOHANG) == pid) return;
      std::this_thread::sleep_for(10ms);
    }
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  }
  bool exited() const { return ::waitpid(pid, nullptr, WNOHANG) == pid; }
  std::string log() const {
    std::ifstream in(log_file);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
};

// The alert of `model` in GET /api/v2/alerts (active ones; Alertmanager leaves out resolved alerts), or null.
std::optional<json::object> listed_alert(unsigned short port, std::string_view model) {
  auto res = http_call(http::verb::get, port, "/api/v2/alerts");
  if (res.status != 200) return std::nullopt;
  const json::value alerts = json::parse(res.body);  // named: a range-for over a temporary's member dangles
  for (const auto& a : alerts.as_array()) {
    const auto& labels = a.at("labels").as_object();
    if (labels.contains("model") && str(labels.at("model")) == model && str(labels.at("alertname")) == "SlipwayCanaryRolledBack")
      return a.as_object();
  }
  return std::nullopt;
}

}  // namespace

TEST_CASE("alerting: the real Alertmanager shows the alert with its numbers, then resolves it", "[alerting]") {
  auto started = SteadyClock::now();
  REQUIRE(std::filesystem::exists(kAlertmanagerBin));
  TempDir dir;
  Alertmanager am(dir);
  REQUIRE(am.pid > 0);
  bool ready = wait_until([&] { return am.exited() || http_call(http::verb::get, am.port, "/-/ready", {}, 500ms).status == 200; }, 8s);
  INFO("alertmanager log:\n" << am.log());
  REQUIRE(ready);
  REQUIRE_FALSE(am.exited());

  Log log;
  ControlThread control;
  AlertNotifier notifier(control.ioc.get_executor(), log);
  config::Alerting cfg;
  cfg.alertmanager = config::Alerting::Alertmanager{"http://127.0.0.1:" + std::to_string(am.port) + "/"};
  cfg.runbook_url = "https://runbooks.example/slipway#canary-rolled-back";
  cfg.generator_url = "http://127.0.0.1:9901/admin/state";
  notifier.configure(cfg);
  notifier.fire(sample_alert());

  std::optional<json::object> shown;
  REQUIRE(wait_until([&] { return (shown = listed_alert(am.port, "chat-q4")).has_value(); }, 10s));
  check_labels(shown->at("labels").as_object());
  check_annotations(shown->at("annotations").as_object());
  CHECK(str(shown->at("status").at("state")) == "active");
  CHECK(str(shown->at("generatorURL")) == "http://127.0.0.1:9901/admin/state");
  auto s = notifier.stats();
  CHECK(s.alertmanager_accepted == 1);
  CHECK(s.alertmanager_failed == 0);
  CHECK(s.pending == 0);

  notifier.resolve("chat-q4");
  REQUIRE(wait_until([&] { return notifier.stats().alertmanager_accepted == 2; }, 5s));
  CHECK(wait_until([&] { return !listed_alert(am.port, "chat-q4").has_value(); }, 5s));
  // And it is not merely missing: the API still answers, with no active rollback alert of that model.
  auto active = http_call(http::verb::get, am.port, "/api/v2/alerts?active=true&silenced=false&inhibited=false");
  CHECK(active.status == 200);
  CHECK(active.body.find("chat-q4") == std::string::npos);
  CHECK(seconds_between(started, SteadyClock::now()) < 15.0);
}
