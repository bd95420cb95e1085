#include "gateway/client_watch.hpp"

#include <boost/asio/buffer.hpp>

namespace slipway {

void ClientWatch::start() {
  if (started_) return;
  started_ = true;
  if (starter_) starter_->add(*this);
  else start_now();
}

void ClientWatch::start_now() {
  if (state_->done || peeking_) return;
  peeking_ = true;
  auto state = state_;
  // A 1-byte peek, not async_wait(wait_read): Asio tries a receive at once and, on EAGAIN, queues it
  // behind the epoll registration the socket already has; a readiness wait instead re-arms the socket
  // with an epoll_ctl each time. Peeking consumes nothing: the session still reads a pipelined request whole.
  client_.async_receive(boost::asio::buffer(&state->peeked, 1), boost::asio::socket_base::message_peek,
                        [state](boost::system::error_code ec, std::size_t) {
                          if (state->done) return;
                          // 0 bytes (eof) or an error: the client is gone. Data: a pipelined request.
                          if (!ec || ec == boost::asio::error::operation_aborted || ec == boost::asio::error::would_block ||
                              ec == boost::asio::error::try_again)
                            return;
                          state->gone = true;
                          if (state->upstream) state->upstream->cancel();
                        });
}

void ClientWatch::stop() {
  if (!started_ || state_->done) return;
  state_->done = true;
  if (queued_) starter_->remove(*this);
  if (!peeking_) return;
  boost::system::error_code ignored;
  client_.cancel(ignored);
}

void ClientWatchStarter::add(ClientWatch& w) {
  w.queued_ = true;
  w.queued_at_ = std::chrono::steady_clock::now();
  w.prev_ = tail_;
  w.next_ = nullptr;
  if (tail_) tail_->next_ = &w;
  else head_ = &w;
  tail_ = &w;
  arm();
}

void ClientWatchStarter::arm() {
  if (ticking_) return;
  ticking_ = true;
  timer_.expires_after(delay_);
  timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;  // the worker is shutting down (the timer was destroyed)
    tick();
  });
}

void ClientWatchStarter::remove(ClientWatch& w) {
  if (!w.queued_) return;
  w.queued_ = false;
  if (w.prev_) w.prev_->next_ = w.next_;
  else head_ = w.next_;
  if (w.next_) w.next_->prev_ = w.prev_;
  else tail_ = w.prev_;
  w.prev_ = w.next_ = nullptr;
}

void ClientWatchStarter::tick() {
  ticking_ = false;
  const auto due = std::chrono::steady_clock::now() - delay_;
  while (head_ && head_->queued_at_ <= due) {
    ClientWatch& w = *head_;
    remove(w);
    w.start_now();
  }
  if (head_) arm();
}

}  // namespace slipway
