// The fleet's shared windows (docs/fleet.md): one Redis hash per (model, revision, bucket), whose fields are
// the non-zero counters of that bucket, summed over the replicas with HINCRBY. This file is the pure part:
// which fields a bucket of a replica's Windows makes, and how a read hash is added back into a Windows.
// Buckets are aligned on wall-clock time (unix time / bucket width) so that every replica's bucket N is the
// same span of time: in fleet mode the rollout service feeds its windows wall-clock time points (wall_now()).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gateway/rollout/window.hpp"

namespace slipway::fleet {

using Field = std::pair<std::string, int64_t>;

// Now as a rollout::Clock time point counted from the unix epoch, so Windows::epoch_of gives unix-time buckets.
rollout::Clock::time_point wall_now();
// The start of bucket `epoch` of width `width`, as such a time point.
rollout::Clock::time_point epoch_start(int64_t epoch, rollout::Clock::duration width);

// <prefix>:w:<model>:<revision>:<epoch>. The revision is part of the key, so a new revision starts clean.
std::string bucket_key(std::string_view prefix, std::string_view model, std::string_view revision, int64_t epoch);
// <prefix>:state:<model>:<revision>: the latch, weight override and their sequence number (a hash).
std::string state_key(std::string_view prefix, std::string_view model, std::string_view revision);
// <prefix>:events: the pub/sub channel every change of a state key is announced on.
std::string events_channel(std::string_view prefix);
// <prefix>:replicas: a sorted set of replica ids scored by their last heartbeat (unix ms).
std::string replicas_key(std::string_view prefix);

// The non-zero counters of bucket `epoch` in `w` as fields: rates "r|<c|b>|<slice>|<sli>|t" (trials) and
// "...|f" (failures); histogram bins "l|<c|b>|<slice>|<sli>|<bin>". slice_names[i] names slice i + 1
// ("all" is slice 0). Latency histograms have 140 bins: only the non-empty ones are written.
void bucket_fields(const rollout::Windows& w, int64_t epoch, std::span<const std::string> slice_names,
                   std::vector<Field>& out);

// Adds a bucket's fields (as read back from the store) to `w` at bucket `epoch`. Fields naming an unknown
// slice or SLI (another replica on another config) are skipped and counted in the return value.
std::size_t add_fields(rollout::Windows& w, int64_t epoch, std::span<const std::string> slice_names,
                       std::span<const Field> fields);

}  // namespace slipway::fleet
