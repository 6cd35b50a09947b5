"""The command line: user management on the shared store, and clear errors."""

import socket

import pytest

from appliance import cli, users
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


def test_a_port_in_use_is_a_clear_start_failure(tmp_path, capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, _, err = run(capsys, "run", "--listen", f"127.0.0.1:{port}", "--data", str(tmp_path))
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


def test_api_keys_from_the_command_line(tmp_path, capsys):
    from appliance import api_keys

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
