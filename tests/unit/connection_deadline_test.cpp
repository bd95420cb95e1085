// Connection deadlines (gateway/connection_deadline.hpp) through TcpOrTlsStream on a loopback pair: a read
// pending past its deadline ends with beast::error::timeout (the connection closed, or kept with
// DeadlineAction::cancel), a deadline moved later neither fires early nor re-arms the timer, one that
// passed while nothing was pending still lets a write with room complete, and expires_never disarms.
#include <catch2/catch.hpp>

#include <chrono>
#include <optional>
#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>

#include "gateway/connection_deadline.hpp"
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

struct ReadResult {
  bool done = false;
  boost::system::error_code ec;
  std::size_t n = 0;
  Clock::duration took{};
};

// Starts one read of up to 16 bytes on the stream; `r` is filled when it completes.
void start_read(Pair& p, ReadResult& r, char* buf) {
  auto t0 = Clock::now();
  net::co_spawn(
      p.ioc,
      [&p, &r, buf, t0]() -> net::awaitable<void> {
        r.n = co_await p.ours->async_read_some(net::buffer(buf, 16), net::redirect_error(net::use_awaitable, r.ec));
        r.took = Clock::now() - t0;
        r.done = true;
      },
      net::detached);
}

// Writes `text` on the stream, running the loop until the write completes (at most 2 s); returns its error
// (or timed_out when it did not complete).
boost::system::error_code write_all(Pair& p, std::string_view text) {
  bool wrote = false;
  boost::system::error_code ec = net::error::timed_out;
  net::co_spawn(
      p.ioc,
      [&]() -> net::awaitable<void> {
        co_await net::async_write(*p.ours, net::buffer(text), net::redirect_error(net::use_awaitable, ec));
        wrote = true;
      },
      net::detached);
  run_until(p, wrote, 2s);
  return ec;
}

}  // namespace

TEST_CASE("a read pending past its deadline ends with a timeout and the connection closed") {
  Pair p;
  char buf[16];
  ReadResult r;
  p.ours->expires_after(60ms);
  start_read(p, r, buf);
  run_until(p, r.done, 3s);
  REQUIRE(r.done);
  CHECK(r.ec == boost::beast::error::timeout);
  CHECK(r.took >= 55ms);
  CHECK(r.took < 1s);
  CHECK(p.ours->timed_out());
  CHECK_FALSE(p.ours->socket().is_open());
}

TEST_CASE("with DeadlineAction::cancel a timed-out read leaves the connection usable") {
  Pair p;
  char buf[16];
  ReadResult r;
  p.ours->expires_after(40ms, DeadlineAction::cancel);
  start_read(p, r, buf);
  run_until(p, r.done, 3s);
  REQUIRE(r.done);
  CHECK(r.ec == boost::beast::error::timeout);
  REQUIRE(p.ours->socket().is_open());
  // The answer still goes out on it (a 408 in the gateway).
  p.ours->expires_after(1s);
  CHECK_FALSE(write_all(p, "late"));
  char got[4];
  CHECK(net::read(p.peer, net::buffer(got)) == 4);
  CHECK(std::string_view(got, 4) == "late");
}

TEST_CASE("in cancel mode a passed deadline also ends the next read, until a new deadline is set") {
  Pair p;
  char buf[16];
  ReadResult first;
  p.ours->expires_after(30ms, DeadlineAction::cancel);
  start_read(p, first, buf);
  run_until(p, first.done, 3s);
  REQUIRE(first.done);
  CHECK(first.ec == boost::beast::error::timeout);
  // A read begun after the deadline was acted on (as Beast's parser loop begins its next read) must not
  // wait without a timer.
  ReadResult second;
  start_read(p, second, buf);
  run_until(p, second.done, 3s);
  REQUIRE(second.done);
  CHECK(second.ec == boost::beast::error::timeout);
  CHECK(second.took < 1s);
  // A new deadline lets the connection be used again.
  p.ours->expires_after(2s);
  ReadResult third;
  start_read(p, third, buf);
  net::write(p.peer, net::buffer("x", 1));
  run_until(p, third.done, 3s);
  REQUIRE(third.done);
  CHECK_FALSE(third.ec);
}

