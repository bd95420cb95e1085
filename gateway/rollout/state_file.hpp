// The rollout state that must survive a restart: the latch and its reason (with the numbers), the rollout
// revision, a weight override and the progressive step. Stored as JSON, written safely (temp file in the
// same directory, fsync, rename, fsync of the directory). Reading a corrupt file is an error reported to the
// caller, never a crash.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include "gateway/rollout/judge.hpp"

namespace slipway::rollout {

struct LatchReason {
  std::string trigger;  // trigger name, or "manual"
  std::string slice;    // slice name ("all", a named slice) or empty for manual
  std::string sli;      // e.g. "validation_failure", "end_to_end_seconds:p95"
  std::string message;  // free text (manual rollbacks: who/why)
  Evaluation numbers;   // empty for manual rollbacks
};

struct RolloutState {
  std::string revision;
  bool latched = false;
  std::optional<LatchReason> reason;
  int64_t latched_at_unix_ms = 0;
  std::optional<double> weight_override;  // percent; cleared by a new revision
  std::size_t step = 0;                    // index into the progressive steps
};

std::string to_json(const RolloutState& s);
// One test's numbers as a JSON object (the state file's "numbers"; the admin API's state adds to it).
boost::json::object to_json(const Evaluation& e);
// Parses and checks the document; on failure returns false and says why in `error`.
bool from_json(std::string_view text, RolloutState& out, std::string& error);

// Writes atomically and durably. Returns false with a message on failure (the old file stays intact).
bool write_state_file(const std::string& path, const RolloutState& s, std::string& error);

// A writer killed between creating its temp file and the rename leaves `<path>.tmp.<pid>` behind; each
// restart would add one. Removes those whose writer is gone (not this process, no live process with that
// pid). Returns how many were removed. Call before reading the state at start.
int remove_orphaned_temp_files(const std::string& path);

struct StateFileRead {
  enum class Status { ok, missing, error } status = Status::missing;
  RolloutState state;
  std::string error;  // for Status::error: path and what is wrong
};
StateFileRead read_state_file(const std::string& path);

}  // namespace slipway::rollout
