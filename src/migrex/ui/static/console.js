/* The console's own script, served by the node: the CSRF header on every htmx request and
   the idle-session warning. No inline script or handler anywhere: the policy forbids them. */
(function () {
  "use strict";

  function meta(name) {
    var element = document.querySelector('meta[name="' + name + '"]');
    return element ? element.getAttribute("content") : null;
  }

  // The session cookie alone never changes anything: a changing request must also carry the
  // session's CSRF value, which only a page of this node can read.
  document.addEventListener("htmx:configRequest", function (event) {
    var token = meta("migrex-csrf");
    if (token) {
      event.detail.headers["X-CSRF-Token"] = token;
    }
  });

  // A refused htmx request shows the error fragment the node sent (htmx swaps 2xx only):
  // every 4xx, and a 5xx the node explained in a page (a partner or the linkage unit out of
  // reach), not a bare server error.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    var type = event.detail.xhr.getResponseHeader("Content-Type") || "";
    if ((status >= 400 && status < 500) || (status >= 502 && type.indexOf("text/html") === 0)) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  // A form that sends a person's identifiers (the subject report) is emptied once answered:
  // what was typed must not stay on the page after the report is shown.
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt;
    if (event.detail.successful && form && form.hasAttribute("data-clear-after")) {
      form.reset();
    }
  });

  var idleSeconds = parseInt(meta("migrex-idle-seconds") || "0", 10);
  if (!idleSeconds) {
    return;
  }
  // The node records a session's use to the minute, so it may end it up to a minute before
  // the idle limit counted from the last request: end it here a minute early, and warn two
  // minutes before that (or at a third of the limit, for a short one).
  var endAfter = Math.max(idleSeconds - 60, 60);
  var warnBefore = Math.min(120, Math.floor(endAfter / 3));
  var lastActivity = Date.now();
  var dialog = document.getElementById("idle-warning");
  var countdown = document.getElementById("idle-countdown");

  function activity() {
    lastActivity = Date.now();
    if (dialog && dialog.open) {
      dialog.close();
    }
  }

  function format(seconds) {
    var m = Math.floor(seconds / 60);
    var s = seconds % 60;
    return m + ":" + (s < 10 ? "0" : "") + s;
  }

  function tick() {
    var left = endAfter - Math.floor((Date.now() - lastActivity) / 1000);
    if (left <= 0) {
      // Once: a tick that assigned the page again while the sign-in page loads would abort
      // that load and start another, and on a slow network never let one finish.
      window.clearInterval(ticking);
      window.location.assign("/ui/sign-in?reason=idle");
      return;
    }
    if (left <= warnBefore && dialog) {
      countdown.textContent = format(left);
      if (!dialog.open) {
        dialog.showModal();
      }
    }
  }

  // Every request the node saw restarts the count; so does the warning's "stay signed in".
  document.addEventListener("htmx:afterRequest", activity);
  var extend = document.getElementById("idle-extend");
  if (extend) {
    extend.addEventListener("click", function () {
      htmx.ajax("POST", "/ui/session/extend", { swap: "none" }).then(activity);
    });
  }
  var ticking = window.setInterval(tick, 1000);
})();
