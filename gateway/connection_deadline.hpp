// The deadline of one connection's I/O, with one timer that is re-armed only when a deadline moves
// earlier (docs/design.md, "Connection deadlines").
//
// Beast's tcp_stream arms a timer when each read or write starts and cancels it when the read or write
// ends: a timer-queue insert, a cancel and a posted completion per operation, four to six times per
// proxied request. Deadlines here are a time point that setting only records. The timer waits for
// the earliest time any deadline could end; when it fires early (the deadline moved later meanwhile) it
// waits again for the current one. Under steady traffic it fires about once per timeout period per
// connection instead of arming per operation.
//
// Semantics are tcp_stream's: a deadline acts on the operations counted as pending (begin_op/end_op). If
// it passes while one is pending, the socket is closed (or, with DeadlineAction::cancel, its operations
// cancelled) and they complete with beast::error::timeout. If it passes with none pending, nothing
// happens until the next operation begins: then the timer fires at once, after the operation's first
// attempt (an operation that can complete at once, such as a write with room in the socket buffer, does;
// one that has to wait ends with beast::error::timeout).
#pragma once

#include <chrono>
#include <memory>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>

namespace slipway {

enum class DeadlineAction {
  close,   // the connection cannot be used after a timeout (tcp_stream's behaviour)
  cancel,  // only the pending operations end: the connection can still carry an answer (a 408)
};

class ConnectionDeadline {
 public:
  using clock = std::chrono::steady_clock;

  ConnectionDeadline(const boost::asio::any_io_executor& ex, boost::asio::ip::tcp::socket& socket);
  // The timer's pending wait may outlive this object: it keeps the shared state alive, and finds the
  // socket gone.
  ~ConnectionDeadline();
  ConnectionDeadline(const ConnectionDeadline&) = delete;
  ConnectionDeadline& operator=(const ConnectionDeadline&) = delete;

  void expires_at(clock::time_point t, DeadlineAction action = DeadlineAction::close);
  void expires_after(clock::duration d, DeadlineAction action = DeadlineAction::close) {
    expires_at(clock::now() + d, action);
  }
  void expires_never();

  // An operation on the connection begins.
  void begin_op();
  // It ended: `ec` becomes beast::error::timeout when the deadline was acted on meanwhile (even if the
  // operation's own result, already queued, was a success). Static, on the shared state
  // a completion handler holds: the handler may run after the connection's owner let it go.
  struct State;
  static void end_op(State& state, boost::system::error_code& ec);
  void end_op(boost::system::error_code& ec) { end_op(*state_, ec); }
  const std::shared_ptr<State>& state() const noexcept { return state_; }

  // The last deadline ended an operation (or refused one). Reset by expires_at / expires_never.
  bool timed_out() const noexcept;
  // How often the timer was armed (for tests: moving a deadline later must not re-arm it).
  unsigned long arms() const noexcept;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace slipway
