"""The command line: user management on the shared store, and clear errors."""

import os
import socket

import pytest

from appliance import cli
from appliance.accounts import users
from appliance.store import db as store_db
from appliance.store.models import User


def run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_user_set_writes_to_the_store_that_run_uses(tmp_path, capsys):
    code, out, _ = run(capsys, "user", "set", "alice", "--password", "long enough", "--data", str(tmp_path))
    assert code == 0 and "user 'alice' saved" in out
    code, out, _ = run(capsys, "user", "set", "alice", "--password", "another one", "--admin",
                       "--data", str(tmp_path))
    assert code == 0 and "administrator 'alice'" in out
    database = store_db.open_database(tmp_path)
    try:
        principal = users.authenticate("alice", "another one")
        assert principal is not None and principal.is_admin
        assert users.authenticate("alice", "long enough") is None
        assert "another one" not in User.get(User.name == "alice").password_hash
    finally:
        database.close()


def test_user_set_reads_the_data_directory_from_the_config(tmp_path, capsys):
    config = tmp_path / "config.toml"
    config.write_text(f'[storage]\npath = "{tmp_path / "store"}"\n')
    code, _, _ = run(capsys, "user", "set", "bob", "--password", "long enough", "--config", str(config))
    assert code == 0
    assert (tmp_path / "store" / store_db.DATABASE_FILE).exists()


@pytest.mark.parametrize("argv, message", [
    (["user", "set", "alice", "--password", "short"], "password must be at least 8 characters"),
    (["user", "set", "a b", "--password", "long enough"], "user name must be"),
])
def test_bad_user_input_is_refused_and_stores_nothing(tmp_path, capsys, argv, message):
    code, _, err = run(capsys, *argv, "--data", str(tmp_path))
    assert code == 2 and message in err
    database = store_db.open_database(tmp_path)
    try:
        assert User.select().count() == 0
    finally:
        database.close()


def test_config_errors_name_the_key_and_exit_2(tmp_path, capsys):
    config = tmp_path / "config.toml"
    config.write_text('[[modem]]\nname = "A"\nport = "/dev/ttyUSB0"\nbaudrate = 1234\n')
    code, _, err = run(capsys, "run", "--config", str(config), "--data", str(tmp_path))
    assert code == 2
    assert "configuration error: modem[1].baudrate: 1234 is not one of" in err
    code, _, err = run(capsys, "run", "--listen", "nowhere", "--data", str(tmp_path))
    assert code == 2 and "--listen: must be HOST:PORT" in err


HOW_TO_START = ("no gateway is configured: add a [[modem]] table for each modem or a [[provider]] table for "
                "each HTTP SMS provider account (config.example.toml shows one) and start with "
                "`sms-appliance run --config FILE`; or try the appliance on simulated modems "
                "with `make run` or `sms-appliance run --simulate N`")


@pytest.mark.parametrize("simulate", [[], ["--simulate", "0"]])
def test_no_gateway_is_an_error_naming_the_config_file(tmp_path, capsys, simulate):
    """Nothing simulated unless asked: a config without a [[modem]] table does not start a
    service that would accept messages and never send them."""
    config = tmp_path / "config.toml"
    config.write_text(f'[http]\nlisten = "127.0.0.1:0"\n[storage]\npath = "{tmp_path / "data"}"\n')
    code, out, err = run(capsys, "run", "--config", str(config), *simulate)
    assert code == 2 and out == ""
    assert err == f"sms-appliance: configuration error: {config}: {HOW_TO_START}\n"
    assert not (tmp_path / "data").exists()  # refused before anything was opened or created


def test_no_config_file_and_no_simulate_is_an_error_saying_so(tmp_path, capsys):
    code, out, err = run(capsys, "run", "--data", str(tmp_path / "data"), "--listen", "127.0.0.1:0")
    assert code == 2 and out == ""
    assert err == f"sms-appliance: configuration error: no config file (--config FILE): {HOW_TO_START}\n"
    assert not (tmp_path / "data").exists()


