"""The block list: managed by the CLI and /api/v1, checked at submission by both APIs, and
filled by stop words received."""

import pytest
from test_http_api import PASSWORD, Client
from test_inbox import deliver

from appliance import cli
from appliance.accounts import users
from appliance.accounts.authenticator import Authenticator
from appliance.connectors.stop_words import StopWords
from appliance.messages import blocklist
from appliance.store import db as store_db
from appliance.store.inbox import Inbox
from appliance.store.models import BlockedNumber, Event, InboundMessage, OutboundMessage
from appliance.store.queue import Queue
from appliance.web.app import create_app
from appliance.web.diafaan.commands import HttpApiContext

STOP_WORDS = ("STOP", "STOPP", "ARRET", "ARRÊT", "STOPPEN", "UNSUBSCRIBE", "BAJA")




def _send(client, to, **params):
    return client.call("send-message", {"username": "alice", "password": PASSWORD, "to": to, "message": "Hi"}
                       | params)


# -- submission ------------------------------------------------------------------------------

def test_the_diafaan_api_gives_a_blocked_recipient_no_line(diafaan):
    blocklist.add("07700 900123", source="cli", country_code="44")
    blocklist.add("+4490", prefix=True, source="cli")
    lines = _send(diafaan, "+447700900001;+44 (0)7700 900123;+44 90 1234 5678;+447700900002")
    assert len(lines) == 2 and all(line.startswith("OK: ") for line in lines)
    assert [OutboundMessage.get_by_id(line[4:]).recipient for line in lines] == ["+447700900001", "+447700900002"]


def test_the_diafaan_api_refuses_a_request_whose_every_recipient_is_blocked(diafaan):
    blocklist.add("+447700900123", source="cli")
    blocklist.add("+4490", prefix=True, source="cli")
    (line,) = _send(diafaan, "07700900123;+449012345678")
    assert line == ("ERROR:301 No recipients found: to: every recipient is on the block list "
                    "(+447700900123, +449012345678)")
    assert OutboundMessage.select().count() == 0


def test_a_prefix_blocks_only_the_numbers_that_start_with_it(diafaan):
    blocklist.add("+44 90", prefix=True, source="cli")
    blocklist.add("+447700900123", source="cli")   # a whole number blocks no longer numbers
    lines = _send(diafaan, "+4409;+4491;+4477009001234")
    assert len(lines) == 3


def test_the_json_api_refuses_each_blocked_recipient_by_itself(json_api):
    blocklist.add("+447700900123", source="api")
    blocklist.add("+4490", prefix=True, source="api")
    reply = json_api.client().post("/messages", {"to": ["+447700900001", "07700 900123", "+449011"],
                                                 "message": "Hi", "guid": "g"})
    assert reply.status == 201
    assert [(m["id"], m["recipient"]) for m in reply.data["messages"]] == [("g-1", "+447700900001")]
    assert reply.data["blocked"] == [
        {"recipient": "+447700900123", "contact_name": "", "reason": "+447700900123 is on the block list"},
        {"recipient": "+449011", "contact_name": "", "reason": "+449011 is on the block list"}]
    assert OutboundMessage.select().count() == 1
    none_left = json_api.client().post("/messages", {"to": ["+449011"], "message": "Hi"})
    assert none_left.status == 422
    assert none_left.error == {"code": "recipients_blocked", "field": "to",
                               "message": "to: every recipient is on the block list (+449011)"}
    assert OutboundMessage.select().count() == 1


# -- /api/v1/blocklist ------------------------------------------------------------------------

def test_administrators_manage_the_block_list_over_the_json_api(json_api):
    admin = json_api.client("root")
    added = admin.post("/blocklist", {"number": "07700 900123", "reason": "asked by phone"})
    assert added.status == 201
    assert {k: added.data[k] for k in ("number", "prefix", "source", "reason")} == {
        "number": "+447700900123", "prefix": False, "source": "api", "reason": "asked by phone"}
    assert admin.post("/blocklist", {"number": "+44 90", "prefix": True}).status == 201
    listed = admin.get("/blocklist")
    assert [(b["number"], b["prefix"]) for b in listed.data["blocked"]] == [("+447700900123", False),
                                                                            ("+4490", True)]
    assert admin.delete("/blocklist/+447700900123").status == 204
    assert [b["number"] for b in admin.get("/blocklist").data["blocked"]] == ["+4490"]
    assert admin.delete("/blocklist/+447700900123").status == 404
    assert [e.kind for e in Event.select().order_by(Event.id)] == ["blocked", "blocked", "unblocked"]


@pytest.mark.parametrize("call", [
    lambda c: c.get("/blocklist"),
    lambda c: c.post("/blocklist", {"number": "+441"}),
    lambda c: c.delete("/blocklist/+441"),
])
def test_only_administrators_may_see_or_change_the_block_list(json_api, call):
    blocklist.add("+441", source="cli")
    assert call(json_api.client("alice")).status == 403
    assert BlockedNumber.select().count() == 1


