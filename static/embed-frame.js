// Inside the iframe form: focus the field after an error; tell the embedding page our
// height so it can size the frame.
// Messages go only to the newsletter's allowed origins, never to "*".
(function () {
  "use strict";
  // After an error, the field it describes has the focus: browsers ignore autofocus in a
  // frame from another site, so it is given here.
  var field = document.querySelector("[autofocus]");
  if (field) field.focus();
  if (window.parent === window) return;
  var root = document.documentElement;
  var origins = JSON.parse(root.getAttribute("data-parent-origins") || "[]");
  var slug = root.getAttribute("data-newsletter");
  function report() {
    // The content's height: the document's own is never less than the frame's.
    var height = Math.ceil(document.querySelector("main").getBoundingClientRect().height);
    var message = { type: "newsletter:height", newsletter: slug, height: height };
    origins.forEach(function (origin) { window.parent.postMessage(message, origin); });
  }
  if (window.ResizeObserver) new ResizeObserver(report).observe(document.querySelector("main"));
  window.addEventListener("load", report);
  report();
})();
