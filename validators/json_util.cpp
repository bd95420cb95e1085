#include "validators/json_util.hpp"

namespace slipway::validators::detail {

simdjson::dom::parser& thread_parser() {
  thread_local simdjson::dom::parser parser;
  return parser;
}

}  // namespace slipway::validators::detail
