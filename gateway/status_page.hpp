// The status page of the admin listener (docs/status-page.md): GET /status is one self-contained HTML page
// (inline CSS and JS, no external assets) that renders the document of GET /status.json: models, configured
// vs effective weights, latch and reason, each trigger's numbers (RolloutControl::state()), and per-slice
// SLIs baseline vs canary over the recent window with small inline SVG charts (StatusHistory).
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include <boost/json/object.hpp>

#include "gateway/metrics.hpp"
#include "gateway/rollout_control.hpp"
#include "gateway/runtime.hpp"
#include "gateway/status_history.hpp"

namespace slipway {

// The /status.json document. `control` null: the rollout state is derived from the config (weights as
// configured, no rollout). `now` are the current totals (Metrics::series_totals()); the window runs from the
// oldest sample in `history` to now.
boost::json::object status_document(const Snapshot& snapshot, RolloutControl* control, const StatusHistory& history,
                                    const std::map<SeriesKey, SeriesTotals>& now, int64_t now_unix_ms);

// The HTML page with `document` embedded, so that it renders at once; its script then polls /status.json.
std::string status_page_html(const boost::json::object& document);

}  // namespace slipway
