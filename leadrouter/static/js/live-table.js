// Refresh a table body (or any element marked data-live-rows) from the server every few
// seconds: the team board's rows and its callers-holding line.
(function () {
  "use strict";
  document.querySelectorAll("[data-live-rows]").forEach(function (body) {
    var url = body.getAttribute("data-live-rows");
    var pollMs = Math.max(2, parseInt(body.getAttribute("data-poll"), 10) || 10) * 1000;
    function refresh() {
      fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (response) { return response.ok ? response.text() : Promise.reject(response.status); })
        .then(function (html) { body.innerHTML = html; })
        .catch(function () { /* keep the last rows; the next poll tries again */ })
        .then(function () { window.setTimeout(refresh, pollMs); });
    }
    window.setTimeout(refresh, pollMs);
  });
})();
