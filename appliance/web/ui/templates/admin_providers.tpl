% rebase("base", title="Add a gateway")
<h1>Add a gateway</h1>
% include("admin_nav")
<p>A provider gateway is a <code>[[provider]]</code> table of the config file. Fill in the form: the answer is the table to paste into the config file; restart the service (<code>systemctl restart sms-appliance</code>) to load it. Nothing typed here is stored.</p>
<div class="cards">
% for kind in types:
<section class="card provider-type" data-type="{{kind.type}}">
<h2><img src="/ui/static/providers/{{kind.type}}.svg" alt="" width="48" height="48"> {{kind.company}}</h2>
<p>{{kind.description}}</p>
<p class="meta">Sign up: {{kind.sign_up}}</p>
<p class="meta">Credentials: {{", ".join(kind.credentials) or "as the provider's URL and parameter template need"}}</p>
</section>
% end
</div>
<form method="post" action="/admin/providers/add" class="properties">
<input type="hidden" name="csrf" value="{{visitor.session.csrf}}">
% for field in fields:
% if field == "type":
<label>type <select name="type">
% for kind in types:
<option value="{{kind.type}}"{{" selected" if values.get("type") == kind.type else ""}}>{{kind.company}}</option>
% end
</select></label>
% elif field in secrets:
<label>{{field}} <input name="{{field}}" type="password" value="" autocomplete="new-password"></label>
% else:
<label>{{field}} <input name="{{field}}" value="{{values.get(field, "")}}" autocomplete="off"></label>
% end
% end
<button type="submit">Show the config table</button>
</form>
% if toml:
<h2>Paste this into the config file</h2>
<p>It holds the credentials you typed: they are shown this once and kept nowhere. Then restart the service.</p>
<pre class="toml">{{toml}}</pre>
% end
