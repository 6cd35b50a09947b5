"""Contacts and groups of a user: names that `contact-name` turns into numbers."""

from __future__ import annotations

from dataclasses import dataclass

from ..store.models import Contact, ContactGroup, GroupMember, User
from . import numbers


@dataclass(frozen=True)
class Recipient:
    number: str
    contact_name: str = ""     # the contact or group it was addressed by, if any


class UnknownName(ValueError):
    pass


def resolve(user_id: int, names: list[str]) -> list[Recipient]:
    """Each name is one of the user's contacts or groups (a contact wins a tie); a group
    gives its members in their order. Unknown names raise, naming the first."""
    recipients: list[Recipient] = []
    for name in names:
        contact = Contact.get_or_none((Contact.user == user_id) & (Contact.name == name))
        if contact is not None:
            recipients.append(Recipient(contact.number, name))
            continue
        group = ContactGroup.get_or_none((ContactGroup.user == user_id) & (ContactGroup.name == name))
        if group is None:
            raise UnknownName(f"no contact or group named {name!r}")
        members = (Contact.select().join(GroupMember).where(GroupMember.group == group)
                   .order_by(GroupMember.position, Contact.name))
        recipients += [Recipient(member.number, name) for member in members]
    return recipients


def set_contact(user: str, name: str, number: str) -> Contact:
    owner = User.get(User.name == user)
    normalized = numbers.normalize(number)
    contact = Contact.get_or_none((Contact.user == owner) & (Contact.name == name))
    if contact is None:
        return Contact.create(user=owner, name=name, number=normalized)
    contact.number = normalized
    contact.save()
    return contact


def set_group(user: str, name: str, members: list[str]) -> ContactGroup:
    """Create or replace the group with exactly these contacts, in this order."""
    owner = User.get(User.name == user)
    contacts = []
    for member in members:
        contact = Contact.get_or_none((Contact.user == owner) & (Contact.name == member))
        if contact is None:
            raise UnknownName(f"{user} has no contact named {member!r}")
        contacts.append(contact)
    with ContactGroup._meta.database.atomic():
        group, _ = ContactGroup.get_or_create(user=owner, name=name)
        GroupMember.delete().where(GroupMember.group == group).execute()
        for position, contact in enumerate(contacts):
            GroupMember.create(group=group, contact=contact, position=position)
    return group
