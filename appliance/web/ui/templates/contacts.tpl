% rebase("base", title="Contacts")
<h1>Contacts of {{owner.name}}</h1>
% if users:
<form method="get" action="/contacts" class="tabs">
<label>Whose contacts <select name="user">
% for user_name in users:
<option value="{{user_name}}"{{!" selected" if user_name == owner.name else ""}}>{{user_name}}</option>
% end
</select></label>
<button type="submit">Show</button>
</form>
% end
% if notice:
<p class="notice" role="status">{{notice}}</p>
% end
% if error:
<p class="error" role="alert">{{error}}</p>
% end
<p>Messages sent by {{owner.name}} can name these contacts and groups instead of numbers (<code>contact-name</code>).</p>
<h2>Contacts</h2>
<table class="admin">
<thead><tr><th>Name</th><th>Number</th><th>Change</th></tr></thead>
<tbody>
% for contact in contacts:
<tr>
<td class="name">{{contact.name}}</td>
<td>{{contact.number}}</td>
<td class="actions">
<form method="post" action="/contacts/{{contact.id}}">
<input type="hidden" name="csrf" value="{{visitor.session.csrf}}">
<input type="hidden" name="user" value="{{owner.name}}">
<label>Name <input name="name" value="{{contact.name}}" required maxlength="64" autocomplete="off"></label>
<label>Number <input name="number" value="{{contact.number}}" required maxlength="64" autocomplete="off"></label>
<button type="submit">Save</button>
</form>
<form method="post" action="/contacts/{{contact.id}}/delete">
<input type="hidden" name="csrf" value="{{visitor.session.csrf}}">
<input type="hidden" name="user" value="{{owner.name}}">
<button type="submit" class="danger">Delete</button>
</form>
</td>
</tr>
% end
% if not contacts:
<tr><td colspan="3">No contacts.</td></tr>
% end
</tbody>
</table>
<h2>New contact</h2>
<form method="post" action="/contacts" class="panel">
<input type="hidden" name="csrf" value="{{visitor.session.csrf}}">
<input type="hidden" name="user" value="{{owner.name}}">
<label>Name <input name="name" value="{{typed.get("name", "")}}" required maxlength="64" autocomplete="off"></label>
<label>Number (like +44 7700 900123) <input name="number" value="{{typed.get("number", "")}}" required maxlength="64" autocomplete="off"></label>
<button type="submit">Add</button>
</form>
<h2>Groups</h2>
<table class="admin">
<thead><tr><th>Name</th><th>Members</th><th>Change</th></tr></thead>
<tbody>
% for group in groups:
<tr>
<td class="name">{{group.name}}</td>
<td>{{", ".join(group.members) or "no members"}}</td>
<td class="actions">
<form method="post" action="/contacts/groups/{{group.id}}">
<input type="hidden" name="csrf" value="{{visitor.session.csrf}}">
<input type="hidden" name="user" value="{{owner.name}}">
<label>Name <input name="name" value="{{group.name}}" required maxlength="64" autocomplete="off"></label>
<label>Members (contact names, one a line) <textarea name="members" rows="4">{{"\n".join(group.members)}}</textarea></label>
<button type="submit">Save</button>
</form>
<form method="post" action="/contacts/groups/{{group.id}}/delete">
<input type="hidden" name="csrf" value="{{visitor.session.csrf}}">
<input type="hidden" name="user" value="{{owner.name}}">
<button type="submit" class="danger">Delete</button>
</form>
</td>
</tr>
% end
% if not groups:
<tr><td colspan="3">No groups.</td></tr>
% end
</tbody>
</table>
<h2>New group</h2>
<form method="post" action="/contacts/groups" class="panel">
<input type="hidden" name="csrf" value="{{visitor.session.csrf}}">
<input type="hidden" name="user" value="{{owner.name}}">
<label>Name <input name="name" value="{{typed.get("group", "")}}" required maxlength="64" autocomplete="off"></label>
<label>Members (contact names, one a line) <textarea name="members" rows="4">{{typed.get("members", "")}}</textarea></label>
<button type="submit">Create</button>
</form>
