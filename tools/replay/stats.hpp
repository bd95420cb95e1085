// Statistics of slipway-replay: Wilson score intervals for one proportion and Newcombe's hybrid score
// intervals for the difference of two (independent samples, and paired samples, the replay's case, since
// baseline and candidate answer the same golden cases). Quantiles of the normal come from Boost.Math.
#pragma once

#include <cstdint>
#include <vector>

namespace slipway::replay {

struct Interval {
  double lower = 0;
  double upper = 0;
};

// The two-sided critical value z with P(|Z| <= z) = confidence (1.959964 for 0.95).
// Throws std::invalid_argument unless 0 < confidence < 1.
double two_sided_z(double confidence);

// Wilson score interval for `successes` out of `n` (Wilson 1927). n == 0 gives [0, 1].
Interval wilson_interval(uint64_t successes, uint64_t n, double confidence);

// Newcombe (1998a) method 10, "hybrid score": interval for p_candidate - p_baseline from two independent
// samples, built from the two Wilson intervals. An empty sample gives [-1, 1].
Interval newcombe_independent(uint64_t baseline_successes, uint64_t baseline_n, uint64_t candidate_successes,
                              uint64_t candidate_n, double confidence);

// The four cells of a paired 2x2 table: each golden case passed or failed on each side.
struct PairedCounts {
  uint64_t both = 0;            // baseline pass, candidate pass
  uint64_t baseline_only = 0;   // baseline pass, candidate fail  (a regression flip)
  uint64_t candidate_only = 0;  // baseline fail, candidate pass  (an improvement flip)
  uint64_t neither = 0;         // both fail

  uint64_t n() const { return both + baseline_only + candidate_only + neither; }
  uint64_t baseline_passes() const { return both + baseline_only; }
  uint64_t candidate_passes() const { return both + candidate_only; }
  uint64_t flips() const { return baseline_only + candidate_only; }
  double baseline_rate() const;
  double candidate_rate() const;
  double difference() const { return candidate_rate() - baseline_rate(); }  // candidate - baseline
};

// Newcombe (1998b) method 10 for paired data: the same Wilson-based construction with the correlation of the
// two sides (phi, continuity-corrected as in the paper) taken into account. Interval for
// p_candidate - p_baseline; n == 0 gives [-1, 1]. Tighter than the independent interval when the two sides
// agree on most cases, which they do when nothing changed.
Interval newcombe_paired(const PairedCounts& counts, double confidence);

// The q-quantile (0 <= q <= 1) of `values` by linear interpolation between order statistics (type 7, as R's
// and numpy's default). Sorts its copy; an empty input gives 0.
double quantile(std::vector<double> values, double q);

}  // namespace slipway::replay
