// While a certificate is being prepared, ask the server every few seconds and, once it is
// issued (or failed, or revoked), put the server's new status into the live region in
// place: no reload, so a screen reader announces it and the learner's focus stays put.
(function () {
  "use strict";
  var region = document.querySelector("[data-certificate-status]");
  if (!region) return;
  var url = region.getAttribute("data-certificate-status");
  var delay = 1500;
  function check() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (status) {
        if (status && status.state !== "pending") {
          region.innerHTML = status.html;
          region.removeAttribute("data-certificate-status");
          return;
        }
        delay = Math.min(delay * 1.5, 10000);
        window.setTimeout(check, delay);
      })
      .catch(function () { window.setTimeout(check, 10000); });
  }
  window.setTimeout(check, delay);
})();
