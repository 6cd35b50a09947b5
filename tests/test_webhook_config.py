"""A webhook connector's keys in the config file: read, checked, and each mistake named."""

import tomllib
from pathlib import Path

import pytest

from appliance.config import file as config
from appliance.config import properties
from appliance.config.file import ConfigError
from appliance.control.server_control import webhook_targets

HOOK = {"name": "Hook", "type": "webhook", "url": "https://crm.example.com/sms"}


def hooks(*tables):
    return config.parse({"connector": list(tables)}).connectors


def test_the_webhook_keys_are_read_with_their_defaults():
    (plain,) = hooks(HOOK)
    assert (plain.timeout, plain.give_up_after, plain.reports_for) == (10.0, 3 * 86400, None)
    (tuned,) = hooks(HOOK | {"token": "t0k", "timeout": 2.5, "give_up_after": 3600, "reports_for": ["HTTP API"]})
    assert (tuned.token, tuned.timeout, tuned.give_up_after, tuned.reports_for) == ("t0k", 2.5, 3600, ("HTTP API",))


def test_the_service_gives_each_webhook_its_timeout_give_up_time_and_the_reports_it_carries():
    connectors = hooks({"name": "Api", "type": "http"}, HOOK | {"timeout": 3, "give_up_after": 600},
                       HOOK | {"name": "Quiet", "reports_for": []})
    hook, quiet = webhook_targets(connectors)
    assert (hook.timeout, hook.give_up_after, hook.reports_for) == (3.0, 600, ("Api",))  # default: every sender
    assert quiet.reports_for == ()
    (alone,) = webhook_targets(hooks(HOOK))
    assert alone.reports_for == (config.DEFAULT_CONNECTOR,)  # the HTTP API connector made by default


@pytest.mark.parametrize("extra, key, words", [
    ({"timeout": 0}, "connector[1].timeout", "from 1 to 300"),
    ({"timeout": 301}, "connector[1].timeout", "from 1 to 300"),
    ({"timeout": "10"}, "connector[1].timeout", "number of seconds"),
    ({"timeout": True}, "connector[1].timeout", "number of seconds"),
    ({"give_up_after": 59}, "connector[1].give_up_after", "between 60 and 2592000"),
    ({"give_up_after": 3600.5}, "connector[1].give_up_after", "integer"),
    ({"reports_for": "HTTP API"}, "connector[1].reports_for", "list of connector names"),
    ({"reports_for": ["HTTP API", ""]}, "connector[1].reports_for", "list of connector names"),
    ({"reports_for": ["Nobody"]}, "connector[1].reports_for", "'Nobody' is not a connector messages come in by"),
    ({"reports_for": ["Hook"]}, "connector[1].reports_for", "connectors of type http: HTTP API"),
    ({"url": "ftp://x"}, "connector[1].url", "http:// or https://"),
    ({"token": 5}, "connector[1].token", "string"),
])
def test_a_bad_webhook_key_is_named_with_what_it_must_be(extra, key, words):
    with pytest.raises(ConfigError) as raised:
        hooks(HOOK | extra)
    assert raised.value.key == key
    assert words in raised.value.problem


@pytest.mark.parametrize("extra", [{"timeout": 5}, {"give_up_after": 600}, {"reports_for": []},
                                   {"url": "https://x.example"}, {"token": "t"}])
def test_an_http_connector_refuses_the_webhook_keys(extra):
    key = next(iter(extra))
    with pytest.raises(ConfigError) as raised:
        hooks({"name": "Api", "type": "http"} | extra)
    assert (raised.value.key, raised.value.problem) == (
        f"connector[1].{key}", "only a webhook connector has one; this one is of type 'http'")


def test_a_property_changed_at_run_time_keeps_the_other_webhook_keys():
    loaded = config.parse({"connector": [{"name": "Api", "type": "http"},
                                         HOOK | {"timeout": 4, "give_up_after": 900, "reports_for": ["Api"]}]})
    changed = properties.apply(loaded, properties.Override(properties.CONNECTOR, "Hook", "Token", "new"))
    hook = changed.connectors[1]
    assert (hook.token, hook.timeout, hook.give_up_after, hook.reports_for) == ("new", 4.0, 900, ("Api",))


def test_the_commented_webhook_example_in_config_example_toml_is_valid():
    example = (Path(__file__).resolve().parent.parent / "config.example.toml").read_text()
    block = example[example.index('# [[connector]]\n# name = "CRM"'):].split("\n#\n")[0]
    uncommented = "\n".join(line.removeprefix("# ") for line in block.splitlines())
    (hook,) = config.parse(tomllib.loads(uncommented)).connectors
    assert (hook.type, hook.url, hook.timeout, hook.give_up_after, hook.reports_for) == (
        "webhook", "https://crm.example.com/sms-events", 10.0, 259200, ("HTTP API",))


def test_a_propertys_kind_range_and_secrecy_come_from_the_config_declaration():
    gateway, connector = properties.GATEWAY_PROPERTIES, properties.CONNECTOR_PROPERTIES
    assert (gateway["SendLimitDay"].kind, gateway["SendLimitDay"].optional) == (properties.NUMBER, True)
    assert (gateway["Enabled"].kind, gateway["Pin"].secret, gateway["Smsc"].secret) == (properties.FLAG, True, False)
    assert (connector["Token"].secret, connector["ReportsFor"].kind) == (True, properties.NAMES)
    assert properties.SETTINGS_PROPERTIES["RetryDelays"].kind == properties.SECONDS
    loaded = config.parse({"connector": [HOOK]})
    changed = properties.apply(loaded, properties.Override(properties.CONNECTOR, "Hook", "Timeout", "2.5"))
    assert changed.connectors[0].timeout == 2.5      # a float key takes a fraction at run time too
    with pytest.raises(ConfigError, match="Timeout: must be a number, not 'soon'"):
        properties.apply(loaded, properties.Override(properties.CONNECTOR, "Hook", "Timeout", "soon"))
