% rebase("base", title="Choose your password")
<h1>Choose your password</h1>
% if visitor.user.must_change_password:
<p>You logged in with the password printed when the appliance first started. Choose your own before going on.</p>
% end
% if error:
<p class="error" role="alert">{{error}}</p>
% end
<form method="post" action="/password" class="panel">
<input type="hidden" name="csrf" value="{{visitor.session.csrf}}">
<label>Current password <input name="current" type="password" autocomplete="current-password" required></label>
<label>New password (at least 8 characters) <input name="password" type="password" autocomplete="new-password" required minlength="8"></label>
<label>Confirm password <input name="confirm" type="password" autocomplete="new-password" required minlength="8"></label>
<button type="submit">Save</button>
</form>
