#include "gateway/connection_deadline.hpp"

#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>

namespace slipway {

namespace net = boost::asio;
using clock = ConnectionDeadline::clock;

struct ConnectionDeadline::State {
  explicit State(const net::any_io_executor& ex, net::ip::tcp::socket& s) : timer(ex), socket(&s) {}
  net::steady_timer timer;
  net::ip::tcp::socket* socket;                          // null once the owner is gone
  clock::time_point deadline = clock::time_point::max();  // max: none
  clock::time_point armed = clock::time_point::max();     // when the pending wait ends (max: no wait)
  DeadlineAction action = DeadlineAction::close;
  int pending = 0;
  bool expired = false;    // the deadline passed while nothing was pending
  bool timed_out = false;  // the deadline ended (or refused) an operation
  unsigned long arms = 0;
};

namespace {

using State = ConnectionDeadline::State;

void act(State& s) {
  s.timed_out = true;
  boost::system::error_code ignored;
  if (s.action == DeadlineAction::close) s.socket->close(ignored);
  else s.socket->cancel(ignored);
}

void arm(const std::shared_ptr<State>& state, clock::time_point at);

void on_timer(const std::shared_ptr<State>& state, boost::system::error_code ec) {
  // Aborted: a re-arm replaced this wait (and set `armed` itself), or the owner is gone.
  if (ec || !state->socket) return;
  State& s = *state;
  s.armed = clock::time_point::max();
  if (s.deadline == clock::time_point::max()) return;
  if (s.deadline > clock::now()) {  // moved later since this wait began
    arm(state, s.deadline);
    return;
  }
  if (s.pending > 0) act(s);
  // A cancelled connection stays open, and its deadline stays passed: the next operation that has to wait
  // is cancelled too. (Without this, a read begun by the handler of one that had just completed when the
  // deadline was acted on would wait with no timer at all.)
  if (s.pending == 0 || s.action == DeadlineAction::cancel) s.expired = true;
}

void arm(const std::shared_ptr<State>& state, clock::time_point at) {
  State& s = *state;
  s.armed = at;
  ++s.arms;
  s.timer.expires_at(at);  // cancels the wait in progress, if any
  s.timer.async_wait([state](boost::system::error_code ec) { on_timer(state, ec); });
}

}  // namespace

ConnectionDeadline::ConnectionDeadline(const net::any_io_executor& ex, net::ip::tcp::socket& socket)
    : state_(std::make_shared<State>(ex, socket)) {}

ConnectionDeadline::~ConnectionDeadline() {
  state_->socket = nullptr;
  state_->timer.cancel();
}

void ConnectionDeadline::expires_at(clock::time_point t, DeadlineAction action) {
  State& s = *state_;
  s.deadline = t;
  s.action = action;
  s.expired = false;
  s.timed_out = false;
  // A later deadline leaves the wait as it is: when it ends, on_timer waits again for the rest.
  if (t < s.armed) arm(state_, t);
}

void ConnectionDeadline::expires_never() {
  State& s = *state_;
  s.deadline = clock::time_point::max();
  s.expired = false;
  s.timed_out = false;
}

void ConnectionDeadline::begin_op() {
  State& s = *state_;
  ++s.pending;
  // Passed while nothing was pending: the timer is armed at once, as tcp_stream arms it at the past
  // deadline when an operation begins. Its handler runs after the operation's first attempt, so an
  // operation that can finish at once (a write to a socket with room) still does.
  if (s.expired) {
    s.expired = false;
    arm(state_, s.deadline);
  }
}

void ConnectionDeadline::end_op(State& s, boost::system::error_code& ec) {
  --s.pending;
  // Also a success: the operation may have completed (its handler queued) just before the deadline's own
  // handler ran and closed the socket, which the next operation would then find as "bad file descriptor".
  // tcp_stream reports its operation the same way when its timer has already fired.
  if (s.timed_out) ec = boost::beast::error::timeout;
}

bool ConnectionDeadline::timed_out() const noexcept { return state_->timed_out; }
unsigned long ConnectionDeadline::arms() const noexcept { return state_->arms; }

}  // namespace slipway
