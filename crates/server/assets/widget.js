/*
 * Rapport live-chat widget. Embed with:
 *   <script src="https://HOST/widget.js" async></script>
 * No build step, no dependencies. The protocol is described in docs/channels.md
 * ("Live chat"). What the widget keeps in localStorage (per site):
 *   rapport.chat.visitor  the random visitor id (resumes the chat after a reload)
 *   rapport.chat.seen     the last message id shown (the server replays what follows)
 *   rapport.chat.lines    the transcript shown so far (the last 200 lines)
 *   rapport.chat.unacked  messages sent but not yet acknowledged (resent on reconnect)
 */
(function () {
  "use strict";
  if (window.__rapportChat) return;
  window.__rapportChat = true;

  // The widget's words in the visitor's language: the server fills them in
  // from its message catalogs (by the browser's Accept-Language).
  var WORDS = {} /* words */;
  function t(id, values) {
    var text = WORDS[id] || id;
    for (var name in values) text = text.split("{" + name + "}").join(String(values[name]));
    return text;
  }

  var script = document.currentScript;
  var base = new URL(script ? script.src : "/widget.js", location.href);
  var socketUrl = (base.protocol === "https:" ? "wss://" : "ws://") + base.host + "/chat/ws";
  var KEY = "rapport.chat.";

  function load(name, fallback) {
    try {
      var value = localStorage.getItem(KEY + name);
      return value === null ? fallback : JSON.parse(value);
    } catch (e) {
      return fallback;
    }
  }
  function save(name, value) {
    try { localStorage.setItem(KEY + name, JSON.stringify(value)); } catch (e) { /* private mode */ }
  }
  function randomId(length) {
    var bytes = new Uint8Array(length);
    (window.crypto || window.msCrypto).getRandomValues(bytes);
    var alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
    var out = "";
    for (var i = 0; i < bytes.length; i++) out += alphabet[bytes[i] % alphabet.length];
    return out;
  }

  var visitor = load("visitor", null);
  if (!visitor) { visitor = "v-" + randomId(22); save("visitor", visitor); }
  var seen = load("seen", null);
  var lines = load("lines", []);
  var unacked = load("unacked", []);
  var counter = 0;
  var socket = null;
  var backoff = 500;
  var connected = false;
  var typingTimer = null;
  var typingSent = false;

  // --- the panel ---
  var style = document.createElement("style");
  style.textContent =
    ".rpc-btn{position:fixed;right:20px;bottom:20px;z-index:2147483000;border:0;border-radius:28px;" +
    "padding:14px 20px;background:#2255cc;color:#fff;font:600 15px system-ui,sans-serif;cursor:pointer;" +
    "box-shadow:0 4px 14px rgba(0,0,0,.25)}" +
    ".rpc-panel{position:fixed;right:20px;bottom:80px;z-index:2147483000;width:340px;max-width:calc(100vw - 40px);" +
    "height:460px;max-height:calc(100vh - 120px);display:none;flex-direction:column;background:#fff;color:#222;" +
    "border-radius:12px;box-shadow:0 8px 30px rgba(0,0,0,.3);font:14px system-ui,sans-serif;overflow:hidden}" +
    ".rpc-panel.rpc-open{display:flex}" +
    ".rpc-head{background:#2255cc;color:#fff;padding:12px 14px;font-weight:600}" +
    ".rpc-status{padding:6px 14px;background:#eef2fb;color:#334;font-size:13px;min-height:18px}" +
    ".rpc-lines{flex:1;overflow-y:auto;padding:10px 14px}" +
    ".rpc-line{margin:6px 0;padding:8px 10px;border-radius:10px;max-width:85%;white-space:pre-wrap;word-wrap:break-word}" +
    ".rpc-visitor{margin-left:auto;background:#2255cc;color:#fff}" +
    ".rpc-agent{background:#f0f0f3}.rpc-system{background:#fff7e0;font-size:13px;max-width:100%}" +
    ".rpc-pending{opacity:.6}.rpc-name{display:block;font-size:11px;color:#667;margin-bottom:2px}" +
    ".rpc-typing{padding:0 14px;height:18px;color:#667;font-size:12px}" +
    ".rpc-form,.rpc-email{display:flex;border-top:1px solid #ddd}" +
    ".rpc-form textarea,.rpc-email input{flex:1;border:0;padding:10px;font:inherit;resize:none;outline:none}" +
    ".rpc-form button,.rpc-email button{border:0;background:#fff;color:#2255cc;font-weight:600;padding:0 14px;cursor:pointer}" +
    ".rpc-email{display:none}.rpc-email.rpc-open{display:flex}" +
    ".rpc-ask{display:none;border:0;background:none;color:#2255cc;text-decoration:underline;cursor:pointer;padding:4px 14px;text-align:left;font:inherit;font-size:13px}" +
    ".rpc-ask.rpc-open{display:block}";
  document.head.appendChild(style);

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text) node.textContent = text;
    return node;
  }
  var button = element("button", "rpc-btn", t("open"));
  button.type = "button";
  button.setAttribute("aria-expanded", "false");
  var panel = element("div", "rpc-panel");
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-label", t("title"));
  var head = element("div", "rpc-head", t("open"));
  var status = element("div", "rpc-status", t("connecting"));
  status.setAttribute("aria-live", "polite");
  var list = element("div", "rpc-lines");
  var typing = element("div", "rpc-typing");
  var form = element("form", "rpc-form");
  var input = element("textarea");
  input.rows = 2;
  input.placeholder = t("placeholder");
  input.setAttribute("aria-label", t("your-message"));
  var send = element("button", null, t("send"));
  send.type = "submit";
  form.appendChild(input);
  form.appendChild(send);
  var emailForm = element("form", "rpc-email");
  var emailInput = element("input");
  emailInput.type = "email";
  emailInput.placeholder = t("email");
  emailInput.setAttribute("aria-label", t("email"));
  var emailSend = element("button", null, t("save"));
  emailSend.type = "submit";
  emailForm.appendChild(emailInput);
  emailForm.appendChild(emailSend);
  // Rather than wait: a callback, in the same line as callers.
  var askCallback = element("button", "rpc-ask", t("ask-callback"));
  askCallback.type = "button";
  var phoneForm = element("form", "rpc-email rpc-phone");
  var phoneInput = element("input");
  phoneInput.type = "tel";
  phoneInput.placeholder = t("phone");
  phoneInput.setAttribute("aria-label", t("phone"));
  var phoneSend = element("button", null, t("call-me"));
  phoneSend.type = "submit";
  phoneForm.appendChild(phoneInput);
  phoneForm.appendChild(phoneSend);
  [head, status, list, typing, askCallback, phoneForm, emailForm, form].forEach(function (node) {
    panel.appendChild(node);
  });

  function mount() {
    document.body.appendChild(panel);
    document.body.appendChild(button);
  }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);

  button.addEventListener("click", function () {
    var open = panel.classList.toggle("rpc-open");
    button.setAttribute("aria-expanded", String(open));
    if (open) { input.focus(); list.scrollTop = list.scrollHeight; }
  });

  // --- the transcript ---
  function render() {
    list.textContent = "";
    lines.forEach(function (line) { list.appendChild(bubble(line.from, line.name, line.text, false)); });
    unacked.forEach(function (message) { list.appendChild(bubble("visitor", null, message.text, true)); });
    list.scrollTop = list.scrollHeight;
  }
  function bubble(from, name, text, pending) {
    var node = element("div", "rpc-line rpc-" + from + (pending ? " rpc-pending" : ""));
    if (name && from === "agent") node.appendChild(element("span", "rpc-name", name));
    node.appendChild(document.createTextNode(text));
    return node;
  }
  function addLine(line) {
    if (lines.some(function (known) { return known.id === line.id; })) return;
    lines.push({ id: line.id, from: line.from, name: line.name || null, text: line.text });
    if (lines.length > 200) lines = lines.slice(-200);
    if (seen === null || line.id > seen) { seen = line.id; save("seen", seen); }
    save("lines", lines);
    render();
  }

  // --- the connection ---
  function transmit(frame) {
    if (socket && connected) socket.send(JSON.stringify(frame));
  }
  function connect() {
    socket = new WebSocket(socketUrl);
    socket.onopen = function () {
      connected = true;
      backoff = 500;
      transmit({ type: "hello", visitor: visitor, last_seen: seen });
      // Everything not acknowledged is sent again, with the same ids.
      unacked.forEach(function (message) {
        transmit({ type: "message", client_id: message.client_id, text: message.text });
      });
    };
    socket.onmessage = function (event) {
      var frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      receive(frame);
    };
    socket.onclose = function () {
      connected = false;
      socket = null;
      status.textContent = t("reconnecting");
      setTimeout(connect, backoff + Math.random() * backoff);
      backoff = Math.min(backoff * 2, 30000);
    };
  }
  function receive(frame) {
    switch (frame.type) {
      case "welcome":
        status.textContent = frame.agents_online > 0 ? t("online") : t("offline");
        if (frame.email) emailInput.value = frame.email;
        break;
      case "ack":
        // The message is stored: it moves from the unacknowledged list into the transcript.
        var acked = unacked.filter(function (message) { return message.client_id === frame.client_id; })[0];
        unacked = unacked.filter(function (message) { return message.client_id !== frame.client_id; });
        save("unacked", unacked);
        if (acked) addLine({ id: frame.message_id, from: "visitor", text: acked.text });
        break;
      case "message":
        addLine(frame);
        if (frame.from === "agent") typing.textContent = "";
        return;
      case "callback_queued":
        status.textContent = frame.position
          ? t("callback-position", { phone: frame.phone, position: frame.position })
          : t("callback", { phone: frame.phone });
        askCallback.classList.remove("rpc-open");
        phoneForm.classList.remove("rpc-open");
        break;
      case "queued":
        askCallback.classList.add("rpc-open");
        status.textContent = frame.wait_minutes
          ? t("queued-wait", { position: frame.position, minutes: frame.wait_minutes })
          : t("queued", { position: frame.position });
        break;
      case "joined":
        status.textContent = t("joined", { agent: frame.agent });
        emailForm.classList.remove("rpc-open");
        askCallback.classList.remove("rpc-open");
        phoneForm.classList.remove("rpc-open");
        break;
      case "typing":
        typing.textContent = frame.typing ? t("typing") : "";
        break;
      case "offline":
        status.textContent = frame.ticket
          ? t(frame.ask_email ? "offline-notice-ask" : "offline-notice", { ticket: frame.ticket })
          : frame.notice;
        emailForm.classList.toggle("rpc-open", !!frame.ask_email);
        askCallback.classList.add("rpc-open");
        break;
      case "email_saved":
        status.textContent = t("email-saved", { email: frame.email });
        emailForm.classList.remove("rpc-open");
        break;
      case "ended":
        status.textContent = t("ended");
        typing.textContent = "";
        break;
      case "error":
        status.textContent = frame.message;
        break;
    }
    render();
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    input.value = "";
    var message = { client_id: randomId(6) + "." + (++counter), text: text };
    unacked.push(message);
    save("unacked", unacked);
    render();
    transmit({ type: "message", client_id: message.client_id, text: text });
    stopTyping();
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      form.requestSubmit ? form.requestSubmit() : form.dispatchEvent(new Event("submit", { cancelable: true }));
    }
  });
  input.addEventListener("input", function () {
    if (!typingSent) { typingSent = true; transmit({ type: "typing", typing: true }); }
    clearTimeout(typingTimer);
    typingTimer = setTimeout(stopTyping, 3000);
  });
  function stopTyping() {
    clearTimeout(typingTimer);
    if (typingSent) { typingSent = false; transmit({ type: "typing", typing: false }); }
  }
  askCallback.addEventListener("click", function () {
    phoneForm.classList.add("rpc-open");
    phoneInput.focus();
  });
  phoneForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var phone = phoneInput.value.trim();
    if (phone) transmit({ type: "callback", phone: phone });
  });
  emailForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var email = emailInput.value.trim();
    if (email) transmit({ type: "email", email: email });
  });

  render();
  connect();
})();
