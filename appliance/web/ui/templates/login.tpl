% rebase("base", title="Log in")
<h1>Log in</h1>
% if error:
<p class="error" role="alert">{{error}}</p>
% end
<form method="post" action="/login" class="panel">
<label>User name <input name="username" value="{{name}}" autocomplete="username" required autofocus></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Log in</button>
</form>
