// paced-load: an open-loop HTTP load generator that sends requests at evenly spaced times, for the fixed-rate
// latency run of bench/run.sh.
//
// Why not wrk: its Lua delay() counts whole milliseconds, so at 5,000 req/s it releases about five requests
// together at the start of each millisecond, and the latency it reports is mostly those bursts queueing on the
// proxy's core. wrk2, which paces per request, is not packaged in Debian.
//
// Request i is due at start + i / rate. It goes out on an idle keep-alive connection as soon as it is due
// (connections are opened beforehand); its latency runs from the time it was due, not from when it went out,
// so a stalled server is charged for the requests that waited behind it (coordinated omission, as wrk2
// counts it). "late" counts requests that went out more than 1 ms after they were due. Errors are counted over
// the warm-up too; latencies, "late" and bytes over the measured run only.
//
//   paced-load --url http://127.0.0.1:PORT/PATH --body FILE --rate R --duration S [--connections C]
//              [--headers "Name: value\n..."] [--users N] [--timeout S] [--tag TEXT] [--dump FILE] [--warmup S]
//
// --warmup S paces the same rate for S seconds before the measured --duration (not counted): the first
// requests on fresh connections find cold caches and pools.
// --dump FILE writes one line per answered request, "due_us latency_us" (due time from the start, in
// microseconds), to see whether slow requests come together (a stall) or spread out (queueing).
//
// The body's "__USER__" is replaced by one of N user names (default 1000), rotated per request, and the same
// name goes in the header x-bench-user, as bench/lib/post.lua does. Prints one line, as post.lua does:
// BENCH_RESULT {json} (latencies in microseconds).
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>

namespace net = boost::asio;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  std::string host = "127.0.0.1", port, path = "/v1/chat/completions", body_file, headers, tag, dump;
  double rate = 0, duration_s = 0, timeout_s = 5, warmup_s = 0;
  int connections = 32, users = 1000;
};

struct Run {
  std::vector<std::string> requests;  // one per user, whole (head and body)
  std::deque<Clock::time_point> due;  // requests due and not yet sent, oldest first
  std::vector<struct Connection*> idle;
  bool schedule_done = false;
  std::vector<int64_t> latency_us;
  std::vector<int64_t> due_us;  // with --dump: each answered request's due time, from the start
  Clock::time_point start;      // of the schedule (the warm-up's start)
  Clock::time_point measured;   // requests due from here on are counted
  Clock::time_point last_answer;
  uint64_t answered = 0;  // warm-up included
  uint64_t bytes = 0, late = 0, err_connect = 0, err_read = 0, err_write = 0, err_status = 0, err_timeout = 0;
  size_t next_request = 0;
};

struct Connection {
  net::steady_timer wake;
  explicit Connection(net::any_io_executor ex) : wake(ex) {}
};

[[noreturn]] void usage(const std::string& why) {
  std::cerr << "paced-load: " << why
            << "\nusage: paced-load --url http://HOST:PORT/PATH --body FILE --rate R --duration S [--connections C]"
               " [--headers TEXT] [--users N] [--timeout S] [--tag TEXT] [--dump FILE]\n";
  std::exit(2);
}

Options parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) usage("option " + a + " needs a value");
    std::string v = argv[++i];
    try {
      if (a == "--url") {
        auto u = boost::urls::parse_uri(v);
        if (!u || u->scheme() != "http" || u->port().empty()) usage("--url must be http://HOST:PORT/PATH");
        o.host = u->host();
        o.port = u->port();
        o.path = u->encoded_target().empty() ? "/" : std::string(u->encoded_target());
      } else if (a == "--body") {
        o.body_file = v;
      } else if (a == "--headers") {
        o.headers = v;
      } else if (a == "--dump") {
        o.dump = v;
      } else if (a == "--tag") {
        o.tag = v;
      } else if (a == "--rate") {
        o.rate = std::stod(v);
      } else if (a == "--warmup") {
        o.warmup_s = std::stod(v);
      } else if (a == "--duration") {
        o.duration_s = std::stod(v);
      } else if (a == "--timeout") {
        o.timeout_s = std::stod(v);
      } else if (a == "--connections") {
        o.connections = std::stoi(v);
      } else if (a == "--users") {
        o.users = std::stoi(v);
      } else {
        usage("unknown option " + a);
      }
    } catch (const std::exception&) {
      usage("bad value for " + a + ": " + v);
    }
  }
  if (o.port.empty() || o.body_file.empty()) usage("--url and --body are required");
  if (!(o.rate > 0) || !(o.duration_s > 0) || o.connections < 1 || o.users < 1 || !(o.timeout_s > 0) ||
      !(o.warmup_s >= 0))
    usage("--rate, --duration, --connections, --users and --timeout must be positive, --warmup not negative");
  return o;
}

