// An upstream connection's read buffer: room for a whole answer before its head is read, and back to the
// small buffer when a stream starts, keeping what was already read (the first events come with the head).
#include <catch2/catch.hpp>

#include <string>

#include <boost/asio/buffer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/core/buffers_to_string.hpp>

#include "gateway/upstream_pool.hpp"

using namespace slipway;
namespace net = boost::asio;

namespace {
void put(boost::beast::flat_buffer& b, const std::string& s) {
  b.commit(net::buffer_copy(b.prepare(s.size()), net::buffer(s)));
}
}  // namespace

TEST_CASE("a new upstream connection reads into a small buffer, and a whole answer gets room for 16 KiB") {
  net::io_context ioc;
  UpstreamConnection conn(ioc.get_executor());
  CHECK(conn.buffer.capacity() >= UpstreamConnection::kInitialReadBytes);
  CHECK(conn.buffer.capacity() < UpstreamConnection::kWholeAnswerReadBytes);
  conn.make_room_for_whole_answer();
  CHECK(conn.buffer.capacity() - conn.buffer.size() >= UpstreamConnection::kWholeAnswerReadBytes);
}

TEST_CASE("a stream on a connection that read a whole answer starts from the small buffer with the bytes read") {
  net::io_context ioc;
  UpstreamConnection conn(ioc.get_executor());
  conn.make_room_for_whole_answer();
  const std::string first_events = "5d\r\ndata: {\"choices\":[{\"delta\":{\"role\":\"assistant\"}}]}\n\n\r\n";
  put(conn.buffer, first_events);
  conn.shrink_for_stream();
  CHECK(conn.buffer.capacity() < UpstreamConnection::kWholeAnswerReadBytes);
  CHECK(conn.buffer.capacity() >= UpstreamConnection::kInitialReadBytes);
  CHECK(boost::beast::buffers_to_string(conn.buffer.data()) == first_events);

  SECTION("and an empty one too") {
    conn.buffer.consume(conn.buffer.size());
    conn.make_room_for_whole_answer();
    conn.shrink_for_stream();
    CHECK(conn.buffer.size() == 0);
    CHECK(conn.buffer.capacity() >= UpstreamConnection::kInitialReadBytes);
    CHECK(conn.buffer.capacity() < UpstreamConnection::kWholeAnswerReadBytes);
  }
}

TEST_CASE("a stream whose buffer holds more than a few KiB already keeps it") {
  net::io_context ioc;
  UpstreamConnection conn(ioc.get_executor());
  conn.make_room_for_whole_answer();
  const std::string lots(UpstreamConnection::kInitialReadBytes, 'x');
  put(conn.buffer, lots);
  const auto capacity = conn.buffer.capacity();
  conn.shrink_for_stream();
  CHECK(conn.buffer.capacity() == capacity);
  CHECK(boost::beast::buffers_to_string(conn.buffer.data()) == lots);
}
