// vllm-sim: the HTTP/1.1 server (Beast + Asio C++20 coroutines, keep-alive, one io_context per thread),
// routing, non-streaming and SSE answers, fault injection and client-disconnect detection.
#include "tools/vllm-sim/sim.hpp"

#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <thread>

namespace sim {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;
using Req = http::request<http::string_body>;
template <class T>
using task = asio::awaitable<T>;
constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);

namespace {

std::string lower(std::string_view s) {
  std::string o(s);
  for (auto& c : o) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return o;
}

bool kinds_ok(std::string_view list, bool (*valid)(std::string_view), std::string& bad) {
  while (!list.empty()) {
    auto c = list.find(',');
    auto item = list.substr(0, c);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty() && !valid(item)) return bad = std::string(item), false;
    if (c == std::string_view::npos) break;
    list.remove_prefix(c + 1);
  }
  return true;
}

class Session {
 public:
  Session(tcp::socket s, int t) : sock_(std::move(s)), timer_(sock_.get_executor()), tidx_(t) {}

  task<void> run() {
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(64u << 20);
      parser.header_limit(64u << 10);
      auto [ec, n] = co_await http::async_read(sock_, buf_, parser, nothrow);
      if (ec) break;
      Req& req = parser.get();
      bool again = false;
      try {
        again = co_await handle(req);
      } catch (const std::exception& e) {
        std::cerr << "{\"event\":\"error\",\"what\":" << json::serialize(json::string(e.what())) << "}\n";
      }
      if (!again) break;
    }
    beast::error_code ec;
    sock_.shutdown(tcp::socket::shutdown_both, ec);
    sock_.close(ec);
  }

 private:
  task<bool> send(const Req& req, http::status st, std::string body, std::string_view ctype = "application/json",
                  std::string_view slips = {}) {
    http::response<http::string_body> res{st, req.version()};
    res.set(http::field::server, "vllm-sim");
    if (!ctype.empty()) res.set(http::field::content_type, ctype);
    if (auto it = req.find("x-request-id"); it != req.end()) res.set("x-request-id", it->value());
    if (!slips.empty()) res.set("x-sim-slip-applied", slips);
    res.keep_alive(req.keep_alive());
    res.body() = std::move(body);
    res.prepare_payload();
    auto [ec, n] = co_await http::async_write(sock_, res, nothrow);
    log(req, static_cast<int>(st), false, slips, {});
    co_return !ec && req.keep_alive();
  }

  void log(const Req& req, int status, bool stream, std::string_view slips, std::string_view fault) {
    if (!config().log_requests) return;
    json::object o{{"event", "request"}, {"method", std::string_view(req.method_string())},
                   {"path", std::string_view(req.target())}, {"status", status}, {"stream", stream},
                   {"slips", slips}, {"fault", fault}};
    if (auto it = req.find("x-request-id"); it != req.end()) o["x_request_id"] = std::string_view(it->value());
    std::cerr << json::serialize(o) << "\n";
  }

  // true when the client went away (EOF or error); false when it sent more bytes (pipelining: stop watching).
  task<bool> watch_peer() {
    for (;;) {
      auto [ec] = co_await sock_.async_wait(tcp::socket::wait_read, nothrow);
      if (ec == asio::error::operation_aborted) co_return false;
      if (ec) co_return true;
      char c;
      ssize_t n = ::recv(sock_.native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
      if (n == 0) co_return true;
      if (n > 0) {
        watch_ = false;
        co_return false;
      }
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) continue;
      co_return true;
    }
  }

  // Waits ms; true when the client went away meanwhile.
  task<bool> pause(double ms) {
    if (ms <= 0) co_return false;
    timer_.expires_after(std::chrono::microseconds(static_cast<std::int64_t>(ms * 1000)));
    while (watch_) {
      auto res = co_await (timer_.async_wait(nothrow) || watch_peer());
      if (res.index() == 0) co_return false;
      if (std::get<1>(res)) co_return true;
    }
    co_await timer_.async_wait(nothrow);
    co_return false;
  }

  // (co_await is kept out of loop and && conditions throughout: g++ 12 miscompiles some of those.)
  task<void> wait_gone() {
    for (;;) {
      bool gone = co_await pause(3.6e6);
      if (gone) co_return;
    }
  }

  void record_last(const Req& req, PathId pid, const json::object* body) {
    auto& l = scratch_;
    l.path = path_name(pid) == "other" ? std::string(req.target()) : std::string(path_name(pid));
    l.headers.clear();
    l.has_x_request_id = l.has_authorization = l.has_model = l.has_stream_options = l.stream = false;
    for (auto& f : hdrs_) {
      l.headers.push_back(f);
      if (f.first == "x-request-id") l.has_x_request_id = true, l.x_request_id = f.second;
      if (f.first == "authorization") l.has_authorization = true, l.authorization = f.second;
    }
    l.body_bytes = req.body().size();
    if (body) {
      if (auto* m = body->if_contains("model"); m && m->is_string()) l.has_model = true, l.model = m->get_string();
      if (auto* s = body->if_contains("stream"); s && s->is_bool()) l.stream = s->get_bool();
      if (auto* so = body->if_contains("stream_options"); so && !so->is_null())
        l.has_stream_options = true, l.stream_options = json::serialize(*so);
    }
    stats_last_store(tidx_, l);
  }

  struct ActiveGuard {
    bool active;
    ~ActiveGuard() {
      if (active) stats_request_end();
    }
  };

  task<bool> handle(Req& req) {
    PathId pid = path_id(req.target());
    watch_ = true;
    bool sim_path = pid == PathId::sim_stats || pid == PathId::sim_reset;
    hdrs_.clear();
    for (auto& f : req) hdrs_.emplace_back(lower(f.name_string()), std::string(f.value()));
    if (sim_path) {
      if (pid == PathId::sim_stats && req.method() == http::verb::get) co_return co_await send(req, http::status::ok, stats_body());
      if (pid == PathId::sim_reset && req.method() == http::verb::post) {
        stats_reset();
        co_return co_await send(req, http::status::ok, "{\"ok\":true}");
      }
      co_return co_await send(req, http::status::method_not_allowed, "{\"detail\":\"Method Not Allowed\"}");
    }
    bool quiet = pid == PathId::health || pid == PathId::metrics;  // not in last_request nor active_requests
    stats_request_begin(pid, !quiet);
    ActiveGuard guard{!quiet};
    auto get = req.method() == http::verb::get, post = req.method() == http::verb::post;
    if (!quiet && pid != PathId::chat && pid != PathId::completions && pid != PathId::embeddings &&
        pid != PathId::tokenize)
      record_last(req, pid, nullptr);
    switch (pid) {
      case PathId::chat:
      case PathId::completions:
        if (post) co_return co_await generate(req, pid);
        break;
      case PathId::embeddings:
      case PathId::tokenize:
        if (post) {
          json::error_code ec;
          json::value v = json::parse(req.body(), ec);
          if (ec || !v.is_object()) {
            record_last(req, pid, nullptr);
            co_return co_await send(req, http::status::bad_request, error_body("Invalid JSON body", "BadRequestError", 400));
          }
          record_last(req, pid, &v.get_object());
          if (pid == PathId::tokenize) co_return co_await send(req, http::status::ok, tokenize_body(v.get_object()));
          std::string err;
          int status = 200;
          std::string b = embeddings_body(v.get_object(), err, status);
          if (status != 200) co_return co_await send(req, http::status::bad_request, err);
          co_return co_await send(req, http::status::ok, std::move(b));
        }
        break;
      case PathId::models:
        if (get) co_return co_await send(req, http::status::ok, models_body());
        break;
      case PathId::health:
        if (get) co_return co_await send(req, http::status::ok, "", "");
        break;
      case PathId::metrics:
        if (get) co_return co_await send(req, http::status::ok, metrics_body(), "text/plain; version=0.0.4; charset=utf-8");
        break;
      default:
        co_return co_await send(req, http::status::not_found, "{\"detail\":\"Not Found\"}");
    }
    co_return co_await send(req, http::status::method_not_allowed, "{\"detail\":\"Method Not Allowed\"}");
  }

  task<bool> generate(Req& req, PathId pid) {
    bool chat = pid == PathId::chat;
    json::error_code ec;
    json::monotonic_resource mr(jbuf_, sizeof jbuf_);  // no heap for small request bodies
    json::value v = json::parse(req.body(), ec, &mr);
    if (ec || !v.is_object()) {
      record_last(req, pid, nullptr);
      std::string msg = ec ? "Invalid JSON body: " + ec.message() : "The request body must be a JSON object";
      co_return co_await send(req, http::status::bad_request, error_body(msg, "BadRequestError", 400));
    }
    auto& body = v.get_object();
    record_last(req, pid, &body);
    const Config& cfg = config();
    if (auto* m = body.if_contains("model"); m && !(m->is_string() && m->get_string() == cfg.model)) {
      std::string name = m->is_string() ? std::string(m->get_string()) : json::serialize(*m);
      co_return co_await send(req, http::status::not_found,
                              error_body("The model `" + name + "` does not exist.", "NotFoundError", 404));
    }
    auto* need = body.if_contains(chat ? "messages" : "prompt");
    if (!need || (chat && !need->is_array()))
      co_return co_await send(req, http::status::bad_request,
                              error_body(chat ? "Field required: messages" : "Field required: prompt", "BadRequestError", 400));
    if (auto* so = body.if_contains("stream_options"); so && !so->is_null()) {  // as vLLM's protocol.py
      auto* st = body.if_contains("stream");
      if (!st || !st->is_bool() || !st->get_bool())
        co_return co_await send(req, http::status::bad_request,
                                error_body("Stream options can only be defined when `stream=True`.", "BadRequestError", 400));
    }
    std::string bad;
    if (!kinds_ok(find_header(hdrs_, "x-sim-slip"), is_slip_kind, bad) ||
        !kinds_ok(find_header(hdrs_, "x-sim-fault"), is_fault_kind, bad))
      co_return co_await send(req, http::status::bad_request,
                              error_body("vllm-sim: unknown x-sim-slip/x-sim-fault kind: " + bad, "BadRequestError", 400));
    Reply r = plan_reply(body, chat, hdrs_, req.body(), find_header(hdrs_, "x-request-id"));
    const std::string& f = r.fault;
    if (f == "http_500")
      co_return co_await send(req, http::status::internal_server_error,
                              error_body("vllm-sim: injected internal error", "InternalServerError", 500));
    if (f == "http_503")
      co_return co_await send(req, http::status::service_unavailable,
                              error_body("vllm-sim: injected: the server is overloaded", "ServiceUnavailableError", 503));
    if (f == "garbage") {
      static constexpr char kJunk[] = "\x16\x03\x01\x02\x00 @@@ not http at all \xff\xfe\r\n\r\n";
      co_await asio::async_write(sock_, asio::buffer(kJunk, sizeof kJunk - 1), nothrow);
      log(req, 0, r.stream, r.slips, f);
      co_return false;
    }
    if (f == "stall" && !r.stream) {
      co_await wait_gone();
      stats_request_cancelled();
      log(req, 0, false, r.slips, f);
      co_return false;
    }
    if (r.stream || f == "endless_stream") co_return co_await stream(req, r);
    double wait = r.ttft_ms + r.completion_tokens * r.token_ms + (f == "slow" ? r.fault_delay_ms : 0);
    bool gone = co_await pause(wait);
    if (gone) {
      stats_request_cancelled();
      log(req, 0, false, r.slips, "client_gone");
      co_return false;
    }
    stats_tokens(r.prompt_tokens, r.completion_tokens, r.finish_reason);
    if (f == "reset_mid_stream") {  // non-streaming: a full Content-Length, half the body, then close
      std::string b = full_body(r);
      http::response<http::empty_body> res{http::status::ok, req.version()};
      res.set(http::field::content_type, "application/json");
      res.content_length(b.size());
      http::response_serializer<http::empty_body> sr{res};
      auto [e1, n1] = co_await http::async_write_header(sock_, sr, nothrow);
      if (!e1) co_await asio::async_write(sock_, asio::buffer(b.data(), b.size() / 2), nothrow);
      log(req, 200, false, r.slips, f);
      co_return false;
    }
    co_return co_await send(req, http::status::ok, full_body(r), "application/json", r.slips);
  }

  task<bool> write_event(std::string_view ev) {
    auto [ec, n] = co_await asio::async_write(sock_, http::make_chunk(asio::buffer(ev.data(), ev.size())), nothrow);
    co_return !ec;
  }

  // The events of a normal (or reset_mid_stream) stream, then [DONE] and the last chunk.
  task<void> send_events(const Reply& r, const std::string& f, bool& done, bool& faulted) {
    StreamEvents events(r);
    std::size_t reset_at = f == "reset_mid_stream" ? std::min<std::size_t>(3, events.size() - 1) : events.size();
    std::string ev;
    bool paced = false;
    for (std::size_t i = 0; events.next(ev, paced); ++i) {
      if (i == reset_at) {
        faulted = true;
        co_return;
      }
      if (paced) {
        bool gone = co_await pause(r.token_ms);
        if (gone) co_return;
      }
      bool wrote = co_await write_event(ev);
      if (!wrote) co_return;
    }
    static constexpr std::string_view kDone = "data: [DONE]\n\n";
    bool wrote = co_await write_event(kDone);
    if (!wrote) co_return;
    auto [ec, n] = co_await asio::async_write(sock_, http::make_chunk_last(), nothrow);
    done = !ec;
  }

  task<bool> stream(const Req& req, Reply& r) {
    const std::string& f = r.fault;
    http::response<http::empty_body> res{http::status::ok, req.version()};
    res.set(http::field::server, "vllm-sim");
    res.set(http::field::content_type, "text/event-stream; charset=utf-8");
    res.set(http::field::cache_control, "no-cache");
    res.set("x-accel-buffering", "no");
    if (auto it = req.find("x-request-id"); it != req.end()) res.set("x-request-id", it->value());
    if (!r.slips.empty()) res.set("x-sim-slip-applied", r.slips);
    res.keep_alive(req.keep_alive());
    res.chunked(true);
    http::response_serializer<http::empty_body> sr{res};
    stats_stream_begin();
    bool done = false;
    bool faulted = false;
    auto [ec, n] = co_await http::async_write_header(sock_, sr, nothrow);
    if (!ec && f == "stall") {
      co_await wait_gone();
    } else if (!ec && f == "endless_stream") {
      Rng rng(fnv1a(r.id));
      double every = r.token_ms > 0 ? r.token_ms : 10;
      for (;;) {
        bool gone = co_await pause(every);
        if (gone) break;
        bool wrote = co_await write_event(endless_event(r, rng));
        if (!wrote) break;
      }
    } else if (!ec) {
      bool gone = co_await pause(r.ttft_ms + (f == "slow" ? r.fault_delay_ms : 0));
      if (!gone) co_await send_events(r, f, done, faulted);
    }
    if (faulted) {
      stats_stream_end(StreamEnd::faulted);
      stats_tokens(r.prompt_tokens, r.completion_tokens, r.finish_reason);
    } else {
      stats_stream_end(done ? StreamEnd::completed : StreamEnd::cancelled);
      if (done) stats_tokens(r.prompt_tokens, r.completion_tokens, r.finish_reason);
    }
    log(req, 200, true, r.slips, done ? std::string_view(f) : std::string_view(faulted ? f : "client_gone"));
    co_return done && req.keep_alive();
  }

  tcp::socket sock_;
  asio::steady_timer timer_;
  beast::flat_buffer buf_;
  int tidx_;
  bool watch_ = true;
  Headers hdrs_;
  alignas(16) unsigned char jbuf_[8192];
  LastRequest scratch_;
};

