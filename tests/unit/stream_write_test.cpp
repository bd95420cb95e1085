// TcpOrTlsStream::write_all on a loopback pair: a write that fits the socket's buffer is done without a
// trip through the scheduler, one far larger than the buffers arrives whole and in order (the first send
// takes part of it, an asynchronous write the rest), a write to a peer that reset the connection ends with
// an error, and a write after a deadline acted ends with beast::error::timeout, as async_write's does.
#include <catch2/catch.hpp>

#include <array>
#include <chrono>
#include <optional>
#include <string>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>

#include "gateway/tls_stream.hpp"
#include "tests/unit/loopback_pair.hpp"

using namespace slipway;
using test::run_until;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

using Pair = test::LoopbackPair;

struct WriteResult {
  bool done = false;
  boost::system::error_code ec = net::error::timed_out;
};

template <std::size_t N>
void start_write(Pair& p, const std::array<net::const_buffer, N>& parts, WriteResult& r) {
  net::co_spawn(
      p.ioc,
      [&p, parts, &r]() -> net::awaitable<void> {
        co_await p.ours->write_all(parts, r.ec);
        r.done = true;
      },
      net::detached);
}

}  // namespace

TEST_CASE("a write that fits the socket's buffer completes within the handler that started it") {
  Pair p;
  const std::string head = "HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n", body = "hello";
  WriteResult r;
  start_write(p, std::array<net::const_buffer, 3>{net::buffer(head), net::const_buffer{}, net::buffer(body)}, r);
  // One handler: co_spawn's start. An asynchronous write would need a second, its posted completion.
  CHECK(p.ioc.run_one() == 1);
  REQUIRE(r.done);
  CHECK_FALSE(r.ec);
  std::string got(head.size() + body.size(), '\0');
  CHECK(net::read(p.peer, net::buffer(got)) == got.size());
  CHECK(got == head + body);
}

TEST_CASE("a write far larger than the socket's buffers arrives whole and in order") {
  Pair p;
  // 24 MiB in three pieces: more than loopback's send and receive buffers hold, so the first send takes
  // only part and the rest waits for the peer to read.
  std::string a(8 << 20, '\0'), b(8 << 20, '\0'), c(8 << 20, '\0');
  for (std::size_t i = 0; i < a.size(); ++i) {
    a[i] = static_cast<char>('a' + i % 23);
    b[i] = static_cast<char>('A' + i % 19);
    c[i] = static_cast<char>('0' + i % 10);
  }
  WriteResult r;
  start_write(p, std::array<net::const_buffer, 3>{net::buffer(a), net::buffer(b), net::buffer(c)}, r);
  CHECK(p.ioc.run_one() == 1);
  CHECK_FALSE(r.done);  // the rest is waiting for room
  std::string got(a.size() + b.size() + c.size(), '\0');
  bool read_done = false;
  net::co_spawn(
      p.ioc,
      [&]() -> net::awaitable<void> {
        boost::system::error_code ec;
        co_await net::async_read(p.peer, net::buffer(got), net::redirect_error(net::use_awaitable, ec));
        read_done = !ec;
      },
      net::detached);
  run_until(p, read_done, 10s);
  run_until(p, r.done, 1s);
  REQUIRE(r.done);
  CHECK_FALSE(r.ec);
  REQUIRE(read_done);
  CHECK((got == a + b + c));  // in parentheses: a failure does not print 24 MiB
}

TEST_CASE("a write to a peer that reset the connection ends with an error") {
  Pair p;
  p.peer.set_option(net::socket_base::linger(true, 0));
  p.peer.close();  // RST
  const std::string text(64 * 1024, 'x');
  boost::system::error_code last;
  // The first send may still be taken by the kernel before the reset arrives; a later one cannot be.
  for (int i = 0; i < 5 && !last; ++i) {
    WriteResult r;
    start_write(p, std::array<net::const_buffer, 1>{net::buffer(text)}, r);
    run_until(p, r.done, 2s);
    REQUIRE(r.done);
    last = r.ec;
  }
  CHECK(last);
  CHECK(last != boost::beast::error::timeout);
}

TEST_CASE("a write after a deadline closed the connection ends with a timeout") {
  Pair p;
  p.ours->expires_after(20ms);
  bool read_done = false;
  char buf[16];
  net::co_spawn(
      p.ioc,
      [&]() -> net::awaitable<void> {
        boost::system::error_code ec;
        co_await p.ours->async_read_some(net::buffer(buf), net::redirect_error(net::use_awaitable, ec));
        read_done = true;
      },
      net::detached);
  run_until(p, read_done, 2s);
  REQUIRE(p.ours->timed_out());
  const std::string text = "data: late\n\n";
  WriteResult r;
  start_write(p, std::array<net::const_buffer, 1>{net::buffer(text)}, r);
  run_until(p, r.done, 2s);
  REQUIRE(r.done);
  CHECK(r.ec == boost::beast::error::timeout);
}
