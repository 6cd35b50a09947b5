<form method="get" action="{{action}}" class="search">
<label>Number <input name="number" value="{{filters.fields.get("number", "")}}" inputmode="tel"></label>
<label>Text <input name="text" value="{{filters.fields.get("text", "")}}" maxlength="{{max_text}}"></label>
% if states:
<label>State <select name="state">
<option value="">any</option>
% for state in states:
<option value="{{state}}"{{" selected" if filters.fields.get("state") == state else ""}}>{{state}}</option>
% end
</select></label>
% end
<label>From <input name="from" value="{{filters.fields.get("from", "")}}" placeholder="2026-11-22 08:00"></label>
<label>To <input name="to" value="{{filters.fields.get("to", "")}}" placeholder="2026-11-22"></label>
<button type="submit">Search</button>
% if any(filters.fields.values()):
<a href="{{action}}">Clear</a>
% end
</form>
% if stopped:
<p class="stopped">Not all searched yet: {{stopped}}.
% if older:
<a href="{{older}}">Search older messages</a>
% end
</p>
% end
