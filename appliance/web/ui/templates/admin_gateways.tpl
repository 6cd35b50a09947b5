% rebase("base", title="Gateways and connectors")
<h1>Gateways and connectors</h1>
% include("admin_nav")
<h2>Provider gateways</h2>
% if providers:
<table class="providers">
<thead><tr><th>Company</th><th>Gateway name</th><th>Host</th><th>Credentials</th><th>State</th><th>In flight</th></tr></thead>
<tbody>
% for row in providers:
<tr data-name="{{row["name"]}}"><td><img src="/ui/static/providers/{{row["type"]}}.svg" alt="" width="24" height="24"> {{row["company"]}}</td><td>{{row["name"]}}</td><td>{{row["host"]}}</td>
<td>{{", ".join(f"{key}: {value}" for key, value in row["credentials"].items())}}</td>
<td>{{row["state"]}}{{": " + row["detail"] if row["detail"] else ""}}</td><td>{{row["in_flight"]}}</td></tr>
% end
</tbody>
</table>
% else:
<p>No provider gateway is configured.</p>
% end
<p><a href="/admin/providers/add">Add a gateway</a> (an HTTP SMS provider account). Edit a provider's Enabled and send limits in its card below; its other settings and credentials in the config file.</p>
% for kind in ("gateway", "connector"):
<h2>{{kind.capitalize()}}s</h2>
<div class="cards">
% for item in configuration[kind + "s"]:
<section class="card admin-item" data-name="{{item["name"]}}">
<h2>{{item["name"]}}{{" (" + item["type"] + ")" if "type" in item else ""}}</h2>
<p class="meta">{{"running" if item["running"] else "stopped"}}{{" · paused" if item.get("paused") else ""}}{{" · a change waits for its restart" if item["pending"] else ""}}</p>
<div class="actions">
% for action in kinds[kind]:
<form method="post" action="/admin/{{kind}}s/{{path(item["name"])}}/{{action}}">
<input type="hidden" name="csrf" value="{{visitor.session.csrf}}">
<button type="submit">{{action.replace("-", " ").capitalize()}}</button>
</form>
% end
</div>
% if kind == "gateway":
<form method="post" action="/admin/gateways/{{path(item["name"])}}/test" class="test-sms">
<input type="hidden" name="csrf" value="{{visitor.session.csrf}}">
<label>To <input name="to" autocomplete="off" required></label>
<label>Text <input name="text" value="Test SMS from {{item["name"]}}" autocomplete="off" required></label>
<button type="submit">Send a test SMS</button>
</form>
% end
<form method="post" action="/admin/{{kind}}s/{{path(item["name"])}}" class="properties">
<input type="hidden" name="csrf" value="{{visitor.session.csrf}}">
% for prop, value in item["properties"].items():
% if prop in secrets:
<label>{{prop}} <input name="properties.{{prop}}" type="password" value="" autocomplete="new-password" placeholder="{{"set: type to replace" if value else "not set"}}"></label>
% if value:
<label class="check"><input type="checkbox" name="clear.{{prop}}" value="1"> remove the {{prop}}</label>
% end
% else:
<label>{{prop}} <input name="properties.{{prop}}" value="{{value}}" autocomplete="off"></label>
% end
% end
% for gateway, entry in item.get("routing", {}).items():
<fieldset><legend>{{gateway}}</legend>
% for prop, value in entry.items():
<label>{{prop}} <input name="routing.{{gateway}}.{{prop}}" value="{{value}}" autocomplete="off"></label>
% end
</fieldset>
% end
<label class="check"><input type="checkbox" name="reload" value="1" checked> restart it with the new values now</label>
<button type="submit">Save</button>
</form>
</section>
% end
</div>
% end
