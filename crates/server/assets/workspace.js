// Rapport's workspace script: it makes the server's pages live and quick
// to drive from the keyboard, and holds no state the server does not have.
// Every page works without it.

// --- Service-level countdowns -------------------------------------------
// Each <time class="countdown" datetime="..."> counts down to its instant;
// the words change as well as the colour, so state is never colour alone.
// The wording matches the server's (workspace/view.rs: countdown).

function clock(seconds) {
  const minutes = Math.floor(seconds / 60);
  if (minutes >= 48 * 60) {
    return Math.floor(minutes / (24 * 60)) + " d";
  }
  const hours = Math.floor(minutes / 60);
  const rest = String(minutes % 60).padStart(2, "0");
  return hours + ":" + rest;
}

function countdownWords(remaining) {
  if (remaining < 0) {
    return { text: "breached " + clock(-remaining) + " ago", state: "sla-breached" };
  }
  return { text: clock(remaining) + " left", state: remaining < 3600 ? "sla-soon" : "sla-active" };
}

function tick() {
  const now = Date.now();
  for (const element of document.querySelectorAll("time.countdown[data-running]")) {
    const due = Date.parse(element.getAttribute("datetime"));
    if (Number.isNaN(due)) continue;
    const { text, state } = countdownWords(Math.floor((due - now) / 1000));
    if (element.textContent !== text) element.textContent = text;
    const badge = element.closest(".badge");
    if (badge) {
      badge.classList.remove("sla-breached", "sla-soon", "sla-active");
      badge.classList.add(state);
    }
  }
}

// A reply in its undo window counts down to when it goes; the page then
// fetches itself again to show it sent.
let undoRefreshed = false;
function undoTick() {
  const now = Date.now();
  for (const element of document.querySelectorAll("time.undo-countdown")) {
    const due = Date.parse(element.getAttribute("datetime"));
    if (Number.isNaN(due)) continue;
    const left = Math.ceil((due - now) / 1000);
    const text = left > 0 ? "in " + left + " s" : "now";
    if (element.textContent !== text) element.textContent = text;
    if (left <= -1 && !undoRefreshed && typeof refresh === "function") {
      undoRefreshed = true;
      setTimeout(() => { undoRefreshed = false; refresh(); }, 1000);
    }
  }
}

tick();
undoTick();
setInterval(() => { tick(); undoTick(); }, 1000);

// --- Keyboard ------------------------------------------------------------
// j/k next and previous ticket, Enter open, r reply, n note, s solve, a assign,
// u take back the newest reply still in its undo window, / search, ? this
// list, Esc leave the field. Never while typing in a field.

function typing(target) {
  if (!target || !target.tagName) return false;
  const tag = target.tagName.toLowerCase();
  return tag === "input" || tag === "textarea" || tag === "select" || target.isContentEditable;
}

function rows() {
  return Array.from(document.querySelectorAll("table.queue tbody tr[data-href]"));
}

function moveCurrent(step) {
  const all = rows();
  if (all.length === 0) return;
  let index = all.findIndex((row) => row.classList.contains("current"));
  if (index >= 0) all[index].classList.remove("current");
  index = Math.min(all.length - 1, Math.max(0, index + step));
  const row = all[index];
  row.classList.add("current");
  const link = row.querySelector(".subject a");
  if (link) link.focus();
}

function replyBox(kind) {
  const box = document.querySelector("#reply-body");
  if (!box) return false;
  const choice = document.querySelector('input[name="kind"][value="' + kind + '"]');
  if (choice) choice.checked = true;
  box.focus();
  return true;
}

document.addEventListener("keydown", (event) => {
  const target = event.target;
  if ((event.ctrlKey || event.metaKey) && event.key === "Enter" && target && target.id === "reply-body") {
    event.preventDefault();
    target.form.requestSubmit();
    return;
  }
  if (event.key === "Escape" && typing(target)) {
    target.blur();
    return;
  }
  if (typing(target) || event.ctrlKey || event.metaKey || event.altKey) return;
  const keys = document.querySelector("dialog.keys");
  switch (event.key) {
    case "j": moveCurrent(1); break;
    case "k": moveCurrent(-1); break;
    case "Enter": {
      const current = document.querySelector("table.queue tr.current");
      if (current && target === document.body) window.location.href = current.dataset.href;
      return;
    }
    case "r": if (!replyBox("reply")) return; break;
    case "n": if (!replyBox("note")) return; break;
    case "s": {
      const solve = document.querySelector("#reply-status");
      if (!solve) return;
      solve.value = "solved";
      replyBox("reply");
      break;
    }
    case "/": {
      const search = document.querySelector("#search-query");
      if (!search) return;
      search.focus();
      break;
    }
    case "a": {
      const owner = document.querySelector("#assign-owner");
      if (!owner) return;
      owner.focus();
      break;
    }
    case "u": {
      const undo = Array.from(document.querySelectorAll(".held-replies button.undo")).pop();
      if (!undo) return;
      undo.click();
      break;
    }
    case "?": if (keys) keys.showModal(); break;
    default: return;
  }
  event.preventDefault();
});

