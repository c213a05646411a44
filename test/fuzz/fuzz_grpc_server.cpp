// libFuzzer target for the gRPC server core: the input (after one byte that picks the read
// size) is a client's byte stream, fed to a server connection as reads of that size; every call
// is answered (its request message decoded as an EgressRequest, a message and a status sent),
// output is drained and confirmed, and time moves on so deadlines and keepalive run too. The
// memory budget must be back to zero once the transport is gone.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <mgw_proto_bosh/server.pb.h>
#include <string>
#include <string_view>
#include <vector>

#include "mgw/core/memory_budget.hpp"
#include "mgw/grpc/connection.hpp"

using namespace mgw::grpc;

namespace {

void require(bool condition) {
    if (!condition) {
        std::abort();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) {
        return 0;
    }
    mgw::core::memory_budget budget(8 * 1024 * 1024);
    connection_options options;
    options.side = role::server;
    options.max_receive_message_bytes = 64 * 1024;
    options.max_send_queue_bytes = 64 * 1024;
    options.max_header_list_bytes = 8 * 1024;
    auto now = clock::time_point{} + std::chrono::hours(1);
    {
        connection conn(options, budget, now);
        std::vector<event> events;
        std::string out;
        const std::size_t read_size = data[0] % 97 + 1;
        const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
        bool open = true;
        for (std::size_t at = 0; at < input.size() && open; at += read_size) {
            events.clear();
            open = conn.receive(input.substr(at, read_size), now, events);
            for (const event& e : events) {
                if (const auto* call = std::get_if<call_started>(&e)) {
                    conn.start_response(call->stream);
                } else if (const auto* m = std::get_if<message_received>(&e)) {
                    definitions::EgressRequest request;
                    if (request.ParseFromString(m->payload)) {
                        conn.send_message(m->stream,
                                          outgoing_message::copy_of(request.subscription_id()));
                    }
                    conn.finish(m->stream, status_code::ok, "done");
                } else if (const auto* h = std::get_if<half_closed>(&e)) {
                    conn.finish(h->stream, status_code::invalid_argument, "no request\n%");
                }
            }
            out.clear();
            events.clear();
            conn.take_output(out, 1 << 20, events);
            conn.output_written(events);
            now += std::chrono::milliseconds(700);
            conn.on_timer(now, events);
        }
        events.clear();
        conn.transport_lost(events);
    }
    require(budget.leased() == 0);
    return 0;
}
