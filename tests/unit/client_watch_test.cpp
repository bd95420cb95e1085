// ClientWatch with a ClientWatchStarter: a client that closes is noticed only once the watch has waited
// its delay, a watch stopped before then never touches the socket, and the starter can go first.
#include <catch2/catch.hpp>

#include <chrono>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "gateway/client_watch.hpp"

using namespace slipway;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;

namespace {
struct Pair {
  net::io_context ioc;
  tcp::socket ours{ioc}, peer{ioc};
  Pair() {
    tcp::acceptor acceptor(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    peer.connect(acceptor.local_endpoint());
    acceptor.accept(ours);
  }
  void run_for(std::chrono::milliseconds d) {
    ioc.restart();
    ioc.run_for(d);
  }
};
}  // namespace

TEST_CASE("a delayed client watch notices a closed client only after its delay") {
  Pair p;
  ClientWatchStarter starter(p.ioc.get_executor(), 50ms);
  ClientWatch watch(p.ours, &starter);
  auto t0 = std::chrono::steady_clock::now();
  watch.start();
  p.peer.close();
  p.run_for(20ms);
  CHECK_FALSE(watch.client_gone());  // still queued: no peek yet
  while (!watch.client_gone() && std::chrono::steady_clock::now() - t0 < 2s) p.run_for(10ms);
  CHECK(watch.client_gone());
  CHECK(std::chrono::steady_clock::now() - t0 >= 50ms);
  watch.stop();
}

TEST_CASE("a client watch without a starter peeks at once") {
  Pair p;
  ClientWatch watch(p.ours);
  watch.start();
  p.peer.close();
  auto t0 = std::chrono::steady_clock::now();
  while (!watch.client_gone() && std::chrono::steady_clock::now() - t0 < 2s) p.run_for(1ms);
  CHECK(watch.client_gone());
  CHECK(std::chrono::steady_clock::now() - t0 < 50ms);
  watch.stop();
}

TEST_CASE("a delayed watch stopped before its delay never starts") {
  Pair p;
  ClientWatchStarter starter(p.ioc.get_executor(), 10ms);
  {
    ClientWatch early(p.ours, &starter);
    early.start();
    early.stop();
    p.peer.close();
    p.run_for(60ms);
    CHECK_FALSE(early.client_gone());
  }
  // Others queued after it are still started, in order.
  Pair q;
  ClientWatchStarter starter2(q.ioc.get_executor(), 10ms);
  ClientWatch a(q.ours, &starter2), b(q.ours, &starter2);
  a.start();
  b.start();
  a.stop();
  q.peer.close();
  auto t0 = std::chrono::steady_clock::now();
  while (!b.client_gone() && std::chrono::steady_clock::now() - t0 < 2s) q.run_for(5ms);
  CHECK(b.client_gone());
  CHECK_FALSE(a.client_gone());
  b.stop();
}

TEST_CASE("a starter destroyed before its queued watches leaves them safe to destroy") {
  Pair p;
  auto starter = std::make_unique<ClientWatchStarter>(p.ioc.get_executor(), 10ms);
  ClientWatch w(p.ours, starter.get());
  w.start();
  starter.reset();  // a worker stopped with a request pending
  w.stop();         // must not touch the starter
  SUCCEED();
}
