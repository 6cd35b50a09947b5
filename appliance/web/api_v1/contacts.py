"""/api/v1/contacts and /api/v1/groups: the caller's own address book, which
``contact_names`` (and Diafaan's ``contact-name``) address messages by."""

from __future__ import annotations

import peewee

from ... import numbers
from ...store.models import Contact, ContactGroup, GroupMember
from .auth import require_local
from .endpoint import NO_CONTENT, Api, Call, Reply
from .fields import Body, name, row_id
from .wire import ApiError, invalid, not_found

MAX_MEMBERS = 10_000


def contact_data(contact: Contact) -> dict:
    return {"id": contact.id, "name": contact.name, "number": contact.number}


def group_data(group: ContactGroup) -> dict:
    members = (Contact.select(Contact.name).join(GroupMember).where(GroupMember.group == group)
               .order_by(GroupMember.position, Contact.name))
    return {"id": group.id, "name": group.name, "members": [m.name for m in members]}


def _taken(kind: str, value: str) -> ApiError:
    return ApiError(409, "name_taken", f"you already have a {kind} named {value!r}", "name")


def _contact(owner: int, raw_id: str) -> Contact:
    contact = Contact.get_or_none((Contact.id == row_id(raw_id, "contact")) & (Contact.user == owner))
    if contact is None:
        raise not_found(f"contact {raw_id}")
    return contact


def _group(owner: int, raw_id: str) -> ContactGroup:
    group = ContactGroup.get_or_none((ContactGroup.id == row_id(raw_id, "group")) & (ContactGroup.user == owner))
    if group is None:
        raise not_found(f"group {raw_id}")
    return group


def _contact_fields(body: Body) -> tuple[str, str]:
    contact_name = name(body)
    try:
        number = numbers.normalize(body.string("number", required=True, max_length=64))
    except ValueError as error:
        raise invalid("number", f"number: {error}") from None
    return contact_name, number


def _members(owner: int, body: Body) -> list[Contact]:
    wanted = body.strings("members", max_items=MAX_MEMBERS)
    found = {c.name: c for c in Contact.select().where((Contact.user == owner) & Contact.name.in_(wanted))} \
        if wanted else {}
    for member in wanted:
        if member not in found:
            raise invalid("members", f"members: you have no contact named {member!r}")
    if len(set(wanted)) != len(wanted):
        raise invalid("members", "members: a contact is listed twice")
    return [found[member] for member in wanted]


def _save_group(group: ContactGroup, members: list[Contact]) -> None:
    GroupMember.delete().where(GroupMember.group == group).execute()
    rows = [{"group": group.id, "contact": c.id, "position": position} for position, c in enumerate(members)]
    for batch in peewee.chunked(rows, 100):
        GroupMember.insert_many(batch).execute()


def install(api: Api) -> None:
    @api.route("GET", "/contacts")
    def list_contacts(call: Call) -> dict:
        owner = require_local(call.principal, "contacts")
        return {"contacts": [contact_data(c) for c in
                             Contact.select().where(Contact.user == owner).order_by(Contact.name)]}

    @api.route("POST", "/contacts")
    def create_contact(call: Call) -> Reply:
        owner = require_local(call.principal, "contacts")
        contact_name, number = _contact_fields(call.body(("name", "number")))
        try:
            contact = Contact.create(user=owner, name=contact_name, number=number)
        except peewee.IntegrityError:
            raise _taken("contact", contact_name) from None
        return Reply(contact_data(contact), 201)

    @api.route("GET", "/contacts/<contact_id>")
    def get_contact(call: Call, contact_id: str) -> dict:
        return contact_data(_contact(require_local(call.principal, "contacts"), contact_id))

    @api.route("PUT", "/contacts/<contact_id>")
    def replace_contact(call: Call, contact_id: str) -> dict:
        contact = _contact(require_local(call.principal, "contacts"), contact_id)
        contact.name, contact.number = _contact_fields(call.body(("name", "number")))
        try:
            contact.save()
        except peewee.IntegrityError:
            raise _taken("contact", contact.name) from None
        return contact_data(contact)

    @api.route("DELETE", "/contacts/<contact_id>")
    def delete_contact(call: Call, contact_id: str) -> Reply:
        _contact(require_local(call.principal, "contacts"), contact_id).delete_instance()
        return NO_CONTENT

    @api.route("GET", "/groups")
    def list_groups(call: Call) -> dict:
        owner = require_local(call.principal, "groups")
        return {"groups": [group_data(g) for g in
                           ContactGroup.select().where(ContactGroup.user == owner).order_by(ContactGroup.name)]}

    @api.route("POST", "/groups")
    def create_group(call: Call) -> Reply:
        owner = require_local(call.principal, "groups")
        body = call.body(("name", "members"))
        group_name, members = name(body), _members(owner, body)
        database = ContactGroup._meta.database
        try:
            with database.atomic():
                group = ContactGroup.create(user=owner, name=group_name)
                _save_group(group, members)
        except peewee.IntegrityError:
            raise _taken("group", group_name) from None
        return Reply(group_data(group), 201)

    @api.route("GET", "/groups/<group_id>")
    def get_group(call: Call, group_id: str) -> dict:
        return group_data(_group(require_local(call.principal, "groups"), group_id))

    @api.route("PUT", "/groups/<group_id>")
    def replace_group(call: Call, group_id: str) -> dict:
        owner = require_local(call.principal, "groups")
        group = _group(owner, group_id)
        body = call.body(("name", "members"))
        group.name, members = name(body), _members(owner, body)
        try:
            with ContactGroup._meta.database.atomic():
                group.save()
                _save_group(group, members)
        except peewee.IntegrityError:
            raise _taken("group", group.name) from None
        return group_data(group)

    @api.route("DELETE", "/groups/<group_id>")
    def delete_group(call: Call, group_id: str) -> Reply:
        _group(require_local(call.principal, "groups"), group_id).delete_instance()
        return NO_CONTENT
