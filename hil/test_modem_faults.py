"""Hardware-in-loop: the appliance's driver against every behaviour and fault of the
simulated modem — receiving, delivery reports, reboots (with banners and quiet ones), lost
network (2G and LTE), a SIM without an SMS centre, a vanishing port, a full SIM, noise —
with nothing lost."""

import pytest

from appliance import pdu
from appliance.config.file import ModemConfig
from appliance.modem.driver import ModemState
from appliance.store.models import InboundMessage, MessageState, OutboundMessage
from appliance.store.queue import NewMessage
from hil.simulator import SimulatedModem

from .test_modem_path import Rig, sorted_texts, wait_for, working

MODELS = ["sim800", "sim7600", "ec25", "huawei"]


def ready(rig):
    wait_for(lambda: all(g.driver.state == ModemState.READY for g in rig.gateways), what="modem ready")


def texts(rig):
    return sorted(InboundMessage.get_by_id(i).text for i in rig.received)


@pytest.mark.parametrize("model", MODELS)
def test_every_family_initialises_sends_and_receives(tmp_path, model):
    with SimulatedModem(model=model, report_delay=0.2) as modem:
        rig = Rig(tmp_path, [modem]).start()
        try:
            ready(rig)
            driver = rig.gateways[0].driver
            assert driver.dialect.name == model  # detected from AT+CGMM
            wait_for(lambda: "AT+CCLK?" in modem.commands, what="the first health check")
            assert ("AT+CEREG?" in modem.commands) == (model in ("sim7600", "ec25"))
            assert driver.status()["smsc"] == "+15555550100"  # read from the SIM
            (message_id,) = rig.send(NewMessage("+447700900123", f"hello from {model}"))
            wait_for(lambda: rig.state(message_id) == MessageState.DELIVERED, what="delivered")
            modem.deliver_sms("+447700900555", f"reply to {model}")
            wait_for(lambda: rig.received, what="the reply stored")
            assert texts(rig) == [f"reply to {model}"]
            wait_for(lambda: modem.messages(driver.dialect.storage) == [], what="the reply deleted once kept")
        finally:
            rig.stop()


def test_a_multipart_sms_arriving_out_of_order_with_messages_between_is_joined(tmp_path):
    with SimulatedModem() as modem:
        rig = Rig(tmp_path, [modem]).start()
        try:
            ready(rig)
            long_text = "Stock low in store 4: " * 18  # 396 GSM 7-bit characters: three parts
            modem.deliver_sms("+441", long_text, parts_order=[3, 1, 2])
            modem.deliver_sms("+442", "short one")
            wait_for(lambda: len(rig.received) == 2, what="both messages")
            assert texts(rig) == sorted([long_text, "short one"])
        finally:
            rig.stop()


def test_messages_waiting_on_the_sim_before_start_are_collected(tmp_path):
    with SimulatedModem() as modem:
        modem.deliver_sms("+441", "arrived while we were down")
        rig = Rig(tmp_path, [modem]).start()
        try:
            wait_for(lambda: rig.received, what="the sweep at start")
            assert texts(rig) == ["arrived while we were down"]
        finally:
            rig.stop()


def test_a_failed_delivery_report_makes_the_message_undelivered_with_the_reason(tmp_path):
    with SimulatedModem(report_delay=0.1) as modem:
        modem.set_next_report(0x46)  # validity period expired
        rig = Rig(tmp_path, [modem]).start()
        try:
            (message_id,) = rig.send(NewMessage("+441", "never delivered"))
            wait_for(lambda: rig.state(message_id) == MessageState.UNDELIVERED, what="undelivered by its report")
            assert OutboundMessage.get_by_id(message_id).error_text == "not delivered: validity period expired"
        finally:
            rig.stop()


