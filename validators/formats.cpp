#include "validators/formats.hpp"

#include <arpa/inet.h>

#include <cctype>
#include <string>

namespace slipway::validators {

Format format_from_name(std::string_view n) {
  if (n == "date-time") return Format::date_time;
  if (n == "date") return Format::date;
  if (n == "time") return Format::time;
  if (n == "email") return Format::email;
  if (n == "uuid") return Format::uuid;
  if (n == "ipv4") return Format::ipv4;
  if (n == "ipv6") return Format::ipv6;
  if (n == "hostname") return Format::hostname;
  if (n == "uri") return Format::uri;
  return Format::unknown;
}

std::string_view format_name(Format f) {
  switch (f) {
    case Format::date_time: return "date-time";
    case Format::date: return "date";
    case Format::time: return "time";
    case Format::email: return "email";
    case Format::uuid: return "uuid";
    case Format::ipv4: return "ipv4";
    case Format::ipv6: return "ipv6";
    case Format::hostname: return "hostname";
    case Format::uri: return "uri";
    default: return "unknown";
  }
}

namespace {

bool digits(std::string_view s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

bool full_date(std::string_view s) {
  int y, m, d;
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  if (!digits(s, 0, 4, y) || !digits(s, 5, 2, m) || !digits(s, 8, 2, d)) return false;
  if (m < 1 || m > 12 || d < 1) return false;
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int max = kDays[m - 1];
  if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) max = 29;
  return d <= max;
}

// RFC 3339 full-time: HH:MM:SS[.frac](Z|+HH:MM|-HH:MM)
bool full_time(std::string_view s) {
  int h, mi, se;
  if (s.size() < 9 || s[2] != ':' || s[5] != ':') return false;
  if (!digits(s, 0, 2, h) || !digits(s, 3, 2, mi) || !digits(s, 6, 2, se)) return false;
  if (h > 23 || mi > 59 || se > 60) return false;
  size_t i = 8;
  if (i < s.size() && s[i] == '.') {
    size_t start = ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
    if (i == start) return false;
  }
  if (i >= s.size()) return false;
  if (s[i] == 'Z' || s[i] == 'z') return i + 1 == s.size();
  if (s[i] != '+' && s[i] != '-') return false;
  int oh, om;
  if (s.size() != i + 6 || s[i + 3] != ':') return false;
  if (!digits(s, i + 1, 2, oh) || !digits(s, i + 4, 2, om)) return false;
  return oh <= 23 && om <= 59;
}

bool date_time(std::string_view s) {
  if (s.size() < 20 || (s[10] != 'T' && s[10] != 't' && s[10] != ' ')) return false;
  return full_date(s.substr(0, 10)) && full_time(s.substr(11));
}

bool hostname(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  size_t label = 0;
  char prev = '.';
  for (char c : s) {
    if (c == '.') {
      if (label == 0 || prev == '-') return false;
      label = 0;
    } else if (std::isalnum(static_cast<unsigned char>(c)) || c == '-') {
      if (label == 0 && c == '-') return false;
      if (++label > 63) return false;
    } else {
      return false;
    }
    prev = c;
  }
  return label > 0 && prev != '-';
}

bool email(std::string_view s) {
  auto at = s.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 >= s.size() || s.size() > 320) return false;
  std::string_view local = s.substr(0, at), domain = s.substr(at + 1);
  if (local.size() > 64 || local.front() == '.' || local.back() == '.') return false;
  char prev = 0;
  for (char c : local) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u <= 0x20 || c == '@' || c == '(' || c == ')' || c == '<' || c == '>' || c == ',' || c == ';' ||
        c == ':' || c == '\\' || c == '"' || c == '[' || c == ']')
      return false;
    if (c == '.' && prev == '.') return false;
    prev = c;
  }
  if (domain.size() > 2 && domain.front() == '[' && domain.back() == ']') {
    std::string ip(domain.substr(1, domain.size() - 2));
    unsigned char buf[16];
    return inet_pton(AF_INET, ip.c_str(), buf) == 1;
  }
  return hostname(domain);
}

bool uuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < 36; ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') return false;
    } else if (!std::isxdigit(static_cast<unsigned char>(s[i]))) {
      return false;
    }
  }
  return true;
}

bool ip(int af, std::string_view s) {
  if (s.size() > 45) return false;
  for (char c : s)
    if (std::isspace(static_cast<unsigned char>(c))) return false;
  std::string z(s);
  unsigned char buf[16];
  if (inet_pton(af, z.c_str(), buf) != 1) return false;
  if (af == AF_INET) {  // inet_pton accepts no leading zeros already; reject them explicitly anyway
    for (size_t i = 0; i + 1 < z.size(); ++i)
      if (z[i] == '0' && (i == 0 || z[i - 1] == '.') && std::isdigit(static_cast<unsigned char>(z[i + 1])))
        return false;
  }
  return true;
}

bool uri(std::string_view s) {
  // scheme ":" rest, no spaces or control characters.
  if (s.empty() || !std::isalpha(static_cast<unsigned char>(s[0]))) return false;
  size_t i = 1;
  while (i < s.size() && (std::isalnum(static_cast<unsigned char>(s[i])) || s[i] == '+' || s[i] == '-' ||
                          s[i] == '.'))
    ++i;
  if (i >= s.size() || s[i] != ':') return false;
  for (unsigned char c : s)
    if (c <= 0x20 || c == '"' || c == '<' || c == '>' || c == '\\' || c == '^' || c == '`' || c == '{' ||
        c == '|' || c == '}')
      return false;
  return true;
}

}  // namespace

bool check_format(Format f, std::string_view s) {
  switch (f) {
    case Format::date_time: return date_time(s);
    case Format::date: return full_date(s);
    case Format::time: return full_time(s);
    case Format::email: return email(s);
    case Format::uuid: return uuid(s);
    case Format::ipv4: return ip(AF_INET, s);
    case Format::ipv6: return ip(AF_INET6, s);
    case Format::hostname: return hostname(s);
    case Format::uri: return uri(s);
    default: return true;
  }
}

}  // namespace slipway::validators
