% rebase("base", title="Received messages")
<h1>Received messages</h1>
% if not messages:
<p>No messages{{"" if first else " older than these"}}.</p>
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
<a href="/received">Newest</a>
% end
% if cursor:
<a href="/received?before={{cursor}}">Older</a>
% end
</nav>
