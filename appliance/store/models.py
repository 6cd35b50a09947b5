"""The tables. Times are UTC epoch seconds (floats): portable, cheap to compare and index."""

from __future__ import annotations

from typing import ClassVar

import peewee

database_proxy = peewee.DatabaseProxy()


class BaseModel(peewee.Model):
    # made for each model by peewee's metaclass; declared for the type checker
    DoesNotExist: ClassVar[type[peewee.DoesNotExist]]

    class Meta:
        database = database_proxy


class SchemaVersion(BaseModel):
    version = peewee.IntegerField(primary_key=True)
    applied_at = peewee.FloatField()

    class Meta:
        table_name = "schema_version"


class User(BaseModel):
    id = peewee.AutoField()
    name = peewee.CharField(unique=True)
    password_hash = peewee.CharField()
    is_admin = peewee.BooleanField(default=False)
    created_at = peewee.FloatField()
    # the password is the one printed once at first start: the web pages ask for a new one
    must_change_password = peewee.BooleanField(default=False, constraints=[peewee.SQL("DEFAULT 0")])

    class Meta:
        table_name = "user"


class ApiKey(BaseModel):
    """A bearer token for the JSON API. Only its SHA-256 is kept (a random 256-bit token
    needs no slow hash); the token itself is shown once, when it is made."""

    id = peewee.AutoField()
    user = peewee.ForeignKeyField(User, backref="api_keys", on_delete="CASCADE")
    name = peewee.CharField(default="")               # what the owner calls it ("nagios")
    prefix = peewee.CharField()                        # the token's first characters: names it in lists
    token_hash = peewee.CharField(unique=True)         # hex SHA-256 of the whole token
    created_at = peewee.FloatField()
    last_used_at = peewee.FloatField(null=True)

    class Meta:
        table_name = "api_key"


class Contact(BaseModel):
    """A person in a user's address book: `contact-name` can address them by name."""

    id = peewee.AutoField()
    user = peewee.ForeignKeyField(User, backref="contacts", on_delete="CASCADE")
    name = peewee.CharField()
    number = peewee.CharField()

    class Meta:
        table_name = "contact"
        indexes = ((("user", "name"), True),)


class ContactGroup(BaseModel):
    id = peewee.AutoField()
    user = peewee.ForeignKeyField(User, backref="groups", on_delete="CASCADE")
    name = peewee.CharField()

    class Meta:
        table_name = "contact_group"
        indexes = ((("user", "name"), True),)


class GroupMember(BaseModel):
    id = peewee.AutoField()
    group = peewee.ForeignKeyField(ContactGroup, backref="members", on_delete="CASCADE")
    contact = peewee.ForeignKeyField(Contact, on_delete="CASCADE")
    position = peewee.IntegerField(default=0)

    class Meta:
        table_name = "group_member"
        indexes = ((("group", "contact"), True),)


class MessageState:
    """Where an outbound message is. Only these strings are ever stored in ``state``."""

    QUEUED = "queued"          # accepted, waiting for its time and a free gateway
    SENDING = "sending"        # claimed by one gateway, parts going out
    SENT = "sent"              # every part accepted by the network
    DELIVERED = "delivered"    # every part confirmed by a delivery report
    FAILED = "failed"
    UNDELIVERED = "undelivered"  # sent, and a delivery report said a part was not delivered
    EXPIRED = "expired"        # its validity period ended before it could be sent
    REMOVED = "removed"        # taken out of the queue by remove-queued-message

    FINAL = frozenset({SENT, DELIVERED, FAILED, UNDELIVERED, EXPIRED, REMOVED})
    ALL = (QUEUED, SENDING, SENT, DELIVERED, FAILED, UNDELIVERED, EXPIRED, REMOVED)  # the order status shows


