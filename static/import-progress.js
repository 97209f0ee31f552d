// The import job's page: ask how far the import is every second and show it; once it
// has ended, load the page again for its report. Without script, a meta refresh does it.
(function () {
  "use strict";
  var bar = document.getElementById("import-progress");
  var words = document.getElementById("import-progress-text");
  if (!bar || !words) {
    return;
  }
  var POLL_MILLISECONDS = 1000;

  function show(progress) {
    if (progress.ended) {
      window.location.reload();
      return;
    }
    if (progress.measured) {
      bar.value = progress.percent;
      bar.textContent = progress.percent + "%";
    }
    if (words.textContent !== progress.text) {
      words.textContent = progress.text;
    }
    window.setTimeout(poll, POLL_MILLISECONDS);
  }

  function poll() {
    fetch(bar.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error(response.status);
        }
        return response.json();
      })
      .then(show)
      .catch(function () {
        window.setTimeout(poll, POLL_MILLISECONDS * 5);
      });
  }

  window.setTimeout(poll, POLL_MILLISECONDS);
})();
