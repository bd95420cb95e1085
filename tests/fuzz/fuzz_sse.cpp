// Fuzz target: the SSE path of a streamed response. Input: 4 header bytes that give the chunk sizes
// (cycled), then the stream bytes. Checks, beyond "no crash, no sanitizer report":
//  - SseParser yields the same events (raw bytes and joined data) whether the stream arrives whole or in
//    chunks, and leaves the same bytes pending;
//  - StreamAssembler::on_bytes assembles the same response whatever the split;
//  - with a small event limit, feed() refuses an oversized event instead of growing without bound.
// Every event's data also goes through StreamAssembler::on_event_data, as the relay does.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/sse_parser.hpp"
#include "validators/stream_assembler.hpp"

namespace {

using slipway::validators::AssembledResponse;

struct Parsed {
  std::vector<std::pair<std::string, std::string>> events;  // raw, data
  std::size_t pending = 0;
  bool refused = false;
};

template <class Chunks>
Parsed parse(std::string_view stream, std::size_t limit, Chunks next_chunk,
             slipway::validators::StreamAssembler* assembler) {
  Parsed p;
  slipway::SseParser sse(limit);
  slipway::SseParser::Event ev;
  std::size_t at = 0;
  while (at < stream.size()) {
    std::size_t n = std::min(next_chunk(), stream.size() - at);
    if (!sse.feed(stream.substr(at, n))) {
      p.refused = true;
      break;
    }
    at += n;
    while (sse.next(ev)) {
      p.events.emplace_back(std::string(ev.raw), ev.data);
      if (assembler) assembler->on_event_data(ev.data);
    }
  }
  p.pending = sse.pending_bytes();
  return p;
}

bool same(const AssembledResponse& a, const AssembledResponse& b) {
  if (a.is_chat != b.is_chat || a.id != b.id || a.model != b.model || a.choices.size() != b.choices.size() ||
      a.usage.present != b.usage.present || a.usage.total_tokens != b.usage.total_tokens ||
      a.assembled_bytes != b.assembled_bytes || a.too_large != b.too_large || a.error != b.error ||
      a.upstream_error != b.upstream_error)
    return false;
  for (std::size_t i = 0; i < a.choices.size(); ++i) {
    const auto &x = a.choices[i], &y = b.choices[i];
    if (x.index != y.index || x.content != y.content || x.refusal != y.refusal ||
        x.finish_reason != y.finish_reason || x.tool_calls.size() != y.tool_calls.size())
      return false;
    for (std::size_t t = 0; t < x.tool_calls.size(); ++t)
      if (x.tool_calls[t].name != y.tool_calls[t].name || x.tool_calls[t].arguments != y.tool_calls[t].arguments ||
          x.tool_calls[t].id != y.tool_calls[t].id)
        return false;
  }
  return true;
}

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "invariant broken: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 4) return 0;
  const uint8_t* sizes = data;
  std::string_view stream(reinterpret_cast<const char*>(data) + 4, size - 4);
  std::size_t turn = 0;
  auto chunked = [&] { return std::size_t(sizes[turn++ % 4] % 64) + 1; };
  auto whole = [&] { return stream.size(); };

  constexpr std::size_t kLarge = 1 << 20;
  slipway::validators::StreamAssembler relay_path(4096);
  Parsed a = parse(stream, kLarge, whole, nullptr);
  Parsed b = parse(stream, kLarge, chunked, &relay_path);
  if (a.events != b.events) fail("SseParser events depend on how the stream was split");
  if (a.pending != b.pending) fail("SseParser pending bytes depend on how the stream was split");
  (void)relay_path.finish();

  // Small limit: the parser must refuse once one event outgrows it, and never hold much more.
  turn = 0;
  Parsed small = parse(stream, 256, chunked, nullptr);
  if (small.pending > 256 + 64 && !small.refused) fail("SseParser kept an oversized event without refusing");

  slipway::validators::StreamAssembler one(4096), many(4096);
  one.on_bytes(stream);
  turn = 0;
  for (std::size_t at = 0; at < stream.size();) {
    std::size_t n = std::min(chunked(), stream.size() - at);
    many.on_bytes(stream.substr(at, n));
    at += n;
  }
  if (one.events() != many.events() || one.bad_events() != many.bad_events()) fail("on_bytes event count depends on the split");
  if (!same(one.finish(), many.finish())) fail("on_bytes assembly depends on the split");
  return 0;
}