TEST_CASE("a read whose success was queued behind the deadline's handler is reported as a timeout") {
  Pair p;
  char buf[16];
  ReadResult r;
  net::steady_timer sleep(p.ioc, 10ms);
  // Both timers expire before the loop runs again, so they are handled in one batch, earliest first: the
  // read begins in the first's handler and completes at once (its data is there), queued behind the
  // deadline's handler, which closes the socket.
  net::co_spawn(
      p.ioc,
      [&]() -> net::awaitable<void> {
        co_await sleep.async_wait(net::use_awaitable);
        r.n = co_await p.ours->async_read_some(net::buffer(buf, 16), net::redirect_error(net::use_awaitable, r.ec));
        r.done = true;
      },
      net::detached);
  p.ours->expires_after(20ms);
  p.ioc.poll();
  net::write(p.peer, net::buffer("data", 4));
  std::this_thread::sleep_for(50ms);
  run_until(p, r.done, 2s);
  REQUIRE(r.done);
  CHECK(r.ec == boost::beast::error::timeout);
  // Nothing after it sees the closed socket as anything but the timeout.
  CHECK(p.ours->timed_out());
}

TEST_CASE("a deadline moved later does not fire at the earlier time") {
  Pair p;
  p.ours->expires_after(10s);
  CHECK(p.ours->timed_out() == false);
  // Only a deadline earlier than the pending wait arms the timer again.
  p.ours->expires_after(60ms);
  p.ours->expires_after(200ms);
  p.ours->expires_after(20s);
  p.ours->expires_after(250ms);
  char buf[16];
  ReadResult r;
  start_read(p, r, buf);
  run_until(p, r.done, 3s);
  REQUIRE(r.done);
  CHECK(r.ec == boost::beast::error::timeout);
  CHECK(r.took >= 240ms);  // the wait armed for 60 ms ended early and waited again
  CHECK(r.took < 2s);
}

TEST_CASE("timer arms: one per deadline that moves earlier, none per operation") {
  net::io_context ioc;
  tcp::socket socket(ioc);
  ConnectionDeadline d(ioc.get_executor(), socket);
  d.expires_after(10s);
  CHECK(d.arms() == 1);
  d.expires_after(20s);  // later: the wait for 10 s stays, and waits again when it ends
  CHECK(d.arms() == 1);
  d.expires_after(5s);  // earlier: armed again
  CHECK(d.arms() == 2);
  d.expires_never();
  d.expires_after(30s);
  CHECK(d.arms() == 2);
  // Request-like rounds of operations under a deadline set anew each time: tcp_stream armed and
  // cancelled a timer for each operation.
  for (int i = 0; i < 100; ++i) {
    d.expires_after(30s);
    d.begin_op();
    boost::system::error_code ec;
    d.end_op(ec);
    CHECK_FALSE(ec);
  }
  CHECK(d.arms() == 2);
  CHECK_FALSE(d.timed_out());
}

TEST_CASE("a deadline that passed with nothing pending lets a write with room finish, then times out a read") {
  Pair p;
  p.ours->expires_after(20ms);
  // Nothing pending while it passes.
  p.ioc.run_for(60ms);
  CHECK_FALSE(p.ours->timed_out());
  CHECK_FALSE(write_all(p, "sse error event"));
  char got[15];
  CHECK(net::read(p.peer, net::buffer(got)) == 15);
  // The deadline is still passed: the next read that has to wait is ended at once.
  p.ours->expires_at(Clock::now() - 1ms);
  char buf[16];
  ReadResult r;
  start_read(p, r, buf);
  run_until(p, r.done, 2s);
  REQUIRE(r.done);
  CHECK(r.ec == boost::beast::error::timeout);
  CHECK(r.took < 500ms);
}

TEST_CASE("expires_never disarms a deadline set before it") {
  Pair p;
  p.ours->expires_after(30ms);
  p.ours->expires_never();
  char buf[16];
  ReadResult r;
  start_read(p, r, buf);
  auto t0 = Clock::now();
  while (Clock::now() - t0 < 150ms) {
    p.ioc.restart();
    p.ioc.run_for(10ms);
  }
  CHECK_FALSE(r.done);  // still waiting, well past the old deadline
  net::write(p.peer, net::buffer("data", 4));
  run_until(p, r.done, 2s);
  REQUIRE(r.done);
  CHECK_FALSE(r.ec);
  CHECK(r.n == 4);
}

TEST_CASE("a stream destroyed with its timer armed is not touched when the timer fires") {
  Pair p;
  p.ours->expires_after(20ms);
  p.ours.reset();
  p.ioc.run_for(60ms);  // under ASan: a use after free here would be reported
  SUCCEED();
}