for (const close of document.querySelectorAll("dialog.keys button")) {
  close.addEventListener("click", () => close.closest("dialog").close());
}
for (const open of document.querySelectorAll("[data-open-keys]")) {
  open.addEventListener("click", () => {
    const keys = document.querySelector("dialog.keys");
    if (keys) keys.showModal();
  });
}

// Rows open on click anywhere in them, not only on the subject.
for (const row of rows()) {
  row.addEventListener("click", (event) => {
    if (event.target.closest("a, input, button, label")) return;
    window.location.href = row.dataset.href;
  });
}

// --- Drafts survive a reload ----------------------------------------------
const draft = document.querySelector("#reply-body");
if (draft && draft.dataset.draftKey) {
  const key = "rapport-draft-" + draft.dataset.draftKey;
  if (!draft.value) draft.value = localStorage.getItem(key) || "";
  draft.addEventListener("input", () => localStorage.setItem(key, draft.value));
  draft.form.addEventListener("submit", () => localStorage.removeItem(key));
}

// --- Live updates -----------------------------------------------------------
// One socket per tab. The server sends hints (this ticket changed, the queues
// changed) and presence; the page fetches what it shows again from the server.

const article = document.querySelector("[data-ticket]");
const watched = article ? Number(article.dataset.ticket) : null;
let socket = null;
let retry = 1000;
let reconnecting = false;
let refreshing = false;
let refreshAgain = false;

function swap(fresh, selector) {
  const old = document.querySelector(selector);
  const replacement = fresh.querySelector(selector);
  if (old && replacement) old.replaceWith(replacement);
}

async function refresh() {
  if (refreshing) {
    refreshAgain = true;
    return;
  }
  refreshing = true;
  try {
    const response = await fetch(window.location.href, { credentials: "same-origin" });
    if (!response.ok) return;
    const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
    swap(fresh, "nav.views ul");
    if (article) {
      const history = document.querySelector("details.history");
      const open = Boolean(history && history.open);
      for (const selector of [".ticket-head", "#page-notice", "ol.conversation", ".history", ".held-replies", "aside.context"]) swap(fresh, selector);
      const again = document.querySelector("details.history");
      if (again) again.open = open;
    } else {
      const current = document.querySelector("table.queue tr.current");
      const href = current ? current.dataset.href : null;
      swap(fresh, "#queue-results");
      for (const row of rows()) {
        if (row.dataset.href === href) row.classList.add("current");
        row.addEventListener("click", (event) => {
          if (event.target.closest("a, input, button, label")) return;
          window.location.href = row.dataset.href;
        });
      }
    }
    tick();
  } finally {
    refreshing = false;
    if (refreshAgain) {
      refreshAgain = false;
      refresh();
    }
  }
}

function showPresence(frame) {
  const line = document.querySelector("#presence");
  if (!line || frame.ticket !== watched) return;
  const parts = [];
  const viewing = frame.viewing.filter((name) => !frame.typing.includes(name));
  if (viewing.length) parts.push(viewing.join(", ") + (viewing.length === 1 ? " is" : " are") + " viewing this ticket.");
  if (frame.typing.length) parts.push(frame.typing.join(", ") + (frame.typing.length === 1 ? " is" : " are") + " typing a reply…");
  line.textContent = parts.join(" ");
}

function connect() {
  const scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
  socket = new WebSocket(scheme + window.location.host + "/desk/live");
  socket.addEventListener("open", () => {
    retry = 1000;
    socket.send(JSON.stringify({ type: "watch", ticket: watched }));
    if (reconnecting) refresh();
    reconnecting = false;
  });
  socket.addEventListener("message", (event) => {
    const frame = JSON.parse(event.data);
    if (frame.type === "presence") showPresence(frame);
    else if (frame.type === "ticket_changed" && frame.ticket === watched) refresh();
    else if (frame.type === "queue_changed" && !article) refresh();
  });
  socket.addEventListener("close", () => {
    reconnecting = true;
    setTimeout(connect, retry);
    retry = Math.min(retry * 2, 30000);
  });
}

if (document.querySelector("nav.views")) connect();

// Typing in the reply box tells the others on this ticket (at most every 2 s).
let lastTyping = 0;
if (draft && watched) {
  draft.addEventListener("input", () => {
    const now = Date.now();
    if (socket && socket.readyState === WebSocket.OPEN && now - lastTyping > 2000) {
      lastTyping = now;
      socket.send(JSON.stringify({ type: "typing" }));
    }
  });
}
