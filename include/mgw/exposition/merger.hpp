// Exposition merger: many parsed expositions (one per app instance, plus synthetic ones) into one
// valid exposition with one metadata block per family, written incrementally in either format.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <mgw/exposition/model.hpp>
#include <mgw/exposition/writer.hpp>

namespace mgw::exposition {

// What happens to a source label whose name is also an injected label's name.
enum class collision_policy {
    rename_exported,  // Prometheus honor_labels=false: the source label becomes exported_<name>
    overwrite,        // Promfetcher: the source label is dropped, the injected value wins
};

struct merge_options {
    collision_policy collisions = collision_policy::rename_exported;
    // Set by a caller that already removed repeated series across its sources (rsocket's
    // series_dedup for /metrics/connected), so that the merger does not look for them a second
    // time on every sample. The caller guarantees that no two sources hold a sample of the same
    // series, a series being the family's name (a counter's `_total` aside), its type and the
    // sample's labels as read (names and raw values compared as text), without `le` and
    // `quantile` in histograms, gauge histograms and summaries. The merger's own notion of a
    // repeated metric is wider in a few cases, which it still checks: a source with two
    // families in one output family, a source with injected labels (which can rename its own),
    // families of different names written as one (`a.b` and `a_b` for a legacy client, an untyped
    // family's `x_sum` and a family `x_sum`), statesets (the state label is not part of the metric)
    // and labels with quoted names or escaped values (compared as the writer renders them). With
    // the guarantee the answer is the same as without this option.
    bool sources_deduplicated = false;
};

// A source family left out of the merge because its TYPE differs from the type the family
// already has (from the first source that exposed it), or because, in the output format, one
// of the names it writes is a name an earlier family writes (0.0.4 gauge `a` and counter
// `a_total` are both `a` in OpenMetrics; OpenMetrics counter `a` and gauge `a_total` both
// `a_total` in 0.0.4; a gauge `h_count` and histogram `h` in both; `a.b` and `a_b` once
// escaped for a legacy client).
struct type_conflict {
    std::size_t source = 0;   // index in add_source order
    std::string_view family;  // format-independent family name (counters without `_total`)
    metric_type expected = metric_type::unknown;
    metric_type found = metric_type::unknown;
};

// Usage: add_source() for every source in the order their samples should appear, then either
// write_all(), or start() followed by write_some() until it returns true. When two sources
// could expose the same series (their injected labels do not differ in a value of a name both
// inject, e.g. none at all), the first source's metric is kept and the later ones' skipped. The
// expositions, their input buffers and the injected labels must outlive the merge. clear() makes
// the object reusable; its vectors keep their capacity, so a steady-state merge allocates only when
// a source brings more families than any merge before.
class merger {
  public:
    explicit merger(merge_options options = {});
    ~merger();
    merger(merger&&) noexcept;
    merger& operator=(merger&&) noexcept;

    // `injected` labels (name, value already escaped) are appended to every sample of the
    // source, after the sample's own labels, in the given order.
    void add_source(const parsed_exposition& exposition, std::span<const label> injected = {});

    void clear();

    // Groups the families of all sources (first-seen order) and records type conflicts;
    // resets the output cursor.
    void start(const writer_options& options);

    // Appends at least `soft_limit` bytes (one whole line may exceed it) unless the output ends
    // first. Returns true once everything, including `# EOF` for OpenMetrics, is written.
    bool write_some(std::string& out, std::size_t soft_limit);

    std::string write_all(const writer_options& options);
    void write_all(std::string& out, const writer_options& options);

    // Valid after start(): the source families left out, TYPE conflicts first (in source
    // order), then name clashes of the output format (in family order).
    std::span<const type_conflict> conflicts() const { return conflicts_; }
    // Valid after start(): the number of families in the output (0.0.4 `_created` etc. gauges
    // split off an OpenMetrics family are not counted separately).
    std::size_t family_count() const;
    // Samples left out while writing because an earlier source has their metric (see above).
    std::size_t duplicates_skipped() const { return duplicates_skipped_; }

