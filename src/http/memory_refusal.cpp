// The memory-ceiling refusal shared by the server and the handlers that lease from the budget.
#include <string>

#include <mgw/http/memory_refusal.hpp>

namespace mgw::http {

void answer_memory_refusal(response& res, std::string_view what) {
    res.status(status::service_unavailable);
    res.set("Content-Type", "text/plain; charset=utf-8");
    res.set("Retry-After", memory_retry_after_seconds);
    std::string text = "503 memory limit reached: no room for ";
    text += what;
    text += ", retry later\n";
    res.body(std::move(text));
}

}  // namespace mgw::http
