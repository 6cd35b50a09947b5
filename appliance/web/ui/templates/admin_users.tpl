% rebase("base", title="Users")
<h1>Users</h1>
% include("admin_nav")
<table class="admin">
<thead><tr><th>User</th><th>Role</th><th>Created</th><th>Change</th></tr></thead>
<tbody>
% for user in users:
<tr>
<td class="name">{{user.name}}</td>
<td>{{"administrator" if user.is_admin else "user"}}</td>
<td>{{created(user)}}</td>
<td class="actions">
<form method="post" action="/admin/users/{{user.name}}/role">
<input type="hidden" name="csrf" value="{{visitor.session.csrf}}">
<input type="hidden" name="role" value="{{"user" if user.is_admin else "administrator"}}">
<button type="submit">{{"Make a user" if user.is_admin else "Make an administrator"}}</button>
</form>
<form method="post" action="/admin/users/{{user.name}}/password">
<input type="hidden" name="csrf" value="{{visitor.session.csrf}}">
<label>New password <input name="password" type="password" autocomplete="new-password" required minlength="8"></label>
<button type="submit">Set password</button>
</form>
% if user.id != visitor.user.id:
<form method="post" action="/admin/users/{{user.name}}/delete">
<input type="hidden" name="csrf" value="{{visitor.session.csrf}}">
<button type="submit" class="danger">Delete</button>
</form>
% end
</td>
</tr>
% end
</tbody>
</table>
<h2>New user</h2>
<form method="post" action="/admin/users" class="panel">
<input type="hidden" name="csrf" value="{{visitor.session.csrf}}">
<label>User name <input name="name" value="{{name}}" required maxlength="64" autocomplete="off"></label>
<label>Password (at least 8 characters) <input name="password" type="password" autocomplete="new-password" required minlength="8"></label>
<label>Role <select name="role"><option value="user">user</option><option value="administrator">administrator</option></select></label>
<button type="submit">Create</button>
</form>
