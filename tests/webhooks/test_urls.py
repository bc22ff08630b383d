"""Which addresses a webhook may have: https to public addresses; private, loopback and link-local ones (and
http to loopback) only where WEBHOOK_ALLOW_PRIVATE is set, so a coordinator cannot make the workers call into
the network they run in."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from workflows.domain import webhooks
from workflows.errors import InvalidInput
from workflows.outbound import webhooks as posting

PUBLIC = "93.184.215.14"  # a global address (documentation ranges such as 203.0.113.0/24 are not)


@pytest.mark.parametrize("url", [f"https://{PUBLIC}/hook", f"https://{PUBLIC}:8443/a/b?c=d", "https://[2606:4700::1111]/"])
def test_https_to_a_public_address_is_accepted(url):
    assert webhooks.resolve(url, allow_private=False)


@pytest.mark.parametrize("url, code", [
    (f"http://{PUBLIC}/hook", "webhook_url_https_required"),
    ("https://127.0.0.1/hook", "webhook_url_private"),
    ("https://localhost/hook", "webhook_url_private"),
    ("https://10.1.2.3/hook", "webhook_url_private"),
    ("https://172.16.0.1/hook", "webhook_url_private"),
    ("https://192.168.1.1/hook", "webhook_url_private"),
    ("https://169.254.169.254/latest/meta-data/", "webhook_url_private"),
    ("https://100.64.0.1/hook", "webhook_url_private"),
    ("https://[::1]/hook", "webhook_url_private"),
    ("https://[fe80::1]/hook", "webhook_url_private"),
    ("https://[fd00::1]/hook", "webhook_url_private"),
    ("https://[::ffff:127.0.0.1]/hook", "webhook_url_private"),
    ("https://0.0.0.0/hook", "webhook_url_private"),
    ("https://2130706433/hook", "webhook_url_private"),  # 127.0.0.1 written as one number
    ("https://224.0.0.1/hook", "webhook_url_private"),
    (f"ftp://{PUBLIC}/hook", "webhook_url_invalid"),
    (f"https://user:secret@{PUBLIC}/hook", "webhook_url_invalid"),
    (f"https://{PUBLIC}/hook#fragment", "webhook_url_invalid"),
    (f"https://{PUBLIC}:99999/hook", "webhook_url_invalid"),
    ("https:///hook", "webhook_url_invalid"),
    ("not a url", "webhook_url_invalid"),
    ("https://does-not-exist.invalid/hook", "webhook_url_unresolvable"),
])
def test_other_addresses_are_refused_on_a_server(url, code):
    with pytest.raises(InvalidInput) as refused:
        webhooks.resolve(url, allow_private=False)
    assert refused.value.code == code


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000/hook", "http://localhost:8000/hook", "https://10.1.2.3/hook",
                                 "https://169.254.169.254/"])
def test_with_allow_private_internal_addresses_and_http_to_loopback_are_accepted(url):
    assert webhooks.resolve(url, allow_private=True)


@pytest.mark.parametrize("url, code", [
    ("http://10.1.2.3/hook", "webhook_url_https_required"),  # plain http only to this machine
    ("https://0.0.0.0/hook", "webhook_url_private"),
    ("https://224.0.0.1/hook", "webhook_url_private"),
])
def test_allow_private_still_refuses_some(url, code):
    with pytest.raises(InvalidInput) as refused:
        webhooks.resolve(url, allow_private=True)
    assert refused.value.code == code


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body():
    body = b'{"type":"round.opened"}'
    expected = hmac.new(b"whsec_x", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert posting.sign("whsec_x", "1700000000", body) == f"sha256={expected}"
