/*! Newsletter signup embed: <div data-newsletter="SLUG"></div> or
    <div data-newsletters="SLUG,SLUG"></div>, + this script, once. */
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
    return fetch(base + "/api/v1/" + path, options);
  }

  function checked(response) {
    if (!response.ok) throw new Error(response.url + ": HTTP " + response.status);
    return response;
  }

  // One newsletter's face, or several's.
  function face(host) {
    var several = host.dataset.newsletters;
    var query = "?lang=" + encodeURIComponent(host.dataset.lang || "");
    var path = several == null
      ? "newsletters/" + encodeURIComponent(host.dataset.newsletter) + query
      : "newsletters" + query + "&newsletters=" + encodeURIComponent(several);
    return api(path).then(checked).then(function (response) { return response.json(); });
  }

  // form.css, as our pages have it, fetched once per page.
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

  // templates/_subscribed.html, and what to do next.
  function thanks(words, accepted, chosen) {
    var done = el("section", { "class": "done", role: "status", tabindex: "-1" });
    done.appendChild(el("h2", { "class": "signup__name" }, words.thanks_title));
    var parts = accepted.sent_to
      ? (chosen ? words.sent_to_several : words.sent_to).split("{address}")
      : [chosen ? words.thanks_several : words.thanks];
    var sentence = el("p", {}, parts[0]);
    if (accepted.sent_to) {
      sentence.append(el("strong", { "class": "sent-to" }, accepted.sent_to), parts.slice(1).join("{address}"));
    }
    done.appendChild(sentence);
    if (chosen) {
      var names = el("ul", { "class": "done__list" });
      chosen.forEach(function (newsletter) { names.appendChild(el("li", {}, newsletter.name)); });
      done.appendChild(names);
    }
    if (accepted.webmail) {
      var link = el("a", {
        "class": "button", href: accepted.webmail.url, target: "_blank", rel: "noopener noreferrer"
      }, words.open_webmail.replace("{name}", accepted.webmail.name));
      var row = el("p", { "class": "webmail" });
      row.appendChild(link);
      done.appendChild(row);
    }
    done.appendChild(el("p", { "class": "done__next" }, words.next_steps));
    return done;
  }

  // templates/_form.html's signup_form heading.
  function heading(form, newsletter, id) {
    form.setAttribute("aria-labelledby", id + "-name");
    if (newsletter.logo_url) form.appendChild(el("img", { "class": "signup__logo", src: newsletter.logo_url, alt: "" }));
    form.appendChild(el("h2", { "class": "signup__name", id: id + "-name" }, newsletter.name));
    if (newsletter.description) form.appendChild(el("p", { "class": "signup__description" }, newsletter.description));
  }

  // templates/_form.html's several_signup_form.
  function choices(form, offered, words) {
    var fieldset = el("fieldset", { "class": "signup__choices" });
    fieldset.appendChild(el("legend", { "class": "signup__name" }, words.newsletters));
    var boxes = offered.map(function (newsletter) {
      var id = "choose-" + newsletter.slug;
      var row = el("div", { "class": "signup__choice" });
      var box = el("input", { "class": "signup__checkbox", type: "checkbox", id: id, name: "newsletters", value: newsletter.slug });
      if (offered.length === 1) box.checked = true;
      row.appendChild(box);
      row.appendChild(el("label", { "class": "signup__choice-name", "for": id }, newsletter.name));
      if (newsletter.description) {
        box.setAttribute("aria-describedby", id + "-description");
        row.appendChild(el("p", { "class": "signup__choice-description", id: id + "-description" }, newsletter.description));
      }
      fieldset.appendChild(row);
      return box;
    });
    form.appendChild(fieldset);
    var error = el("p", { "class": "signup__error", id: "newsletters-error", "aria-live": "assertive" });
    form.appendChild(error);
    return { boxes: boxes, fieldset: fieldset, error: error };
  }

  // templates/_form.html's markup; every word from the API.
  function render(host, shown, text) {
    var words = shown.form;
    var several = shown.newsletters;  // none for one newsletter
    var id = several ? "several" : shown.slug;  // the shadow root's ids, as on our pages
    var root = host.attachShadow({ mode: "open" });
    addStyles(root, text + (shown.style || ""));
    var form = el("form", { "class": "signup", novalidate: "" });
    var picked = several ? choices(form, several, words) : heading(form, shown, id);
    var legend = el("p", { "class": "signup__legend" });
    legend.append(star(), " " + words.legend);
    form.appendChild(legend);
    var label = el("label", { "class": "signup__label", "for": id + "-email" }, words.label + " ");
    label.appendChild(star());
    var input = el("input", {
      "class": "signup__input", id: id + "-email", name: "email", type: "email",
      autocomplete: "email", inputmode: "email", required: "", maxlength: "320"
    });
    var button = el("button", { "class": "signup__button", type: "submit" }, words.button);
    var row = el("div", { "class": "signup__row" });
    var error = el("p", { "class": "signup__error", id: id + "-email-error", "aria-live": "assertive" });
    row.append(input, error, button);
    var trap = el("div", { "class": "signup__trap", "aria-hidden": "true" });
    trap.appendChild(el("label", { "for": id + "-website" }, words.honeypot));
    var honeypot = el("input", { id: id + "-website", name: "website", type: "text", tabindex: "-1", autocomplete: "off" });
    trap.appendChild(honeypot);
    form.append(label, row, trap);
    root.appendChild(form);

    // Words tied to a field for screen readers ("" removes them).
    function say(node, field, message) {
      node.textContent = message;
      if (message) field.setAttribute("aria-describedby", node.id);
      else field.removeAttribute("aria-describedby");
    }

    function showError(message, invalid) {
      say(error, input, message);
      input.setAttribute("aria-invalid", !!invalid);
      input.focus();
    }

    function showChoiceError(message) {
      say(picked.error, picked.fieldset, message);
      picked.boxes[0].focus();
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      button.disabled = true;
      if (picked) say(picked.error, picked.fieldset, "");
      var body = { email: input.value, website: honeypot.value, source_url: location.href, lang: host.dataset.lang };
      var sent = several && several.filter(function (n, index) { return picked.boxes[index].checked; });
      if (sent) body.newsletters = sent.map(function (newsletter) { return newsletter.slug; });
      api(several ? "subscriptions" : "newsletters/" + encodeURIComponent(shown.slug) + "/subscriptions", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body)
      }).then(function (response) {
        return response.json().then(function (answer) { return { status: response.status, body: answer }; });
      }).then(function (answer) {
        var errors = answer.body.errors || {};
        if (answer.status === 202) {
          var done = thanks(words, answer.body, sent);
          root.replaceChild(done, form);
          done.focus();
        } else if (answer.status === 422) {
          if (errors.newsletters) showChoiceError(errors.newsletters[0]);
          if (errors.email || !errors.newsletters) showError((errors.email || [words.invalid_email])[0], 1);
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

  // Iframe embeds' height, as their frame reports it.
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
    var hosts = document.querySelectorAll(
      "[data-newsletter]:not([data-newsletter-ready]), [data-newsletters]:not([data-newsletter-ready])"
    );
    Array.prototype.forEach.call(hosts, function (host) {
      host.setAttribute("data-newsletter-ready", "");
      // No server, no words: render nothing.
      Promise.all([face(host), css()]).then(function (loaded) {
        render(host, loaded[0], loaded[1]);
      }).catch(function (problem) {
        console.warn("Newsletter embed:", problem.message);
      });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
