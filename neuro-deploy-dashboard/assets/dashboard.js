// Updates the page in place every refresh: fetches the part inside <main> and swaps it in.
// Without JavaScript the page refreshes itself (a <noscript> meta refresh) instead.
"use strict";
(function () {
  const main = document.getElementById("state");
  const seconds = Number(document.body.dataset.refresh) || 5;
  const token = new URLSearchParams(window.location.search).get("token");
  const url = "/fragment" + (token ? "?token=" + encodeURIComponent(token) : "");
  let failures = 0;

  function stale(why) {
    const read = document.getElementById("read-at");
    if (read) {
      read.classList.add("stale");
      read.textContent = "the dashboard did not answer (" + why + "); showing the last read";
    }
  }

  async function update() {
    try {
      const response = await fetch(url, { cache: "no-store", credentials: "same-origin" });
      if (response.ok) {
        main.innerHTML = await response.text();
        failures = 0;
      } else {
        stale("HTTP " + response.status);
      }
    } catch (error) {
      failures += 1;
      stale("not reachable");
    }
    window.setTimeout(update, seconds * 1000 * Math.min(1 + failures, 6));
  }

  window.setTimeout(update, seconds * 1000);
})();
