// Inside the iframe form: tell the embedding page our height so it can size the frame.
// Messages go only to the newsletter's allowed origins, never to "*".
(function () {
  "use strict";
  if (window.parent === window) return;
  var root = document.documentElement;
  var origins = JSON.parse(root.getAttribute("data-parent-origins") || "[]");
  var slug = root.getAttribute("data-newsletter");
  function report() {
    var message = { type: "newsletter:height", newsletter: slug, height: root.scrollHeight };
    origins.forEach(function (origin) { window.parent.postMessage(message, origin); });
  }
  if (window.ResizeObserver) new ResizeObserver(report).observe(document.body);
  window.addEventListener("load", report);
  report();
})();
