"""Config files: the example loads, and every mistake names its key."""

import logging
from pathlib import Path
from typing import Annotated

import msgspec
import pytest

from appliance.config import file as config
from appliance.config import schema
from appliance.config.file import ConfigError

EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.toml"


def test_no_file_gives_the_embedded_default():
    default = config.load(None)
    assert default.http.listen == "127.0.0.1:9710"
    assert default.storage.path == "./data"
    assert default.modems == ()


def test_the_documented_example_config_loads():
    example = config.load(EXAMPLE)
    assert example.modems[0].name == "GSM Modem Gateway"
    assert example.modems[0].baudrate == 115200
    assert example.http.port == 9710


def test_a_full_modem_table_is_read_into_its_dataclass():
    parsed = config.parse({"modem": [{"name": "A", "port": "/dev/ttyUSB2", "baudrate": 9600,
                                      "model": "sim800", "pin": "0123", "smsc": "+447785016005"}]})
    assert parsed.modems == (config.ModemConfig("A", "/dev/ttyUSB2", 9600, "sim800", "0123", "+447785016005"),)
    pi = config.parse({"modem": [{"name": "A", "port": "/dev/ttyS0", "pwrkey_gpio": 6, "pwrkey_pressed_high": True,
                                  "delivery_reports": False}]}).modems[0]
    assert (pi.pwrkey_gpio, pi.pwrkey_pressed_high, pi.delivery_reports) == (6, True, False)
    assert (pi.reset_gpio, pi.reset_active_high, pi.ri_gpio) == (None, False, None)  # lines are optional
    lines = config.parse({"modem": [{"name": "A", "port": "/dev/ttyS0", "reset_gpio": 5, "reset_active_high": True,
                                     "ri_gpio": 17}]}).modems[0]
    assert (lines.pwrkey_gpio, lines.reset_gpio, lines.reset_active_high, lines.ri_gpio) == (None, 5, True, 17)


