// Umbrella header of the slipway-validators library.
#pragma once

#include "validators/assembled_response.hpp"
#include "validators/refusal_classifier.hpp"
#include "validators/request_expectations.hpp"
#include "validators/schema_cache.hpp"
#include "validators/stream_assembler.hpp"
#include "validators/validator.hpp"
#include "validators/verdict.hpp"
