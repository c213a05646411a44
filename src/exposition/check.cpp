// `metrics-gateway check`: one parse (strict, or lenient as the gateway reads sources), its
// verdict as an exit status and diagnostic lines.
#include "mgw/exposition/check.hpp"

#include <algorithm>

#include "mgw/exposition/parser.hpp"

namespace mgw::exposition {

int check_exposition(std::string_view input, std::optional<format> fmt, std::string& diagnostic) {
    const format chosen = fmt.value_or(detect_format(input));
    parsed_exposition parsed;
    const parse_result parsed_ok = parse(input, chosen, parsed);
    if (parsed_ok) {
        diagnostic.clear();
        return 0;
    }
    diagnostic = parsed_ok.error().message();
    return 1;
}

int check_exposition_lenient(std::string_view input, std::optional<format> fmt,
                             std::vector<std::string>& diagnostics) {
    diagnostics.clear();
    const format chosen = fmt.value_or(detect_format(input));
    parsed_exposition parsed;
    leniency_report report;
    if (const parse_result read = read_lenient(input, chosen, parsed, report); !read) {
        diagnostics.push_back(read.error().message());
        return 1;
    }
    std::size_t changes = 0;
    for (std::size_t i = 0; i < leniency_action_count; ++i) {
        changes += report.count(static_cast<leniency_action>(i));
    }
    // In input order: the repairs of a joined family are made when the input ends.
    std::vector<leniency_note> notes = report.notes();
    std::stable_sort(notes.begin(), notes.end(),
                     [](const leniency_note& a, const leniency_note& b) { return a.at < b.at; });
    for (const leniency_note& note : notes) {
        diagnostics.push_back(leniency_report::describe(note, input));
    }
    if (changes > report.notes().size()) {
        diagnostics.push_back("... and " + std::to_string(changes - report.notes().size()) +
                              " more changes");
    }
    if (changes != 0) {
        diagnostics.push_back(std::to_string(changes) + " changes, " +
                              std::to_string(report.samples_dropped()) +
                              " samples of the input left out");
    }
    return 0;
}

}  // namespace mgw::exposition
