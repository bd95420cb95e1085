#include "gateway/sse_parser.hpp"

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

// An event ends at the first empty line: "\n\n", "\r\n\r\n", or "\r\r" (the spec allows all three).
std::pair<std::size_t, std::size_t> SseParser::find_boundary(std::size_t from) const {
  for (std::size_t i = from; i < buffer_.size(); ++i) {
    char c = buffer_[i];
    if (c != '\n' && c != '\r') continue;
    std::size_t eol = (c == '\r' && i + 1 < buffer_.size() && buffer_[i + 1] == '\n') ? 2 : 1;
    if (c == '\r' && i + 1 == buffer_.size()) return {std::string::npos, 0};  // "\r" may be half of "\r\n"
    std::size_t j = i + eol;
    if (j >= buffer_.size()) return {std::string::npos, 0};
    char d = buffer_[j];
    if (d == '\n') return {i, j + 1 - i};
    if (d == '\r') {
      if (j + 1 < buffer_.size()) return {i, j + (buffer_[j + 1] == '\n' ? 2 : 1) - i};
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
    std::size_t eol = body.find_first_of("\r\n");
    std::string_view line = body.substr(0, eol);
    if (eol == std::string_view::npos) body = {};
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
