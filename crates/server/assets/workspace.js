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

tick();
setInterval(tick, 1000);

// --- Keyboard ------------------------------------------------------------
// j/k next and previous ticket, Enter open, r reply, n note, s solve,
// / search, ? this list, Esc leave the field. Never while typing in a field.

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
