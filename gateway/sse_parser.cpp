#include "gateway/sse_parser.hpp"

#include <cstring>

namespace slipway {

bool SseParser::feed(std::string_view bytes) {
  if (consumed_ > 0 && consumed_ == buffer_.size()) {
    buffer_.clear();
    scan_from_ = consumed_ = 0;
  } else if (consumed_ > 4096 && consumed_ * 2 > buffer_.size()) {
    buffer_.erase(0, consumed_);
    scan_from_ -= consumed_;
    consumed_ = 0;
  }
  if (!saw_cr_ && !bytes.empty() && std::memchr(bytes.data(), '\r', bytes.size())) saw_cr_ = true;
  buffer_.append(bytes);
  return pending_bytes() <= max_event_bytes_ || next_boundary_exists();
}

bool SseParser::inside_event() const {
  for (std::size_t i = consumed_; i < buffer_.size(); ++i)
    if (buffer_[i] != '\n' && buffer_[i] != '\r') return true;
  return false;
}

bool SseParser::next_boundary_exists() const {
  return find_boundary(scan_from_).first != std::string::npos;
}

namespace {
// The first '\r' or '\n' in [s, s + n), or n. memchr (vectorised) rather than a byte loop, and the '\r' search
// only once the stream has sent a '\r' at all (vLLM ends lines with a bare '\n'): this runs over every byte of
// every event. std::string_view::find_first_of, used before, calls memchr on its set once per byte; that was
// 13 % of a 200-chunk stream's CPU (bench/profile.sh --workload stream --perf).
std::size_t line_end(const char* s, std::size_t n, bool look_for_cr) {
  const void* lf = std::memchr(s, '\n', n);
  std::size_t end = lf ? static_cast<std::size_t>(static_cast<const char*>(lf) - s) : n;
  if (!look_for_cr) return end;
  const void* cr = std::memchr(s, '\r', end);
  return cr ? static_cast<std::size_t>(static_cast<const char*>(cr) - s) : end;
}
}  // namespace

// An event ends at the first empty line: "\n\n", "\r\n\r\n", or "\r\r" (the spec allows all three).
std::pair<std::size_t, std::size_t> SseParser::find_boundary(std::size_t from) const {
  const std::size_t size = buffer_.size();
  for (std::size_t i = from; i < size; ++i) {
    i += line_end(buffer_.data() + i, size - i, saw_cr_);
    if (i >= size) break;
    char c = buffer_[i];
    std::size_t eol = (c == '\r' && i + 1 < size && buffer_[i + 1] == '\n') ? 2 : 1;
    if (c == '\r' && i + 1 == size) return {std::string::npos, 0};  // "\r" may be half of "\r\n"
    std::size_t j = i + eol;
    if (j >= size) return {std::string::npos, 0};
    char d = buffer_[j];
    if (d == '\n') return {i, j + 1 - i};
    if (d == '\r') {
      if (j + 1 < size) return {i, j + (buffer_[j + 1] == '\n' ? 2 : 1) - i};
      return {std::string::npos, 0};
    }
    i = j - 1;
  }
  return {std::string::npos, 0};
}

bool SseParser::next(Event& out) {
  auto [at, len] = find_boundary(scan_from_ > consumed_ ? scan_from_ : consumed_);
  if (at == std::string::npos) {
    // Resume near the end next time; back off a little so a boundary split across feeds is found.
    scan_from_ = buffer_.size() > consumed_ + 3 ? buffer_.size() - 3 : consumed_;
    return false;
  }
  std::size_t end = at + len;
  out.raw = std::string_view(buffer_).substr(consumed_, end - consumed_);
  out.data.clear();
  bool first = true;
  std::string_view body = std::string_view(buffer_).substr(consumed_, at - consumed_);
  while (!body.empty()) {
    std::size_t eol = line_end(body.data(), body.size(), saw_cr_);
    std::string_view line = body.substr(0, eol);
    if (eol == body.size()) body = {};
    else body.remove_prefix(eol + ((body[eol] == '\r' && eol + 1 < body.size() && body[eol + 1] == '\n') ? 2 : 1));
    if (line.starts_with("data:")) {
      line.remove_prefix(5);
      if (!line.empty() && line.front() == ' ') line.remove_prefix(1);
      if (!first) out.data.push_back('\n');
      out.data.append(line);
      first = false;
    }
  }
  consumed_ = end;
  scan_from_ = end;
  return true;
}

}  // namespace slipway
