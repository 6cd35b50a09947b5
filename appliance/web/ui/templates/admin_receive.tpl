% rebase("base", title="Receive connectors")
<h1>Receive connectors</h1>
% include("admin_nav")
% if token:
<section class="panel secret" role="status">
<h2>New token for {{token_for}}</h2>
<p>Copy it now: it is shown this once and never again. Other systems post with the header <code>Authorization: Bearer</code> and this token.</p>
<p><code class="token">{{token}}</code></p>
</section>
% end
<table class="admin">
<thead><tr><th>Name</th><th>Receive URL</th><th>Number</th><th>Routing</th><th>Target</th><th>Token</th><th>Change</th></tr></thead>
<tbody>
% for connector in connectors:
<tr>
<td class="name">{{connector.name}}</td>
<td><code>/receive/{{path(connector.name)}}</code></td>
<td>{{connector.number or "—"}}</td>
<td>{{connector.routing}}</td>
<td>{{connector.target}}</td>
<td>{{"required" if connector.require_token else "not required"}}</td>
<td class="actions">
<form method="post" action="/admin/receive/{{path(connector.name)}}">
<input type="hidden" name="csrf" value="{{visitor.session.csrf}}">
<label>Number <input name="number" value="{{connector.number}}" autocomplete="off"></label>
<label>Routing <select name="routing">
% for routing in routings:
<option value="{{routing}}"{{!" selected" if routing == connector.routing else ""}}>{{routing}}</option>
% end
</select></label>
<label>Target <select name="target">
% for target, kind in targets.items():
<option value="{{target}}"{{!" selected" if target == connector.target else ""}}>{{target}} ({{kind}})</option>
% end
</select></label>
<label>Subject <input name="subject" value="{{connector.subject}}" maxlength="200" autocomplete="off"></label>
<label class="check"><input type="checkbox" name="token" value="1"{{!" checked" if connector.require_token else ""}}> requires a token</label>
<button type="submit">Save</button>
</form>
% if connector.require_token:
<form method="post" action="/admin/receive/{{path(connector.name)}}/token">
<input type="hidden" name="csrf" value="{{visitor.session.csrf}}">
<button type="submit">Generate a new token</button>
</form>
% end
<form method="post" action="/admin/receive/{{path(connector.name)}}/delete">
<input type="hidden" name="csrf" value="{{visitor.session.csrf}}">
<button type="submit" class="danger">Delete</button>
</form>
</td>
</tr>
% end
% if not connectors:
<tr><td colspan="7">No receive connectors.</td></tr>
% end
</tbody>
</table>
<h2>New receive connector</h2>
<form method="post" action="/admin/receive" class="panel">
<input type="hidden" name="csrf" value="{{visitor.session.csrf}}">
<label>Name (1 to 64 letters, digits or . _ -; part of the URL) <input name="name" value="{{typed.get("name", "")}}" required maxlength="64" autocomplete="off"></label>
<label>Number it stands for (optional) <input name="number" value="{{typed.get("number", "")}}" autocomplete="off"></label>
<label>Routing <select name="routing">
% for routing in routings:
<option value="{{routing}}"{{!" selected" if routing == typed.get("routing") else ""}}>{{routing}}</option>
% end
</select></label>
<label>Target <select name="target">
<option value="">the one connector that suits the routing</option>
% for target, kind in targets.items():
<option value="{{target}}"{{!" selected" if target == typed.get("target") else ""}}>{{target}} ({{kind}})</option>
% end
</select></label>
<label>Subject (optional) <input name="subject" value="{{typed.get("subject", "")}}" maxlength="200" autocomplete="off"></label>
<label class="check"><input type="checkbox" name="token" value="1" checked> requires a token</label>
<button type="submit">Create</button>
</form>
