"""/contacts: a user's address book, the contacts and groups that ``contact-name`` (and
the JSON API's ``contact_names``) address messages by.

Contacts belong to a user, and a message finds them in its sender's book, so each user
keeps their own here, as /api/v1/contacts does; an administrator can open any user's
(``?user=<name>``). The checks and their words are the JSON API's (api_v1/contacts.py),
and a refused form changes nothing. A group's members are typed one name a line: the
form stays one field however many contacts there are.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import bottle

from ...store.models import Contact, ContactGroup, User
from ..api_v1.contacts import (
    ContactInput,
    GroupInput,
    contact_fields,
    group_data,
    group_members,
    owned,
    unique,
    write_group,
)
from ..api_v1.fields import name
from ..api_v1.wire import ApiError
from .admin import done, notice, read, said
from .pages import UiContext, Visitor, form, refuse, render, require, secured

PAGE = "/contacts"


def owner_of(who: Visitor, user_name: str | None) -> User:
    """Whose book: the visitor's own, or, for an administrator, the user named."""
    if not user_name or user_name == who.user.name:
        return who.user
    if not who.user.is_admin:
        refuse(403, "Not yours", "only an administrator opens another user's contacts", who)
    user = User.get_or_none(User.name == user_name)
    if user is None:
        refuse(404, "No such user", f"user {user_name!r} does not exist", who)
    return user


def back(owner: User, who: Visitor) -> str:
    """The page to return to: the book just changed."""
    return PAGE if owner.id == who.user.id else f"{PAGE}?user={quote(owner.name, safe='')}"


def page(who: Visitor, owner: User, status: int = 200, error: str = "", typed: dict[str, str] | None = None) -> str:
    """The owner's contacts and groups with their forms; after a refused new contact or
    group, the error and what was typed."""
    people = list(Contact.select().where(Contact.user == owner).order_by(Contact.name))
    groups = [group_data(g) for g in ContactGroup.select().where(ContactGroup.user == owner)
              .order_by(ContactGroup.name)]
    users = [u.name for u in User.select(User.name).order_by(User.name)] if who.user.is_admin else []
    return render("contacts", status, visitor=who, owner=owner, contacts=people, groups=groups, users=users,
                  notice=notice(who), error=error, typed=typed or {})


def _group_input(fields: bottle.FormsDict) -> dict[str, Any]:
    """A group's form as the JSON API's body: its members one name a line."""
    lines = (fields.getunicode("members") or "").splitlines()
    return {"name": fields.getunicode("name") or "", "members": [line.strip() for line in lines if line.strip()]}


def install(app: bottle.Bottle, context: UiContext) -> None:
    @app.get(PAGE)
    @secured
    def book() -> str:
        who = require(context)
        return page(who, owner_of(who, bottle.request.query.getunicode("user")))

    @app.post(PAGE)
    @secured
    def create_contact() -> str:
        who = require(context)
        fields = form(who)
        owner = owner_of(who, fields.getunicode("user"))
        typed = {"name": fields.getunicode("name") or "", "number": fields.getunicode("number") or ""}
        try:
            contact_name, number = contact_fields(read(ContactInput, typed))
            unique("contact", contact_name, lambda: Contact.create(user=owner, name=contact_name, number=number))
        except ApiError as error:
            return page(who, owner, error.status, said(error), typed)
        done(who, back(owner, who), f"Contact {contact_name} added: {number}.")

    @app.post(PAGE + "/<contact_id:int>")
    @secured
    def change_contact(contact_id: int) -> str:
        who = require(context)
        fields = form(who)
        owner = owner_of(who, fields.getunicode("user"))
        try:
            contact = owned(Contact, owner.id, str(contact_id), "contact")
            body = read(ContactInput, {"name": fields.getunicode("name") or "",
                                       "number": fields.getunicode("number") or ""})
            contact.name, contact.number = contact_fields(body)
            unique("contact", contact.name, contact.save)
        except ApiError as error:
            return page(who, owner, error.status, said(error))
        done(who, back(owner, who), f"Contact {contact.name} saved: {contact.number}.")

    def delete(model: type[Contact] | type[ContactGroup], kind: str, row_id: int) -> str:
        """Delete the visitor's (or, for an administrator, the chosen user's) contact or group."""
        who = require(context)
        fields = form(who)
        owner = owner_of(who, fields.getunicode("user"))
        try:
            row = owned(model, owner.id, str(row_id), kind)
        except ApiError as error:
            return page(who, owner, error.status, said(error))
        row.delete_instance()
        done(who, back(owner, who), f"{kind.capitalize()} {row.name} deleted.")

    @app.post(PAGE + "/<contact_id:int>/delete")
    @secured
    def delete_contact(contact_id: int) -> str:
        return delete(Contact, "contact", contact_id)

    @app.post(PAGE + "/groups")
    @secured
    def create_group() -> str:
        who = require(context)
        fields = form(who)
        owner = owner_of(who, fields.getunicode("user"))
        raw = _group_input(fields)
        try:
            body = read(GroupInput, raw)
            group_name, members = name(body.name), group_members(owner.id, body)
            unique("group", group_name, lambda: write_group(ContactGroup(user=owner, name=group_name), members))
        except ApiError as error:
            return page(who, owner, error.status, said(error),
                        {"group": raw["name"], "members": "\n".join(raw["members"])})
        done(who, back(owner, who), f"Group {group_name} created with {len(members)} member(s).")

    @app.post(PAGE + "/groups/<group_id:int>")
    @secured
    def change_group(group_id: int) -> str:
        who = require(context)
        fields = form(who)
        owner = owner_of(who, fields.getunicode("user"))
        try:
            group = owned(ContactGroup, owner.id, str(group_id), "group")
            body = read(GroupInput, _group_input(fields))
            group.name, members = name(body.name), group_members(owner.id, body)
            unique("group", group.name, lambda: write_group(group, members))
        except ApiError as error:
            return page(who, owner, error.status, said(error))
        done(who, back(owner, who), f"Group {group.name} saved with {len(members)} member(s).")

    @app.post(PAGE + "/groups/<group_id:int>/delete")
    @secured
    def delete_group(group_id: int) -> str:
        return delete(ContactGroup, "group", group_id)
