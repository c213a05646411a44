// The app source of connected clients: the clients joined to an app pulled into its answer,
// each labelled as an instance of the app; and the apps they joined, for service discovery.
#include "client_app_source.hpp"

#include <algorithm>

#include <mgw/apps/instance_labels.hpp>
#include <mgw/exposition/parser.hpp>
#include <mgw/text/ascii.hpp>
#include <mgw/text/uuid.hpp>

#include "client_identity.hpp"
#include "client_registry.hpp"
#include "identity_outcomes.hpp"
#include "pull.hpp"

namespace mgw::rsocket {

namespace asio = boost::asio;
using clock = std::chrono::steady_clock;

namespace {

// The app-level CF labels of a client that proved its app, as a push to it gets them: from the
// route table when it knows the app, else from the binding. All six, empty or not, so that the
// client's own labels of these names are always kept as exported_*.
std::vector<std::pair<std::string, std::string>> app_labels(
    const apps::app_query& app, std::string_view guid,
    const std::map<std::string, std::string>& binding_labels) {
    std::vector<std::pair<std::string, std::string>> labels;
    for (std::size_t i = 0; i < 6; ++i) {
        const std::string name(apps::cf_label_names[i]);
        std::string value;
        if (app.tags != nullptr) {
            if (const auto it = app.tags->find(name); it != app.tags->end()) {
                value = it->second;
            }
        } else if (const auto it = binding_labels.find(name); it != binding_labels.end()) {
            value = it->second;
        }
        if (name == "app_id" && value.empty()) {
            value = std::string(guid);
        }
        labels.emplace_back(name, std::move(value));
    }
    return labels;
}

}  // namespace

client_app_source::client_app_source(client_registry& registry, client_pull& pull,
                                     identity_outcomes& identities,
                                     const push::binding_directory* bindings)
    : registry_(&registry), pull_(pull), identities_(identities), bindings_(bindings) {}

void client_app_source::list_apps(std::vector<apps::known_app>& out) const {
    for (std::string& guid : registry_->joined_apps()) {
        out.push_back({.app_guid = std::move(guid), .labels = {}});
    }
}

asio::awaitable<std::vector<scrape_answer>> client_app_source::pull(
    const std::vector<std::shared_ptr<connection>>& clients, clock::time_point deadline) {
    co_return co_await pull_.pull(clients, deadline);
}

void client_app_source::record_identity(const connection& c, std::string_view result) {
    identities_.record(c, result);
}

asio::awaitable<void> client_app_source::collect(const apps::app_query& app,
                                                 clock::time_point deadline,
                                                 std::vector<apps::contributed_exposition>& out) {
    const std::string_view guid = app.app_guid.empty() ? app.identifier : app.app_guid;
    if (!text::is_uuid(guid)) {
        co_return;
    }
    std::vector<client_registry::joined_client> joined = registry_->clients_of_app(guid);
    // A key joins only while its binding lasts: an unbind or a new bind revokes it at once.
    std::erase_if(joined, [&](const client_registry::joined_client& j) {
        if (j.app.how != client_app::grounds::key) {
            return false;
        }
        const std::optional<push::push_binding> binding =
            bindings_ == nullptr ? std::nullopt : bindings_->find_by_access_key(j.app.access_key);
        if (binding && text::iequals(binding->app_guid, guid)) {
            return false;
        }
        registry_->leave_app(j.client->id());
        record_identity(*j.client, to_string(identity_result::revoked));
        return true;
    });
    std::vector<std::shared_ptr<connection>> clients;
    clients.reserve(joined.size());
    for (const auto& j : joined) {
        clients.push_back(j.client);
    }
    std::vector<scrape_answer> answers = co_await pull(clients, deadline);
    for (std::size_t i = 0; i < answers.size(); ++i) {
        if (answers[i].outcome != scrape_outcome::success) {
            continue;
        }
        const client_app& joined_app = joined[i].app;
        const exposition::format format = exposition::detect_format(answers[i].text.text);
        apps::contributed_exposition contribution =
            apps::read_contribution(std::move(answers[i].text.text), format);
        switch (joined_app.how) {
            case client_app::grounds::key:
                contribution.labels = app_labels(app, guid, joined_app.binding_labels);
                break;
            case client_app::grounds::declared_setup:
                contribution.labels.emplace_back("app_id", std::string(guid));
                break;
            case client_app::grounds::declared_labels:
                break;  // its own app_id label says it
        }
        // Each client is an instance of the app: two of them exposing the same series (two
        // app instances, or one reconnecting) stay two series, told apart by the connection.
        contribution.labels.emplace_back("instance_id",
                                         "rsocket-" + std::to_string(clients[i]->id()));
        contribution.labels.emplace_back("source", "rsocket");
        out.push_back(std::move(contribution));
    }
}

}  // namespace mgw::rsocket
