"""Per-model profiles of the simulated modem: identity strings, defaults and value ranges.

One :class:`ModemProfile` per modem family the appliance supports. Everything the
simulator answers differently per model lives here, so dialect variants (reply syntax,
error styles, index bases, URCs) are added as fields, not as ``if model == ...`` branches.
Values follow docs/modems.md and the vendors' manuals.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PROFILES", "ModemProfile", "get_profile", "luhn_imei", "parse_ranges"]


def luhn_imei(body14: str) -> str:
    """A 15-digit IMEI: the 14 digits ``body14`` plus their Luhn check digit."""
    if len(body14) != 14 or not body14.isdigit():
        raise ValueError("an IMEI body has 14 digits")
    total = 0
    for i, ch in enumerate(body14):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return body14 + str((10 - total % 10) % 10)


@dataclass(frozen=True)
class ModemProfile:
    key: str  # "sim800", ...: the name used by --model and the config file
    manufacturer: str  # AT+CGMI
    model: str  # AT+CGMM
    revision: str  # the AT+CGMR line, as the model prints it
    ati: tuple[str, ...]  # ATI lines; "{imei}" is replaced
    imei: str  # AT+CGSN
    imsi: str = "001010123456789"  # AT+CIMI (MCC 001 / MNC 01: the 3GPP test network)
    operator: str = "Test PLMN 1-1"  # AT+COPS? long alphanumeric name
    cops_act: int | None = None  # access technology appended to +COPS: (7 = E-UTRAN)
    csq: tuple[int, int] = (21, 0)  # AT+CSQ
    lac: str = "1A2B"  # +CREG: 2,... location area code
    cell_id: str = "3C4D"  # +CREG: 2,... cell id
    creg_act: int | None = None  # access technology appended to +CREG: 2,...
    smsc: tuple[str, int] = ("+15555550100", 145)  # AT+CSCA? at power-up
    cnmi_default: tuple[int, ...] = (2, 1, 0, 0, 0)
    cnmi_ranges: str = "(0-3),(0-3),(0,2),(0,1),(0,1)"  # AT+CNMI=? (also validates AT+CNMI=)
    # Message storages with their sizes; the first one is the power-up default of CPMS.
    # "SR" (status reports) may only be read/deleted (<mem1>); ds=2 stores reports there.
    storages: tuple[tuple[str, int], ...] = (("SM", 20), ("ME", 20))
    first_index: int = 1  # index of the first storage slot (SIM800: 1, most others: 0)
    # AT+CMGR of an empty slot within range: "321" / "500" (+CMS ERROR) or "ok" (bare OK).
    empty_read: str = "321"
    # The storage +CDSI names for a report stored in SR (EC25 wrongly says "SM").
    cdsi_storage: str = "SR"
    # Power-up URCs: boot_urcs first, then +CPIN: READY (if cpin_urc) once the SIM is
    # read, then ready_urcs when the SIM stops being busy; SMS commands work after them.
    boot_urcs: tuple[str, ...] = ("RDY",)
    cpin_urc: bool = True
    ready_urcs: tuple[str, ...] = ("Call Ready", "SMS Ready")
    # URC when an incoming SMS finds the storage full (Huawei: ^SMMEMFULL), or None.
    memory_full_urc: str | None = None
    # Periodic vendor URCs (Huawei ^RSSI); "{rssi}" is replaced. Stopped by AT^CURC=0.
    noise_urcs: tuple[str, ...] = ()
    eps: bool = False  # LTE: answers AT+CEREG
    # Reply syntax variants (docs/modems.md §1): "+CSCA: "...", 145" with a space after
    # commas, and LAC/CI in +CREG: 2,... unquoted.
    comma_space: bool = False
    creg_quoted: bool = True
    charset_default: str = "IRA"
    charsets: tuple[str, ...] = ("IRA", "GSM", "UCS2")
    echo_default: bool = True
    cmee_default: int = 0
    # How an unknown command is answered with CMEE=1/2: "cme" → +CME ERROR: 100 / unknown,
    # "plain" → ERROR whatever CMEE says (EC25 answers syntax errors that way),
    # "not-support" → COMMAND NOT SUPPORT (old Huawei firmware).
    unknown_command_error: str = "cme"
    syntax_error_plain: bool = False  # EC25: a malformed line is plain ERROR whatever CMEE
    max_tpdu_length: int = 164  # largest <length> AT+CMGS accepts before the prompt

    @property
    def message_storages(self) -> tuple[str, ...]:
        """The storages new messages can be written and received to (<mem2>, <mem3>)."""
        return tuple(name for name, _ in self.storages if name != "SR")

    @property
    def separator(self) -> str:
        """Between the fields of a reply: ``","`` or, on models that pad, ``", "``."""
        return ", " if self.comma_space else ","

    def storage_size(self, name: str) -> int | None:
        for storage, size in self.storages:
            if storage == name:
                return size
        return None

    def ati_lines(self) -> list[str]:
        return [line.format(imei=self.imei) for line in self.ati]


def parse_ranges(text: str) -> list[frozenset[int]]:
    """``"(0-3),(0,2)"`` → ``[{0,1,2,3}, {0,2}]`` (the syntax of AT+...=? answers)."""
    result: list[frozenset[int]] = []
    for group in text.replace(" ", "").split("),("):
        values: set[int] = set()
        for part in group.strip("()").split(","):
            if "-" in part:
                lo, hi = part.split("-", 1)
                values.update(range(int(lo), int(hi) + 1))
            elif part:
                values.add(int(part))
        result.append(frozenset(values))
    return result


SIM800 = ModemProfile(
    key="sim800",
    manufacturer="SIMCOM_Ltd",
    model="SIMCOM_SIM800L",
    revision="Revision:1418B04SIM800L24",
    ati=("SIM800 R14.18",),
    imei=luhn_imei("86917003123456"),
    csq=(21, 0),
    cnmi_default=(2, 1, 0, 0, 0),
    cnmi_ranges="(0-3),(0-3),(0,2),(0,1),(0,1)",
    storages=(("SM", 20), ("ME", 20)),
    first_index=1,
    empty_read="ok",
    boot_urcs=("RDY", "+CFUN: 1"),
    ready_urcs=("Call Ready", "SMS Ready"),
    charset_default="IRA",
    charsets=("GSM", "UCS2", "IRA", "HEX", "PCCP", "PCDN", "8859-1"),
)

SIM7600 = ModemProfile(
    key="sim7600",
    manufacturer="SIMCOM INCORPORATED",
    model="SIMCOM_SIM7600E-H",
    revision="+CGMR: LE20B04SIM7600M22",
    ati=(
        "Manufacturer: SIMCOM INCORPORATED",
        "Model: SIMCOM_SIM7600E-H",
        "Revision: SIM7600M22_V1.1",
        "IMEI: {imei}",
        "+GCAP: +CGSM",
    ),
    imei=luhn_imei("86214704123456"),
    cops_act=7,
    csq=(21, 99),
    cell_id="01C3D4E5",
    cnmi_default=(2, 1, 0, 0, 0),
    cnmi_ranges="(0-2),(0-3),(0,2),(0-2),(0,1)",
    storages=(("SM", 20), ("ME", 23), ("SR", 20)),
    first_index=0,
    empty_read="321",
    boot_urcs=("RDY",),
    ready_urcs=("SMS DONE", "PB DONE"),
    eps=True,
    charset_default="IRA",
    charsets=("IRA", "GSM", "UCS2"),
)

EC25 = ModemProfile(
    key="ec25",
    manufacturer="Quectel",
    model="EC25",
    revision="Revision: EC25EFAR06A06M4G",
    ati=("Quectel", "EC25", "Revision: EC25EFAR06A06M4G"),
    imei=luhn_imei("86767304123456"),
    cops_act=7,
    csq=(21, 99),
    cell_id="01C3D4E5",
    creg_act=7,
    cnmi_default=(2, 1, 0, 0, 0),
    cnmi_ranges="(0-2),(0-3),(0,2),(0-2),(0,1)",
    storages=(("ME", 255), ("SM", 20), ("SR", 20)),
    first_index=0,
    empty_read="ok",
    cdsi_storage="SM",
    syntax_error_plain=True,
    boot_urcs=("RDY", "+CFUN: 1"),
    ready_urcs=("+QUSIM: 1", "+QIND: SMS DONE", "+QIND: PB DONE"),
    eps=True,
    charset_default="GSM",
    charsets=("GSM", "IRA", "UCS2"),
)

HUAWEI = ModemProfile(
    key="huawei",
    manufacturer="huawei",
    model="E3372",
    revision="22.315.01.00.00",
    ati=(
        "Manufacturer: huawei",
        "Model: E3372",
        "Revision: 22.315.01.00.00",
        "IMEI: {imei}",
        "+GCAP: +CGSM,+DS,+ES",
    ),
    imei=luhn_imei("86335202123456"),
    cops_act=7,
    csq=(21, 99),
    cnmi_default=(0, 0, 0, 0, 0),
    cnmi_ranges="(0-2),(0-3),(0,2),(0-2),(0,1)",
    storages=(("SM", 20), ("ME", 500), ("SR", 100)),
    first_index=0,
    empty_read="500",
    # no RDY, +CPIN: READY or SMS Ready: to a driver a reboot is quiet but for vendor noise,
    # and shows only in echo and CNMI being back at their defaults
    boot_urcs=("^BOOT:40289571,0,0,0,75",),
    cpin_urc=False,
    ready_urcs=("^SIMST: 1", "^SRVST: 2"),
    memory_full_urc='^SMMEMFULL: "{storage}"',
    noise_urcs=("^RSSI: {rssi}",),
    eps=True,
    comma_space=True,
    creg_quoted=False,
    charset_default="IRA",
    charsets=("IRA", "GSM", "UCS2"),
)

PROFILES: dict[str, ModemProfile] = {p.key: p for p in (SIM800, SIM7600, EC25, HUAWEI)}


def get_profile(model: str | ModemProfile) -> ModemProfile:
    """The profile for a model name (``"sim800"``, ...) or a profile passed through."""
    if isinstance(model, ModemProfile):
        return model
    try:
        return PROFILES[model.lower()]
    except KeyError:
        raise ValueError(
            f"unknown modem model {model!r}; expected one of {', '.join(PROFILES)}"
        ) from None
