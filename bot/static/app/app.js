// The web app's one script. Progressive enhancement only: every page works without it.
"use strict";

// A form with data-confirm asks first (disabling a user, resetting a password).
document.addEventListener("submit", (event) => {
  const question = event.target.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});
