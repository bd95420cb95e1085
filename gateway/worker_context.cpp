#include "gateway/worker_context.hpp"

namespace slipway {

validators::Validator& WorkerContext::validator_for(const config::Validation& v) {
  if (!validator || !(validator_settings == v)) {
    validators::Limits limits;
    limits.max_schema_bytes = v.max_schema_bytes;
    limits.max_schema_depth = v.max_schema_depth;
    limits.max_subschemas = v.max_subschemas;
    limits.max_regex_program_size = v.max_regex_program_size;
    limits.max_assembled_bytes = v.max_assembled_bytes;
    limits.schema_cache_entries = v.schema_cache_entries;
    validators::RefusalConfig refusal;
    refusal.extra_phrases = v.refusal_extra_phrases;
    refusal.threshold = v.refusal_threshold;
    validator = std::make_unique<validators::Validator>(limits, refusal);
    validator_settings = v;
  }
  return *validator;
}

}  // namespace slipway