std::vector<std::string> build_requests(const Options& o) {
  std::ifstream in(o.body_file, std::ios::binary);
  if (!in) usage("cannot read " + o.body_file);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string tmpl = ss.str();
  while (!tmpl.empty() && std::isspace(static_cast<unsigned char>(tmpl.back()))) tmpl.pop_back();
  std::string extra;
  std::istringstream lines(o.headers);
  for (std::string line; std::getline(lines, line);)
    if (line.find(':') != std::string::npos) extra += line + "\r\n";
  std::vector<std::string> out;
  for (int i = 1; i <= o.users; ++i) {
    char user[32];
    std::snprintf(user, sizeof user, "bench-user-%05d", i);
    std::string body = tmpl;
    for (size_t p; (p = body.find("__USER__")) != std::string::npos;) body.replace(p, 8, user);
    out.push_back("POST " + o.path + " HTTP/1.1\r\nHost: " + o.host + ":" + o.port +
                  "\r\nContent-Type: application/json\r\nx-bench-user: " + user + "\r\n" + extra +
                  "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  }
  return out;
}

// Releases request i at start + i / rate, and wakes an idle connection for it.
net::awaitable<void> schedule(Run& run, const Options& o, Clock::time_point start) {
  net::steady_timer timer(co_await net::this_coro::executor);
  const auto interval = std::chrono::duration<double>(1.0 / o.rate);
  const auto end = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.warmup_s + o.duration_s));
  for (uint64_t i = 0;; ++i) {
    auto at = start + std::chrono::duration_cast<Clock::duration>(interval * static_cast<double>(i));
    if (at >= end) break;
    timer.expires_at(at);
    boost::system::error_code ec;
    co_await timer.async_wait(net::redirect_error(net::use_awaitable, ec));
    run.due.push_back(at);
    if (!run.idle.empty()) {
      run.idle.back()->wake.cancel();
      run.idle.pop_back();
    }
  }
  run.schedule_done = true;
  for (auto* c : run.idle) c->wake.cancel();
  run.idle.clear();
}

net::awaitable<void> connection(Run& run, const Options& o, tcp::resolver::results_type where) {
  auto ex = co_await net::this_coro::executor;
  Connection self(ex);
  boost::beast::tcp_stream stream(ex);
  boost::beast::flat_buffer buffer;
  bool connected = false;
  const auto timeout = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.timeout_s));
  auto connect = [&]() -> net::awaitable<bool> {
    boost::system::error_code ec;
    stream.expires_after(timeout);
    co_await stream.async_connect(where, net::redirect_error(net::use_awaitable, ec));
    if (ec) {
      ++run.err_connect;
      stream.close();
      co_return false;
    }
    stream.socket().set_option(tcp::no_delay(true));
    buffer.clear();
    co_return true;
  };
  connected = co_await connect();
  for (;;) {
    while (run.due.empty()) {
      if (run.schedule_done) co_return;
      run.idle.push_back(&self);
      self.wake.expires_at(Clock::time_point::max());
      boost::system::error_code ec;
      co_await self.wake.async_wait(net::redirect_error(net::use_awaitable, ec));
    }
    Clock::time_point due = run.due.front();
    run.due.pop_front();
    boost::system::error_code ec;
    if (!connected && !(connected = co_await connect())) continue;
    if (due >= run.measured && Clock::now() - due > std::chrono::milliseconds(1)) ++run.late;
    const std::string& request = run.requests[run.next_request++ % run.requests.size()];
    stream.expires_after(timeout);
    co_await net::async_write(stream, net::buffer(request), net::redirect_error(net::use_awaitable, ec));
    if (ec) {
      (ec == boost::beast::error::timeout ? run.err_timeout : run.err_write)++;
      stream.close();
      connected = false;
      continue;
    }
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    size_t n = co_await http::async_read(stream, buffer, parser, net::redirect_error(net::use_awaitable, ec));
    if (ec) {
      (ec == boost::beast::error::timeout ? run.err_timeout : run.err_read)++;
      stream.close();
      connected = false;
      continue;
    }
    ++run.answered;
    if (due >= run.measured) {
      run.last_answer = Clock::now();
      run.bytes += n;
      run.latency_us.push_back(std::chrono::duration_cast<std::chrono::microseconds>(run.last_answer - due).count());
      if (!o.dump.empty())
        run.due_us.push_back(std::chrono::duration_cast<std::chrono::microseconds>(due - run.measured).count());
      if (parser.get().result_int() != 200) ++run.err_status;
    }
    if (!parser.get().keep_alive()) {
      stream.close();
      connected = false;
    }
  }
}

