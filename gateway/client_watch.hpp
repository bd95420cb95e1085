// Notices a client that goes away while we wait on its upstream, and cancels the upstream I/O so the
// backend stops generating for nobody. It waits for readability without consuming bytes: a peek of 0
// bytes means the client closed; data means a pipelined request, which ends the watch.
#pragma once

#include <chrono>
#include <memory>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "gateway/tls_stream.hpp"

namespace slipway {

class ClientWatchStarter;

class ClientWatch {
 public:
  // With a starter, start() only queues the watch there: see ClientWatchStarter.
  explicit ClientWatch(boost::asio::ip::tcp::socket& client, ClientWatchStarter* starter = nullptr)
      : client_(client), starter_(starter), state_(std::make_shared<State>()) {}
  ~ClientWatch() { stop(); }
  ClientWatch(const ClientWatch&) = delete;
  ClientWatch& operator=(const ClientWatch&) = delete;

  void start();
  // Must be called when no other operation is pending on the client socket (it cancels them all).
  void stop();
  bool client_gone() const { return state_->gone; }
  // The upstream to cancel if the client goes away (null: none right now).
  void watch_upstream(TcpOrTlsStream* upstream) { state_->upstream = upstream; }

 private:
  friend class ClientWatchStarter;
  void start_now();

  struct State {
    bool done = false;
    bool gone = false;
    char peeked = 0;  // where the watch's 1-byte peek lands (consumed by nobody)
    TcpOrTlsStream* upstream = nullptr;
  };
  boost::asio::ip::tcp::socket& client_;
  ClientWatchStarter* starter_;
  std::shared_ptr<State> state_;
  bool started_ = false;  // start() was called
  bool peeking_ = false;  // the peek was issued
  // While queued in the starter (oldest first):
  bool queued_ = false;
  ClientWatch* prev_ = nullptr;
  ClientWatch* next_ = nullptr;
  std::chrono::steady_clock::time_point queued_at_{};
};

// Starts a worker's client watches late. The watch's peek is a system call on every proxied request (7.5 %
// of a small chat request's CPU in a profile, docs/benchmarks.md), and a request its backend answers within
// a few milliseconds gains nothing from it: a client gone by then is found when its answer is written. So a
// watch waits here, in a list (no system call), and one timer per worker, ticking every `delay` while the
// list is not empty, starts those queued for at least `delay`: a watch starts between delay and 2 x delay
// after its request went upstream. One thread (the worker's) uses it.
class ClientWatchStarter {
 public:
  static constexpr std::chrono::milliseconds kDefaultDelay{20};
  explicit ClientWatchStarter(const boost::asio::any_io_executor& ex, std::chrono::steady_clock::duration delay = kDefaultDelay)
      : timer_(ex), delay_(delay) {}
  // Requests still queued (a worker stopped with coroutines pending) forget it: they outlive it.
  ~ClientWatchStarter() {
    while (head_) remove(*head_);
  }
  ClientWatchStarter(const ClientWatchStarter&) = delete;
  ClientWatchStarter& operator=(const ClientWatchStarter&) = delete;

  void add(ClientWatch& w);
  void remove(ClientWatch& w);

 private:
  void arm();  // the next tick, unless one is pending
  void tick();

  boost::asio::steady_timer timer_;
  std::chrono::steady_clock::duration delay_;
  bool ticking_ = false;
  ClientWatch* head_ = nullptr;
  ClientWatch* tail_ = nullptr;
};

}  // namespace slipway
