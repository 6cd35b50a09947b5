% rebase("base", title="Send a test SMS")
<h1>Send a test SMS</h1>
% if error:
<p class="error" role="alert" id="send-error" data-for="{{field}}">{{error}}</p>
% end
<form method="post" action="/send" class="panel send" id="send">
<input type="hidden" name="csrf" value="{{visitor.session.csrf}}">
<label>Number <input name="number" type="tel" value="{{number}}" autocomplete="off" required placeholder="+447700900123"></label>
<label>Text <textarea name="text" id="text" rows="5" maxlength="{{max_text}}" required>{{text}}</textarea></label>
<p class="meta" id="count" aria-live="polite"><span id="parts">{{count["parts"]}}</span> part(s) ·
<span id="encoding">{{count["encoding"]}}</span> ·
<span id="left">{{count["left"]}}</span> characters left in this part
<span class="error" id="count-error"></span></p>
<label>Gateway <select name="gateway">
<option value="">any</option>
% for name in gateways:
<option value="{{name}}"{{!" selected" if name == gateway else ""}}>{{name}}</option>
% end
</select></label>
<button type="submit">Send</button>
</form>
<script src="/ui/static/send.js" defer></script>