@pytest.mark.parametrize("model", MODELS)
def test_a_modem_that_reboots_while_idle_is_reinitialised_and_nothing_is_lost(tmp_path, model):
    with SimulatedModem(model=model) as modem:  # huawei boots quietly: its echo gives it away
        rig = Rig(tmp_path, [modem], health_interval=0.3).start()
        try:
            ready(rig)
            first = rig.send(NewMessage("+441", "before the reboot"))
            wait_for(lambda: rig.state(first[0]) == MessageState.SENT, what="first sent")
            modem.reboot()
            wait_for(lambda: modem.commands.count("ATE0") >= 2, what="initialised again")
            ready(rig)
            after = rig.send(*[NewMessage("+441", f"after the reboot {n}") for n in range(3)])
            wait_for(lambda: all(rig.state(i) == MessageState.SENT for i in after), what="all sent")
            assert [pdu.decode(s.pdu).text for s in modem.sent] == [
                "before the reboot", *(f"after the reboot {n}" for n in range(3))]
            modem.deliver_sms("+442", "after the reboot")
            wait_for(lambda: texts(rig) == ["after the reboot"], what="received: CNMI is set again")
        finally:
            rig.stop()


@pytest.mark.parametrize("model", MODELS)
def test_a_send_that_hangs_until_the_modem_reboots_is_sent_again(tmp_path, model):
    # banners end the wait at once; a quiet huawei's send times out and the port starts over
    with SimulatedModem(model=model) as modem:
        rig = Rig(tmp_path, [modem], send_timeout=1.5, restart_delay=0.2).start()
        try:
            ready(rig)
            modem.hang_next_send()
            ids = rig.send(*[NewMessage("+441", f"queued at the reboot {n}") for n in range(3)])
            # the PDU is in (the modem hangs after its Ctrl-Z): a reboot before would leave the
            # hang for the next send. Written by the driver is not yet read by the modem.
            wait_for(lambda: modem.send_faults_pending() == 0, what="the send's PDU taken by the hang")
            modem.reboot()
            wait_for(lambda: all(rig.state(i) == MessageState.SENT for i in ids), what="all sent after the reboot")
            assert sorted_texts(modem.sent) == [f"queued at the reboot {n}" for n in range(3)]
        finally:
            rig.stop()


def test_a_quiet_reboot_just_before_a_send_shows_in_its_echo_and_each_message_goes_once(tmp_path):
    with SimulatedModem(model="huawei") as modem:
        rig = Rig(tmp_path, [modem]).start()  # no health check comes between: only the send tells
        try:
            working(rig, [modem])
            modem.reboot()
            ids = rig.send(*[NewMessage("+441", f"right after the reboot {n}") for n in range(3)])
            wait_for(lambda: all(rig.state(i) == MessageState.SENT for i in ids), what="all sent")
            assert modem.commands.count("ATE0") == 2 and rig.gateways[0].driver.state == ModemState.READY
            assert sorted_texts(modem.sent[1:]) == [
                f"right after the reboot {n}" for n in range(3)]
        finally:
            rig.stop()


def test_lost_network_holds_messages_until_it_is_back(tmp_path):
    with SimulatedModem() as modem:
        rig = Rig(tmp_path, [modem]).start()
        try:
            ready(rig)
            modem.lose_network(2)
            wait_for(lambda: rig.gateways[0].driver.state == ModemState.NOT_REGISTERED, what="not registered")
            (message_id,) = rig.send(NewMessage("+441", "after the tunnel"))
            assert rig.state(message_id) == MessageState.QUEUED and modem.sent == []
            modem.regain_network()
            wait_for(lambda: rig.state(message_id) == MessageState.SENT, what="sent once registered")
        finally:
            rig.stop()


@pytest.mark.parametrize("model", ["sim7600", "ec25"])
def test_an_lte_only_modem_sends_and_its_cereg_urcs_pause_and_resume_it(tmp_path, model):
    with SimulatedModem(model=model) as modem:
        modem.set_lte_only()  # +CREG says not registered the whole time
        rig = Rig(tmp_path, [modem]).start()
        try:
            ready(rig)
            driver = rig.gateways[0].driver
            wait_for(lambda: driver.health.eps_registration == 1, what="the first health check")
            assert driver.health.registration == 0 and driver.state == ModemState.READY
            first = rig.send(NewMessage("+441", "over LTE"))
            wait_for(lambda: rig.state(first[0]) == MessageState.SENT, what="sent over LTE")
            modem.lose_network(2)
            wait_for(lambda: driver.state == ModemState.NOT_REGISTERED, what="not registered")
            (held,) = rig.send(NewMessage("+441", "after the tunnel"))
            assert rig.state(held) == MessageState.QUEUED and len(modem.sent) == 1
            modem.regain_network()
            wait_for(lambda: rig.state(held) == MessageState.SENT, what="sent once registered")
        finally:
            rig.stop()


