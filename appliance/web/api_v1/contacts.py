"""/api/v1/contacts and /api/v1/groups: the caller's own address book, which
``contact_names`` (and Diafaan's ``contact-name``) address messages by."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

import peewee
from msgspec import Meta

from ...messages import numbers
from ...store.models import Contact as ContactRow
from ...store.models import ContactGroup, GroupMember
from .auth import require_local
from .endpoint import NO_CONTENT, Api, Call, Reply
from .fields import Input, Name, Output, RowId, name, row_id
from .wire import ApiError, invalid, not_found

MAX_MEMBERS = 10_000
T = TypeVar("T")


class ContactInput(Input, kw_only=True):
    name: Name
    number: Annotated[str, Meta(max_length=64, description="a phone number, like +44 7700 900123")]


class GroupInput(Input, kw_only=True):
    name: Name
    members: Annotated[tuple[str, ...], Meta(max_length=MAX_MEMBERS, description="names of the caller's contacts",
                                             extra_json_schema={"uniqueItems": True})] = ()


class Contact(Output):
    id: RowId
    name: str
    number: str


class ContactList(Output):
    contacts: list[Contact]


class Group(Output):
    id: RowId
    name: str
    members: list[str]     # its contacts' names, in order


class GroupList(Output):
    groups: list[Group]


def contact_data(contact: ContactRow) -> Contact:
    return Contact(contact.id, contact.name, contact.number)


def group_data(group: ContactGroup) -> Group:
    members = (ContactRow.select(ContactRow.name).join(GroupMember).where(GroupMember.group == group)
               .order_by(GroupMember.position, ContactRow.name))
    return Group(group.id, group.name, [m.name for m in members])


def owned(model: type[ContactRow] | type[ContactGroup], owner: int, raw_id: str, what: str):
    row = model.get_or_none((model.id == row_id(raw_id, what)) & (model.user == owner))
    if row is None:  # another user's is as good as absent
        raise not_found(f"{what} {raw_id}")
    return row


def unique(kind: str, new_name: str, write: Callable[[], T]) -> T:
    """Run ``write`` in one transaction; a name the caller already uses for a ``kind`` is 409."""
    try:
        with ContactRow._meta.database.atomic():
            return write()
    except peewee.IntegrityError:
        raise ApiError(409, "name_taken", f"you already have a {kind} named {new_name!r}", "name") from None


def contact_fields(body: ContactInput) -> tuple[str, str]:
    contact_name = name(body.name)
    try:
        number = numbers.normalize(body.number)
    except ValueError as error:
        raise invalid("number", f"number: {error}") from None
    return contact_name, number


def group_members(owner: int, body: GroupInput) -> list[ContactRow]:
    wanted = body.members
    found = {c.name: c for c in ContactRow.select().where((ContactRow.user == owner) & ContactRow.name.in_(wanted))} \
        if wanted else {}
    for member in wanted:
        if member not in found:
            raise invalid("members", f"members: you have no contact named {member!r}")
    if len(set(wanted)) != len(wanted):
        raise invalid("members", "members: a contact is listed twice")
    return [found[member] for member in wanted]


def write_group(group: ContactGroup, members: list[ContactRow]) -> ContactGroup:
    group.save()
    GroupMember.delete().where(GroupMember.group == group).execute()
    rows = [{"group": group.id, "contact": c.id, "position": position} for position, c in enumerate(members)]
    for batch in peewee.chunked(rows, 100):
        GroupMember.insert_many(batch).execute()
    return group


def install(api: Api) -> None:
    @api.route("GET", "/contacts")
    def list_contacts(call: Call) -> ContactList:
        owner = require_local(call.principal, "contacts")
        return ContactList([contact_data(c) for c in
                            ContactRow.select().where(ContactRow.user == owner).order_by(ContactRow.name)])

    @api.route("POST", "/contacts")
    def create_contact(call: Call) -> Reply:
        owner = require_local(call.principal, "contacts")
        contact_name, number = contact_fields(call.body(ContactInput))
        contact = unique("contact", contact_name, lambda: ContactRow.create(user=owner, name=contact_name,
                                                                          number=number))
        return Reply(contact_data(contact), 201)

    @api.route("GET", "/contacts/<contact_id>")
    def get_contact(call: Call, contact_id: str) -> Contact:
        return contact_data(owned(ContactRow, require_local(call.principal, "contacts"), contact_id, "contact"))

    @api.route("PUT", "/contacts/<contact_id>")
    def replace_contact(call: Call, contact_id: str) -> Contact:
        contact = owned(ContactRow, require_local(call.principal, "contacts"), contact_id, "contact")
        contact.name, contact.number = contact_fields(call.body(ContactInput))
        unique("contact", contact.name, contact.save)
        return contact_data(contact)

    @api.route("DELETE", "/contacts/<contact_id>")
    def delete_contact(call: Call, contact_id: str) -> Reply:
        owned(ContactRow, require_local(call.principal, "contacts"), contact_id, "contact").delete_instance()
        return NO_CONTENT

    @api.route("GET", "/groups")
    def list_groups(call: Call) -> GroupList:
        owner = require_local(call.principal, "groups")
        return GroupList([group_data(g) for g in
                          ContactGroup.select().where(ContactGroup.user == owner).order_by(ContactGroup.name)])

    @api.route("POST", "/groups")
    def create_group(call: Call) -> Reply:
        owner = require_local(call.principal, "groups")
        body = call.body(GroupInput)
        group_name, members = name(body.name), group_members(owner, body)
        group = unique("group", group_name,
                        lambda: write_group(ContactGroup(user=owner, name=group_name), members))
        return Reply(group_data(group), 201)

    @api.route("GET", "/groups/<group_id>")
    def get_group(call: Call, group_id: str) -> Group:
        return group_data(owned(ContactGroup, require_local(call.principal, "groups"), group_id, "group"))

    @api.route("PUT", "/groups/<group_id>")
    def replace_group(call: Call, group_id: str) -> Group:
        owner = require_local(call.principal, "groups")
        group = owned(ContactGroup, owner, group_id, "group")
        body = call.body(GroupInput)
        group.name, members = name(body.name), group_members(owner, body)
        unique("group", group.name, lambda: write_group(group, members))
        return group_data(group)

    @api.route("DELETE", "/groups/<group_id>")
    def delete_group(call: Call, group_id: str) -> Reply:
        owned(ContactGroup, require_local(call.principal, "groups"), group_id, "group").delete_instance()
        return NO_CONTENT
