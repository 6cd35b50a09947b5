% rebase("base", title=title)
<h1>{{title}}</h1>
<p class="error" role="alert">{{reason}}</p>
<p><a href="/">Back to the dashboard</a></p>