def test_a_sim_without_an_smsc_receives_and_leaves_sending_to_another_modem(tmp_path):
    with SimulatedModem() as bare, SimulatedModem() as other:
        bare.set_smsc(None)
        rig = Rig(tmp_path, [bare, other]).start()
        try:
            without, with_smsc = (g.driver for g in rig.gateways)
            wait_for(lambda: (without.state, with_smsc.state) == (ModemState.NO_SMSC, ModemState.READY),
                     what="both initialised")
            assert without.detail == "the SIM has no SMS centre number: set `smsc` for this modem"
            assert (without.status()["smsc"], with_smsc.status()["smsc"]) == (None, "+15555550100")
            ids = rig.send(*[NewMessage(f"+44{n}", f"via the other {n}") for n in range(3)])
            wait_for(lambda: all(rig.state(i) == MessageState.SENT for i in ids), what="all sent")
            assert bare.sent == [] and len(other.sent) == 3
            bare.deliver_sms("+441", "received all the same")
            wait_for(lambda: texts(rig) == ["received all the same"], what="received on the modem without an SMSC")
        finally:
            rig.stop()


def test_alone_without_an_smsc_messages_wait_until_one_is_configured(tmp_path):
    with SimulatedModem() as modem:
        modem.set_smsc(None)
        rig = Rig(tmp_path, [modem]).start()
        try:
            driver = rig.gateways[0].driver
            wait_for(lambda: driver.state == ModemState.NO_SMSC, what="no SMSC")
            (message_id,) = rig.send(NewMessage("+441", "waits for an SMSC"))
            assert rig.state(message_id) == MessageState.QUEUED

            def configure():  # as a changed `smsc` and a restart of the modem do
                driver.stop()
                driver.config = ModemConfig(driver.name, driver.config.port, smsc="+447785016005")
                driver.start()
            rig.loop.call_soon_threadsafe(configure)
            wait_for(lambda: rig.state(message_id) == MessageState.SENT, what="sent once configured")
            assert 'AT+CSCA="+447785016005",145' in modem.commands and len(modem.sent) == 1
        finally:
            rig.stop()


def test_a_modem_that_loses_its_smsc_while_sending_hands_its_messages_to_another(tmp_path):
    with SimulatedModem() as first, SimulatedModem() as other:
        rig = Rig(tmp_path, [first, other]).start()
        try:
            losing = rig.gateways[0].driver
            wait_for(lambda: all(g.driver.state == ModemState.READY for g in rig.gateways), what="both ready")
            first.set_smsc(None)  # its next send is answered +CMS ERROR: 330
            ids = rig.send(*[NewMessage(f"+44{n}", f"despite the lost SMSC {n}") for n in range(4)])
            wait_for(lambda: all(rig.state(i) == MessageState.SENT for i in ids), what="all sent")
            assert losing.state == ModemState.NO_SMSC and first.sent == [] and len(other.sent) == 4
        finally:
            rig.stop()


def test_a_port_that_vanishes_and_returns_is_reopened_and_the_queue_goes_on(tmp_path):
    link = tmp_path / "ttyGSM"
    with SimulatedModem(link=link) as modem:
        rig = Rig(tmp_path, [modem], restart_delay=0.2).start()
        try:
            ready(rig)
            modem.vanish()
            wait_for(lambda: rig.gateways[0].driver.state != ModemState.READY, what="the port gone")
            (message_id,) = rig.send(NewMessage("+441", "after re-enumeration"))
            modem.reappear()
            wait_for(lambda: rig.state(message_id) == MessageState.SENT, what="sent on the new port")
        finally:
            rig.stop()


