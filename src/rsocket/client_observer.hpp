// RSocket module (internal): what the proxy does with what its connections report. A ready
// client's identity is decided (an access key checked against the broker, or a declaration
// believed on trusted networks) and the client enters the registry; pushes, failures and
// closes are counted and passed on. Called on each connection's strand.
#pragma once

#include <memory>
#include <optional>
#include <string_view>

#include <mgw/core/log.hpp>
#include <mgw/push/binding_directory.hpp>
#include <mgw/rsocket/connection.hpp>

namespace mgw::rsocket {

struct proxy_counters;
struct original_metrics;
class client_registry;
class client_pull;
class identity_outcomes;

class client_observer final : public connection_observer {
  public:
    // `bindings`: the broker's access keys (null: no client can prove an app).
    client_observer(client_registry& registry, client_pull& pull, identity_outcomes& identities,
                    proxy_counters& counters, original_metrics& original, core::logger& log,
                    const push::binding_directory* bindings, bool trust_declared_app_identity);

    void connection_ready(const std::shared_ptr<connection>& c) override;
    void connection_pushed(connection& c, bool ok, std::string_view reason) override;
    void connection_failed(connection& c, std::string_view reason) override;
    void connection_closed(connection& c, std::optional<leased_text> push) override;

  private:
    client_registry& registry_;
    client_pull& pull_;
    identity_outcomes& identities_;
    proxy_counters& counters_;
    original_metrics& original_;
    core::logger& log_;
    const push::binding_directory* bindings_;
    bool trust_declared_app_identity_;
};

}  // namespace mgw::rsocket
