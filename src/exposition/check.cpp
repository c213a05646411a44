// `metrics-gateway check`: one parse, its verdict as an exit status and a diagnostic line.
#include "mgw/exposition/check.hpp"

#include "mgw/exposition/parser.hpp"

namespace mgw::exposition {

int check_exposition(std::string_view input, std::optional<format> fmt, std::string& diagnostic) {
    const format chosen = fmt.value_or(detect_format(input));
    parsed_exposition parsed;
    parse_error error;
    if (parse(input, chosen, parsed, error)) {
        diagnostic.clear();
        return 0;
    }
    diagnostic = error.message();
    return 1;
}

}  // namespace mgw::exposition
