"""Prometheus finds every app by itself (issue 16): three apps register over a real nats-server
(the test plays route-emitter), a real Prometheus with one `http_sd_configs` job reads the
gateway's /v1/sd with basic auth and scrapes each app through its merged endpoint. Its targets
API shows the three targets up at /v2/apps/<guid>/metrics, relabelled from the __meta_cf_*
labels, and its query API returns each app's series. /v1/sd itself: same auth as /routes, the
http_sd JSON, and the org/space/app filters."""

import base64
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "support"))
from harness import Gateway, free_port, http_get, run_tests  # noqa: E402
from instances import AppInstance, app_tags, wait_for  # noqa: E402
from peers import NatsClient, NatsServer, Prometheus, register_message  # noqa: E402

APPS = [("acme", "dev", "web"), ("acme", "prod", "api"), ("globex", "dev", "shop")]
USER, PASSWORD = "operator", "s3cret-sd"


class World:
    def __init__(self):
        self.nats = NatsServer()
        self.instances = [AppInstance(index=0) for _ in APPS]
        self.tags = [app_tags(org, space, app, 0) for org, space, app in APPS]
        self.port, self.health_port = free_port(), free_port()
        self.gateway = Gateway(
            f"listen: 127.0.0.1:{self.port}\nhealth_listen: 127.0.0.1:{self.health_port}\n"
            "threads: 2\nlog: { level: info, access: false }\n"
            f"nats: {{ servers: [{self.nats.url}] }}\n"
            f"routes_api: {{ username: {USER}, password: {PASSWORD} }}\n")
        self.gateway.wait_ready(self.port)
        self.emitter = NatsClient(self.nats.port, name="route-emitter")
        # Like route-emitter at startup: register once a router answers router.greet (it then
        # listens to router.register).
        deadline = time.monotonic() + 20
        while True:
            try:
                self.emitter.request("router.greet", b"", timeout=1)
                break
            except AssertionError:
                if time.monotonic() > deadline:
                    raise
        for (org, space, app), instance, tags in zip(APPS, self.instances, self.tags):
            self.emitter.publish("router.register", register_message(
                "127.0.0.1", instance.port, [f"{app}.{space}.{org}.apps.example.com"], tags))
        self.emitter.flush()
        wait_for(lambda: len(self.sd()) == len(APPS), 10, interval=0.1,
                 what="the three registered apps in /v1/sd")
        self.prometheus = None

    def get_sd(self, query="", auth=(USER, PASSWORD)):
        headers = {}
        if auth:
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        return http_get(f"http://127.0.0.1:{self.port}/v1/sd{query}", headers, 10)

    def sd(self, query=""):
        """The target groups /v1/sd answers with the right credentials."""
        status, headers, body = self.get_sd(query)
        assert status == 200, (status, body)
        assert headers["Content-Type"] == "application/json", dict(headers)
        return json.loads(body)

    def stop(self):
        if self.prometheus:
            self.prometheus.stop()
        self.emitter.close()
        self.gateway.stop()
        self.nats.stop()
        for instance in self.instances:
            instance.stop()


W = None


def test_sd_needs_the_routes_credentials():
    for auth in (None, (USER, "wrong"), ("someone", PASSWORD)):
        status, headers, body = W.get_sd(auth=auth)
        assert status == 401, (auth, status, body)
        assert headers["WWW-Authenticate"].startswith("Basic"), dict(headers)
        assert b"__meta_cf" not in body


def test_sd_lists_one_target_per_app_with_cf_meta_labels():
    groups = W.sd()
    assert len(groups) == 3, groups
    by_guid = {g["labels"]["__meta_cf_app_id"]: g for g in groups}
    for tags in W.tags:
        group = by_guid[tags["app_id"]]
        assert group["targets"] == [f"127.0.0.1:{W.port}"], group
        labels = group["labels"]
        assert labels["__metrics_path__"] == f"/v2/apps/{tags['app_id']}/metrics", labels
        assert labels["__scheme__"] == "http", labels
        assert labels["__meta_cf_org_name"] == tags["organization_name"]
        assert labels["__meta_cf_org_id"] == tags["organization_id"]
        assert labels["__meta_cf_space_name"] == tags["space_name"]
        assert labels["__meta_cf_space_id"] == tags["space_id"]
        assert labels["__meta_cf_app_name"] == tags["app_name"]
        assert labels["__meta_cf_sources"] == ",routes,", labels
        assert labels["__meta_cf_instances"] == "1", labels


