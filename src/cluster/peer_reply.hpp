// Cluster module: the two conversions between an app source's contributions and the text a
// peer sends over NATS. The answering peer renders what its local non-scrape sources hold for
// the app (their injected labels applied) as one OpenMetrics exposition; the asking node turns
// each peer's text back into one contribution. Both are pure; when app sources hand over
// parsed series instead of text, these two functions are what changes.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include <mgw/apps/app_source.hpp>

namespace mgw::cluster {

struct render_report {
    std::size_t rendered = 0;    // contributions in the text
    std::size_t unreadable = 0;  // contributions that were no exposition, left out
};

// Appends to `out` the contributions merged as one OpenMetrics exposition (ending with
// `# EOF`), each sample carrying its contribution's labels; nothing at all when none is
// readable.
render_report render_contributions(std::span<const apps::contributed_exposition> contributions,
                                   std::string& out);

// A peer's reply text as the contribution the app's answer merges. It adds no label: the
// peer's labels already say where a series comes from (source, instance_id), and a series must
// not change identity with the node that answered the scrape.
apps::contributed_exposition peer_contribution(std::string text);

}  // namespace mgw::cluster
