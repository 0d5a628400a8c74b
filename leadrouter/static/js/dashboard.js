// Keep the advisor's queue live: poll a small feed, and when the set of open leads changes,
// swap in fresh rows. A new critical lead flashes the tab title and plays a short tone.
// Screen pop: a second, quicker poll asks whether this advisor is on a call; the moment
// they take one, the caller's lead is brought up above the queue (no reload), and when
// the call ends the panel stays, marked as their last call.
(function () {
  "use strict";
  var queue = document.getElementById("queue");
  if (!queue) { return; }
  var feedUrl = queue.getAttribute("data-feed");
  var rowsUrl = queue.getAttribute("data-rows");
  var pollMs = Math.max(2, parseInt(queue.getAttribute("data-poll"), 10) || 10) * 1000;
  var status = document.getElementById("live-status");
  var baseTitle = document.title;
  var known = currentIds("");
  var knownCritical = currentIds(".urgency-critical");

  function currentIds(extra) {
    return Array.prototype.map.call(
      document.querySelectorAll("#queue-rows tr[data-lead]" + extra),
      function (row) { return parseInt(row.getAttribute("data-lead"), 10); }
    );
  }

  function same(a, b) {
    return a.length === b.length && a.every(function (value, i) { return value === b[i]; });
  }

  function tone() {
    try {
      var Context = window.AudioContext || window.webkitAudioContext;
      var ctx = new Context();
      var osc = ctx.createOscillator();
      osc.frequency.value = 880;
      osc.connect(ctx.destination);
      osc.start();
      osc.stop(ctx.currentTime + 0.25);
    } catch (err) { /* sound is a bonus; the title and the row still show it */ }
  }

  function refreshRows(feed) {
    return fetch(rowsUrl, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) { return response.ok ? response.text() : Promise.reject(response.status); })
      .then(function (html) {
        document.getElementById("queue-rows").innerHTML = html;
        var arrived = feed.ids.filter(function (id) { return known.indexOf(id) === -1; });
        known = feed.ids;
        ["open", "overdue", "critical", "due_today", "escalated"].forEach(function (name) {
          document.querySelectorAll("[data-count=" + name + "]").forEach(function (el) { el.textContent = feed.counts[name]; });
        });
        if (arrived.length) {
          status.textContent = arrived.length + " new lead" + (arrived.length > 1 ? "s" : "") + " in your queue.";
          arrived.forEach(function (id) {
            var row = document.querySelector('#queue-rows tr[data-lead="' + id + '"]');
            if (row) { row.classList.add("arrived"); }
          });
        }
      });
  }

  function poll() {
    fetch(feedUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : Promise.reject(response.status); })
      .then(function (feed) {
        var newCritical = feed.critical.filter(function (id) { return knownCritical.indexOf(id) === -1; });
        knownCritical = feed.critical;
        if (newCritical.length) {
          document.title = "(!) Critical lead · " + baseTitle;
          tone();
        }
        if (!same(feed.ids, known)) { return refreshRows(feed); }
      })
      .catch(function () { status.textContent = "Live updates paused; reload the page if this stays."; })
      .then(function () { window.setTimeout(poll, pollMs); });
  }

  var liveCallUrl = queue.getAttribute("data-live-call");
  var pop = document.getElementById("screen-pop");
  var poppedCall = null;
  var poppedUrl = null;

  function showPop(url) {
    return fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) { return response.ok ? response.text() : Promise.reject(response.status); })
      .then(function (html) {
        pop.innerHTML = html;
        pop.hidden = false;
      });
  }

  function watchCall() {
    var popMs = Math.max(1, parseInt(queue.getAttribute("data-pop-poll"), 10) || 2) * 1000;
    fetch(liveCallUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : Promise.reject(response.status); })
      .then(function (feed) {
        var call = feed.call;
        if (call && call.id !== poppedCall) {
          return showPop(call.pop_url).then(function () {
            // Only once it is shown: a pop that failed to load is tried again at the next poll.
            poppedCall = call.id;
            poppedUrl = call.pop_url;
            status.textContent = queue.getAttribute("data-pop-said");
            document.title = "(" + queue.getAttribute("data-pop-title") + ") " + baseTitle;
            var heading = pop.querySelector("h2");
            if (heading) { heading.focus(); }
          });
        }
        if (!call && poppedCall !== null) {
          poppedCall = null;
          document.title = baseTitle;
          return showPop(poppedUrl);
        }
      })
      .catch(function () { /* the next poll tries again */ })
      .then(function () { window.setTimeout(watchCall, popMs); });
  }

  window.addEventListener("focus", function () { if (poppedCall === null) { document.title = baseTitle; } });
  window.setTimeout(poll, pollMs);
  if (liveCallUrl && pop) { watchCall(); }
})();
