/*! Newsletter signup embed: <div data-newsletter="SLUG"></div> + this script, once. */
(function () {
  "use strict";
  var script = document.currentScript;
  var base = script ? new URL(script.src).origin : "";
  var TEXT = {
    legend: "* indicates required",
    label: "Enter your email to subscribe",
    button: "Subscribe",
    invalid: "Please, enter correct email address",
    done: "Successfully subscribed",
    thanks: "Thank you for signing up for this newsletter. We've sent you a confirmation email.",
    failed: "Sorry, something went wrong. Please try again."
  };
  var CSS =
    ":host{all:initial;display:block;font:16px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;color:#1a1a1a}" +
    "form,.done{background:#fff;border-top:4px solid #0057b8;padding:20px;box-shadow:0 1px 2px rgba(0,0,0,.08)}" +
    "h2{font:700 22px/1.3 Georgia,'Times New Roman',serif;margin:0 0 8px}p{margin:0 0 10px}" +
    ".description{font-family:Georgia,'Times New Roman',serif}" +
    ".legend{color:#5b5b5b;font-size:13px}.star{color:#b00020}label{display:block;font-weight:600;margin:0 0 6px}" +
    ".row{display:flex;flex-wrap:wrap;gap:8px}input{flex:1 1 14em;min-width:0;font:inherit;padding:10px 12px;border:1px solid #8a8a84;border-radius:4px;color:inherit;background:#fff}" +
    "input[aria-invalid=true]{border-color:#b00020;box-shadow:inset 0 0 0 1px #b00020}" +
    "button{font:inherit;font-weight:700;line-height:1;padding:12px 22px;border:0;border-radius:4px;background:#0057b8;color:#fff;cursor:pointer}" +
    "button:hover{background:#00408a}button[disabled]{opacity:.7;cursor:wait}" +
    "input:focus,button:focus{outline:3px solid #ffd500;outline-offset:2px}" +
    ".error{color:#b00020;font-weight:600;font-size:14px;margin:8px 0 0}.error:empty{display:none}" +
    ".trap{position:absolute;left:-10000px;width:1px;height:1px;overflow:hidden}.done{border-top-color:#1f7a3a}";
  var counter = 0;

  function el(tag, attributes, text) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) { node.setAttribute(name, attributes[name]); });
    if (text) node.textContent = text;
    return node;
  }

  function api(path, options) {
    options = options || {};
    options.credentials = "omit";
    return fetch(base + "/api/v1/newsletters/" + path, options);
  }

  function addStyles(root) {
    if (root.adoptedStyleSheets && window.CSSStyleSheet && CSSStyleSheet.prototype.replaceSync) {
      var sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      root.adoptedStyleSheets = [sheet];
    } else {
      root.appendChild(el("style", {}, CSS));
    }
  }

  function render(host, newsletter) {
    var id = "nl-" + (++counter);
    var root = host.attachShadow({ mode: "open" });
    addStyles(root);
    var form = el("form", { novalidate: "", "aria-labelledby": id + "-name" });
    form.appendChild(el("h2", { id: id + "-name" }, newsletter.name));
    if (newsletter.description) form.appendChild(el("p", { "class": "description" }, newsletter.description));
    var legend = el("p", { "class": "legend" });
    legend.appendChild(el("span", { "class": "star", "aria-hidden": "true" }, "*"));
    legend.appendChild(document.createTextNode(TEXT.legend.slice(1)));
    form.appendChild(legend);
    var label = el("label", { "for": id + "-email" }, TEXT.label + " ");
    label.appendChild(el("span", { "class": "star", "aria-hidden": "true" }, "*"));
    var input = el("input", {
      id: id + "-email", name: "email", type: "email", autocomplete: "email",
      inputmode: "email", required: "", maxlength: "320"
    });
    var button = el("button", { type: "submit" }, TEXT.button);
    var row = el("div", { "class": "row" });
    row.appendChild(input);
    row.appendChild(button);
    var error = el("p", { "class": "error", id: id + "-error", "aria-live": "assertive" });
    var trap = el("div", { "class": "trap", "aria-hidden": "true" });
    var honeypot = el("input", { name: "website", type: "text", tabindex: "-1", autocomplete: "off", "aria-label": "Leave empty" });
    trap.appendChild(honeypot);
    [label, row, error, trap].forEach(function (node) { form.appendChild(node); });
    root.appendChild(form);

    function showError(message) {
      error.textContent = message;
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-describedby", error.id);
      input.focus();
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      button.disabled = true;
      api(newsletter.slug + "/subscriptions", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ email: input.value, website: honeypot.value, source_url: location.href })
      }).then(function (response) {
        return response.json().then(function (body) { return { status: response.status, body: body }; });
      }).then(function (answer) {
        if (answer.status === 202) {
          var done = el("section", { "class": "done", role: "status", tabindex: "-1" });
          done.appendChild(el("h2", {}, TEXT.done));
          done.appendChild(el("p", {}, TEXT.thanks));
          root.replaceChild(done, form);
          done.focus();
        } else if (answer.status === 422) {
          showError((answer.body.errors && answer.body.errors.email || [TEXT.invalid])[0]);
        } else {
          showError(answer.body.message || TEXT.failed);
        }
      }).catch(function () {
        showError(TEXT.failed);
      }).then(function () {
        button.disabled = false;
      });
    });
  }

  // Size iframe embeds on this page from the height their frame reports.
  window.addEventListener("message", function (event) {
    var data = event.data;
    if (event.origin !== base || !data || data.type !== "newsletter:height") return;
    var frames = document.querySelectorAll("iframe[data-newsletter-frame]");
    Array.prototype.forEach.call(frames, function (frame) {
      if (frame.contentWindow === event.source) {
        frame.style.height = Math.min(Math.max(data.height | 0, 80), 2000) + "px";
      }
    });
  });

  function start() {
    var hosts = document.querySelectorAll("[data-newsletter]:not([data-newsletter-ready])");
    Array.prototype.forEach.call(hosts, function (host) {
      host.setAttribute("data-newsletter-ready", "");
      var slug = encodeURIComponent(host.getAttribute("data-newsletter"));
      api(slug).then(function (response) {
        if (!response.ok) throw new Error("newsletter " + slug + ": HTTP " + response.status);
        return response.json();
      }).then(function (newsletter) {
        render(host, newsletter);
      }).catch(function (problem) {
        if (window.console) console.warn("Newsletter embed:", problem.message);
      });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