  private:
    struct source_ref {
        const parsed_exposition* exposition;
        std::span<const label> injected;
    };
    // One family occurrence in one source; the members of a group form a singly linked list
    // through this flat vector, so grouping allocates nothing per family.
    struct member {
        std::uint32_t source;
        std::uint32_t family;
        std::uint32_t next;
        std::string_view only_name;  // when set, only the family's samples of this name
    };
    // A family of the output, keyed by its name as written there (`key` + `key_suffix`:
    // an OpenMetrics counter `a` is `a` + `_total` in 0.0.4, a 0.0.4 counter `a_total` is `a`
    // in OpenMetrics), escaped as written.
    struct group {
        std::string_view key;
        std::string_view key_suffix;
        metric_type type;
        std::uint32_t first_member;
        std::uint32_t last_member;
        bool dropped;  // one of its names is an earlier family's in this output format
        bool has_openmetrics_member;
        std::string_view extra_base;  // 0.0.4: the `_created`... gauges' base name
    };
    // A name some family writes in the output (family name, sample names, split-off gauges).
    struct occupied_name {
        std::string_view base;
        std::string_view suffix;
        std::uint32_t group;
    };
    enum class phase : unsigned char { header, samples, extras, trailer, done };

    std::uint32_t find_group(std::string_view base, std::string_view suffix,
                             std::size_t& slot) const;
    // The samples of a source's family, or of member `m`'s: the source's own, or read again
    // from its lines (sample_lines.hpp) into `expanded_`, one member at a time, or while a group
    // is checked for repeated metrics into the group's expansion (dedupe_state).
    std::span<const sample> family_samples(const parsed_exposition& src, const family& f);
    std::span<const sample> samples_of(std::uint32_t m);
    static bool has_foreign_sample_names(const family& f, std::span<const sample> samples);
    std::string_view written_name(std::string_view name);
    void prepare_dedupe();
    bool group_may_repeat(const group& g);
    bool caller_deduplicated(const group& g);
    bool skipped(std::uint32_t member, std::uint32_t sample) const;
    void add_member(std::uint32_t source, std::uint32_t family, std::string_view key,
                    std::string_view key_suffix, std::string_view only_name);
    void drop_group(std::uint32_t dropped, const group& kept);
    bool occupy(std::uint32_t group, std::string_view base, std::string_view suffix);
    void drop_clashing_groups();
    void skip_dropped_groups();
    void write_header(std::string& out, const group& g);
    bool write_group_samples(std::string& out, std::size_t stop);
    bool write_group_extras(std::string& out, std::size_t stop);

    merge_options options_;
    writer_options writer_options_;
    std::vector<source_ref> sources_;
    // Each source's injected labels rendered once per merge (in the output's name escaping),
    // so a sample costs one append for all of them.
    std::string rendered_injected_;
    std::vector<std::size_t> injected_offsets_;
    std::vector<prepared_labels> prepared_;
    std::vector<member> members_;
    std::vector<group> groups_;
    std::vector<std::uint32_t> slots_;  // open addressing: group index + 1, 0 = empty
    std::vector<occupied_name> occupied_;
    std::vector<std::uint32_t> occupied_slots_;  // likewise, into occupied_
    // Names escaped for a legacy client when they are not legacy names; a deque, so that the
    // views of the keys stay valid while it grows.
    std::deque<std::string> escaped_names_;
    std::vector<type_conflict> conflicts_;
    // Sources whose series can be the same (no injected label tells them apart) may repeat a
    // metric: within such a group, a metric an earlier member has is skipped. State of the
    // group being written, in merger.cpp.
    struct dedupe_state;
    std::unique_ptr<dedupe_state> dedupe_;
    bool dedupe_group_ = false;
    std::vector<sample> expanded_;
    std::uint32_t expanded_member_ = UINT32_MAX;
    std::size_t duplicates_skipped_ = 0;

    // Output cursor.
    phase phase_ = phase::done;
    std::size_t group_ = 0;
    std::uint32_t member_ = 0;
    std::uint32_t sample_ = 0;
    const char* next_line_ = nullptr;  // sample_'s line in a family kept as lines
    std::size_t extra_ = 0;
    bool extra_header_written_ = false;
};

}  // namespace mgw::exposition
