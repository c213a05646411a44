// libFuzzer target for the Loggregator emitter's side of the connection: the emitter core
// (batches, confirmations, what comes back unwritten, the end of the call, drain) on a client
// connection core, fed the input as the agent's byte stream (settings, windows, responses,
// trailers, resets, GOAWAY, whatever the fuzzer makes of them) while envelopes keep arriving
// and time passes. Afterwards every envelope offered is either counted as sent or as dropped,
// and every byte leased from the memory budget is back.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "loggregator/emitter_core.hpp"
#include "loggregator/envelope_encoding.hpp"
#include "mgw/core/memory_budget.hpp"
#include "mgw/grpc/connection.hpp"

using namespace mgw::loggregator;
namespace grpc = mgw::grpc;

namespace {

parcel envelopes(std::size_t n, std::int64_t first, envelope_source source) {
    parcel p;
    p.source = source;
    const envelope_tag tag{"origin", "fuzz"};
    for (std::size_t i = 0; i < n; ++i) {
        const gauge_metric m{"m", "u", static_cast<double>(i)};
        p.add(append_gauge_envelope(p.bytes,
                                    {.timestamp_ns = first + static_cast<std::int64_t>(i),
                                     .source_id = {},
                                     .instance_id = {},
                                     .tags = {&tag, 1}},
                                    {&m, 1}));
    }
    return p;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) {
        return 0;
    }
    mgw::core::memory_budget budget(4 * 1024 * 1024);
    auto now = clock::time_point{} + std::chrono::hours(1);
    std::uint64_t offered = 0;
    {
        envelope_queue queue({.max_bytes = 64 * 1024, .wake_envelopes = 100}, budget);
        emitter_core core({.batch_size = static_cast<std::size_t>(1 + data[0] % 150),
                           .max_batch_bytes = 16 * 1024,
                           .batch_interval = std::chrono::milliseconds(100)},
                          queue, now);
        grpc::connection_options options;
        options.side = grpc::role::client;
        options.authority = "127.0.0.1:3458";
        options.max_send_queue_bytes = 32 * 1024;
        grpc::connection conn(options, budget, now);
        std::vector<grpc::event> events;
        bool closing = false;
        const auto step = [&] {
            core.on_progress(conn, events, now);
            events.clear();
            if (!closing && core.wants_close()) {
                closing = true;
                conn.shutdown(now);
            }
        };
        core.attempting();
        core.on_open(conn, now);
        std::int64_t next = 0;
        const std::size_t read_size = data[1] % 97 + 1;
        const std::string_view input(reinterpret_cast<const char*>(data) + 2, size - 2);
        bool open = true;
        for (std::size_t at = 0; at < input.size() && open; at += read_size) {
            if ((at / read_size) % 3 == 0) {
                const auto source = (at & 1) != 0 ? envelope_source::bosh : envelope_source::push;
                queue.push(envelopes(40, next, source), now);
                next += 40;
                offered += 40;
                step();
            }
            std::string out;
            conn.take_output(out, 1 << 16, events);
            step();
            // Every other write completes (a slow socket).
            if ((at / read_size) % 2 == 0) {
                conn.output_written(events);
                step();
            }
            open = conn.receive(input.substr(at, read_size), now, events);
            step();
            now += std::chrono::milliseconds(40);
            if (now >= conn.next_timer()) {
                conn.on_timer(now, events);
            }
            step();
            if (at == input.size() / 2) {
                core.begin_drain();
                step();
            }
        }
        conn.transport_lost(events);
        step();
        core.connection_ended({grpc::client_failure::closed, "end of input"}, now);
        core.begin_drain();
        core.abandon();
        std::uint64_t accounted = 0;
        for (std::size_t s = 0; s < source_count; ++s) {
            const auto source = static_cast<envelope_source>(s);
            accounted += core.counters().envelopes_sent[s];
            for (std::size_t r = 0; r < drop_reason_count; ++r) {
                accounted += queue.dropped(source, static_cast<drop_reason>(r));
            }
        }
        if (accounted != offered || !core.drained()) {
            std::abort();
        }
    }
    if (budget.leased() != 0) {
        std::abort();
    }
    return 0;
}
