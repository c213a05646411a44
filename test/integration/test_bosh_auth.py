"""Who may read GET /v1/bosh/events and /v1/bosh/metrics: both validators against a UAA
stand-in on loopback (real HTTP): UAA /check_token with the gateway's client credentials, and
local RS256 verification with keys from /token_keys. No token, expired, wrong signature, wrong
issuer, missing authority, UAA down, UAA (or a proxy in its place) answering nonsense."""

import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "support"))
from harness import Gateway, free_port, http_get, run_tests  # noqa: E402
from bosh_peers import (EventStream, FakeUaa, RsaKey, claims, metric_value,  # noqa: E402
                        AUTHORITY)


def gateway_for(uaa_url, auth, port, client_secret="s3cret", extra=""):
    ingest = free_port()
    config = (f"listen: 127.0.0.1:{port}\nhealth_listen: 127.0.0.1:{free_port()}\n"
              f"log: {{ access: false }}\n"
              f"bosh:\n  ingest_listen: 127.0.0.1:{ingest}\n  auth: {auth}\n"
              f"  uaa: {{ url: \"{uaa_url}\", client_id: gateway, client_secret: {client_secret},"
              f" timeout: 2s }}\n" + extra)
    gateway = Gateway(config)
    gateway.wait_ready(port)
    return gateway


def events(port, token=None, subscription="s"):
    headers = {"Authorization": token} if token is not None else {}
    return http_get(f"http://127.0.0.1:{port}/v1/bosh/events?subscription_id={subscription}",
                    headers, timeout=10)


def auth_count(port, result, cached="false"):
    _, _, body = http_get(f"http://127.0.0.1:{port}/metrics")
    return metric_value(body.decode(), "mgw_bosh_auth_total",
                        {"result": result, "cached": cached}) or 0


def test_check_token():
    port = free_port()
    with FakeUaa() as uaa, gateway_for(uaa.url, "check_token", port) as gateway:
        status, headers, body = events(port)
        assert status == 401 and b"missing token" in body, (status, body)
        assert headers["WWW-Authenticate"] == "Bearer"
        status, _, body = events(port, "bearer expired")
        assert status == 401 and b"invalid_token" in body, (status, body)
        status, _, body = events(port, "bearer noscope")
        assert status == 403 and AUTHORITY.encode() in body, (status, body)

        stream = EventStream(port, "s", token="good")
        assert stream.status == 200
        stream.close()
        # What UAA saw: the form and the gateway's own credentials (checked by the stand-in).
        method, path, form = [r for r in uaa.requests if r[1] == "/check_token"][-1]
        assert form == {"token": ["good"], "scopes": [AUTHORITY]}, form
        # Cached until the token's exp: a reconnect storm does not reach UAA.
        calls = uaa.check_token_calls()
        for _ in range(5):
            s = EventStream(port, "s", token="good")
            assert s.status == 200
            s.close()
        assert uaa.check_token_calls() == calls
        assert auth_count(port, "ok", cached="true") >= 5
        assert auth_count(port, "forbidden") == 1


def test_check_token_with_uaa_down_is_503_not_401():
    port = free_port()
    uaa = FakeUaa()
    url = uaa.url
    uaa.stop()  # nothing listens on its port any more
    with gateway_for(url, "check_token", port) as gateway:
        status, _, body = events(port, "bearer good")
        assert status == 503, (status, body)
        assert b"UAA unreachable" in body, body
        assert auth_count(port, "unavailable") == 1
        assert "UAA request failed" in gateway.output()


def test_check_token_with_rejected_gateway_credentials_is_503():
    port = free_port()
    with FakeUaa() as uaa, gateway_for(uaa.url, "check_token", port,
                                       client_secret="wrong") as gateway:
        status, _, body = events(port, "bearer good")
        assert status == 503 and b"client credentials" in body, (status, body)