class OutboundMessage(BaseModel):
    """One message to one recipient, with every field Diafaan's send-message accepts."""

    id = peewee.CharField(primary_key=True)          # a uuid, or <owner>/<message-guid> (store/message_ids.py)
    user = peewee.ForeignKeyField(User, null=True, on_delete="SET NULL")
    user_id: int | None                              # the key alone, without a query (peewee's accessor)
    connector = peewee.CharField(default="HTTP API")  # the connector it came in by: routes it
    recipient = peewee.CharField()                   # `to`, or the number a contact-name resolved to
    contact_name = peewee.CharField(default="")
    sender = peewee.CharField(default="")            # `from`
    text = peewee.TextField()                        # `message`
    message_type = peewee.CharField(default="sms.automatic")
    message_guid = peewee.CharField(default="")
    message_info = peewee.TextField(default="")
    gateways = peewee.CharField(default="")          # `gateway`: allowed gateway names, ';'-separated
    priority = peewee.IntegerField(default=0)
    validity_period = peewee.IntegerField(null=True)  # seconds
    scheduled_at = peewee.FloatField(null=True)
    expires_at = peewee.FloatField(null=True)
    state = peewee.CharField(default=MessageState.QUEUED)
    gateway = peewee.CharField(default="")           # the gateway that claimed / sent it
    attempts = peewee.IntegerField(default=0)
    tried = peewee.CharField(default="")              # attempts per gateway: "GSM1:3;GSM2:1"
    retry_at = peewee.FloatField(null=True)
    error_code = peewee.IntegerField(null=True)
    error_text = peewee.TextField(default="")
    parts_total = peewee.IntegerField(default=0)
    created_at = peewee.FloatField()
    updated_at = peewee.FloatField()
    sent_at = peewee.FloatField(null=True)
    # the id of its first MessagePart, stored with parts_total when its parts are built: its
    # parts are found from there (parts_of), not through an index on message_part by message,
    # which cost about two pages written per message (a balance every few inserts of its
    # 40-byte keys). Last, where an upgrade adds it (store.db).
    first_part = peewee.IntegerField(null=True)
    # the HTTP provider's id of the message it took (gateways/providers/); added by an upgrade
    provider_reference = peewee.TextField(default="", constraints=[peewee.SQL("DEFAULT ''")])

    class Meta:
        table_name = "outbound_message"


# No index on state over every message: each transition would rewrite a page of it, and
# nothing reads a few states out of the whole history but the sender, which has these.
# Indexes over the queued messages alone, which the sender reads at every dispatch: the
# next to claim in order, and the next moment one becomes due or expires. Without them
# each dispatch scans (and sorts) the whole backlog, so sending slowed as the queue grew.
# Partial indexes are chosen only for a query that names the same literal state.
QUEUED_INDEXES = (
    "CREATE INDEX IF NOT EXISTS outbound_message_queued ON outbound_message "
    "(priority DESC, created_at) WHERE state = 'queued'",
    "CREATE INDEX IF NOT EXISTS outbound_message_queued_scheduled ON outbound_message "
    "(scheduled_at) WHERE state = 'queued' AND scheduled_at IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS outbound_message_queued_retry ON outbound_message "
    "(retry_at) WHERE state = 'queued' AND retry_at IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS outbound_message_queued_expires ON outbound_message "
    "(expires_at) WHERE state = 'queued' AND expires_at IS NOT NULL",
)
for _statement in QUEUED_INDEXES:
    OutboundMessage.add_index(peewee.SQL(_statement))

# The messages an HTTP provider took and has not yet reported on (gateways/providers/
# reports.py): polled by gateway and age, and a provider's callback finds its message by
# the provider's id. A message enters them once, when it is sent through a provider, and
# leaves them when delivered or undelivered; a modem's message (no provider_reference)
# never does, so they cost the modems nothing.
PROVIDER_WAITING_INDEXES = (
    "CREATE INDEX IF NOT EXISTS outbound_message_provider_waiting ON outbound_message "
    "(gateway, sent_at) WHERE state = 'sent' AND provider_reference != ''",
    "CREATE INDEX IF NOT EXISTS outbound_message_provider_reference ON outbound_message "
    "(provider_reference) WHERE state = 'sent' AND provider_reference != ''",
)
for _statement in PROVIDER_WAITING_INDEXES:
    OutboundMessage.add_index(peewee.SQL(_statement))


