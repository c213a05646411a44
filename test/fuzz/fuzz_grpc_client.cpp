// libFuzzer target for the gRPC client core (the side the Loggregator emitter will use): a
// client opens a client-streaming call and a server-streaming one, then the input (after one
// byte that picks the read size) is fed as the server's byte stream: settings, responses,
// trailers, resets, GOAWAY, whatever the fuzzer makes of them. The memory budget must be back
// to zero once the transport is gone.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "mgw/core/memory_budget.hpp"
#include "mgw/grpc/connection.hpp"

using namespace mgw::grpc;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) {
        return 0;
    }
    mgw::core::memory_budget budget(8 * 1024 * 1024);
    connection_options options;
    options.side = role::client;
    options.authority = "metron";
    options.max_receive_message_bytes = 64 * 1024;
    auto now = clock::time_point{} + std::chrono::hours(1);
    {
        connection conn(options, budget, now);
        std::vector<event> events;
        const auto batches =
            conn.start_call("/loggregator.v2.Ingress/BatchSender", {}, std::nullopt, now);
        if (batches) {
            conn.send_message(*batches, outgoing_message::copy_of("batch"));
        }
        const auto stream =
            conn.start_call("/definitions.Egress/BoshMetrics", {}, std::chrono::seconds(5), now);
        if (stream) {
            conn.send_message(*stream, outgoing_message::copy_of(""));
            conn.close_send(*stream);
        }
        std::string out;
        const std::size_t read_size = data[0] % 97 + 1;
        const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
        bool open = true;
        for (std::size_t at = 0; at < input.size() && open; at += read_size) {
            out.clear();
            events.clear();
            conn.take_output(out, 1 << 20, events);
            conn.output_written(events);
            open = conn.receive(input.substr(at, read_size), now, events);
            if (batches) {
                conn.send_message(*batches, outgoing_message::copy_of("more"));
            }
            now += std::chrono::milliseconds(700);
            conn.on_timer(now, events);
        }
        events.clear();
        conn.transport_lost(events);
    }
    if (budget.leased() != 0) {
        std::abort();
    }
    return 0;
}
