// preflight approval console: live updates (server-sent events) and countdowns.
// Served as a file so the Content-Security-Policy can forbid inline script. It never builds
// markup from data: fragments come from the server, which escapes everything.
"use strict";
(function () {
  var base = document.body.getAttribute("data-base") || "";
  var skew = Number(document.body.getAttribute("data-now")) - Date.now();
  var pending = document.getElementById("pending");
  var history = document.getElementById("history");
  var count = document.getElementById("pending-count");
  var empty = document.getElementById("empty");
  var live = document.getElementById("live");

  function span(ms) {
    var s = Math.max(0, Math.floor(ms / 1000));
    if (s < 60) return s + "s";
    if (s < 3600) return Math.floor(s / 60) + "m " + (s % 60) + "s";
    return Math.floor(s / 3600) + "h " + Math.floor((s % 3600) / 60) + "m";
  }

  function recount() {
    if (!pending || !count) return;
    var n = pending.querySelectorAll("article.status-pending").length;
    count.textContent = String(n);
    if (empty) empty.hidden = n > 0;
  }

  function tick() {
    var now = Date.now() + skew;
    var cards = document.querySelectorAll("article.card[data-expires]");
    for (var i = 0; i < cards.length; i++) {
      var card = cards[i];
      var age = card.querySelector(".age");
      var expiry = card.querySelector(".expiry");
      var left = Number(card.getAttribute("data-expires")) - now;
      if (age) age.textContent = span(now - Number(card.getAttribute("data-requested"))) + " ago";
      if (!card.classList.contains("status-pending")) continue;
      if (left > 0) {
        if (expiry) expiry.textContent = "expires in " + span(left);
      } else {
        card.classList.remove("status-pending");
        card.classList.add("status-expired");
        if (expiry) expiry.textContent = "expired";
        var buttons = card.querySelectorAll("button");
        for (var j = 0; j < buttons.length; j++) buttons[j].disabled = true;
      }
    }
    recount();
  }

  function fragment(id, then) {
    fetch(base + "/fragments/requests/" + encodeURIComponent(id), {
      credentials: "same-origin",
      headers: { Accept: "text/html" }
    }).then(function (r) {
      if (!r.ok) return null;
      return r.text().then(function (t) { return { kind: r.headers.get("x-preflight-kind"), html: t }; });
    }).then(function (f) { if (f) then(f); }).catch(function () {});
  }

  function byId(prefix, id) { return document.getElementById(prefix + id); }

  function enqueued(id) {
    if (!pending || byId("req-", id)) return;
    fragment(id, function (f) {
      if (f.kind !== "pending" || byId("req-", id)) return;
      pending.insertAdjacentHTML("beforeend", f.html);
      tick();
    });
  }

  function decided(id) {
    var card = byId("req-", id);
    if (card && pending && card.parentNode === pending) card.parentNode.removeChild(card);
    recount();
    if (!history || byId("hist-", id)) return;
    fragment(id, function (f) {
      if (f.kind !== "decided" || byId("hist-", id)) return;
      history.insertAdjacentHTML("afterbegin", f.html);
    });
  }

  if (pending && window.EventSource) {
    var events = new EventSource(base + "/events");
    events.addEventListener("hello", function () {
      if (live) { live.textContent = "live"; live.className = "live on"; }
    });
    events.addEventListener("enqueued", function (e) { enqueued(e.data); });
    events.addEventListener("decided", function (e) { decided(e.data); });
    events.addEventListener("resync", function () { window.location.reload(); });
    events.onerror = function () {
      if (live) { live.textContent = "reconnecting…"; live.className = "live"; }
    };
  }

  // A folded card (long queues) loads its full content when unfolded.
  document.addEventListener("toggle", function (e) {
    var details = e.target;
    var card = details.parentNode;
    if (!details.open || !card || !card.classList || !card.classList.contains("folded")) return;
    card.classList.remove("folded");
    fragment(card.getAttribute("data-id"), function (f) {
      if (f.kind !== "pending" || !card.parentNode) return;
      card.insertAdjacentHTML("afterend", f.html);
      card.parentNode.removeChild(card);
    });
  }, true);

  // Ask before approving: the person confirms they read the action.
  document.addEventListener("submit", function (e) {
    var button = e.submitter;
    if (button && button.disabled) e.preventDefault();
  });

  // The server rendered the ages and expiries; refresh them from the next second on.
  recount();
  setInterval(tick, 1000);
})();