class MessagePart(BaseModel):
    """One SMS of a message: what went to the modem and the reference the network gave it."""

    id = peewee.AutoField()
    # no index by message: a message's parts are stored together, and found from its
    # first_part on (parts_of); each index is pages rewritten for every part stored. (A
    # message deleted would have its parts looked for in every part: none is, today.)
    message = peewee.ForeignKeyField(OutboundMessage, backref="parts", on_delete="CASCADE", index=False)
    sequence = peewee.IntegerField()                 # 1-based
    pdu = peewee.TextField()
    tpdu_length = peewee.IntegerField()
    state = peewee.CharField(default="pending")      # pending | sent | delivered | failed
    reference = peewee.IntegerField(null=True)       # TP-MR from +CMGS
    gateway = peewee.CharField(default="")
    sent_at = peewee.FloatField(null=True)
    status = peewee.IntegerField(null=True)          # TP-ST of the latest delivery report
    reported_at = peewee.FloatField(null=True)

    class Meta:
        table_name = "message_part"


# Matching delivery reports, over the parts sent alone: a part enters it once, when its
# reference is stored, not also when it is built (a page less written per message).
# Chosen for a query that bounds sent_at, which implies it is not null.
SENT_PARTS_INDEX = ("CREATE INDEX IF NOT EXISTS message_part_sent ON message_part "
                    "(gateway, reference, sent_at) WHERE sent_at IS NOT NULL")
MessagePart.add_index(peewee.SQL(SENT_PARTS_INDEX))


def parts_of(message: OutboundMessage) -> list[MessagePart]:
    """A message's parts, in order. They are stored in one transaction, so they are the
    first ``parts_total`` parts of the message from its ``first_part`` on: read along the
    parts' own key (where several stores write one table, others' parts may fall between
    them, and are passed over)."""
    if message.first_part is None:
        return []
    return list(MessagePart.select()
                .where((MessagePart.id >= message.first_part) & (MessagePart.message == message.id))
                .order_by(MessagePart.id).limit(message.parts_total))


class InboundMessage(BaseModel):
    id = peewee.CharField(primary_key=True)
    gateway = peewee.CharField()
    originator = peewee.CharField()
    recipient = peewee.CharField(default="")
    text = peewee.TextField(default="")
    message_type = peewee.CharField(default="sms.text")
    smsc = peewee.CharField(default="")
    pdu = peewee.TextField(default="")
    concat_reference = peewee.IntegerField(null=True)
    parts_received = peewee.IntegerField(default=1)
    parts_total = peewee.IntegerField(default=1)
    sent_at = peewee.FloatField(null=True)           # the service centre time stamp
    received_at = peewee.FloatField()
    connectors = peewee.CharField(default="")         # the connectors it went to, ';'-separated
    removed = peewee.BooleanField(default=False)
    # why the PDU could not be decoded ('' when it was): such a message is kept raw
    decode_error = peewee.TextField(default="", constraints=[peewee.SQL("DEFAULT ''")])

    class Meta:
        table_name = "inbound_message"
        indexes = ((("removed", "received_at"), False),)


class InboundPart(BaseModel):
    """One received SMS exactly as it came off the modem, kept before the SIM copy is deleted.

    Unique by (gateway, pdu): reading the same slot twice (a restart between storing and
    deleting it) cannot make a second message.
    """

    id = peewee.AutoField()
    gateway = peewee.CharField()
    pdu = peewee.TextField()
    originator = peewee.CharField()
    smsc = peewee.CharField(default="")
    text = peewee.TextField(default="")
    encoding = peewee.CharField(default="gsm7")
    concat_reference = peewee.IntegerField(null=True)
    concat_total = peewee.IntegerField(default=1)
    concat_sequence = peewee.IntegerField(default=1)
    sent_at = peewee.FloatField(null=True)
    received_at = peewee.FloatField()
    message = peewee.ForeignKeyField(InboundMessage, null=True, backref="parts", on_delete="SET NULL")

    class Meta:
        table_name = "inbound_part"
        indexes = (
            (("gateway", "pdu"), True),
            (("message", "gateway", "originator", "concat_reference"), False),
        )


class GatewayCounter(BaseModel):
    """SMS parts a gateway sent in one period ("day:2026-11-22", "month:2026-11"): send
    limits survive restarts."""

    id = peewee.AutoField()
    gateway = peewee.CharField()
    period = peewee.CharField()
    count = peewee.IntegerField(default=0)

    class Meta:
        table_name = "gateway_counter"
        indexes = ((("gateway", "period"), True),)


