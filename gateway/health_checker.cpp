#include "gateway/health_checker.hpp"

#include <set>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/asio/ssl/stream_base.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

namespace slipway {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

// "" when the endpoint answered 2xx, else why not (logged when the endpoint goes down).
net::awaitable<std::string> probe_once(const config::Endpoint& ep, const std::string& path, Clock::duration timeout,
                                       const TlsContexts& tls) {
  auto ex = co_await net::this_coro::executor;
  boost::system::error_code ec;
  tcp::resolver resolver(ex);
  auto results = co_await resolver.async_resolve(ep.host, std::to_string(ep.port), net::redirect_error(net::use_awaitable, ec));
  if (ec) co_return "resolve: " + ec.message();
  TcpOrTlsStream stream(ex);
  stream.expires_after(timeout);
  co_await stream.connect(TcpOrTlsStream::Endpoints(results.begin(), results.end()), ec);
  if (ec) co_return "connect: " + ec.message();
  if (ep.tls) {
    TlsContextPtr context = tls.upstream();
    if (!context) co_return "no TLS context for https:// endpoints";
    auto& s = stream.start_tls(std::move(context));
    prepare_client_handshake(s, ep.host, tls.upstream_verifies());
    co_await stream.handshake(net::ssl::stream_base::client, ec);
    if (ec) co_return "tls handshake: " + tls_failure_reason(ec, &s);
  }
  http::request<http::empty_body> req{http::verb::get, path, 11};
  req.set(http::field::host, ep.authority());
  req.set(http::field::user_agent, "slipway-health-check");
  req.keep_alive(false);
  co_await http::async_write(stream, req, net::redirect_error(net::use_awaitable, ec));
  if (ec) co_return "send: " + ec.message();
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024);
  co_await http::async_read(stream, buffer, parser, net::redirect_error(net::use_awaitable, ec));
  if (ec) co_return "read: " + ec.message();
  if (parser.get().result_int() >= 300) co_return "status " + std::to_string(parser.get().result_int());
  co_return "";
}

net::awaitable<void> probe_endpoint(std::shared_ptr<EndpointState> ep, std::string path, Clock::duration timeout,
                                    const Log& log, const TlsContexts& tls) {
  if (!ep->begin_probe()) co_return;
  std::string failure;
  try {
    failure = co_await probe_once(ep->endpoint(), path, timeout, tls);
  } catch (const std::exception& e) {
    failure = e.what();
  }
  const bool ok = failure.empty();
  ep->end_probe();
  auto before = ep->probe();
  ep->record_probe(ok);
  if (before != ep->probe()) {
    boost::json::object fields{{"endpoint", ep->label()}, {"state", ok ? "up" : "down"}};
    if (!ok) fields["reason"] = failure;
    log.write(ok ? LogLevel::info : LogLevel::warn, "endpoint_health", fields);
  }
}

}  // namespace

net::awaitable<void> run_health_checks(SnapshotStore& store, const Log& log, const TlsContexts& tls) {
  auto ex = co_await net::this_coro::executor;
  net::steady_timer timer(ex);
  for (;;) {
    auto snap = store.current();
    auto interval = snap->config->health.check_interval;
    if (interval.count() > 0) {
      std::set<EndpointState*> seen;
      // Independent of the interval: a short interval must not turn a busy backend's slow answer into "down".
      auto timeout = std::chrono::seconds(2);
      for (const auto& m : snap->models)
        for (const auto* v : {&m.baseline, m.canary ? &*m.canary : nullptr})
          if (v)
            for (const auto& ep : v->endpoints)
              if (seen.insert(ep.get()).second)
                net::co_spawn(ex, probe_endpoint(ep, snap->config->health.check_path, timeout, log, tls), net::detached);
    }
    timer.expires_after(interval.count() > 0 ? Clock::duration(interval) : Clock::duration(std::chrono::seconds(1)));
    auto [ec] = co_await timer.async_wait(net::as_tuple(net::use_awaitable));
    if (ec) co_return;
  }
}

}  // namespace slipway