def test_a_full_sim_is_emptied_and_receiving_resumes(tmp_path):
    with SimulatedModem() as modem:
        rig = Rig(tmp_path, [modem], health_interval=0.3).start()
        try:
            ready(rig)
            assert modem.fill_storage() > 0  # identical fillers: the store keeps them as one
            storage = rig.gateways[0].driver.dialect.storage
            wait_for(lambda: modem.messages(storage) == [], what="the full SIM read and emptied")
            assert [InboundMessage.get_by_id(i).text for i in rig.received] == ["filler"]
            modem.deliver_sms("+441", "room again")
            wait_for(lambda: "room again" in texts(rig), what="a new message after emptying")
        finally:
            rig.stop()


def test_noise_garbage_and_urcs_in_the_middle_of_a_send_do_not_disturb_it(tmp_path):
    from hil.faults import UrcPosition

    with SimulatedModem(model="huawei") as modem:
        modem.set_noise(0.05)
        modem.set_chunked(True, max_chunk=5, max_gap=0.002)
        rig = Rig(tmp_path, [modem]).start()
        try:
            ready(rig)
            modem.inject_urc('+CMTI: "SM",7', position=UrcPosition.AFTER_PROMPT)
            modem.inject_garbage(b"\x00\xff#!")
            ids = rig.send(*[NewMessage(f"+44{n}", f"noisy {n}") for n in range(5)])
            wait_for(lambda: all(rig.state(i) == MessageState.SENT for i in ids), what="all sent")
            assert sorted_texts(modem.sent) == [f"noisy {n}" for n in range(5)]
        finally:
            rig.stop()


def test_ussd_balance_through_the_driver(tmp_path):
    with SimulatedModem() as modem:
        modem.set_ussd_reply("Balance 12.34 GBP")
        rig = Rig(tmp_path, [modem]).start()
        try:
            ready(rig)
            driver = rig.gateways[0].driver
            assert rig.loop_thread.run(driver.ussd("*100#")) == "Balance 12.34 GBP"
        finally:
            rig.stop()


def test_unsolicited_lines_inside_replies_and_junk_after_the_pdu_lose_no_sms(tmp_path):
    """A call ringing, network notices and readiness codes before and inside the replies to
    AT+CMGR and AT+CMGL, and a stray quote after every PDU: each SMS is stored, then deleted."""
    from hil.faults import UrcPosition

    with SimulatedModem(chunked=True, seed=14) as modem:
        rig = Rig(tmp_path, [modem]).start()
        driver = rig.gateways[0].driver
        try:
            working(rig, [modem])  # the start-up sweep is over: the next replies are the reads'
            modem.set_pdu_junk('"')
            for n in range(3):
                modem.inject_urc("RING", '+CLIP: "+447700900123",145,,,,0', position=UrcPosition.BEFORE_REPLY)
                modem.inject_urc("+CGREG: 1", "PB DONE", "+CIEV: 2,3", position=UrcPosition.BEFORE_FINAL)
                modem.deliver_sms("+447700900555", f"read {n}")
                wait_for(lambda n=n: len(rig.received) == n + 1, what=f"read {n} stored")
            modem.lose_urcs(True)  # no +CMTI: the next two wait for a sweep
            modem.deliver_sms("+447700900556", "swept 1")
            modem.deliver_sms("+447700900557", "swept 2")
            modem.inject_urc("+CRING: VOICE", "^RSSI:18", position=UrcPosition.BEFORE_REPLY)
            modem.inject_urc("+CPIN: READY", "RING", position=UrcPosition.BEFORE_FINAL)
            rig.loop.call_soon_threadsafe(driver.receiver.sweep)
            wait_for(lambda: len(rig.received) == 5, what="the swept ones stored")
            assert texts(rig) == ["read 0", "read 1", "read 2", "swept 1", "swept 2"]
            wait_for(lambda: modem.messages(driver.dialect.storage) == [], what="every slot deleted once kept")
        finally:
            rig.stop()