class WebhookDelivery(BaseModel):
    """One event for one webhook connector, kept until its URL has taken it: written in
    the same transaction as the message or report it is about, so none is lost."""

    id = peewee.AutoField()
    connector = peewee.CharField()
    event = peewee.CharField()                        # sms-received | delivery-report
    payload = peewee.TextField()                      # the JSON body
    state = peewee.CharField(default="pending")       # pending | done | failed
    attempts = peewee.IntegerField(default=0)
    next_attempt_at = peewee.FloatField()
    last_error = peewee.TextField(default="")
    created_at = peewee.FloatField()

    class Meta:
        table_name = "webhook_delivery"
        indexes = ((("state", "next_attempt_at"), False),)


class ReceiveConnector(BaseModel):
    """An HTTP endpoint other systems (a provider's callback, another appliance) post
    received SMS to. Its token is kept as a SHA-256 only and shown once when generated."""

    id = peewee.AutoField()
    name = peewee.CharField(unique=True)
    number = peewee.CharField(default="")              # the number it stands for
    require_token = peewee.BooleanField(default=True)
    token_hash = peewee.CharField(default="")
    routing = peewee.CharField(default="inbox")        # inbox | webhook
    target = peewee.CharField(default="")              # the connector whose inbox receives, or the webhook connector
    subject = peewee.CharField(default="")
    created_at = peewee.FloatField()

    class Meta:
        table_name = "receive_connector"


class ConfigOverride(BaseModel):
    """A property an administrator set at run time (send-server-command set-*-property):
    applied over the config file at every start, so a change survives a restart."""

    id = peewee.AutoField()
    scope = peewee.CharField()                         # gateway | connector | routing | settings
    name = peewee.CharField()                          # the gateway or connector; "connector;gateway"; ""
    property = peewee.CharField()                      # as send-server-command names it: "SendLimitDay"
    value = peewee.TextField()                         # as it was given
    updated_at = peewee.FloatField()

    class Meta:
        table_name = "config_override"
        indexes = ((("scope", "name", "property"), True),)


class BlockedNumber(BaseModel):
    """A number, or the start of numbers (``prefix``), that no message is sent to: the
    recipient asked to be left alone (a stop word) or an administrator listed it."""

    id = peewee.AutoField()
    number = peewee.CharField(unique=True)             # normalised, as recipients are stored
    prefix = peewee.BooleanField(default=False)        # true: every number that starts with it
    source = peewee.CharField(default="")              # who listed it: cli | api | stop word
    reason = peewee.TextField(default="")
    created_at = peewee.FloatField()

    class Meta:
        table_name = "blocked_number"


class Event(BaseModel):
    """The event log: what happened, for the status page and for support."""

    id = peewee.AutoField()
    time = peewee.FloatField(index=True)
    level = peewee.CharField(default="info")
    kind = peewee.CharField()
    message_id = peewee.CharField(null=True, index=True)
    gateway = peewee.CharField(default="")
    text = peewee.TextField(default="")

    class Meta:
        table_name = "event"


class UnmatchedReport(BaseModel):
    """A delivery report that names no part of ours, or that could not be decoded: kept with
    what it says, so that a report for a message sent before a restore, or by another
    system on the same SIM, is seen rather than lost. ``reference`` and ``status`` are null
    when the PDU did not decode; ``decode_error`` then says why."""

    id = peewee.AutoField()
    gateway = peewee.CharField()
    reference = peewee.IntegerField(null=True)      # TP-MR
    recipient = peewee.CharField(default="")
    status = peewee.IntegerField(null=True)         # TP-ST
    pdu = peewee.TextField(default="")
    decode_error = peewee.TextField(default="")
    received_at = peewee.FloatField(index=True)

    class Meta:
        table_name = "unmatched_report"


ALL_MODELS = [User, ApiKey, Contact, ContactGroup, GroupMember, OutboundMessage, MessagePart, InboundMessage,
              InboundPart, GatewayCounter, WebhookDelivery, ReceiveConnector, ConfigOverride, BlockedNumber,
              Event, UnmatchedReport]
