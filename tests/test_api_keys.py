"""API keys: made once, kept as a hash, found by it, revoked for good."""

import hashlib

import pytest

from appliance.accounts import api_keys, users
from appliance.store import db as store_db
from appliance.store.models import ApiKey


@pytest.fixture
def alice(tmp_path):
    database = store_db.open_database(tmp_path)
    yield users.set_user("alice", "long enough", admin=True)
    database.close()


def test_a_key_is_kept_only_as_its_hash_and_names_its_user(alice):
    key, token = api_keys.create(alice, "nagios", now=100.0)
    assert token.startswith("sk_") and len(token) > 40
    stored = ApiKey.get_by_id(key.id)
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert stored.prefix == token[:api_keys.SHOWN_PREFIX] and stored.created_at == 100.0
    principal = api_keys.authenticate(token, now=200.0)
    assert (principal.id, principal.name, principal.is_admin, principal.external) == (alice.id, "alice", True, False)


def test_tokens_are_unique_and_unknown_ones_fail(alice):
    tokens = {api_keys.create(alice)[1] for _ in range(20)}
    assert len(tokens) == 20
    for wrong in ("", "sk_", "sk_" + "A" * 43, next(iter(tokens))[:-1], "Bearer " + next(iter(tokens))):
        assert api_keys.authenticate(wrong) is None


def test_last_use_is_written_at_most_once_a_minute(alice):
    key, token = api_keys.create(alice)
    api_keys.authenticate(token, now=1000.0)
    api_keys.authenticate(token, now=1059.0)
    assert ApiKey.get_by_id(key.id).last_used_at == 1000.0
    api_keys.authenticate(token, now=1060.0)
    assert ApiKey.get_by_id(key.id).last_used_at == 1060.0


def test_revoked_keys_and_deleted_users_stop_working(alice):
    first, token = api_keys.create(alice, "one")
    _, other = api_keys.create(alice, "two")
    assert api_keys.revoke(first.id) and not api_keys.revoke(first.id)
    assert api_keys.authenticate(token) is None and api_keys.authenticate(other) is not None
    assert [k.name for k in api_keys.listed(alice)] == ["two"]
    alice.delete_instance()
    assert api_keys.authenticate(other) is None and api_keys.listed() == []


def test_a_name_must_be_short_and_printable(alice):
    for name in ("x" * 65, "tab\there"):
        with pytest.raises(ValueError, match="at most 64 printable"):
            api_keys.create(alice, name)
    assert ApiKey.select().count() == 0
