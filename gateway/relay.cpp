#include "gateway/relay.hpp"

#include <array>
#include <cstdio>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include "gateway/http_util.hpp"
#include "gateway/sse_parser.hpp"
#include "gateway/usage_scan.hpp"

namespace slipway {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

constexpr std::size_t kReadChunk = 8 * 1024;        // least room a whole-body read offers
constexpr std::size_t kStreamReadChunk = 4 * 1024;  // lives in each open stream's coroutine frame
constexpr std::size_t kMaxEventBytes = 4 * 1024 * 1024;
constexpr std::size_t kMaxBatchBytes = 64 * 1024;

std::string_view sv(beast::string_view s) { return {s.data(), s.size()}; }

std::string millis(std::chrono::nanoseconds d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) + " ms";
}

template <class Fields>
void copy_response_headers(const http::response_header<>& from, http::header<false, Fields>& to,
                           const ResponseHeaders& ours) {
  for (const auto& f : from) {
    if (is_hop_by_hop(f.name(), sv(f.name_string()))) continue;
    if (beast::iequals(f.name_string(), "x-request-id")) continue;
    to.insert(f.name_string(), f.value());
  }
  to.set("x-request-id", ours.request_id);
  if (!ours.variant_header.empty()) to.set(ours.variant_header, ours.variant);
}

// Body bytes already in the connection's buffer are parsed here, synchronously: Beast's async_read_some
// parses them too but then completes through a post, one trip through the scheduler (and an epoll_wait)
// for every SSE event a stream delivers in one recv (measured: 54 epoll_wait per 200-chunk stream).
std::size_t take_buffered_body(UpstreamCall& call, boost::system::error_code& ec) {
  auto& body = call.parser->get().body();
  auto& input = call.conn->buffer;
  const std::size_t room = body.size;
  while (input.size() > 0 && body.size > 0 && !call.parser->is_done()) {
    std::size_t used = call.parser->put(input.data(), ec);
    input.consume(used);
    if (ec == http::error::need_more || ec == http::error::need_buffer) {
      ec = {};
      break;
    }
    if (ec || used == 0) break;
  }
  return room - body.size;
}

// Reads more of the upstream body into `buf` under the upstream stream's current deadline (set by the
// caller, once per batch: every timed operation costs timer-queue work and often a timerfd_settime).
// Returns bytes read; sets `ec` (need_buffer, "buf is full", is not an error).
net::awaitable<std::size_t> read_body_some(UpstreamCall& call, char* buf, std::size_t size,
                                           boost::system::error_code& ec) {
  auto& body = call.parser->get().body();
  body.data = buf;
  body.size = size;
  if (std::size_t n = take_buffered_body(call, ec); n > 0 || ec || call.parser->is_done()) co_return n;
  co_await http::async_read_some(call.conn->stream, call.conn->buffer, *call.parser,
                                 net::redirect_error(net::use_awaitable, ec));
  if (ec == http::error::need_buffer) ec = {};
  co_return size - body.size;
}

UpstreamFailure classify_read_error(const boost::system::error_code& ec, const ClientWatch& watch,
                                    Clock::time_point deadline) {
  if (watch.client_gone()) return UpstreamFailure::client_gone;
  if (ec == beast::error::timeout)
    return Clock::now() >= deadline ? UpstreamFailure::total_timeout : UpstreamFailure::stream_idle_timeout;
  return UpstreamFailure::broken;
}

// Ends the upstream side: a whole, keep-alive answer returns its connection to the pool.
void finish_upstream(WorkerContext& ctx, ClientWatch& watch, UpstreamCall& call, bool complete) {
  watch.watch_upstream(nullptr);
  // Endpoints are judged by whole exchanges: one that completes is a success; a stream that breaks after
  // its header was charged as a failure by the caller.
  if (complete && call.endpoint && call.parser->get().result_int() < 500) call.endpoint->record_success();
  if (complete && call.parser->is_done() && call.parser->get().keep_alive()) ctx.pool.release(std::move(call.conn));
  call.conn.reset();
  call.release_endpoint();
}

void charge(const config::Config& cfg, UpstreamCall& call, UpstreamFailure f) {
  call.failure = f;
  if (f != UpstreamFailure::client_gone && call.endpoint) call.endpoint->record_failure(cfg.health, Clock::now());
}

