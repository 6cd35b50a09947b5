"""A gateway's credit: read from an operator's USSD answer, on a schedule and on demand,
told once when it falls below the threshold (gateways/credit.py)."""

import asyncio

import pytest

from appliance.gateways.credit import Credit, CreditWatch, parse_ussd, ussd_reader


@pytest.mark.parametrize(("answer", "amount", "currency"), [
    ("Balance 12.34 GBP", 12.34, "GBP"),
    ("Balance 12.34", 12.34, ""),
    ("Ihr Guthaben beträgt 5,20 EUR. Gültig bis 31.12.2027", 5.2, "EUR"),
    ("Saldo: 14,50 zł. Ważne do 2027-01-31", 14.5, "zł"),
    ("Your balance is €3.00, valid until 31/12", 3.0, "€"),
    ("Dial *123# for 100 free minutes. Credit: 7.5 USD", 7.5, "USD"),
    ("Service unavailable", None, ""),
])
def test_an_operators_answer_gives_its_amount_and_currency(answer, amount, currency):
    assert parse_ussd(answer) == (amount, currency)


class Answers:
    """A modem's USSD answers, one per reading; an exception is raised as the modem's."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.asked = []

    async def __call__(self, code):
        self.asked.append(code)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


async def test_a_reading_falling_below_the_threshold_is_told_once():
    lows = []
    watch = CreditWatch(asyncio.get_running_loop(), on_low=lambda *told: lows.append(told), clock=lambda: 100.0)
    modem = Answers("Balance 25.00 GBP", "Balance 9.50 GBP", "Balance 8.00 GBP", "Balance 30 GBP",
                    "Balance 4 GBP")
    watch.watch("GSM1", ussd_reader(modem, "*100#", clock=lambda: 100.0), interval=3600, low=10)
    assert watch.credit("GSM1") == Credit()
    readings = [await watch.refresh("GSM1") for _ in range(5)]
    assert [r.amount for r in readings] == [25.0, 9.5, 8.0, 30.0, 4.0]
    assert modem.asked == ["*100#"] * 5
    assert [(name, credit.amount, low) for name, credit, low in lows] == [("GSM1", 9.5, 10), ("GSM1", 4.0, 10)]
    assert watch.credit("GSM1") == Credit(4.0, "GBP", "Balance 4 GBP", 100.0)
    watch.stop()


async def test_a_failed_reading_keeps_the_last_amount_and_says_why():
    watch = CreditWatch(asyncio.get_running_loop())
    modem = Answers("Balance 12.34", RuntimeError("modem not-registered"), "Service unavailable")
    watch.watch("GSM1", ussd_reader(modem, "*100#", clock=lambda: 5.0), interval=3600)
    await watch.refresh("GSM1")
    failed = await watch.refresh("GSM1")
    assert (failed.amount, failed.error) == (12.34, "modem not-registered")
    unreadable = await watch.refresh("GSM1")
    assert unreadable.amount == 12.34
    assert unreadable.error == "no amount in the answer to *100#: 'Service unavailable'"
    watch.stop()


async def test_a_refresh_while_one_runs_is_the_same_reading():
    started = asyncio.Event()
    release = asyncio.Event()

    async def slow(code):
        started.set()
        await release.wait()
        return "Balance 1.00 EUR"
    watch = CreditWatch(asyncio.get_running_loop())
    watch.watch("GSM1", ussd_reader(slow, "*100#"), interval=3600)
    first = watch.refresh("GSM1")
    await started.wait()
    assert watch.refresh("GSM1") is first
    release.set()
    assert (await watch.settled("GSM1")).amount == 1.0
    assert watch.credit("unwatched") is None
    watch.stop()
