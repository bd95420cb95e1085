// The SSE parser must give the same events whatever the chunking of the bytes.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "gateway/sse_parser.hpp"

using slipway::SseParser;

namespace {
std::vector<std::string> parse_in_pieces(const std::string& stream, std::vector<std::size_t> cuts,
                                         std::vector<std::string>* raws = nullptr) {
  SseParser p(1 << 20);
  std::vector<std::string> out;
  std::size_t at = 0;
  cuts.push_back(stream.size());
  SseParser::Event ev;
  for (std::size_t cut : cuts) {
    REQUIRE(p.feed(std::string_view(stream).substr(at, cut - at)));
    at = cut;
    while (p.next(ev)) {
      out.push_back(ev.data);
      if (raws) raws->emplace_back(ev.raw);
    }
  }
  return out;
}

const std::string kStream =
    "data: {\"id\":\"c1\",\"choices\":[{\"delta\":{\"role\":\"assistant\"}}]}\n\n"
    "data: {\"id\":\"c1\",\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"a\\\"\"}}]}}]}\n\n"
    ": a comment line\n\n"
    "event: message\r\ndata: line one\r\ndata: line two\r\n\r\n"
    "data: bare\rdata: cr\r\r"  // lines may end in a bare '\r' too
    "data:no-space\n\n"
    "data: [DONE]\n\n";
const std::vector<std::string> kExpected = {
    "{\"id\":\"c1\",\"choices\":[{\"delta\":{\"role\":\"assistant\"}}]}",
    "{\"id\":\"c1\",\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"a\\\"\"}}]}}]}",
    "",
    "line one\nline two",
    "bare\ncr",
    "no-space",
    "[DONE]"};
}  // namespace

TEST_CASE("SSE events whole in one feed") { REQUIRE(parse_in_pieces(kStream, {}) == kExpected); }

TEST_CASE("SSE events split at every byte boundary give the same events and the same bytes") {
  for (std::size_t cut = 0; cut <= kStream.size(); ++cut) {
    std::vector<std::string> raws;
    INFO("cut at " << cut);
    REQUIRE(parse_in_pieces(kStream, {cut}, &raws) == kExpected);
    std::string joined;
    for (auto& r : raws) joined += r;
    REQUIRE(joined == kStream);  // relaying whole events reproduces the stream byte for byte
  }
}

TEST_CASE("SSE events fed one byte at a time") {
  std::vector<std::size_t> cuts;
  for (std::size_t i = 1; i < kStream.size(); ++i) cuts.push_back(i);
  REQUIRE(parse_in_pieces(kStream, cuts) == kExpected);
}

TEST_CASE("an incomplete event is held back until its blank line arrives") {
  SseParser p(1024);
  SseParser::Event ev;
  REQUIRE(p.feed("data: {\"partial\":"));
  REQUIRE_FALSE(p.next(ev));
  REQUIRE(p.feed("true}\n"));
  REQUIRE_FALSE(p.next(ev));
  REQUIRE(p.feed("\n"));
  REQUIRE(p.next(ev));
  REQUIRE(ev.data == "{\"partial\":true}");
  REQUIRE(p.pending_bytes() == 0);
}

TEST_CASE("an event larger than the limit is refused, not buffered without bound") {
  SseParser p(64);
  REQUIRE_FALSE(p.feed("data: " + std::string(100, 'x')));
}

TEST_CASE("a stream that ends mid-event is told apart from one that ends between events") {
  SseParser p(1024);
  SseParser::Event ev;
  REQUIRE_FALSE(p.inside_event());                 // nothing yet
  REQUIRE(p.feed("data: {\"a\":1}\n\n\n"));         // a whole event and a stray line end
  REQUIRE(p.next(ev));
  REQUIRE_FALSE(p.inside_event());                 // stray line ends are not an event
  REQUIRE(p.feed("data: {\"b\":"));                // the backend dies here: the relay reports a cut
  REQUIRE_FALSE(p.next(ev));
  REQUIRE(p.inside_event());
  REQUIRE(p.feed("2}\r\n\r\n"));                   // CRLF framing completes it
  REQUIRE(p.next(ev));
  REQUIRE(ev.data == "{\"b\":2}");
  REQUIRE_FALSE(p.inside_event());
}
