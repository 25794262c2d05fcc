// Rapport's live chat console: the agent's chats side by side, over the same
// protocol as the API's agent socket (docs/channels.md), signed in by the
// workspace session. A chat arrives offered; Accept opens it for writing.
// Messages are resent with the same client id until the server acknowledges
// them, so a dropped connection loses nothing.

const console_ = document.querySelector("#chat-console");
const panes = document.querySelector("#chat-panes");
const template = document.querySelector("#chat-pane");
const statusLine = document.querySelector("#chat-status");
const presence = document.querySelector("#chat-presence");
const waitingOut = document.querySelector("#chat-waiting");
const empty = document.querySelector("#chat-empty");

const chats = new Map();
const unacknowledged = new Map();
let socket = null;
let retry = 1000;
let sequence = 0;
const prefix = Math.random().toString(36).slice(2, 10);

function send(frame) {
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(frame));
}

function showEmpty() {
  empty.hidden = chats.size > 0;
}

function addLine(chat, line) {
  const state = chats.get(chat);
  if (!state || state.seen.has(line.id)) return;
  state.seen.add(line.id);
  const item = document.createElement("li");
  item.className = "from-" + line.from;
  const who = document.createElement("strong");
  who.textContent = line.name || (line.from === "visitor" ? "Visitor" : line.from === "agent" ? "Agent" : "Rapport");
  const text = document.createElement("span");
  text.textContent = line.text;
  item.append(who, " ", text);
  state.transcript.append(item);
  state.transcript.scrollTop = state.transcript.scrollHeight;
}

function visitorState(chat, online) {
  const state = chats.get(chat);
  if (!state) return;
  state.visitor.textContent = online ? "visitor online" : "visitor away";
}

function accept(state) {
  state.accepted = true;
  state.pane.classList.remove("offered");
  state.offer.remove();
  for (const control of state.pane.querySelectorAll("textarea, button")) control.disabled = false;
  state.text.focus();
}

function openPane(event) {
  if (chats.has(event.chat)) {
    const state = chats.get(event.chat);
    for (const line of event.transcript) addLine(event.chat, line);
    visitorState(event.chat, event.visitor_online);
    return;
  }
  const pane = template.content.firstElementChild.cloneNode(true);
  const id = "chat-" + event.chat;
  pane.id = id;
  pane.setAttribute("aria-labelledby", id + "-title");
  pane.querySelector(".chat-title").id = id + "-title";
  pane.querySelector(".chat-title").textContent = "Chat " + event.chat + " · ticket #" + event.ticket;
  pane.querySelector(".chat-ticket").href = "/desk/tickets/" + event.ticket;
  const text = pane.querySelector(".chat-text");
  text.id = id + "-text";
  pane.querySelector(".chat-label").htmlFor = text.id;
  const state = {
    chat: event.chat,
    pane,
    text,
    offer: pane.querySelector(".chat-offer"),
    transcript: pane.querySelector(".chat-transcript"),
    typing: pane.querySelector(".chat-typing"),
    visitor: pane.querySelector(".chat-visitor"),
    seen: new Set(),
    accepted: false,
    lastTyping: 0,
  };
  chats.set(event.chat, state);
  pane.querySelector(".chat-accept").addEventListener("click", () => accept(state));
  pane.querySelector(".chat-send").addEventListener("submit", (submitted) => {
    submitted.preventDefault();
    const words = text.value.trim();
    if (!words || !state.accepted) return;
    sequence += 1;
    const clientId = prefix + "." + sequence;
    const frame = { type: "message", chat: state.chat, client_id: clientId, text: words };
    unacknowledged.set(clientId, frame);
    send(frame);
    send({ type: "typing", chat: state.chat, typing: false });
    text.value = "";
  });
  text.addEventListener("keydown", (key) => {
    if (key.key === "Enter" && !key.shiftKey) {
      key.preventDefault();
      pane.querySelector(".chat-send").requestSubmit();
    }
  });
  text.addEventListener("input", () => {
    const now = Date.now();
    if (now - state.lastTyping > 2000) {
      state.lastTyping = now;
      send({ type: "typing", chat: state.chat, typing: true });
    }
  });
  pane.querySelector(".chat-end").addEventListener("click", () => send({ type: "end", chat: state.chat }));
  panes.append(pane);
  for (const line of event.transcript) addLine(event.chat, line);
  visitorState(event.chat, event.visitor_online);
  showEmpty();
}

function closePane(chat) {
  const state = chats.get(chat);
  if (!state) return;
  state.pane.remove();
  chats.delete(chat);
  showEmpty();
}

function connect() {
  const scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
  socket = new WebSocket(scheme + window.location.host + "/desk/chat/live");
  socket.addEventListener("open", () => {
    retry = 1000;
    if (presence.value === "away") send({ type: "away", away: true });
    for (const frame of unacknowledged.values()) send(frame);
  });
  socket.addEventListener("message", (message) => {
    const event = JSON.parse(message.data);
    switch (event.type) {
      case "welcome":
        statusLine.textContent = presence.value === "away"
          ? "Away: you keep your chats and are offered no new ones."
          : "Online: new chats are offered to you.";
        waitingOut.textContent = String(event.waiting);
        break;
      case "assigned":
        openPane(event);
        break;
      case "message":
        addLine(event.chat, event);
        break;
      case "ack": {
        // The server stored our line: it joins our transcript under its id.
        const sent = unacknowledged.get(event.client_id);
        unacknowledged.delete(event.client_id);
        if (sent) addLine(sent.chat, { id: event.message_id, from: "agent", name: "You", text: sent.text });
        break;
      }
      case "typing": {
        const state = chats.get(event.chat);
        if (state) state.typing.textContent = event.typing ? "The visitor is typing…" : "";
        break;
      }
      case "presence":
        visitorState(event.chat, event.online);
        break;
      case "ended":
        closePane(event.chat);
        break;
      case "queue":
        waitingOut.textContent = String(event.waiting);
        break;
      case "error":
        statusLine.textContent = "Refused: " + event.message;
        break;
      default:
        break;
    }
  });
  socket.addEventListener("close", () => {
    statusLine.textContent = "Disconnected from the chat desk; reconnecting…";
    setTimeout(connect, retry);
    retry = Math.min(retry * 2, 30000);
  });
}

presence.addEventListener("change", () => {
  const away = presence.value === "away";
  send({ type: "away", away });
  statusLine.textContent = away ? "Away: you keep your chats and are offered no new ones." : "Online: new chats are offered to you.";
});

if (console_) {
  showEmpty();
  connect();
}
