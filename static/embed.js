/*! Newsletter signup embed: <div data-newsletter="SLUG"></div> + this script, once. */
(function () {
  "use strict";
  var script = document.currentScript;
  var base = script ? new URL(script.src).origin : "";
  var stylesheet = null;

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

  function checked(response) {
    if (!response.ok) throw new Error(response.url + ": HTTP " + response.status);
    return response;
  }

  function newsletter(slug) {
    return api(slug).then(checked).then(function (response) { return response.json(); });
  }

  // The form's one stylesheet (form.css, as our pages have it), fetched once per page.
  function css() {
    stylesheet = stylesheet || fetch(base + "/embed.css", { credentials: "omit" }).then(checked)
      .then(function (response) { return response.text(); });
    return stylesheet;
  }

  function addStyles(root, text) {
    if (root.adoptedStyleSheets && window.CSSStyleSheet && CSSStyleSheet.prototype.replaceSync) {
      var sheet = new CSSStyleSheet();
      sheet.replaceSync(text);
      root.adoptedStyleSheets = [sheet];
    } else {
      root.appendChild(el("style", {}, text));
    }
  }

  function star() {
    return el("span", { "class": "signup__star", "aria-hidden": "true" }, "*");
  }

  // The markup of templates/_subscribed.html: the address the mail went to, and its webmail.
  function thanks(words, accepted) {
    var done = el("section", { "class": "done", role: "status", tabindex: "-1" });
    done.appendChild(el("h2", { "class": "signup__name" }, words.thanks_title));
    if (!accepted.sent_to) {
      done.appendChild(el("p", {}, words.thanks));
      return done;
    }
    var parts = words.sent_to.split("{address}");
    var sentence = el("p", {}, parts[0]);
    sentence.appendChild(el("strong", { "class": "sent-to" }, accepted.sent_to));
    sentence.appendChild(document.createTextNode(parts.slice(1).join("{address}")));
    done.appendChild(sentence);
    if (accepted.webmail) {
      var link = el("a", {
        "class": "button", href: accepted.webmail.url, target: "_blank", rel: "noopener noreferrer"
      }, words.open_webmail.replace("{name}", accepted.webmail.name));
      var row = el("p", { "class": "webmail" });
      row.appendChild(link);
      done.appendChild(row);
    }
    return done;
  }

  // The markup of templates/_form.html, with every word from the API.
  function render(host, newsletter, text) {
    var words = newsletter.form;
    var id = newsletter.slug;  // ids are scoped to the shadow root: as on our pages
    var root = host.attachShadow({ mode: "open" });
    addStyles(root, text);
    var form = el("form", { "class": "signup", novalidate: "", "aria-labelledby": id + "-name" });
    form.appendChild(el("h2", { "class": "signup__name", id: id + "-name" }, newsletter.name));
    if (newsletter.description) form.appendChild(el("p", { "class": "signup__description" }, newsletter.description));
    var legend = el("p", { "class": "signup__legend" });
    legend.appendChild(star());
    legend.appendChild(document.createTextNode(" " + words.legend));
    form.appendChild(legend);
    var label = el("label", { "class": "signup__label", "for": id + "-email" }, words.label + " ");
    label.appendChild(star());
    var input = el("input", {
      "class": "signup__input", id: id + "-email", name: "email", type: "email",
      autocomplete: "email", inputmode: "email", required: "", maxlength: "320"
    });
    var button = el("button", { "class": "signup__button", type: "submit" }, words.button);
    var row = el("div", { "class": "signup__row" });
    row.appendChild(input);
    row.appendChild(button);
    var error = el("p", { "class": "signup__error", id: id + "-email-error", "aria-live": "assertive" });
    var trap = el("div", { "class": "signup__trap", "aria-hidden": "true" });
    trap.appendChild(el("label", { "for": id + "-website" }, words.honeypot));
    var honeypot = el("input", { id: id + "-website", name: "website", type: "text", tabindex: "-1", autocomplete: "off" });
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
          var done = thanks(words, answer.body);
          root.replaceChild(done, form);
          done.focus();
        } else if (answer.status === 422) {
          showError((answer.body.errors && answer.body.errors.email || [words.invalid_email])[0]);
        } else {
          showError(answer.body.message || words.failed);
        }
      }).catch(function () {
        showError(words.failed);
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
      // Without the server there are no words to show, not even an error: render nothing.
      Promise.all([newsletter(slug), css()]).then(function (loaded) {
        render(host, loaded[0], loaded[1]);
      }).catch(function (problem) {
        if (window.console) console.warn("Newsletter embed:", problem.message);
      });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