// Whether another read can deliver body bytes at once: past a chunk's data the buffer keeps only a few
// bytes of framing (its CRLF, the next chunk's size line), so more than that means data is already here.
// Else the kernel is asked (one ioctl): a batch that ended whenever the buffer drained cost twice the
// CPU per stream (many more client writes, each running the loopback receiver's TCP work), measured.
bool more_without_waiting(UpstreamConnection& conn) {
  if (conn.buffer.size() > 16) return true;
  boost::system::error_code ec;
  return conn.stream.socket().available(ec) > 0 && !ec;
}

// A connection's read buffer starts small (a slow stream then holds little memory), and Beast reads at
// most its free capacity per recv. A stream whose batches pass 4 KiB (data arriving faster than we
// write) gets a larger buffer, so one recv takes more of what the backend sent since.
constexpr std::size_t kFastStreamBuffer = 16 * 1024;
void grow_for_fast_stream(UpstreamConnection& conn) {
  if (conn.buffer.capacity() < kFastStreamBuffer) conn.buffer.reserve(kFastStreamBuffer);
}

// Moves every whole event out of the parser into `batch`, dropping the usage chunk the gateway asked
// for, feeding the assembler, and noting the first token's time.
template <class Relay>
std::size_t drain_events(Relay& r, SseParser& sse, SseParser::Event& ev, std::string& batch) {
  std::size_t moved = 0;
  while (sse.next(ev)) {
    if (Usage usage; parse_usage_chunk(r.ctx.event_json, ev.data, usage)) {
      r.out.usage = usage;
      if (r.strip_usage) continue;
    }
    if (r.assembler && !ev.data.empty()) r.assembler->on_event_data(ev.data);
    if (r.out.first_token == Clock::time_point{} && !ev.data.empty()) r.out.first_token = Clock::now();
    if (r.strip_usage) append_without_null_usage(batch, ev.raw);
    else batch.append(ev.raw);
    ++moved;
  }
  return moved;
}

// What the client's error event says about a stream that broke off (docs/faults.md).
std::string broken_stream_detail(const config::Config& cfg, UpstreamFailure failure, const boost::system::error_code& ec,
                                 std::size_t truncated_bytes) {
  if (truncated_bytes) return "the stream ended inside an event (" + std::to_string(truncated_bytes) + " bytes)";
  if (ec == http::error::body_limit) return "an event larger than " + std::to_string(kMaxEventBytes) + " bytes";
  if (failure == UpstreamFailure::stream_idle_timeout) return "no data for timeouts.stream_idle (" + millis(cfg.timeouts.stream_idle) + ")";
  if (failure == UpstreamFailure::total_timeout) return "the exchange ran past timeouts.total (" + millis(cfg.timeouts.total) + ")";
  return ec.message();
}

}  // namespace

bool is_event_stream(const http::response_header<>& h) {
  return field_value(h, http::field::content_type).starts_with("text/event-stream");
}

net::awaitable<UpstreamFailure> read_whole_body(WorkerContext& ctx, const config::Config& cfg, UpstreamCall& call,
                                                ClientWatch& watch, Clock::time_point deadline, std::string& body) {
  bool known_length = false;
  if (auto len = call.parser->content_length()) {
    body.reserve(std::min<std::uint64_t>(*len, cfg.limits.max_response_bytes));
    known_length = true;
  }
  call.parser->eager(true);
  // The exchange's total deadline does not move while the body is read: one timer for the whole body.
  call.conn->stream.expires_after(time_left(cfg.timeouts.total, deadline));
  while (!call.parser->is_done()) {
    // Read straight into the body's spare capacity (no copy through a stack buffer).
    std::size_t have = body.size();
    std::size_t room = body.capacity() - have;  // with a Content-Length: exactly the rest
    if (!known_length || room == 0) room = std::max(room, kReadChunk);
    body.resize(have + room);
    boost::system::error_code ec;
    std::size_t n = co_await read_body_some(call, body.data() + have, room, ec);
    body.resize(have + n);
    if (ec) {
      charge(cfg, call, classify_read_error(ec, watch, deadline));
      call.failure_detail = call.failure == UpstreamFailure::total_timeout
                                ? "the answer was not complete within timeouts.total, " + millis(cfg.timeouts.total)
                                : ec.message();
      finish_upstream(ctx, watch, call, false);
      co_return call.failure;
    }
    if (body.size() > cfg.limits.max_response_bytes) {
      charge(cfg, call, UpstreamFailure::too_large);
      call.failure_detail = "answer larger than limits.max_response_bytes (" +
                            std::to_string(cfg.limits.max_response_bytes) + " bytes)";
      finish_upstream(ctx, watch, call, false);
      co_return call.failure;
    }
  }
  finish_upstream(ctx, watch, call, true);
  co_return UpstreamFailure::none;
}

