// JSON Schema `format` checks (no regex backtracking): date-time, date, time, email, uuid, ipv4, ipv6,
// hostname, uri. Unknown formats are annotations and always pass.
#pragma once

#include <string_view>

namespace slipway::validators {

enum class Format { unknown, date_time, date, time, email, uuid, ipv4, ipv6, hostname, uri };

Format format_from_name(std::string_view name);
std::string_view format_name(Format);
// True when `s` is a valid instance of `f` (always true for Format::unknown).
bool check_format(Format f, std::string_view s);

}  // namespace slipway::validators
