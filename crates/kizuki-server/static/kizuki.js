// Kizuki web UI: small progressive enhancements. Every page works without this file.
"use strict";

// Live timeline: while an incident page is open, the server says when the timeline changed
// (server-sent events), and the table is fetched again and swapped in place. The quick-add
// box is outside the swapped part, so nothing being typed is lost.
(function () {
  var live = document.getElementById("timeline-live");
  if (!live || !window.EventSource || !window.fetch || !window.DOMParser) {
    return;
  }
  var refreshing = false;
  var again = false;
  function refresh() {
    if (refreshing) {
      again = true;
      return;
    }
    refreshing = true;
    fetch(window.location.pathname, { credentials: "same-origin" })
      .then(function (response) {
        return response.ok ? response.text() : Promise.reject(response.status);
      })
      .then(function (html) {
        var fresh = new DOMParser()
          .parseFromString(html, "text/html")
          .getElementById("timeline-live");
        var current = document.getElementById("timeline-live");
        if (fresh && current) {
          current.replaceWith(fresh);
          document.documentElement.setAttribute("data-timeline-refreshed", String(Date.now()));
        }
      })
      .catch(function () {})
      .then(function () {
        refreshing = false;
        if (again) {
          again = false;
          refresh();
        }
      });
  }
  var source = new EventSource(live.getAttribute("data-events"));
  source.addEventListener("timeline", refresh);
})();

// Enrolment link: the code comes after "#", so it never reaches a server log. Copy it into
// the form and take it out of the address bar (and so out of the browser history).
(function () {
  var field = document.getElementById("enrol-code");
  var code = window.location.hash.replace(/^#/, "");
  if (!field || !code) {
    return;
  }
  field.value = decodeURIComponent(code);
  if (window.history && window.history.replaceState) {
    window.history.replaceState(null, "", window.location.pathname + window.location.search);
  }
})();