namespace {
constexpr std::size_t kChunkedBody = std::size_t(-1);  // append_response_head: a chunked (stream) answer
// The client response's head in one contiguous string, the same bytes Beast's serializer writes for
// `copy_response_headers` + prepare_payload: one buffer instead of a heap node per header field and
// the serializer's walk over many small buffers (a measurable share of a small request's CPU).
void append_response_head(const http::response_header<>& from, const ResponseHeaders& ours, std::size_t body_size,
                          std::string& out) {
  auto line = [&out](std::string_view name, std::string_view value) {
    out.append(name).append(": ", 2).append(value).append("\r\n", 2);
  };
  out.append("HTTP/1.1 ").append(std::to_string(from.result_int())).append(" ", 1).append(sv(http::obsolete_reason(from.result())));
  out.append("\r\n", 2);
  const bool stream = body_size == kChunkedBody;
  for (const auto& f : from) {
    if (is_hop_by_hop(f.name(), sv(f.name_string()))) continue;
    if (beast::iequals(f.name_string(), "x-request-id")) continue;
    if (!ours.variant_header.empty() && beast::iequals(f.name_string(), ours.variant_header)) continue;
    if (stream && (f.name() == http::field::cache_control || beast::iequals(f.name_string(), "x-accel-buffering"))) continue;
    line(sv(f.name_string()), sv(f.value()));
  }
  line("x-request-id", ours.request_id);
  if (!ours.variant_header.empty()) line(ours.variant_header, ours.variant);
  if (stream) {
    line("Cache-Control", "no-cache");
    line("X-Accel-Buffering", "no");  // an nginx in front must not batch the events
    line("Transfer-Encoding", "chunked");
  } else {
    line("Content-Length", std::to_string(body_size));
  }
  if (!ours.keep_alive) line("Connection", "close");
  out.append("\r\n", 2);
}

// Statuses that have no body and no Content-Length (1xx, 204, 304): left to Beast's rules.
bool bodiless_status(unsigned status) { return status / 100 == 1 || status == 204 || status == 304; }
}  // namespace

net::awaitable<bool> send_whole(TcpOrTlsStream& client, const config::Config& cfg,
                                const http::response_header<>& upstream, std::string body,
                                const ResponseHeaders& headers, Outcome& out) {
  out.status = static_cast<int>(upstream.result_int());
  out.bytes_out += body.size();
  boost::system::error_code ec;
  client.expires_after(cfg.timeouts.stream_idle);
  if (bodiless_status(upstream.result_int())) {
    http::response<http::string_body> res{upstream.result(), 11};
    copy_response_headers(upstream, res.base(), headers);
    res.body() = std::move(body);
    res.prepare_payload();
    res.keep_alive(headers.keep_alive);
    co_await http::async_write(client, res, net::redirect_error(net::use_awaitable, ec));
  } else {
    std::string head;
    head.reserve(512);
    append_response_head(upstream, headers, body.size(), head);
    std::array<net::const_buffer, 2> parts{net::buffer(head), net::buffer(body)};
    co_await client.write_all(parts, ec);
  }
  if (ec) out.client_gone = true;
  co_return !ec;
}

// One write for what a stream has to say at a time: the response head while it is still unsent, `data` as
// one HTTP chunk (when not empty), and the last chunk when `last`. The head waits for the first events when
// they came with it (one write, not two, before the client's first byte); it goes alone otherwise.
net::awaitable<void> write_stream_part(TcpOrTlsStream& client, std::string& head, std::string_view data, bool last,
                                       boost::system::error_code& ec) {
  char size_line[24];
  int size_len = std::snprintf(size_line, sizeof size_line, "%zx\r\n", data.size());
  static constexpr std::string_view crlf = "\r\n", last_chunk = "0\r\n\r\n";
  std::array<net::const_buffer, 5> parts{net::buffer(head), net::const_buffer{}, net::const_buffer{}, net::const_buffer{},
                                         net::const_buffer{}};
  if (!data.empty()) {
    parts[1] = net::buffer(size_line, static_cast<std::size_t>(size_len));
    parts[2] = net::buffer(data);
    parts[3] = net::buffer(crlf);
  }
  if (last) parts[4] = net::buffer(last_chunk);
  co_await client.write_all(parts, ec);
  std::string().swap(head);  // sent once: its heap block is not kept for the stream's life
}