def test_jwt():
    port = free_port()
    with tempfile.TemporaryDirectory() as keys_dir, FakeUaa() as uaa:
        key = RsaKey(keys_dir, "key-1")
        stranger = RsaKey(keys_dir, "key-1")  # same kid, different key: a forged signature
        uaa.keys = [key.jwk]
        with gateway_for(uaa.url, "jwt", port) as gateway:
            status, _, body = events(port)
            assert status == 401 and b"missing token" in body
            status, _, body = events(port, "bearer not.a.jwt")
            assert status == 401 and b"invalid token" in body, body
            ours = uaa.url
            status, _, body = events(port, "bearer " + key.token(claims(-10, issuer=ours)))
            assert status == 401 and b"expired" in body, body
            status, _, body = events(port, "bearer " + stranger.token(claims(issuer=ours)))
            assert status == 401 and b"signature" in body, body
            status, _, body = events(port, "bearer " + key.token(claims(scope=["openid"],
                                                                         issuer=ours)))
            assert status == 403 and AUTHORITY.encode() in body, body
            good = key.token(claims(issuer=ours))
            stream = EventStream(port, "s", token=good)
            assert stream.status == 200
            stream.close()
            fetches = sum(1 for r in uaa.requests if r[1] == "/token_keys")
            assert fetches == 1, uaa.requests

            # UAA rotates its key: the unknown kid triggers one refresh (at most one per 5 s).
            time.sleep(5.1)
            rotated = RsaKey(keys_dir, "key-2")
            uaa.keys = [key.jwk, rotated.jwk]
            stream = EventStream(port, "s", token=rotated.token(claims(issuer=ours)))
            assert stream.status == 200
            stream.close()
            assert sum(1 for r in uaa.requests if r[1] == "/token_keys") == 2
            # A made-up kid right after does not reach UAA again (refresh rate limit).
            status, _, _ = events(port, "bearer " + RsaKey(keys_dir, "key-3").token(
                claims(issuer=ours)))
            assert status == 401
            assert sum(1 for r in uaa.requests if r[1] == "/token_keys") == 2
            assert not any(r[1] == "/check_token" for r in uaa.requests)


def test_jwt_with_uaa_down_is_503():
    port = free_port()
    with tempfile.TemporaryDirectory() as keys_dir:
        key = RsaKey(keys_dir, "k")
        uaa = FakeUaa()
        url = uaa.url
        uaa.stop()
        with gateway_for(url, "jwt", port) as gateway:
            status, _, body = events(port, "bearer " + key.token(claims(issuer=url)))
            assert status == 503, (status, body)
            assert b"token keys unavailable" in body, body


# Issue 10 item 1: a 200 from check_token used to be a pass whatever its body said, so any
# string got an event stream from a UAA (or a proxy in front of it) answering 200 "OK".
def test_check_token_answers_that_grant_nothing_are_refusals():
    port = free_port()
    with FakeUaa() as uaa, gateway_for(uaa.url, "check_token", port) as gateway:
        future = int(time.time()) + 3600
        cases = [
            ((200, "text/html", b"<html><body>OK</body></html>"), 503, b"not a JSON object"),
            ((200, "text/plain", b""), 503, b"not a JSON object"),
            ((200, "application/json", b"[]"), 503, b"not a JSON object"),
            ((200, "application/json", b'{"client_id":"x"}'), 503, b"no integer exp"),
            ((200, "application/json", ('{"exp":%d}' % future).encode()), 403,
             AUTHORITY.encode()),
            ((200, "application/json", ('{"exp":%d,"scope":"%s"}' % (future, AUTHORITY + "x"))
              .encode()), 403, AUTHORITY.encode()),
            ((400, "text/html", b"Bad Request"), 503, b"no OAuth error"),
            ((204, "application/json", b""), 503, b"status 204"),
        ]
        for n, (answer, expected, reason) in enumerate(cases):
            uaa.check_token_answer = answer
            token = f"any-string-{n}"
            status, _, body = events(port, "bearer " + token)
            assert status == expected and reason in body, (answer, status, body)
        assert auth_count(port, "ok") == 0
        # None of the 503s was cached: once UAA answers properly, a good token gets in.
        uaa.check_token_answer = None
        stream = EventStream(port, "s", token="good")
        assert stream.status == 200
        stream.close()
        assert "UAA answer unusable" in gateway.output()


