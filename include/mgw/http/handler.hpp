// HTTP server module: the shape of an endpoint. A handler is a coroutine that reads the
// request context and fills (or streams) the response; it runs on the connection's strand.
#pragma once

#include <functional>

#include <boost/asio/awaitable.hpp>

#include <mgw/http/request_context.hpp>
#include <mgw/http/response.hpp>

namespace mgw::http {

// For example, a streamed endpoint:
//
//   routes.add(verb::get, "/metrics", [&](request_context& ctx, response& res)
//                                          -> boost::asio::awaitable<void> {
//       res.set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
//       for (auto& block : blocks) {
//           if (auto ec = co_await res.write_chunk(block)) {
//               co_return;  // client gone, or the request was cancelled
//           }
//       }
//   });  // the server finishes the stream; a handler that never writes a chunk sends
//        // res.body() as a complete response instead
//
// A handler that throws gets a 500 (if nothing was sent yet) and an error log line.
using handler = std::function<boost::asio::awaitable<void>(request_context&, response&)>;

}  // namespace mgw::http
