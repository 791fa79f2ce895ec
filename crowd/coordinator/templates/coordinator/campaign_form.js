/* The campaign form's helpers; the form works and is checked on the server without them:
 * - the hourly rate the reward pays at the expected time, against the pay floor, as the coordinator types;
 * - "Add a label" adds an empty label row. */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("pay-check-config").textContent);
  var out = document.getElementById("pay-check");
  var reward = document.getElementById("id_reward");
  var seconds = document.getElementById("id_estimated_seconds");
  var currency = document.getElementById("id_currency");
  function check() {
    var pay = parseFloat(reward.value), time = parseFloat(seconds.value);
    if (!(pay >= 0) || !(time > 0)) { out.hidden = true; return; }
    var unit = (currency.value || "").toUpperCase();
    var rate = pay * 3600 / time;
    var text = config.words.rate.replace("%(rate)s", rate.toFixed(2) + " " + unit);
    var kind = "";
    if (config.floor && unit === config.floor.currency) {
      var floor = parseFloat(config.floor.hourly);
      var floorText = config.floor.hourly + " " + config.floor.currency;
      if (rate < floor) { text += " " + config.words.below.replace("%(floor)s", floorText); kind = " error"; }
      else { text += " " + config.words.ok.replace("%(floor)s", floorText); }
    }
    out.textContent = text;
    out.className = "msg" + kind;
    out.hidden = false;
  }
  [reward, seconds, currency].forEach(function (input) { if (input) input.addEventListener("input", check); });
  if (reward && seconds) check();
  var add = document.getElementById("add-label");
  var rows = document.getElementById("label-rows");
  if (add && rows) {
    add.hidden = false;
    add.addEventListener("click", function () {
      var last = rows.lastElementChild;
      var copy = last.cloneNode(true);
      copy.querySelectorAll("input[type=text]").forEach(function (input) { input.value = ""; });
      var position = copy.querySelector("input[type=number]");
      position.value = rows.children.length + 1;
      rows.appendChild(copy);
      copy.querySelector("input[name=label_value]").focus();
    });
  }
})();