net::awaitable<bool> relay_stream(StreamRelay& r) {
  auto& header = r.call.parser->get().base();
  std::string head;
  head.reserve(512);
  append_response_head(header, r.headers, kChunkedBody, head);
  r.out.status = static_cast<int>(header.result_int());
  r.ctx.counters.open_streams.fetch_add(1, std::memory_order_relaxed);
  struct StreamCount {
    std::atomic<int>& n;
    ~StreamCount() { n.fetch_sub(1, std::memory_order_relaxed); }
  } stream_count{r.ctx.counters.open_streams};

  r.call.conn->shrink_for_stream();
  boost::system::error_code ec;
  r.client.expires_after(r.cfg.timeouts.stream_idle);
  auto client_failed = [&r] {
    r.out.client_gone = true;
    charge(r.cfg, r.call, UpstreamFailure::client_gone);
    finish_upstream(r.ctx, r.watch, r.call, false);
  };
  if (r.call.conn->buffer.size() == 0) {
    co_await write_stream_part(r.client, head, {}, false, ec);
    if (ec) {
      client_failed();
      co_return false;
    }
  }

  SseParser sse(kMaxEventBytes);
  SseParser::Event ev;
  std::string batch;
  char buf[kStreamReadChunk];
  bool upstream_ok = true;
  bool ended = false;           // the last chunk went out with the last events
  std::size_t events_sent = 0;  // relayed to the client (the error event says how far the stream got)
  // Not eager: an eager parser makes async_read_some wait on the network until the buffer is full
  // (it asks for more input whenever a chunk ends), which would hold events back.
  while (!r.call.parser->is_done()) {
    batch.clear();
    std::size_t batch_events = 0;
    // One idle deadline per batch: the first read waits on the network, the others only take what is
    // already here (microseconds later), so refreshing it per read would only cost timer work.
    r.call.conn->stream.expires_after(time_left(r.cfg.timeouts.stream_idle, r.deadline));
    // Take every event already received in one write: vLLM sends each event as its own HTTP chunk,
    // and one write per event costs a syscall each. Nothing waits for the network to fill a batch.
    do {
      if (batch.size() >= kStreamReadChunk) grow_for_fast_stream(*r.call.conn);
      std::size_t n = co_await read_body_some(r.call, buf, sizeof buf, ec);
      if (ec) break;
      if (!sse.feed({buf, n})) {
        ec = http::error::body_limit;
        break;
      }
      batch_events += drain_events(r, sse, ev, batch);
      // The first events go out at once: time to first token is not traded for fewer writes.
      if (r.out.bytes_out == 0 && !batch.empty()) break;
    } while (!r.call.parser->is_done() && batch.size() < kMaxBatchBytes && more_without_waiting(*r.call.conn));
    if (ec) {
      upstream_ok = false;
      if (batch.empty()) break;
    }
    if (batch.empty()) continue;
    // A stream that ended cleanly ends for the client in the same write.
    const bool last = upstream_ok && r.call.parser->is_done() && !sse.inside_event();
    r.client.expires_after(r.cfg.timeouts.stream_idle);
    boost::system::error_code wec;
    co_await write_stream_part(r.client, head, batch, last, wec);
    if (wec) {
      client_failed();
      co_return false;
    }
    r.out.bytes_out += batch.size();
    events_sent += batch_events;
    ended = last;
    if (!upstream_ok) break;
  }
  // A body that ended cleanly in the middle of an event: the backend cut its stream short.
  const bool truncated = upstream_ok && sse.inside_event();
  if (truncated) upstream_ok = false;
  if (!upstream_ok) {
    auto failure = truncated || ec == http::error::body_limit ? UpstreamFailure::broken
                                                             : classify_read_error(ec, r.watch, r.deadline);
    charge(r.cfg, r.call, failure);
    r.out.error_code = std::string(to_string(failure));
    finish_upstream(r.ctx, r.watch, r.call, false);
    if (failure == UpstreamFailure::client_gone) {
      r.out.client_gone = true;
      co_return false;
    }
    // Tell the client in-band, as vLLM does for mid-stream errors, then end the stream properly.
    std::string event = "data: " +
                        openai_error_body("The backend stream broke off after " + std::to_string(events_sent) + " events: " +
                                              broken_stream_detail(r.cfg, failure, ec, truncated ? sse.pending_bytes() : 0) + ".",
                                          "server_error", "", "upstream_stream_broken") +
                        "\n\n";
    co_await write_stream_part(r.client, head, event, true, ec);
    co_return false;
  }
  finish_upstream(r.ctx, r.watch, r.call, true);
  if (!ended) co_await write_stream_part(r.client, head, {}, true, ec);
  if (ec) r.out.client_gone = true;
  co_return !ec;
}

}  // namespace slipway
