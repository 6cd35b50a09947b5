"""What each +CMS ERROR cause means for a message (modem/errors.py, docs/send-errors.md)."""

import pytest

from appliance.modem import errors


@pytest.mark.parametrize("code", [500, 512, 513, 650, 330, 331, 332, 41, 42, 47, 38, 27, 314, None])
def test_network_and_modem_trouble_is_temporary(code):
    assert errors.is_temporary(code)
    assert not errors.is_permanent(code) and not errors.is_refused(code)


@pytest.mark.parametrize("code", [1, 28, 96, 97, 111, 304, 305, 195, 196])
def test_causes_that_belong_to_the_message_are_permanent(code):
    assert errors.is_permanent(code)
    assert not errors.is_temporary(code) and not errors.is_refused(code)


@pytest.mark.parametrize("code", [8, 10, 21, 29, 50, 193, 303])
def test_causes_that_say_this_sim_or_modem_may_not_send_are_refusals(code):
    assert errors.is_refused(code)
    assert not errors.is_temporary(code) and not errors.is_permanent(code)


@pytest.mark.parametrize("code", [0, 100, 255, 400, 511])
def test_a_cause_of_no_known_meaning_is_none_of_them_and_costs_an_attempt(code):
    assert not (errors.is_temporary(code) or errors.is_permanent(code) or errors.is_refused(code))


def test_every_code_is_in_one_table_only():
    tables = (errors.PERMANENT, errors.REFUSED, errors.TEMPORARY)
    assert sum(len(t) for t in tables) == len(errors.CMS_TEXT)


@pytest.mark.parametrize("code, text", [(42, "congestion"), (500, "unknown error"), (255, "error 255"),
                                        (515, "error 515 (manufacturer specific)"), (None, "unknown error")])
def test_each_code_reads_as_its_meaning(code, text):
    assert errors.cms_error_text(code) == text
