% rebase("base", title="Sent messages")
<h1>{{"Sent messages" if everyone else "Your sent messages"}}</h1>
% include("search_form", action="/messages")
% if not messages:
<p>No messages{{" found" if any(filters.fields.values()) else ""}}{{"" if first else " older than these"}}{{" in this stretch" if stopped else ""}}.</p>
% end
<ol class="messages">
% for message in messages:
<li class="message">
<p class="meta"><time>{{message["time"]}}</time> to <strong class="recipient">{{message["recipient"]}}</strong>
% if message["sender"]:
from {{message["sender"]}}
% end
· <span class="state">{{message["state"]}}</span>
% if message["gateway"]:
via {{message["gateway"]}}
% end
· attempts {{message["attempts"]}} · <a href="/messages/{{message["id"]}}">id {{message["id"]}}</a></p>
% if message["error"]:
<p class="error">{{message["error"]}}</p>
% end
<p class="text">{{message["text"]}}</p>
</li>
% end
</ol>
<nav class="pages">
% if not first:
<a href="{{newest}}">Newest</a>
% end
% if older:
<a href="{{older}}">Older</a>
% end
</nav>
