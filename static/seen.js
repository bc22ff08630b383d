// "Opened" on the coordinator's round page means a person used this page: the first tap, scroll wheel or key
// press reports it once. A mail scanner that only fetches the link, or renders it without touching it, is not
// counted (following a link records nothing: see README).
(function () {
  "use strict";

  var marker = document.querySelector("[data-seen-url]");
  var token = document.querySelector("input[name=csrf_token]");
  if (!marker || !token || !window.fetch) return;
  var EVENTS = ["pointerdown", "keydown", "touchstart", "wheel"];

  function report() {
    EVENTS.forEach(function (name) { window.removeEventListener(name, report, true); });
    var body = new FormData();
    body.append("csrf_token", token.value);
    fetch(marker.getAttribute("data-seen-url"), {method: "POST", body: body, credentials: "same-origin",
                                                 keepalive: true}).catch(function () {});
  }

  EVENTS.forEach(function (name) { window.addEventListener(name, report, {capture: true, passive: true}); });
})();