def test_the_service_itself_refuses_to_run_without_a_gateway(tmp_path):
    from appliance.app.service import NoGatewayError, Service
    from appliance.config.file import Config, StorageConfig

    with pytest.raises(NoGatewayError, match=r"^modem: no gateway is configured: add a \[\[modem\]\] table"):
        Service(Config(storage=StorageConfig(str(tmp_path / "data"))))
    assert not (tmp_path / "data").exists()


def test_a_port_in_use_is_a_clear_start_failure(tmp_path, capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, _, err = run(capsys, "run", "--listen", f"127.0.0.1:{port}", "--simulate", "1", "--data", str(tmp_path))
    assert code == 1
    assert "cannot start" in err
    database = store_db.open_database(tmp_path)
    try:  # the admin password is shown once: a failed start must not use that once up
        assert User.select().count() == 0
    finally:
        database.close()


def test_contacts_and_groups_from_the_command_line(tmp_path, capsys):
    data = ["--data", str(tmp_path)]
    assert run(capsys, "user", "set", "alice", "--password", "long enough", *data)[0] == 0
    code, out, _ = run(capsys, "contact", "set", "alice", "Dr Who", "+44 7700 900001", *data)
    assert code == 0 and "contact 'Dr Who' of alice is +447700900001" in out
    assert run(capsys, "group", "set", "alice", "On call", "Dr Who", *data)[0] == 0
    code, _, err = run(capsys, "group", "set", "alice", "Night", "Nobody", *data)
    assert code == 2 and "alice has no contact named 'Nobody'" in err
    code, _, err = run(capsys, "contact", "set", "alice", "Bad", "12ab", *data)
    assert code == 2 and "is not a phone number" in err
    code, _, err = run(capsys, "contact", "set", "mallory", "X", "+441", *data)
    assert code == 2 and "no such user" in err


@pytest.mark.parametrize("setting, words", [
    ('guest = "kiosk"', "configuration error: http.guest: user 'kiosk' is an administrator and cannot be the guest"),
    ('guest = "nobody"', "configuration error: http.guest: no local user 'nobody'"),
    ('tls_cert = "/nonexistent.crt"\ntls_key = "/nonexistent.key"', "configuration error: http.tls_cert: cannot read"),
])
def test_security_settings_are_checked_at_start(tmp_path, capsys, setting, words):
    assert run(capsys, "user", "set", "kiosk", "--password", "long enough", "--admin", "--data", str(tmp_path))[0] == 0
    config = tmp_path / "config.toml"
    config.write_text(f'[http]\nlisten = "127.0.0.1:0"\n{setting}\n')
    code, _, err = run(capsys, "run", "--config", str(config), "--data", str(tmp_path), "--simulate", "1")
    assert code == 2 and words in err


def test_receive_connectors_from_the_command_line(tmp_path, capsys):
    data = ["--data", str(tmp_path)]
    code, out, _ = run(capsys, "receive-connector", "set", "provider", "--number", "+44 7700 900000", *data)
    assert code == 0 and "/receive/provider, number +447700900000, routing inbox to 'HTTP API'" in out
    token = out.split("token (shown this once; only its hash is kept): ")[1].split()[0]
    code, out, _ = run(capsys, "receive-connector", "set", "provider", "--subject", "Support", *data)
    assert code == 0 and "token" not in out.replace("token required", "")  # not shown again
    code, out, _ = run(capsys, "receive-connector", "set", "provider", "--new-token", *data)
    assert code == 0 and token not in out and "shown this once" in out
    code, out, _ = run(capsys, "receive-connector", "list", *data)
    assert code == 0 and "/receive/provider" in out and "subject 'Support'" in out
    code, _, err = run(capsys, "receive-connector", "set", "provider", "--routing", "webhook",
                       "--target", "Alerts", *data)
    assert code == 2 and "target: no connector named 'Alerts' is configured (there are: HTTP API)" in err
    with pytest.raises(SystemExit):
        run(capsys, "receive-connector", "set", "provider", "--no-token", "--new-token", *data)
    assert "not allowed with" in capsys.readouterr().err
    assert run(capsys, "receive-connector", "remove", "provider", *data)[0] == 0
    code, _, err = run(capsys, "receive-connector", "remove", "provider", *data)
    assert code == 2 and "no receive connector named 'provider'" in err


def test_a_webhook_target_must_be_a_configured_webhook_connector(tmp_path, capsys):
    config = tmp_path / "config.toml"
    config.write_text('[[connector]]\nname = "Alerts"\ntype = "webhook"\nurl = "https://example.com/sms"\n')
    argv = ["receive-connector", "set", "provider", "--routing", "webhook", "--config", str(config),
            "--data", str(tmp_path)]
    code, out, _ = run(capsys, *argv)  # the one webhook connector is the default target
    assert code == 0 and "routing webhook to 'Alerts'" in out


def test_api_keys_from_the_command_line(tmp_path, capsys):
    from appliance.accounts import api_keys

    data = ["--data", str(tmp_path)]
    assert run(capsys, "user", "set", "alice", "--password", "long enough", *data)[0] == 0
    code, out, _ = run(capsys, "key", "create", "alice", "--name", "nagios", *data)
    assert code == 0 and "shown this once" in out
    token = out.split(": ", 1)[1].split()[0]
    assert token.startswith("sk_")
    code, out, _ = run(capsys, "key", "list", *data)
    assert code == 0 and "\talice\tnagios\t" in out and token not in out and "never used" in out
    database = store_db.open_database(tmp_path)
    try:
        assert api_keys.authenticate(token).name == "alice"
    finally:
        database.close()
    code, out, _ = run(capsys, "key", "revoke", "1", *data)
    assert code == 0 and "API key 1 revoked" in out
    code, _, err = run(capsys, "key", "revoke", "1", *data)
    assert code == 2 and "there is no API key 1" in err
    code, _, err = run(capsys, "key", "create", "mallory", *data)
    assert code == 2 and "no such user" in err
    database = store_db.open_database(tmp_path)
    try:
        assert api_keys.authenticate(token) is None
    finally:
        database.close()


def _damage(data_dir, *, header: bool) -> None:
    """Write over the store: its header (not a database at all) or a page in the middle."""
    database = store_db.open_database(data_dir)
    database.close()
    path = data_dir / store_db.DATABASE_FILE
    raw = bytearray(path.read_bytes())
    start = 0 if header else 4096 * 2  # the third page: a table's, past the schema
    raw[start:start + 4096] = b"\xa5" * 4096
    path.write_bytes(bytes(raw))
    for suffix in ("-wal", "-shm"):
        (data_dir / (store_db.DATABASE_FILE + suffix)).unlink(missing_ok=True)


@pytest.mark.parametrize("header", [True, False])
def test_a_damaged_store_stops_the_start_with_one_line_saying_what_to_do(tmp_path, capsys, header):
    _damage(tmp_path, header=header)
    code, _, err = run(capsys, "run", "--listen", "127.0.0.1:0", "--simulate", "1", "--data", str(tmp_path))
    assert code == 1
    assert "restore a backup of" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    code, _, err = run(capsys, "user", "set", "alice", "--password", "long enough", "--data", str(tmp_path))
    assert code == 1 and "cannot open the store: the database is damaged" in err


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes read-only files")
def test_a_read_only_store_says_to_fix_the_permissions(tmp_path, capsys):
    store_db.open_database(tmp_path).close()
    (tmp_path / store_db.DATABASE_FILE).chmod(0o400)
    tmp_path.chmod(0o500)
    try:
        code, _, err = run(capsys, "user", "set", "alice", "--password", "long enough", "--data", str(tmp_path))
    finally:
        tmp_path.chmod(0o700)
    assert code == 1 and "fix the permissions" in err and "Traceback" not in err


def test_a_debug_log_shows_no_stored_secret(database, caplog):
    """peewee logs each query's values at DEBUG: its logger stays at INFO, so a token
    being stored is not written to the log even with --log-level DEBUG."""
    import logging

    from appliance.cli import configure_logging
    from appliance.store.models import ConfigOverride

    root = logging.getLogger()
    level = root.level
    try:
        configure_logging("DEBUG")
        with caplog.at_level(logging.DEBUG):
            ConfigOverride.create(scope="gateway", name="Provider", property="Token", value="secret-token-1",
                                  updated_at=0.0)
        assert "secret-token-1" not in caplog.text
    finally:
        root.setLevel(level)
        logging.getLogger("peewee").setLevel(logging.NOTSET)
