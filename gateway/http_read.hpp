// Reading an HTTP message (or its header) into a Beast parser, without Beast's composed read operations.
//
// http::async_read_header / async_read stack three composed operations (read_op, read_some_op and
// async_compose's wrapper, each with its own executor work tracking) and post their completion even when
// the buffer already holds what was asked for, as it usually does for a request: a trip through the
// scheduler and a coroutine resumption per call. This loop makes the same parser calls (put, put_eof),
// reads the same sizes and applies the same end-of-stream rules as Beast's read_some_op.
#pragma once

#include <algorithm>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>

#include "gateway/tls_stream.hpp"

namespace slipway {

enum class ReadUntil { header, message };

template <bool isRequest>
boost::asio::awaitable<void> read_http(TcpOrTlsStream& stream, boost::beast::flat_buffer& buffer,
                                       boost::beast::http::basic_parser<isRequest>& parser, ReadUntil until,
                                       boost::system::error_code& ec) {
  namespace http = boost::beast::http;
  auto finished = [&] { return until == ReadUntil::header ? parser.is_header_done() : parser.is_done(); };
  ec = {};
  if (finished()) co_return;
  for (;;) {
    if (buffer.size() != 0) {
      std::size_t used = parser.put(buffer.data(), ec);
      buffer.consume(used);
      if (!ec && finished()) co_return;
      if (ec && ec != http::error::need_more) co_return;
      const bool progressed = !ec && used != 0;
      ec = {};
      if (progressed && buffer.size() != 0) continue;
    }
    // Beast's read size: at least 512 bytes, the buffer's spare capacity, at most 64 KiB.
    std::size_t room = std::min<std::size_t>(std::max<std::size_t>(512, buffer.capacity() - buffer.size()), 65536);
    std::size_t n = co_await stream.async_read_some(buffer.prepare(room),
                                                    boost::asio::redirect_error(boost::asio::use_awaitable, ec));
    if (ec == boost::asio::error::eof) {
      // Closed between messages: end_of_stream, not an error of the message. Closed inside one: the parser
      // decides (a body delimited by the close is complete; anything else is partial_message).
      if (!parser.got_some()) {
        ec = http::error::end_of_stream;
        co_return;
      }
      ec = {};
      parser.put_eof(ec);
      co_return;
    }
    if (ec) co_return;
    buffer.commit(n);
  }
}

}  // namespace slipway
