/* The task page's small helper. The page works without it; with it:
 * - heartbeats while the worker is active keep the lease alive and count active time;
 * - the time left counts down, with a warning near the end;
 * - a submit that cannot reach the server is kept on this phone and sent when the connection returns
 *   (the submit is idempotent on the server, so a retry never counts twice);
 * - once the worker starts answering, the next task is fetched in the background; Submit then shows it at once
 *   and sends these answers behind it (through the same kept-on-the-phone queue).
 * Words come from the page (a JSON element rendered in the worker's language). No framework, no build step. */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("task-config").textContent);
  var words = config.words;
  var status = document.getElementById("task-status");
  var timeLeft = document.getElementById("lease-time-left");
  var form = document.getElementById("answer-form");
  var KEY = "crowdloop-pending";
  var expiresAt = Date.parse(config.expires_at);
  var lastActive = Date.now();
  // Start answers with the task itself: show the task's own address, so a reload or a shared link finds it.
  if (history.replaceState && location.pathname !== config.url) history.replaceState(null, "", config.url);

  function csrf() {
    var field = document.querySelector("[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  function say(text, kind) {
    if (!status) return;
    status.textContent = text;
    status.className = "msg" + (kind ? " " + kind : "");
    status.hidden = !text;
  }

  function pending() {
    try { return JSON.parse(localStorage.getItem(KEY) || "[]"); } catch (e) { return []; }
  }
  function keep(list) {
    try { localStorage.setItem(KEY, JSON.stringify(list)); } catch (e) { /* private mode: nothing to keep */ }
  }

  // ---- time left and heartbeats
  function tick() {
    if (!timeLeft || isNaN(expiresAt)) return;
    var minutes = Math.max(0, Math.ceil((expiresAt - Date.now()) / 60000));
    timeLeft.textContent = words.pays + " · " + words.minutes_left.replace("%(n)s", minutes);
    if (minutes <= 2) { timeLeft.className = "msg error"; timeLeft.textContent += " · " + words.hurry; }
  }
  ["input", "change", "keydown", "touchstart", "scroll"].forEach(function (name) {
    addEventListener(name, function () { lastActive = Date.now(); }, { passive: true });
  });
  function beat() {
    if (document.hidden || Date.now() - lastActive > 120000 || !navigator.onLine) return;
    fetch(config.heartbeat_url, { method: "POST", credentials: "same-origin", headers: { "X-CSRFToken": csrf() } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) {
        if (body && body.expires_at) { expiresAt = Date.parse(body.expires_at); config.queued = body.queued; tick(); }
      })
      .catch(function () { /* offline: the next beat tries again */ });
  }
  tick();
  setInterval(tick, 15000);
  setInterval(beat, 60000);

  // ---- submits that survive a dropped connection
  function send(entry) {
    var body = new URLSearchParams(entry.fields);
    return fetch(entry.url, {
      method: "POST", body: body, credentials: "same-origin", headers: { "X-Crowdloop-Inline": "1" }
    });
  }
  function show(response) {
    // The server answered: show its page (the next task, or the form with what is missing).
    return response.text().then(function (html) {
      var where = response.headers.get("Crowdloop-Location") || response.url;
      document.open(); document.write(html); document.close();
      if (where && history.replaceState) history.replaceState(null, "", where);
    });
  }
  function flush() {
    var list = pending();
    if (!list.length || !navigator.onLine) return;
    var entry = list[0];
    say(words.sending);
    send(entry).then(function (response) {
      keep(pending().slice(1));
      if (response.status === 409) { say(words.expired, "error"); return; }
      if (entry.assignment === config.assignment) return show(response);
      if (!response.ok) { say(words.not_saved, "error"); return; }
      say(entry.done || words.sent);
      if (config.queued) beat();  // that task has ended, so this one is now the current one
      flush();
    }).catch(function () { say(words.saved_offline); });
  }

  // ---- the next task, fetched while the worker answers this one
  var ahead = null;
  var asking = false;
  function fetchAhead() {
    if (ahead || asking || config.queued || !navigator.onLine) return;
    asking = true;
    fetch(config.ahead_url, {
      method: "POST", credentials: "same-origin", headers: { "X-CSRFToken": csrf(), "X-Crowdloop-Inline": "1" }
    }).then(function (response) {
      var where = response.headers.get("Crowdloop-Location");
      if (response.status !== 200 || !where) return;
      return response.text().then(function (html) { ahead = { html: html, where: where }; });
    }).catch(function () { /* offline: the next answer tries again */ }).then(function () { asking = false; });
  }
  function showAhead(entry) {
    // The answers wait in the phone's queue; the next page sends them first thing, whatever the connection.
    keep(pending().concat([entry]));
    document.open(); document.write(ahead.html); document.close();
    if (history.replaceState) history.replaceState(null, "", ahead.where);
  }

  if (form && window.fetch && window.URLSearchParams) {
    form.addEventListener("change", fetchAhead);
    form.addEventListener("submit", function (event) {
      var fields = [];
      var then = event.submitter && event.submitter.name === "then" ? event.submitter.value : "next";
      new FormData(form).forEach(function (value, name) { fields.push([name, value]); });
      var entry = { url: form.action, fields: fields, assignment: config.assignment };
      event.preventDefault();
      if (ahead && then === "next") {
        entry.fields.push(["then", "ahead"]);
        entry.done = words.saved;
        return showAhead(entry);
      }
      if (event.submitter && event.submitter.name) fields.push([event.submitter.name, event.submitter.value]);
      say(words.sending);
      send(entry).then(show).catch(function () {
        keep(pending().concat([entry]));
        say(words.saved_offline);
      });
    });
  }
  if (config.queued) beat();  // shown from the queue: tell the server it is now the one being worked on
  addEventListener("online", flush);
  addEventListener("offline", function () { if (pending().length) say(words.saved_offline); });
  if (pending().length && !navigator.onLine) say(words.saved_offline);
  flush();
})();
