"""What differs between modem families, in one table instead of special cases in the driver.

Sources: the vendors' AT manuals and recorded sessions, summarised in docs/modems.md
(§4 and §8).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Dialect:
    name: str
    # AT+CGMM answers that identify the family (upper-cased substrings)
    identifies: tuple[str, ...] = ()
    # commands after the common initialisation (PDU mode, CMEE) and before CNMI
    setup: tuple[str, ...] = ()
    # new SMS stored with +CMTI; status reports pushed directly as +CDS (<ds>=1)
    cnmi: str = "AT+CNMI=2,1,0,1,0"
    storage: str = "SM"
    # LTE: registration is asked with AT+CEREG too (SMS may go over LTE with no 2G/3G attach)
    cereg: bool = False
    # how long to wait after power-on before talking to it
    boot_seconds: float = 10.0
    # PWRKEY: how long to hold it for power on and for power off
    pwrkey_on_seconds: float = 1.0
    pwrkey_off_seconds: float = 1.5
    noise: tuple[str, ...] = field(default=())     # URC prefixes to ignore quietly


GENERIC = Dialect("generic")

DIALECTS: dict[str, Dialect] = {
    d.name: d for d in (
        GENERIC,
        Dialect("sim800", identifies=("SIM800", "SIM868", "SIM900"),
                boot_seconds=5.0, pwrkey_on_seconds=1.1, pwrkey_off_seconds=1.5,
                noise=("UNDER-VOLTAGE WARNNING", "OVER-VOLTAGE WARNNING")),
        Dialect("sim7600", identifies=("SIM7600", "SIM7500", "SIM7100"),
                cereg=True, boot_seconds=20.0, pwrkey_on_seconds=0.5, pwrkey_off_seconds=2.5,
                noise=("+CPSI:", "+CNSMOD:")),
        Dialect("ec25", identifies=("EC25", "EG25", "EC21", "EG21", "EC20"),
                cereg=True, boot_seconds=13.0, pwrkey_on_seconds=0.5, pwrkey_off_seconds=0.8,
                noise=("+QIND:", "+QUSIM:", "+CFUN:")),
        Dialect("huawei", identifies=("E3372", "E1750", "E173", "E220", "E160", "E153", "E303", "K3765"),
                setup=("AT^CURC=0",),  # stop ^RSSI / ^HCSQ / ^DSFLOWRPT noise
                # a stick that reboots either leaves the USB bus (the port closes) or comes
                # back quietly, with no banner: echo on and CNMI at defaults tell the driver
                noise=("^RSSI:", "^HCSQ:", "^DSFLOWRPT:", "^MODE:", "^BOOT:", "^SRVST:", "^SIMST:")),
    )
}


def detect(model_answer: str) -> Dialect:
    """The dialect for an AT+CGMM answer; the generic one when nothing matches."""
    upper = model_answer.upper()
    for dialect in DIALECTS.values():
        if any(token in upper for token in dialect.identifies):
            return dialect
    return GENERIC


def for_config(model: str, model_answer: str) -> Dialect:
    """``model = "auto"`` detects from AT+CGMM; any other name is taken as said."""
    return detect(model_answer) if model == "auto" else DIALECTS[model]