// Opens every connection first (so the paced run measures requests, not handshakes), then starts the schedule.
net::awaitable<void> start(Run& run, const Options& o) {
  auto ex = co_await net::this_coro::executor;
  tcp::resolver resolver(ex);
  auto where = co_await resolver.async_resolve(o.host, o.port, net::use_awaitable);
  run.start = Clock::now() + std::chrono::milliseconds(100);
  run.measured = run.start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.warmup_s));
  co_spawn(ex, schedule(run, o, run.start), net::detached);
  for (int i = 0; i < o.connections; ++i) co_spawn(ex, connection(run, o, where), net::detached);
}

int64_t percentile(const std::vector<int64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  size_t i = static_cast<size_t>(p / 100.0 * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(i, sorted.size() - 1)];
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parse_options(argc, argv);
  Run run;
  run.requests = build_requests(o);
  net::io_context ioc{1};
  co_spawn(ioc, start(run, o), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
  try {
    ioc.run();
  } catch (const std::exception& e) {
    std::cerr << "paced-load: " << e.what() << "\n";
    return 1;
  }
  double secs = run.latency_us.empty() ? o.duration_s
                                       : std::chrono::duration<double>(run.last_answer - run.measured).count();
  if (!o.dump.empty()) {
    std::ofstream dump(o.dump);
    for (size_t i = 0; i < run.latency_us.size(); ++i) dump << run.due_us[i] << ' ' << run.latency_us[i] << '\n';
    if (!dump) std::cerr << "paced-load: could not write " << o.dump << "\n";
  }
  auto& l = run.latency_us;
  std::sort(l.begin(), l.end());
  double mean = 0;
  for (auto v : l) mean += static_cast<double>(v);
  if (!l.empty()) mean /= static_cast<double>(l.size());
  std::printf(
      "BENCH_RESULT {\"tag\":\"%s\",\"paced\":true,\"answered_with_warmup\":%llu,\"requests\":%zu,\"duration_s\":%.3f,\"rps\":%.1f,\"bytes\":%llu,"
      "\"p50_us\":%lld,\"p90_us\":%lld,\"p99_us\":%lld,\"p999_us\":%lld,\"max_us\":%lld,\"mean_us\":%.1f,"
      "\"late\":%llu,\"err_connect\":%llu,\"err_read\":%llu,\"err_write\":%llu,\"err_status\":%llu,"
      "\"err_timeout\":%llu}\n",
      o.tag.c_str(), static_cast<unsigned long long>(run.answered), l.size(), secs, static_cast<double>(l.size()) / secs, static_cast<unsigned long long>(run.bytes),
      static_cast<long long>(percentile(l, 50)), static_cast<long long>(percentile(l, 90)),
      static_cast<long long>(percentile(l, 99)), static_cast<long long>(percentile(l, 99.9)),
      static_cast<long long>(l.empty() ? 0 : l.back()), mean, static_cast<unsigned long long>(run.late),
      static_cast<unsigned long long>(run.err_connect), static_cast<unsigned long long>(run.err_read),
      static_cast<unsigned long long>(run.err_write), static_cast<unsigned long long>(run.err_status),
      static_cast<unsigned long long>(run.err_timeout));
  return 0;
}