def test_tokens_that_are_not_bearer_tokens_never_reach_uaa():
    port = free_port()
    with FakeUaa() as uaa, gateway_for(uaa.url, "check_token", port) as gateway:
        for token in ("bearer a b", "bearer tok\u00e9n", "bearer {\"json\":1}", "bearer =abc"):
            status, _, body = events(port, token.encode("utf-8").decode("latin-1"))
            assert status == 401 and b"not a bearer token" in body, (token, status, body)
        assert uaa.check_token_calls() == 0


def test_jwt_from_another_issuer_is_refused():
    port = free_port()
    with tempfile.TemporaryDirectory() as keys_dir, FakeUaa() as uaa:
        key = RsaKey(keys_dir, "key-1")
        uaa.keys = [key.jwk]
        with gateway_for(uaa.url, "jwt", port) as gateway:
            # Signed with UAA's own key, but minted for another identity zone.
            zone = key.token(claims(issuer="https://tenant.uaa.example.com"))
            status, _, body = events(port, "bearer " + zone)
            assert status == 401 and b"issuer" in body, (status, body)
            status, _, body = events(port, "bearer " + key.token(claims()))  # no iss at all
            assert status == 401 and b"issuer" in body, (status, body)
            stream = EventStream(port, "s", token=key.token(claims(issuer=uaa.url)))
            assert stream.status == 200
            stream.close()


# Issue 11 item 5: /v1/bosh/metrics showed every VM of the platform to anyone.
def test_bosh_metrics_needs_the_stream_authority_unless_configured_open():
    port = free_port()
    url = f"http://127.0.0.1:{port}/v1/bosh/metrics"
    with FakeUaa() as uaa, gateway_for(uaa.url, "check_token", port) as gateway:
        status, headers, body = http_get(url)
        assert status == 401 and b"missing token" in body, (status, body)
        assert headers["WWW-Authenticate"] == "Bearer"
        status, _, body = http_get(url, {"Authorization": "bearer noscope"})
        assert status == 403 and AUTHORITY.encode() in body, (status, body)
        status, headers, _ = http_get(url, {"Authorization": "bearer good"})
        assert status == 200 and headers["Content-Type"].startswith("text/plain")
    port = free_port()
    url = f"http://127.0.0.1:{port}/v1/bosh/metrics"
    with FakeUaa() as uaa, gateway_for(uaa.url, "check_token", port,
                                       extra="  metrics_auth: none\n") as gateway:
        status, _, _ = http_get(url)
        assert status == 200
        assert uaa.check_token_calls() == 0


def test_without_uaa_every_token_is_refused_with_the_reason():
    # Heartbeats ingested only for the gauges (or Loggregator): the streams stay closed.
    port = free_port()
    config = (f"listen: 127.0.0.1:{port}\nhealth_listen: 127.0.0.1:{free_port()}\n"
              f"log: {{ access: false }}\n"
              f"bosh:\n  ingest_listen: 127.0.0.1:{free_port()}\n  metrics_auth: none\n")
    with Gateway(config) as gateway:
        gateway.wait_ready(port)
        for token in (None, "bearer good"):
            status, _, body = events(port, token)
            assert status == 403 and b"no bosh.uaa configured" in body, (status, body)
        status, _, _ = http_get(f"http://127.0.0.1:{port}/v1/bosh/metrics")
        assert status == 200
        assert auth_count(port, "forbidden") == 2


if __name__ == "__main__":
    run_tests([
        test_without_uaa_every_token_is_refused_with_the_reason,
        test_check_token,
        test_check_token_with_uaa_down_is_503_not_401,
        test_check_token_with_rejected_gateway_credentials_is_503,
        test_jwt,
        test_jwt_with_uaa_down_is_503,
        test_check_token_answers_that_grant_nothing_are_refusals,
        test_tokens_that_are_not_bearer_tokens_never_reach_uaa,
        test_jwt_from_another_issuer_is_refused,
        test_bosh_metrics_needs_the_stream_authority_unless_configured_open,
    ])