def test_the_json_api_refuses_what_is_no_number_and_changes_nothing(json_api):
    admin = json_api.client("root")
    reply = admin.post("/blocklist", {"number": "call me"})
    assert reply.status == 422 and reply.error["field"] == "number"
    assert reply.error["message"].startswith("number: 'call me' is not a phone number")
    assert admin.delete("/blocklist/abc").status == 422
    assert BlockedNumber.select().count() == 0


# -- the command line -------------------------------------------------------------------------

def test_the_block_list_from_the_command_line(tmp_path, capsys):
    config = tmp_path / "config.toml"
    config.write_text(f'[storage]\npath = "{tmp_path / "data"}"\n[routing]\ncountry_code = "44"\n')

    def run(*argv):
        code = cli.main(["block", *argv, "--config", str(config)])
        out, err = capsys.readouterr()
        return code, out + err

    assert run("add", "07700 900123", "--reason", "asked") == (
        0, f"+447700900123 is blocked (in {tmp_path / 'data'})\n")
    assert run("add", "+44 90", "--prefix")[1].startswith("every number starting with +4490 is blocked")
    code, listed = run("list")
    assert code == 0
    assert listed.splitlines()[:3] == ["number\tsource\treason", "+447700900123\tcli\tasked", "+4490*\tcli\t-"]
    assert listed.splitlines()[3].startswith("2 blocked")
    assert run("remove", "+447700900123")[1].startswith("+447700900123 is no longer blocked")
    assert run("remove", "+447700900123") == (2, "sms-appliance: +447700900123 is not on the block list\n")
    assert run("add", "call me")[0] == 2
    assert "2 blocked" not in run("list")[1] and "1 blocked" in run("list")[1]


# -- stop words -------------------------------------------------------------------------------

@pytest.fixture
def receiving(tmp_path):
    database = store_db.open_database(tmp_path / "store")
    users.set_user("alice", PASSWORD)
    queue = Queue(database)
    queued = []
    stop_words = StopWords(STOP_WORDS, queue=queue, connector="HTTP API", country_code="44",
                           confirmation="You will get no more messages.", on_queued=lambda: queued.append(1))
    inbox = Inbox(database, receivers=lambda gateway: ["HTTP API"], fanout=stop_words.received)
    context = HttpApiContext(queue=queue, authenticator=Authenticator(), connector="HTTP API",
                             gateway_names=lambda: ("GSM1",), on_accepted=lambda: None, inbox=inbox,
                             server_status=dict, country_code="44")
    yield inbox, Client(create_app(context)), queued
    database.close()


@pytest.mark.parametrize("text", ["STOP", "  stop \n", "Arrêt", "unsubscribe", "Baja"])
def test_a_stop_word_received_blocks_its_sender_and_a_following_send_is_refused(receiving, text):
    inbox, client, queued = receiving
    (pdu_hex,) = deliver(text, number="+447700900123")
    (message_id,) = inbox.store("GSM1", pdu_hex)
    entry = BlockedNumber.get(BlockedNumber.number == "+447700900123")
    assert entry.source == "stop word" and message_id in entry.reason
    event = Event.get(Event.kind == "blocked")
    assert event.gateway == "GSM1" and "+447700900123" in event.text
    # the confirmation is queued with the message, through the gateway it came by
    (confirmation,) = OutboundMessage.select()
    assert (confirmation.recipient, confirmation.text, confirmation.gateways) == (
        "+447700900123", "You will get no more messages.", "GSM1")
    assert queued == [1]
    # the message itself still reaches the connectors
    assert InboundMessage.get_by_id(message_id).connectors == "HTTP API"
    (line,) = _send(client, "07700 900123")
    assert line.startswith("ERROR:301 No recipients found: to: every recipient is on the block list")
    assert OutboundMessage.select().count() == 1


@pytest.mark.parametrize("text", ["STOP please", "STOP.", "Don't stop", "STO P"])
def test_only_a_whole_stop_word_blocks(receiving, text):
    inbox, client, _ = receiving
    (pdu_hex,) = deliver(text, number="+447700900123")
    inbox.store("GSM1", pdu_hex)
    assert BlockedNumber.select().count() == 0
    assert _send(client, "+447700900123")[0].startswith("OK: ")


def test_without_a_confirmation_text_nothing_is_sent_back(tmp_path):
    database = store_db.open_database(tmp_path)
    stop_words = StopWords(STOP_WORDS, queue=Queue(database), connector="HTTP API")
    inbox = Inbox(database, fanout=stop_words.received)
    (pdu_hex,) = deliver("STOP", number="+33612345678")
    inbox.store("GSM1", pdu_hex)
    assert [b.number for b in BlockedNumber.select()] == ["+33612345678"]
    assert OutboundMessage.select().count() == 0
    database.close()


def test_a_stop_word_from_an_alphanumeric_sender_blocks_nothing(receiving):
    inbox, _, queued = receiving
    (pdu_hex,) = deliver("STOP", number="Vodafone")
    assert len(inbox.store("GSM1", pdu_hex)) == 1
    assert BlockedNumber.select().count() == 0 and OutboundMessage.select().count() == 0 and queued == []