@pytest.mark.parametrize("raw, key, words", [
    ({"htp": {}}, "htp", "unknown key"),
    ({"http": {"listen": "9710"}}, "http.listen", "HOST:PORT"),
    ({"http": {"connections": "8"}}, "http.connections", "integer"),
    ({"storage": {"path": ""}}, "storage.path", "non-empty"),
    ({"modem": {"name": "A"}}, "modem", "[[modem]]"),
    ({"modem": [{"port": "/dev/x"}, {"name": "GSM Modem Gateway", "port": "/y"}]}, "modem[2].name",
     "another modem"),
    ({"modem": [{"name": "A"}]}, "modem[1].port", "required"),
    ({"modem": [{"name": "A", "port": "/x", "baudrate": 1234}]}, "modem[1].baudrate", "not one of"),
    ({"modem": [{"name": "A", "port": "/x", "baudrate": "fast"}]}, "modem[1].baudrate", "integer"),
    ({"modem": [{"name": "A", "port": "/x", "model": "nokia"}]}, "modem[1].model", "not one of"),
    ({"modem": [{"name": "A", "port": "/x", "pin": 1234}]}, "modem[1].pin", "string"),
    ({"modem": [{"name": "A", "port": "/x", "pin": "12"}]}, "modem[1].pin", "4 to 8 digits"),
    ({"modem": [{"name": "A", "port": "/x", "smsc": "centre"}]}, "modem[1].smsc", "phone number"),
    ({"modem": [{"name": "A", "port": "/x", "speed": 1}]}, "modem[1].speed", "unknown key"),
    ({"modem": [{"name": "A;B", "port": "/x"}]}, "modem[1].name", "';'"),
    ({"modem": [{"name": "A", "port": "/x"}, {"name": "A", "port": "/y"}]}, "modem[2].name", "another modem"),
    ({"modem": [{"name": "A", "port": "/x", "delivery_reports": "yes"}]}, "modem[1].delivery_reports", "true or false"),
    ({"modem": [{"name": "A", "port": "/x", "pwrkey_gpio": 40}]}, "modem[1].pwrkey_gpio", "between 0 and 27"),
    ({"modem": [{"name": "A", "port": "/x", "reset_gpio": 28}]}, "modem[1].reset_gpio", "between 0 and 27"),
    ({"modem": [{"name": "A", "port": "/x", "ri_gpio": "17"}]}, "modem[1].ri_gpio", "integer"),
    ({"modem": [{"name": "A", "port": "/x", "reset_active_high": 1}]}, "modem[1].reset_active_high", "true or false"),
    ({"modem": [{"name": "A", "port": "/x", "pwrkey_gpio": 6, "ri_gpio": 6}]}, "modem[1].ri_gpio",
     "GPIO 6 is already modem[1].pwrkey_gpio"),
    ({"modem": [{"name": "A", "port": "/x", "ri_gpio": 17}, {"name": "B", "port": "/y", "reset_gpio": 17}]},
     "modem[2].reset_gpio", "GPIO 17 is already modem[1].ri_gpio"),
    ({"receive": {"incomplete_after": 5}}, "receive.incomplete_after", "between 60"),
    ({"connector": [{"name": "W", "type": "webhook"}]}, "connector[1].url", "http:// or https://"),
    ({"connector": [{"name": "W", "type": "fax"}]}, "connector[1].type", "not one of"),
    ({"connector": [{"name": "A"}, {"name": "B"}]}, "connector", "only one connector"),
    ({"connector": [{"name": "A", "gateways": [{"name": "G", "role": "spare"}]}]},
     "connector[1].gateways[1].role", "not one of"),
    ({"routing": {"retry_delays": []}}, "routing.retry_delays", "list of seconds"),
    ({"http": {"guest": "a b"}}, "http.guest", "must be a user name of 1 to 64 letters, digits or . _ @ -, not 'a b'"),
    ({"http": {"guest": ""}}, "http.guest", "must be a user name of 1 to 64 letters, digits or . _ @ -, not ''"),
    ({"http": {"tls_cert": "/etc/c.pem"}}, "http.tls_key", "is required with http.tls_cert"),
    ({"http": {"tls_key": "/etc/k.pem"}}, "http.tls_cert", "is required with http.tls_key"),
    ({"http": {"auth_callback_url": "http://auth.example.com/check"}}, "http.auth_callback_url", "https://"),
    ({"http": {"auth_callback_url": "ftp://localhost/"}}, "http.auth_callback_url", "https://"),
    ({"http": {"send_server_command": "yes"}}, "http.send_server_command", "true or false"),
    ({"modem": [{"name": "A", "port": "/x", "enabled": 0}]}, "modem[1].enabled", "true or false"),
    ({"connector": [{"name": "A", "enabled": "no"}]}, "connector[1].enabled", "true or false"),
    ({"modem": [{"name": "A", "port": "/x"}], "provider": [{"name": "A", "type": "twilio"}]}, "provider[1].name",
     "'A' is used by a modem"),
    ({"provider": [{"name": "P", "type": "infobip"}, {"name": "P", "type": "twilio"}]}, "provider[2].name",
     "another provider"),
    ({"provider": [{"name": "P", "type": "fax"}]}, "provider[1].type", "not one of"),
    ({"provider": [{"name": "P", "type": "http", "start_date": "1.3.2026"}]}, "provider[1].start_date", "YYYY-MM-DD"),
    ({"provider": [{"name": "P", "type": "http", "start_date": "2026-02-30"}]}, "provider[1].start_date", "YYYY-MM-DD"),
    ({"provider": [{"name": "P", "type": "http", "sender": "TwelveLetter"}]}, "provider[1].sender", "up to 11"),
    ({"provider": [{"name": "P", "type": "http", "fallback_sender": "+49152123456789012"}]},
     "provider[1].fallback_sender", "16 digits"),
    ({"provider": [{"name": "P", "type": "http", "proxy": "proxy"}]}, "provider[1].proxy", "HOST:PORT"),
    ({"provider": [{"name": "P", "type": "http", "base_url": "http://sms.example.com"}]}, "provider[1].base_url",
     "https://"),
])
def test_every_mistake_is_reported_with_its_key_path(raw, key, words):
    with pytest.raises(ConfigError) as caught:
        config.parse(raw)
    assert caught.value.key == key
    assert str(caught.value).startswith(f"{key}: ")
    assert words in str(caught.value)


def test_send_server_command_is_off_and_everything_enabled_unless_the_file_says_otherwise():
    assert config.load(None).http.send_server_command is False
    parsed = config.parse({"http": {"send_server_command": True},
                           "modem": [{"name": "A", "port": "/x"}, {"name": "B", "port": "/y", "enabled": False}],
                           "connector": [{"name": "API", "enabled": False}]})
    assert parsed.http.send_server_command is True
    assert [m.enabled for m in parsed.modems] == [True, False]
    assert parsed.connectors[0].enabled is False


