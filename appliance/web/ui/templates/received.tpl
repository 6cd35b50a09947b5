% rebase("base", title="Received messages")
<h1>Received messages</h1>
% include("search_form", action="/received")
% if not messages:
<p>No messages{{" found" if any(filters.fields.values()) else ""}}{{"" if first else " older than these"}}{{" in this stretch" if stopped else ""}}.</p>
% end
<ol class="messages">
% for message in messages:
<li class="message">
<p class="meta"><time>{{message["time"]}}</time> from <strong class="originator">{{message["originator"]}}</strong>
% if message["recipient"]:
to {{message["recipient"]}}
% end
via {{message["gateway"]}} · parts {{message["parts"]}}</p>
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
