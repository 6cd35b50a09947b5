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
<p><span class="bars" data-bars="{{gateway["bars"]}}" aria-hidden="true"><i></i><i></i><i></i><i></i></span>
<span data-field="signal">{{gateway["signal"]}}</span></p>
<dl>
<dt>Operator</dt><dd data-field="operator">{{gateway["operator"]}}</dd>
<dt>Registration</dt><dd data-field="registration">{{gateway["registration"]}}</dd>
<dt>SIM storage</dt><dd data-field="storage">{{gateway["storage"]}}</dd>
<dt>Sent</dt><dd data-field="sent">{{gateway["sent"]}}</dd>
<dt>Failed</dt><dd data-field="failed">{{gateway["failed"]}}</dd>
<dt>Received</dt><dd data-field="received">{{gateway["received"]}}</dd>
<dt>Waiting for it</dt><dd data-field="waiting">{{gateway["waiting"]}}</dd>
<dt>Send limits</dt><dd data-field="limits">{{gateway["limits"]}}</dd>
</dl>
</article>
% end
</section>
<section class="panel">
<h2>Queue</h2>
<dl>
<dt>Queued</dt><dd id="queued">{{queue["queued"]}}</dd>
<dt>Sending now</dt><dd id="sending">{{queue["sending"]}}</dd>
<dt>Oldest waiting</dt><dd id="oldest">{{queue["oldest"]}}</dd>
</dl>
</section>
<section class="panel">
<h2>Last events</h2>
<ul id="events">
% for event in events:
<li data-level="{{event["level"]}}"><time>{{event["time"]}}</time> {{event["text"]}}</li>
% end
</ul>
</section>