def test_bad_toml_and_missing_file_say_which_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[http\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        config.load(bad)
    with pytest.raises(ConfigError, match="no such file"):
        config.load(tmp_path / "missing.toml")


def test_command_line_overrides_are_validated_too():
    base = config.load(None)
    assert base.with_overrides(listen="0.0.0.0:80").http.port == 80
    with pytest.raises(ConfigError, match="--listen"):
        base.with_overrides(listen="localhost")


def test_security_settings_are_read():
    http = config.parse({"http": {"guest": "kiosk", "auth_callback_url": "https://auth.example.com/check",
                                  "tls_cert": "/etc/sms-appliance/tls/cert.pem",
                                  "tls_key": "/etc/sms-appliance/tls/key.pem"}}).http
    assert (http.guest, http.auth_callback_url, http.tls_cert, http.tls_key, http.scheme) == (
        "kiosk", "https://auth.example.com/check", "/etc/sms-appliance/tls/cert.pem",
        "/etc/sms-appliance/tls/key.pem", "https")
    default = config.load(None).http
    assert (default.guest, default.auth_callback_url, default.tls_cert, default.scheme) == (None, None, None, "http")
    assert config.parse({"http": {"auth_callback_url": "http://127.0.0.1:8080/check"}}).http.auth_callback_url


def test_a_renamed_key_is_read_with_a_warning_that_names_the_new_key(caplog):
    with caplog.at_level(logging.WARNING, logger="appliance.config"):
        config._renamed(("http", "connections"), "conns")
        config._renamed(("modem", 1, "port"), "device")
    assert "config: http.conns is now called http.connections; it is read as before" in caplog.text
    assert "config: modem[2].device is now called modem[2].port" in caplog.text


class Line(msgspec.Struct, forbid_unknown_fields=True):
    size: Annotated[int, msgspec.Meta(ge=1, extra={"renamed_from": ("length", "len")})] = 1


class Document(msgspec.Struct, forbid_unknown_fields=True):
    lines: list[Line] = []


def test_renamed_keys_are_declared_in_the_schema_and_found_in_arrays_of_tables_too():
    seen = []
    document = schema.convert({"lines": [{"len": 3}, {"size": 4}, {"length": 5}]}, Document, schema.TOML,
                              warn=lambda path, old: seen.append((path, old)))
    assert [line.size for line in document.lines] == [3, 4, 5]
    assert seen == [(("lines", 0, "size"), "len"), (("lines", 2, "size"), "length")]
    with pytest.raises(schema.Refused) as refused:   # checked under its new name, named by its new path
        schema.convert({"lines": [{"size": 1}, {"len": 0}]}, Document, schema.TOML, warn=lambda path, old: None)
    assert str(refused.value) == "lines[2].size: must be at least 1, not 0"


def test_a_secret_is_never_repeated_in_a_message():
    with pytest.raises(ConfigError) as raised:
        config.parse({"modem": [{"name": "A", "port": "/x", "pin": "98"}]})
    assert raised.value.key == "modem[1].pin" and "98" not in str(raised.value)
    with pytest.raises(ConfigError) as raised:
        config.parse({"connector": [{"name": "W", "type": "webhook", "url": "https://x", "token": 12345}]})
    assert raised.value.key == "connector[1].token" and "12345" not in str(raised.value)


def test_a_port_beyond_65535_is_refused_in_the_file_and_on_the_command_line():
    with pytest.raises(ConfigError, match=r"http\.listen: must be HOST:PORT"):
        config.parse({"http": {"listen": "0.0.0.0:65536"}})
    assert config.parse({"http": {"listen": "[::1]:65535"}}).http.port == 65535
    with pytest.raises(ConfigError, match="--data: must be a non-empty string"):
        config.load(None).with_overrides(data=" ")


def test_a_refusal_the_schema_layer_cannot_take_apart_keeps_msgspecs_words_and_path():
    odd = msgspec.ValidationError("Something new - at `$.modem[0].colour`")
    refusal = schema.explain(odd, config.Config, {"modem": [{"name": "A", "port": "/x"}]}, schema.TOML)
    assert (refusal.key(schema.TOML), refusal.problem) == ("modem[1].colour", "Something new")


def test_a_modem_the_file_does_not_name_is_the_gateway_diafaan_users_know():
    parsed = config.parse({"modem": [{"port": "/dev/ttyUSB2"}, {"name": "Backup", "port": "/dev/ttyUSB3"},
                                   {"port": "/dev/ttyUSB4"}]})
    assert [m.name for m in parsed.modems] == ["GSM Modem Gateway", "Backup", "GSM Modem Gateway 3"]


def test_a_provider_table_is_read_with_its_checked_values():
    read = config.parse({"provider": [{"name": "Infobip I", "type": "infobip", "start_date": "2026-03-01",
                                       "sender": "Clinic", "fallback_sender": "+4915212345678",
                                       "proxy": "10.0.0.1:3128",
                                       "base_url": "http://127.0.0.1:8080"}]})
    (provider,) = read.providers
    assert (provider.name, provider.sender, provider.proxy, provider.max_length) == (
        "Infobip I", "Clinic", "10.0.0.1:3128", 1000)