task<void> serve(tcp::socket s, int t) {
  Session session(std::move(s), t);
  co_await session.run();
}

task<void> accept_loop(tcp::acceptor& acc, int t) {
  for (;;) {
    auto [ec, s] = co_await acc.async_accept(nothrow);
    if (ec == asio::error::operation_aborted) co_return;
    if (ec) {  // e.g. EMFILE: back off a little
      asio::steady_timer tm(acc.get_executor(), std::chrono::milliseconds(20));
      co_await tm.async_wait(nothrow);
      continue;
    }
    beast::error_code ignored;
    s.set_option(tcp::no_delay(true), ignored);
    asio::co_spawn(acc.get_executor(), serve(std::move(s), t), asio::detached);
  }
}

}  // namespace

int run_server() {
  const Config& cfg = config();
  int n = std::max(1, cfg.threads);
  stats_init(n);
  std::vector<std::unique_ptr<asio::io_context>> ctxs;
  std::vector<std::unique_ptr<tcp::acceptor>> accs;
  unsigned short port = cfg.port;
  try {
    auto addr = asio::ip::make_address(cfg.host);
    for (int i = 0; i < n; ++i) {
      ctxs.push_back(std::make_unique<asio::io_context>(1));
      auto acc = std::make_unique<tcp::acceptor>(*ctxs.back());
      tcp::endpoint ep(addr, port);
      acc->open(ep.protocol());
      acc->set_option(asio::socket_base::reuse_address(true));
      if (n > 1) acc->set_option(asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>(true));
      acc->bind(ep);
      acc->listen(asio::socket_base::max_listen_connections);
      if (i == 0) port = acc->local_endpoint().port();
      accs.push_back(std::move(acc));
    }
  } catch (const std::exception& e) {
    std::cerr << "vllm-sim: cannot listen on " << cfg.host << ":" << cfg.port << ": " << e.what() << "\n";
    return 1;
  }
  for (int i = 0; i < n; ++i) asio::co_spawn(*ctxs[i], accept_loop(*accs[i], i), asio::detached);
  asio::signal_set signals(*ctxs[0], SIGINT, SIGTERM);
  signals.async_wait([&](const beast::error_code&, int) {
    for (auto& c : ctxs) c->stop();
  });
  json::object line{{"event", "listening"}, {"name", cfg.name}, {"port", port}, {"model", cfg.model}};
  std::cout << json::serialize(line) << std::endl;
  std::vector<std::thread> threads;
  for (int i = 1; i < n; ++i) threads.emplace_back([&ctxs, i] { ctxs[i]->run(); });
  ctxs[0]->run();
  for (auto& c : ctxs) c->stop();
  for (auto& t : threads) t.join();
  return 0;
}

}  // namespace sim
