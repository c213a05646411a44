// Compiles Boost.json once for the whole program (separate compilation).
// Every other TU sees only declarations, which keeps builds fast on small machines.
#include <boost/json/src.hpp>
