// Splits a byte stream of Server-Sent Events into whole events, whatever the chunking of the input.
// The relay forwards whole events (so it can drop the usage chunk it asked for) and hands each
// event's data payload to the stream assembler.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

namespace slipway {

class SseParser {
 public:
  explicit SseParser(std::size_t max_event_bytes) : max_event_bytes_(max_event_bytes) {}

  // Appends bytes. Returns false when one event grows past max_event_bytes (the stream is broken).
  bool feed(std::string_view bytes);

  struct Event {
    std::string_view raw;   // the event's bytes including its terminating blank line
    std::string data;       // the `data:` lines joined with '\n' (one leading space stripped)
  };
  // Takes the next whole event; false when none is complete yet. `raw` is valid until the next call.
  bool next(Event& out);

  // Bytes received but not yet part of a whole event.
  std::size_t pending_bytes() const { return buffer_.size() - consumed_; }
  // Part of an event is pending (more than stray line ends): a stream that ends here was cut mid-event.
  bool inside_event() const;

 private:
  std::pair<std::size_t, std::size_t> find_boundary(std::size_t from) const;  // {start, length}
  bool next_boundary_exists() const;

  std::string buffer_;
  std::size_t consumed_ = 0;     // bytes of buffer_ already returned as events
  std::size_t scan_from_ = 0;    // where to resume looking for the blank line
  std::size_t max_event_bytes_;
  bool saw_cr_ = false;          // a '\r' was fed: lines may end in "\r" or "\r\n", not only "\n"
};

}  // namespace slipway
