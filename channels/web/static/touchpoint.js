/* Touchpoint web widget v1: asks one survey question in a pop-up on the customer's own pages.
 *
 * Plain ES2017 with no dependencies, served as is. Embed it with the site's public key:
 *   <script async src="https://touchpoint.example.com/widget/v1/touchpoint.js" data-key="pk_..."></script>
 * then call Touchpoint.identify(userId, {hash, attributes}) and Touchpoint.track(eventName, properties).
 * Calls made before the script has loaded are queued by the snippet in the README and replayed here.
 *
 * The pop-up lives in a Shadow DOM, so the page's CSS cannot reach it and ours cannot leak; it is a labelled
 * dialog that takes focus, keeps Tab inside, closes on Escape and gives focus back.
 */
(() => {
  "use strict";

  const script = document.currentScript;
  const previous = window.Touchpoint;
  if (!script || (previous && previous.version)) return;

  const api = script.src.replace(/\/touchpoint\.js(?:[?#].*)?$/, "/") +
    encodeURIComponent(script.getAttribute("data-key") || "") + "/";
  const SHOWN = "touchpoint:shown"; // sessionStorage: at most one survey per visit (per tab)
  let user = null;
  let current = null; // the pop-up on screen
  let timer = 0;

  const warn = (error) => console.warn("Touchpoint:", error && error.message ? error.message : error);
  const who = (extra) => Object.assign({user_id: user.id, hash: user.hash}, extra);
  const randomId = () =>
    Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");

  const post = async (path, body, retry) => {
    let response;
    try {
      response = await fetch(api + path, {
        method: "POST",
        mode: "cors",
        credentials: "omit",
        headers: {"Content-Type": "application/json"},
        body: JSON.stringify(body),
      });
    } catch (error) {
      if (retry) return post(path, body, false); // once: calls that may repeat carry their own id
      throw error;
    }
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error((data.error && data.error.message) || "HTTP " + response.status);
    return data;
  };

  const seen = () => {
    try {
      return sessionStorage.getItem(SHOWN) === "1";
    } catch (error) {
      return false;
    }
  };
  const markSeen = () => {
    try {
      sessionStorage.setItem(SHOWN, "1");
    } catch (error) {
      /* storage blocked: the server's display rules still hold */
    }
  };

  // Ask whether a survey waits for this user on this page; shows it after the flow's delay.
  const check = async () => {
    if (!user || current || seen()) return false;
    const data = await post("identify", who({attributes: user.attributes, url: location.href}), true);
    if (!data.survey || current || seen()) return false;
    clearTimeout(timer);
    timer = setTimeout(() => show(data.survey), Math.max(0, data.survey.delay * 1000 - performance.now()));
    return true;
  };

  const identify = (userId, options) => {
    const given = options || {};
    user = {id: String(userId), hash: String(given.hash || ""), attributes: given.attributes || {}};
    return check().catch(warn);
  };

  const track = async (eventName, properties) => {
    if (!user) return warn("call Touchpoint.identify before track");
    try {
      const body = who({event: String(eventName), properties: properties || {}, id: randomId(),
        attributes: user.attributes, url: location.href});
      const data = await post("track", body, true);
      // The survey goes out when the worker next runs after it is due: look for it a few times.
      if (typeof data.check_in === "number" && data.check_in < 120) {
        let tries = 0;
        const again = () => check().then((found) => {
          if (!found && ++tries < 5) setTimeout(again, 1000 * 2 ** tries);
        }, warn);
        setTimeout(again, (data.check_in + 1) * 1000);
      }
    } catch (error) {
      warn(error);
    }
  };

  const CSS = `
:host{all:initial}
.card{all:initial;box-sizing:border-box;display:block;position:fixed;right:16px;bottom:16px;width:380px;
max-width:calc(100vw - 32px);max-height:calc(100vh - 32px);overflow:auto;padding:20px 20px 16px;
background:#fff;color:#1d2330;border-radius:12px;box-shadow:0 8px 32px rgba(0,0,0,.28);
font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;text-align:left}
.card *{box-sizing:border-box;font:inherit;color:inherit;letter-spacing:normal;text-transform:none}
.q{display:block;margin:0 32px 14px 0;font-weight:600}
.scale{display:grid;grid-template-columns:repeat(var(--n),1fr);gap:4px}
.ends{display:flex;justify-content:space-between;gap:12px;margin:6px 0 0;font-size:13px;color:#4a5160}
.ends span+span{text-align:right}
button{display:inline-block;min-height:40px;margin:0;padding:0 4px;border:1px solid #b9bfca;border-radius:6px;
background:#f4f5f7;cursor:pointer;visibility:visible;opacity:1}
button:hover{background:#e6e9ef}
button[aria-pressed=true]{background:var(--c);border-color:var(--c);color:#fff}
.x{position:absolute;top:8px;right:8px;width:36px;min-height:36px;border:0;background:none;font-size:22px;
line-height:1}
.send{padding:0 20px;background:var(--c);border-color:var(--c);color:#fff}
textarea{display:block;width:100%;min-height:84px;margin:0 0 12px;padding:8px;border:1px solid #b9bfca;
border-radius:6px;background:#fff;resize:vertical}
:focus-visible{outline:3px solid var(--c);outline-offset:2px}
.card:focus-visible{outline-offset:-3px}
@media (max-width:480px){.card{left:8px;right:8px;bottom:8px;width:auto;max-width:none}
.scale{grid-template-columns:repeat(var(--m),1fr)}}
`;

  const el = (tag, props, parent, attributes) => {
    const node = Object.assign(document.createElement(tag), props);
    Object.entries(attributes || {}).forEach(([name, value]) => node.setAttribute(name, value));
    if (parent) parent.appendChild(node);
    return node;
  };

  const show = (survey) => {
    if (current || seen()) return;
    markSeen();
    const before = document.activeElement;
    const host = el("touchpoint-widget", {});
    // Inline !important outranks the page's own !important rules on the host element.
    host.style.cssText = "all:initial!important;display:block!important;position:fixed!important;" +
      "top:0!important;left:0!important;width:0!important;height:0!important;z-index:2147483647!important";
    const root = host.attachShadow({mode: "open"});
    el("style", {textContent: CSS}, root);
    const card = el("div", {className: "card", tabIndex: -1}, root,
      {role: "dialog", "aria-modal": "true", "aria-labelledby": "tp-title", lang: survey.lang || "en"});
    card.style.setProperty("--c", survey.color || "#3b5bdb");
    const body = el("div", {}, card);
    const close = el("button", {type: "button", className: "x", textContent: "\u00d7"}, card,
      {"aria-label": survey.texts.close});
    let answered = false;
    let busy = false;

    const finish = () => {
      if (current !== host) return;
      current = null;
      host.remove();
      if (!answered) post("display", who({token: survey.token, state: "dismissed"}), true).catch(warn);
      if (before && before.focus && document.contains(before)) before.focus();
    };

    const title = (tag, text, parent, props) =>
      el(tag, Object.assign({className: "q", id: "tp-title", textContent: text}, props), parent);

    const thanks = (text) => {
      body.textContent = "";
      title("p", text, body, {}).setAttribute("role", "status");
      card.focus();
      setTimeout(finish, 8000);
    };

    const commentBox = (prompt) => {
      body.textContent = "";
      const form = el("form", {}, body);
      title("label", prompt, form, {htmlFor: "tp-comment"});
      const text = el("textarea", {id: "tp-comment", rows: 3, maxLength: 5000}, form);
      el("button", {type: "submit", className: "send", textContent: survey.texts.send}, form);
      text.addEventListener("keydown", (event) => {
        if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) form.requestSubmit();
      });
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        if (busy || !text.value.trim()) return text.focus();
        busy = true;
        try {
          const state = await post("comment", who({token: survey.token, text: text.value.trim()}));
          thanks(state.thanks || survey.thanks);
        } catch (error) {
          warn(error);
        } finally {
          busy = false;
        }
      });
      text.focus();
    };

    const choose = async (choice, button) => {
      if (busy) return;
      busy = true;
      button.setAttribute("aria-pressed", "true");
      try {
        const state = await post("answer", who({token: survey.token, score: choice.score}));
        answered = true;
        if (state.phase === "awaiting_comment" && state.prompt) commentBox(state.prompt);
        else thanks(state.thanks || survey.thanks);
      } catch (error) {
        button.removeAttribute("aria-pressed");
        warn(error);
      } finally {
        busy = false;
      }
    };

    title("p", survey.question, body, {});
    const scale = el("div", {className: "scale"}, body, {role: "group", "aria-labelledby": "tp-title"});
    const count = survey.choices.length;
    if (survey.labels) {
      // What the ends mean, numbered: on a phone the scale wraps onto two rows.
      const ends = el("p", {className: "ends", id: "tp-ends"}, body);
      el("span", {textContent: survey.choices[0].label + " = " + survey.labels.low}, ends);
      el("span", {textContent: survey.choices[count - 1].label + " = " + survey.labels.high}, ends);
      scale.setAttribute("aria-describedby", "tp-ends");
    }
    scale.style.setProperty("--n", count);
    scale.style.setProperty("--m", count > 7 ? Math.ceil(count / 2) : count);
    survey.choices.forEach((choice) => {
      const button = el("button", {type: "button", textContent: choice.label}, scale, {"aria-label": choice.name});
      button.addEventListener("click", () => choose(choice, button));
    });

    close.addEventListener("click", finish);
    card.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.preventDefault();
        finish();
      } else if (event.key === "Tab") {
        const items = Array.from(card.querySelectorAll("button, textarea"));
        const first = items[0];
        const last = items[items.length - 1];
        const active = root.activeElement;
        if (event.shiftKey && (active === first || active === card)) {
          event.preventDefault();
          last.focus();
        } else if (!event.shiftKey && active === last) {
          event.preventDefault();
          first.focus();
        }
      }
    });

    current = host;
    document.body.appendChild(host);
    card.focus();
    post("display", who({token: survey.token, state: "shown"}), true).catch(warn);
  };

  const Touchpoint = {version: 1, identify, track};
  window.Touchpoint = Touchpoint;
  ((previous && previous.q) || []).forEach(([name, args]) => {
    if (typeof Touchpoint[name] === "function") Touchpoint[name](...Array.from(args));
  });
})();
