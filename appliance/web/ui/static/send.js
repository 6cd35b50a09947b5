// The send form's count of parts as the person types, and a message's page following its
// state. Both ask the appliance (the codec's own count; the message as stored) and put
// the answer into the page with textContent only: a message's text is anyone's.
"use strict";

(function () {
  const DEBOUNCE = 250;
  const PERIOD = 1000;

  const setText = window.SmsUi.setText;  // static/ui.js, loaded first by every page

  function counter(form) {
    const text = form.querySelector("#text");
    const csrf = form.querySelector("[name=csrf]").value;
    let timer = null;

    function ask() {
      const body = new URLSearchParams({csrf: csrf, text: text.value});
      fetch("/ui/count.json", {method: "POST", credentials: "same-origin", cache: "no-store", body: body})
        .then(function (response) {
          if (response.status === 401) {
            window.location.assign("/login");
            return null;
          }
          return response.json();
        })
        .then(function (count) {
          if (!count) {
            return;
          }
          setText(document.getElementById("count-error"), count.error || "");
          if (count.error) {
            return;
          }
          setText(document.getElementById("parts"), count.parts);
          setText(document.getElementById("encoding"), count.encoding);
          setText(document.getElementById("left"), count.left);
        })
        .catch(function () { /* the count is a help: the server checks the text again on send */ });
    }

    text.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(ask, DEBOUNCE);
    });
  }

  function partRow(part) {
    const row = document.createElement("tr");
    ["sequence", "state", "reference", "gateway", "sent", "report", "reported"].forEach(function (name) {
      const cell = document.createElement("td");
      cell.textContent = String(part[name]);
      row.append(cell);
    });
    return row;
  }

  function follow(section) {
    const url = "/ui/messages/" + encodeURIComponent(section.dataset.id) + ".json";
    const offline = document.getElementById("offline");

    function poll() {
      window.SmsUi.getJson(url)
        .then(function (message) {
          if (!message) {
            return;
          }
          offline.hidden = true;
          section.querySelectorAll("[data-field]").forEach(function (element) {
            setText(element, message[element.dataset.field]);
          });
          const parts = document.getElementById("parts");
          parts.replaceChildren.apply(parts, message.parts.map(partRow));
          section.dataset.settled = message.settled ? "yes" : "no";
        })
        .catch(function () { offline.hidden = false; })
        .finally(function () {
          if (section.dataset.settled !== "yes") {
            window.setTimeout(poll, PERIOD);
          }
        });
    }

    if (section.dataset.settled !== "yes") {
      window.setTimeout(poll, PERIOD);
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    const form = document.getElementById("send");
    if (form) {
      counter(form);
    }
    const section = document.getElementById("message");
    if (section) {
      follow(section);
    }
  });
}());
