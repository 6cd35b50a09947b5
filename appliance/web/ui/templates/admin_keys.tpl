% rebase("base", title="API keys")
<h1>API keys</h1>
% include("admin_nav")
% if token:
<section class="panel secret" role="status">
<h2>New key for {{owner}}</h2>
<p>Copy it now: it is shown this once and never again.</p>
<p><code class="token">{{token}}</code></p>
</section>
% end
<table class="admin">
<thead><tr><th>User</th><th>Key</th><th>Name</th><th>Created</th><th>Last used</th><th></th></tr></thead>
<tbody>
% for key in keys:
<tr>
<td>{{key.user.name}}</td>
<td><code>{{key.prefix}}…</code></td>
<td>{{key.name}}</td>
<td>{{when(key.created_at)}}</td>
<td>{{when(key.last_used_at)}}</td>
<td class="actions">
<form method="post" action="/admin/keys/{{key.id}}/revoke">
<input type="hidden" name="csrf" value="{{visitor.session.csrf}}">
<button type="submit" class="danger">Revoke</button>
</form>
</td>
</tr>
% end
% if not keys:
<tr><td colspan="6">No API keys.</td></tr>
% end
</tbody>
</table>
<h2>New key</h2>
<form method="post" action="/admin/keys" class="panel">
<input type="hidden" name="csrf" value="{{visitor.session.csrf}}">
<label>For user <select name="user">
% for name in users:
<option value="{{name}}"{{!" selected" if name == owner else ""}}>{{name}}</option>
% end
</select></label>
<label>Name (what it is for; at most 64 characters) <input name="name" value="{{key_name}}" maxlength="64" autocomplete="off"></label>
<button type="submit">Create</button>
</form>