def test_sd_filters_by_org_space_and_app():
    def names(query):
        return sorted(g["labels"]["__meta_cf_app_name"] for g in W.sd(query))
    assert names("?org=acme") == ["api", "web"]
    assert names("?org=acme&space=prod") == ["api"]
    assert names("?space=dev") == ["shop", "web"]
    assert names("?app=shop") == ["shop"]
    assert names("?org=globex&app=web") == []
    assert names("?org=nobody") == []


def test_prometheus_discovers_and_scrapes_every_app():
    W.prometheus = Prometheus([{
        "job_name": "cf-apps",
        "honor_labels": True,
        "scrape_interval": "1s",
        "scrape_timeout": "1s",
        "http_sd_configs": [{
            "url": f"http://127.0.0.1:{W.port}/v1/sd",
            "refresh_interval": "1s",
            "basic_auth": {"username": USER, "password": PASSWORD},
        }],
        # No basic_auth for the scrapes: the app endpoint needs none, and it forwards an
        # Authorization header to the app's instances.
        "relabel_configs": [{
            "source_labels": ["__meta_cf_org_name", "__meta_cf_space_name",
                              "__meta_cf_app_name"],
            "separator": "/",
            "target_label": "instance",
        }, {
            "source_labels": ["__meta_cf_app_id"],
            "target_label": "cf_app_id",
        }],
    }])

    def all_up():
        targets = [t for t in W.prometheus.targets() if t["labels"]["job"] == "cf-apps"]
        return len(targets) == 3 and all(t["health"] == "up" for t in targets)
    try:
        wait_for(all_up, 30, interval=0.25, what="three cf-apps targets up")
    except AssertionError:
        raise AssertionError(json.dumps(W.prometheus.targets(), indent=1)) from None
    targets = {t["labels"]["instance"]: t for t in W.prometheus.targets()}
    for (org, space, app), tags in zip(APPS, W.tags):
        target = targets[f"{org}/{space}/{app}"]
        assert target["scrapeUrl"] == \
            f"http://127.0.0.1:{W.port}/v2/apps/{tags['app_id']}/metrics", target
        assert target["labels"]["cf_app_id"] == tags["app_id"], target
        assert target["discoveredLabels"]["__meta_cf_app_name"] == app, target

    # Each app's own series, through the gateway, with its CF labels.
    def temperatures():
        return W.prometheus.query('demo_temperature_celsius{job="cf-apps"}')
    wait_for(lambda: len(temperatures()) == 3, 20, interval=0.25,
             what="demo_temperature_celsius of the three apps")
    found = {labels["app_name"]: labels for labels, value in temperatures()}
    assert sorted(found) == sorted(app for _, _, app in APPS), found
    for (org, space, app), tags, instance in zip(APPS, W.tags, W.instances):
        labels = found[app]
        assert labels["organization_name"] == org and labels["space_name"] == space, labels
        assert labels["app_id"] == tags["app_id"], labels
        assert labels["instance"] == instance.address, labels  # honor_labels keeps the CF one
    up = W.prometheus.query('mgw_scrape_up{job="cf-apps"}')
    assert len(up) == 3 and all(value == 1 for _, value in up), up


def test_an_unregistered_app_leaves_discovery():
    W.emitter.publish("router.unregister", register_message(
        "127.0.0.1", W.instances[2].port, ["shop.dev.globex.apps.example.com"], W.tags[2]))
    W.emitter.flush()
    wait_for(lambda: len(W.sd()) == 2, 10, interval=0.1, what="shop gone from /v1/sd")
    assert W.sd("?app=shop") == []

    def shop_gone():
        return not any(t["labels"]["instance"] == "globex/dev/shop"
                       for t in W.prometheus.targets())
    wait_for(shop_gone, 20, interval=0.25, what="Prometheus dropping the shop target")


if __name__ == "__main__":
    W = World()
    try:
        run_tests([test_sd_needs_the_routes_credentials,
                   test_sd_lists_one_target_per_app_with_cf_meta_labels,
                   test_sd_filters_by_org_space_and_app,
                   test_prometheus_discovers_and_scrapes_every_app,
                   test_an_unregistered_app_leaves_discovery])
    finally:
        W.stop()
