// Compiles Boost.asio once for the whole program (separate compilation).
// Every other TU sees only declarations, which keeps builds fast on small machines.
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
