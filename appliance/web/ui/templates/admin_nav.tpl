<nav class="tabs"><a href="/admin/users">Users</a> <a href="/admin/keys">API keys</a> <a href="/admin/gateways">Gateways and connectors</a> <a href="/admin/receive">Receive connectors</a></nav>
% if notice:
<p class="notice" role="status">{{notice}}</p>
% end
% if error:
<p class="error" role="alert">{{error}}</p>
% end
