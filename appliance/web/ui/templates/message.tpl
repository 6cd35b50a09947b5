% rebase("base", title="Message " + message["id"])
<h1>Message {{message["id"]}}</h1>
<section class="panel" id="message" data-id="{{message['id']}}" data-settled="{{'yes' if message['settled'] else 'no'}}">
<dl>
<dt>To</dt><dd>{{message["recipient"]}}</dd>
<dt>From</dt><dd>{{message["sender"] or "the gateway's own number"}}</dd>
<dt>State</dt><dd><span id="state" data-field="state">{{message["state"]}}</span></dd>
<dt>Gateway</dt><dd data-field="gateway">{{message["gateway"]}}</dd>
<dt>Attempts</dt><dd data-field="attempts">{{message["attempts"]}}</dd>
<dt>Error</dt><dd class="error" data-field="error">{{message["error"]}}</dd>
<dt>Accepted</dt><dd>{{message["created"]}}</dd>
<dt>Sent</dt><dd data-field="sent">{{message["sent"]}}</dd>
</dl>
<p class="text">{{message["text"]}}</p>
</section>
<h2>Parts</h2>
<p class="meta" id="offline" hidden>The appliance does not answer; trying again.</p>
<table class="parts">
<thead><tr><th>#</th><th>state</th><th>reference</th><th>gateway</th><th>sent</th><th>delivery report</th><th>reported</th></tr></thead>
<tbody id="parts">
% for part in message["parts"]:
<tr><td>{{part["sequence"]}}</td><td>{{part["state"]}}</td><td>{{part["reference"]}}</td><td>{{part["gateway"]}}</td><td>{{part["sent"]}}</td><td>{{part["report"]}}</td><td>{{part["reported"]}}</td></tr>
% end
</tbody>
</table>
<script src="/ui/static/send.js" defer></script>
