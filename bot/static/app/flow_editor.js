// The flow editor: a problem's line link puts the caret on that line, the caret's line and column are shown,
// and the preview follows the text as it is typed. Without this script the Preview button does the same.
"use strict";

(() => {
  const form = document.getElementById("flow-form");
  const editor = document.getElementById("yaml");
  if (!form || !editor) {
    return;
  }
  const caret = document.getElementById("caret");

  const lineStart = (text, line) => {
    let offset = 0;
    for (let n = 1; n < line; n += 1) {
      const next = text.indexOf("\n", offset);
      if (next < 0) {
        return text.length;
      }
      offset = next + 1;
    }
    return offset;
  };

  const showCaret = () => {
    const before = editor.value.slice(0, editor.selectionStart);
    const line = before.split("\n").length;
    const column = before.length - before.lastIndexOf("\n");
    if (caret) {
      caret.textContent = `Line ${line}, column ${column}`;
    }
  };

  const goToLine = (line) => {
    const start = lineStart(editor.value, line);
    const end = editor.value.indexOf("\n", start);
    editor.focus();
    editor.setSelectionRange(start, end < 0 ? editor.value.length : end);
    const height = parseFloat(window.getComputedStyle(editor).lineHeight) || 20;
    editor.scrollTop = Math.max(0, (line - 3) * height);
    showCaret();
  };

  document.addEventListener("click", (event) => {
    const link = event.target.closest && event.target.closest("[data-line]");
    if (link) {
      event.preventDefault();
      goToLine(Number(link.getAttribute("data-line")));
    }
  });
  ["keyup", "click", "select"].forEach((name) => editor.addEventListener(name, showCaret));

  const showEmail = () => {
    const button = document.getElementById("show-email");
    if (button) {
      form.requestSubmit(button);
    }
  };

  const preview = document.getElementById("preview");
  const url = form.getAttribute("data-preview");
  const token = form.querySelector("input[name=csrf_token]");
  let timer = null;
  let asked = 0;
  const refresh = async () => {
    asked += 1;
    const mine = asked;
    try {
      const answer = await fetch(url, {
        method: "POST", body: new FormData(form), credentials: "same-origin",
        headers: { "X-CSRF-Token": token ? token.value : "", Accept: "text/html" },
      });
      if (answer.ok && !answer.redirected && mine === asked) {
        preview.innerHTML = await answer.text();
        // The problems of the last save no longer describe the text: the preview lists the current ones.
        const stale = document.getElementById("flow-problems");
        if (stale) {
          stale.remove();
          editor.removeAttribute("aria-invalid");
          editor.setAttribute("aria-describedby", "yaml-hint");
          editor.closest(".field").classList.remove("field-invalid");
        }
        showEmail();
      }
    } catch (problem) {
      // Offline for a moment: the next keystroke tries again, and the Preview button always works.
    }
  };
  form.addEventListener("input", (event) => {
    if (!preview || !url || !["yaml", "contact", "properties"].includes(event.target.id)) {
      return;
    }
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, 300);
  });
  showEmail();
})();
