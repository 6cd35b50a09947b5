% rebase("base", title="Dashboard")
<h1>Dashboard</h1>
<p class="meta">Updated <span id="updated">{{updated}}</span> · store: <span id="storage">{{storage}}</span>
<span id="offline" class="error" hidden>· no answer from the appliance</span></p>
<section class="cards" id="gateways">
% for gateway in gateways:
<article class="card" data-gateway="{{gateway["name"]}}">
<h2>{{gateway["name"]}}</h2>
<p class="state" data-tone="{{gateway["tone"]}}" data-field="state">{{gateway["state"]}}</p>
<p class="detail" data-field="detail">{{gateway["detail"]}}</p>
% if gateway["provider"]:
<dl>
<dt>Provider</dt><dd>{{gateway["provider"]}}</dd>
<dt>API host</dt><dd>{{gateway["host"]}}</dd>
<dt>Requests in flight</dt><dd data-field="in_flight">{{gateway["in_flight"]}}</dd>
<dt>Last answer</dt><dd data-field="last_answer">{{gateway["last_answer"]}}</dd>
% else:
<p><span class="bars" data-bars="{{gateway["bars"]}}" aria-hidden="true"><i></i><i></i><i></i><i></i></span>
<span data-field="signal">{{gateway["signal"]}}</span></p>
<dl>
<dt>Operator</dt><dd data-field="operator">{{gateway["operator"]}}</dd>
<dt>Registration</dt><dd data-field="registration">{{gateway["registration"]}}</dd>
<dt>SIM storage</dt><dd data-field="storage">{{gateway["storage"]}}</dd>
% end
<dt>Sent</dt><dd data-field="sent">{{gateway["sent"]}}</dd>
<dt>Failed</dt><dd data-field="failed">{{gateway["failed"]}}</dd>
<dt>Received</dt><dd data-field="received">{{gateway["received"]}}</dd>
<dt>Waiting for it</dt><dd data-field="waiting">{{gateway["waiting"]}}</dd>
<dt>Send limits</dt><dd data-field="limits">{{gateway["limits"]}}</dd>
% if gateway["credit"]:
<dt>Credit</dt><dd data-field="credit">{{gateway["credit"]}}</dd>
% end
</dl>
</article>
% end
</section>
<section class="panel">
<h2>Queue</h2>
<dl>
<dt>Queued</dt><dd id="queued">{{queue["queued"]}}</dd>
<dt>Waiting for their time</dt><dd id="scheduled">{{queue["scheduled"]}}</dd>
<dt>Waiting to be tried again</dt><dd id="retrying">{{queue["retrying"]}}</dd>
<dt>Sending now</dt><dd id="sending">{{queue["sending"]}}</dd>
<dt>Oldest due</dt><dd id="oldest">{{queue["oldest"]}}</dd>
</dl>
</section>
<section class="panel">
<h2>Connectors</h2>
<table class="listing">
<thead><tr><th>Name</th><th>Type</th><th>State</th><th>Waiting</th><th>Sent</th><th>Failed</th><th>Webhook backlog</th></tr></thead>
<tbody id="connectors">
% for connector in connectors:
<tr data-connector="{{connector["name"]}}"><td>{{connector["name"]}}</td><td>{{connector["type"]}}</td>
<td data-field="running">{{connector["running"]}}</td><td data-field="waiting">{{connector["waiting"]}}</td>
<td data-field="sent">{{connector["sent"]}}</td><td data-field="failed">{{connector["failed"]}}</td>
<td data-field="backlog">{{connector["backlog"]}}</td></tr>
% end
</tbody>
</table>
</section>
<section class="panel">
<h2>Last events</h2>
<ul id="events">
% for event in events:
<li data-level="{{event["level"]}}"><time>{{event["time"]}}</time> {{event["text"]}}</li>
% end
</ul>
</section>
