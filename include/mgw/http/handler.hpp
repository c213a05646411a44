// HTTP server module: the shape of an endpoint. A handler is a coroutine that reads the
// request context and fills (or streams) the response; it runs on the connection's strand.
#pragma once

#include <functional>

#include <boost/asio/awaitable.hpp>

#include <mgw/http/request_context.hpp>
#include <mgw/http/response.hpp>

namespace mgw::http {

using handler = std::function<boost::asio::awaitable<void>(request_context&, response&)>;

}  // namespace mgw::http
