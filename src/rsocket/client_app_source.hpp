// RSocket module (internal): the connected clients as an app source and an app directory. A
// client that proved its app (or declared it, when trusted) joins that app's /v1|v2/apps
// answer and is listed by service discovery; nobody else is ever pulled for an app.
#pragma once

#include <chrono>
#include <memory>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include <mgw/apps/app_source.hpp>
#include <mgw/apps/service_discovery.hpp>
#include <mgw/push/binding_directory.hpp>
#include <mgw/rsocket/connection.hpp>

namespace mgw::rsocket {

class client_registry;
class client_pull;
class identity_outcomes;

class client_app_source final : public apps::app_source, public apps::app_directory {
  public:
    // `bindings`: the broker's access keys (null: no key is valid, every keyed join is revoked).
    client_app_source(client_registry& registry, client_pull& pull, identity_outcomes& identities,
                      const push::binding_directory* bindings);

    // Service discovery: the apps connected clients have joined (proved with a key, or declared
    // on trusted networks). A key revoked since is checked when the app is scraped.
    std::string_view directory_name() const override { return "rsocket"; }
    void list_apps(std::vector<apps::known_app>& out) const override;

    // Pulls the clients joined to the app, their joins checked against the broker first.
    boost::asio::awaitable<void> collect(const apps::app_query& app,
                                         std::chrono::steady_clock::time_point deadline,
                                         std::vector<apps::contributed_exposition>& out) override;

  private:
    boost::asio::awaitable<std::vector<scrape_answer>> pull(
        const std::vector<std::shared_ptr<connection>>& clients,
        std::chrono::steady_clock::time_point deadline);
    void record_identity(const connection& c, std::string_view result);

    client_registry* registry_;  // never null
    client_pull& pull_;
    identity_outcomes& identities_;
    const push::binding_directory* bindings_;
};

}  // namespace mgw::rsocket
