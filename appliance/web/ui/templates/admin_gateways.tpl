% rebase("base", title="Gateways and connectors")
<h1>Gateways and connectors</h1>
% include("admin_nav")
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
