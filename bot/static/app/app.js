// The web app's one script. Progressive enhancement only: every page works without it.
"use strict";

// A form with data-confirm asks first (disabling a user, resetting a password).
document.addEventListener("submit", (event) => {
  const question = event.target.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});

// A saved reply chosen in its list fills the reply box (without scripts, "Use saved reply" does it).
document.addEventListener("change", (event) => {
  const select = event.target;
  const target = select.getAttribute && select.getAttribute("data-fills");
  if (!target) {
    return;
  }
  const option = select.selectedOptions[0];
  const text = option ? option.getAttribute("data-text") : null;
  const box = document.getElementById(target);
  if (box && text !== null) {
    box.value = text;
    box.focus();
  }
});

// The inbox's first page fetches its list again now and then, so new cases appear without a reload.
document.addEventListener("DOMContentLoaded", () => {
  const list = document.querySelector("[data-refresh]");
  if (!list) {
    return;
  }
  const url = list.getAttribute("data-refresh");
  const seconds = Number(list.getAttribute("data-refresh-seconds")) || 15;
  const refresh = async () => {
    if (document.hidden) {
      return;
    }
    try {
      const answer = await fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } });
      if (answer.ok && !answer.redirected) {
        list.innerHTML = await answer.text();
      }
    } catch (problem) {
      // Offline for a moment: the next round tries again.
    }
  };
  window.setInterval(refresh, seconds * 1000);
});
