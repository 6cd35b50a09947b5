<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{title}} · SMS Appliance</title>
<link rel="stylesheet" href="/ui/static/ui.css">
<script src="/ui/static/ui.js" defer></script>
</head>
<body>
<header>
<strong>SMS Appliance</strong>
% if visitor is not None and not visitor.user.must_change_password:
<nav><a href="/">Dashboard</a> <a href="/messages">Sent</a> <a href="/received">Received</a> <a href="/send">Send</a> <a href="/contacts">Contacts</a> <a href="/password">Password</a></nav>
% if visitor.user.is_admin:
<nav><a href="/admin/users">Administration</a></nav>
% end
% end
% if visitor is not None:
<form method="post" action="/logout" class="logout">
<input type="hidden" name="csrf" value="{{visitor.session.csrf}}">
<span>{{visitor.user.name}}</span> <button type="submit">Log out</button>
</form>
% end
</header>
<main>
{{!base}}
</main>
</body>
</html>
