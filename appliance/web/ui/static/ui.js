// The dashboard's live updates: poll /ui/status.json every second and put each value into
// its element with textContent (never as HTML: the values include text from strangers).
"use strict";

(function () {
  const PERIOD = 1000;

  function setText(element, value) {
    if (element && element.textContent !== String(value)) {
      element.textContent = String(value);
    }
  }

  // a session-checked JSON the page follows: null (and on to the login page) once the
  // session has ended; an error for any other refusal, which the page shows as offline
  function getJson(url) {
    return fetch(url, {credentials: "same-origin", cache: "no-store"})
      .then(function (response) {
        if (response.status === 401) {
          window.location.assign("/login");
          return null;
        }
        if (!response.ok) {
          throw new Error("status " + response.status);
        }
        return response.json();
      });
  }

  // for the other page scripts (static/send.js), loaded after this one
  window.SmsUi = {setText: setText, getJson: getJson};

  // each [data-field] inside element takes the value of that name
  function updateFields(element, values) {
    element.querySelectorAll("[data-field]").forEach(function (field) {
      setText(field, values[field.dataset.field]);
    });
  }

  function updateGateway(card, gateway) {
    updateFields(card, gateway);
    card.querySelector(".state").dataset.tone = gateway.tone;
    const bars = card.querySelector(".bars");  // a provider's card has none
    if (bars) {
      bars.dataset.bars = String(gateway.bars);
    }
  }

  function updateEvents(list, events) {
    const items = events.map(function (event) {
      const item = document.createElement("li");
      const time = document.createElement("time");
      item.dataset.level = event.level;
      time.textContent = event.time;
      item.append(time, " " + event.text);
      return item;
    });
    list.replaceChildren.apply(list, items);
  }

  function update(status) {
    setText(document.getElementById("updated"), status.updated);
    setText(document.getElementById("storage"), status.storage);
    const cards = document.querySelectorAll("[data-gateway]");
    status.gateways.forEach(function (gateway) {
      cards.forEach(function (card) {
        if (card.dataset.gateway === gateway.name) {
          updateGateway(card, gateway);
        }
      });
    });
    ["queued", "scheduled", "retrying", "sending", "oldest"].forEach(function (name) {
      setText(document.getElementById(name), status.queue[name]);
    });
    const rows = document.querySelectorAll("[data-connector]");
    status.connectors.forEach(function (connector) {
      rows.forEach(function (row) {
        if (row.dataset.connector === connector.name) {
          updateFields(row, connector);
        }
      });
    });
    updateEvents(document.getElementById("events"), status.events);
  }

  function poll() {
    const offline = document.getElementById("offline");
    getJson("/ui/status.json")
      .then(function (status) {
        if (status) {
          offline.hidden = true;
          update(status);
        }
      })
      .catch(function () { offline.hidden = false; })
      .finally(function () { window.setTimeout(poll, PERIOD); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (document.getElementById("gateways")) {
      poll();
    }
  });
}());
