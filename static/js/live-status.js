// While something is being prepared (a certificate, a PARS file), ask the server every few
// seconds and, once it is no longer in the waiting state, put the server's new status into
// the live region in place: no reload, so a screen reader announces it and the user's focus
// stays put. The region names the JSON status address (data-live-status) and the state that
// means "still waiting" (data-live-status-waiting).
(function () {
  "use strict";
  var region = document.querySelector("[data-live-status]");
  if (!region) return;
  var url = region.getAttribute("data-live-status");
  var waiting = region.getAttribute("data-live-status-waiting");
  var delay = 1500;
  function check() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (status) {
        if (status && status.state !== waiting) {
          region.innerHTML = status.html;
          region.removeAttribute("data-live-status");
          return;
        }
        delay = Math.min(delay * 1.5, 10000);
        window.setTimeout(check, delay);
      })
      .catch(function () { window.setTimeout(check, 10000); });
  }
  window.setTimeout(check, delay);
})();
