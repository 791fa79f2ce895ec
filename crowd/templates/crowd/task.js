/* The task page's small helper. The page works without it; with it:
 * - heartbeats while the worker is active keep the lease alive and count active time;
 * - the time left counts down, with a warning near the end;
 * - a submit that cannot reach the server is kept on this phone and sent when the connection returns
 *   (the submit is idempotent on the server, so a retry never counts twice).
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
      .then(function (body) { if (body && body.expires_at) { expiresAt = Date.parse(body.expires_at); tick(); } })
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
      say(words.sent);
      flush();
    }).catch(function () { say(words.saved_offline); });
  }
  if (form && window.fetch && window.URLSearchParams) {
    form.addEventListener("submit", function (event) {
      var fields = [];
      new FormData(form).forEach(function (value, name) { fields.push([name, value]); });
      if (event.submitter && event.submitter.name) fields.push([event.submitter.name, event.submitter.value]);
      var entry = { url: form.action, fields: fields, assignment: config.assignment };
      event.preventDefault();
      say(words.sending);
      send(entry).then(show).catch(function () {
        keep(pending().concat([entry]));
        say(words.saved_offline);
      });
    });
  }
  addEventListener("online", flush);
  addEventListener("offline", function () { if (pending().length) say(words.saved_offline); });
  flush();
})();
