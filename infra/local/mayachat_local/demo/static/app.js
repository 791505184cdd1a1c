// MayaChat web demo: REST for rooms and history, the WebSocket for everything live.
// Follows docs/protocol.md's "recommended client loop": ack per clientMsgId, dedupe by
// messageId, order by seq, markDelivered/markRead, reconnect with backoff, then sync.

const $ = (sel) => document.querySelector(sel);

const state = {
  me: null,
  token: null,
  config: null,
  ws: null,
  attempt: 0,       // reconnect attempts since the last successful open
  rooms: new Map(), // roomId -> room (see roomState)
  openRoom: null,
  typingSent: false,
  typingTimer: null,
  away: false,      // the socket closed on purpose: messages arrive as pushes
  pushToken: null,  // this page's device token (a stand-in FCM token)
};

// For tests and experiments: while true, the page stays disconnected after a drop.
window.demo = { holdReconnect: false, state };

function roomState(info) {
  return {
    info,                     // the REST room (members, name, unreadCount, ...)
    loaded: false,            // history fetched once: synced after every reconnect
    // The catch-up cursor: moved only by what REST and sync answer, never by a live
    // message (a live seq can be ahead of one still on its way into the store).
    syncedUpTo: 0,
    messages: new Map(),      // messageId -> message
    pending: new Map(),       // clientMsgId -> {text, roomId}, until its ack
    receipts: new Map(),      // userId -> {delivered, read}
    typing: new Map(),        // userId -> expiry timer
    sentDelivered: 0,
    sentRead: 0,
  };
}

function log(text) {
  const line = `${new Date().toLocaleTimeString()} ${text}\n`;
  $("#log").textContent = (line + $("#log").textContent).slice(0, 4000);
}

// ---------------------------------------------------------------- REST
async function api(method, path, body) {
  const res = await fetch(path, {
    method,
    headers: { Authorization: `Bearer ${state.token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(data)}`);
  return data;
}

async function signIn(user) {
  const res = await fetch("/demo/token", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ user }),
  });
  if (!res.ok) return log(`sign-in failed: ${res.status}`);
  ({ user: state.me, token: state.token } = await res.json());
  state.config = await (await fetch("/demo/config")).json();
  $("#login").hidden = true;
  $("#me").hidden = false;
  $("#me").textContent = state.me;
  $("#create").disabled = false;
  $("#drop").disabled = false;
  $("#away").disabled = false;
  await registerDevice();
  await loadRooms();
  connect();
}

// ---------------------------------------------------------------- pushes
// The page registers itself as a device, as a phone does at every start (PUT /api/devices);
// the local SNS records each push to its token instead of calling FCM, and the panel shows
// them: what the phone would have shown while its user was away.
async function registerDevice() {
  state.pushToken = `web-demo-${state.me.replace(/[^A-Za-z0-9_.:-]/g, "_")}`;
  await api("PUT", "/api/devices/web-demo", { platform: "FCM", token: state.pushToken });
  $("#push-panel").hidden = false;
  setInterval(showPushes, 1500);
}

async function showPushes() {
  const res = await fetch(`/demo/pushes?token=${encodeURIComponent(state.pushToken)}`);
  if (!res.ok) return;
  const pushes = await res.json();
  const list = $("#pushes");
  if (list.children.length === pushes.length) return;
  list.replaceChildren(...pushes.reverse().map((p) => {
    const li = document.createElement("li");
    li.className = "push";
    const title = document.createElement("div");
    title.className = "title";
    title.textContent = p.title;
    const badge = document.createElement("span");
    badge.className = "badge";
    badge.textContent = p.badge;
    title.append(badge);
    const body = document.createElement("div");
    body.textContent = p.body;
    li.append(title, body);
    li.onclick = () => state.rooms.has(p.data.roomId) && openRoom(p.data.roomId);
    return li;
  }));
}

function toggleAway() {
  state.away = !state.away;
  window.demo.holdReconnect = state.away;
  $("#away").textContent = state.away ? "come back" : "go away";
  $("#drop").disabled = state.away;
  if (state.away) {
    const ws = state.ws;
    state.ws = null; // no reconnect: this close is on purpose
    ws?.close(1000, "away");
    setStatus("away", "away: pushes only");
  } else {
    connect(); // then sync, as after any reconnect
  }
}

async function loadRooms() {
  const { rooms } = await api("GET", "/api/rooms");
  for (const info of rooms) {
    const room = state.rooms.get(info.roomId);
    if (room) room.info = { ...info, unreadCount: room.info.unreadCount ?? info.unreadCount };
    else state.rooms.set(info.roomId, roomState(info));
  }
  renderRooms();
}

async function createRoom(type, members, name) {
  const body = { type, members };
  if (type === "group" && name) body.name = name;
  const info = await api("POST", "/api/rooms", body);
  await loadRooms();
  await openRoom(info.roomId);
}

async function openRoom(roomId) {
  state.openRoom = roomId;
  const room = state.rooms.get(roomId);
  if (!room.loaded) {
    const page = await api("GET", `/api/messages/room/${roomId}?limit=50`);
    for (const m of page.messages) addMessage(room, m, "history");
    for (const m of page.messages) room.syncedUpTo = Math.max(room.syncedUpTo, m.seq);
    room.loaded = true;
    sync(roomId); // what REST does not have yet (persisted a moment later)
  }
  room.info.unreadCount = 0;
  $("#empty").hidden = true;
  $("#room").hidden = false;
  renderRooms();
  renderRoom();
  markShown(room);
}

// ---------------------------------------------------------------- WebSocket
function connect() {
  setStatus("connecting", "connecting…");
  const ws = new WebSocket(`${state.config.websocket}?token=${encodeURIComponent(state.token)}`);
  state.ws = ws;
  ws.onopen = () => {
    state.attempt = 0;
    setStatus("online", "online");
    // Rooms made while away (a push may name one) and fresh unread counts.
    loadRooms().catch((e) => log(String(e)));
    for (const [roomId, room] of state.rooms) {
      if (room.loaded) sync(roomId);
      for (const [cmid, p] of room.pending) sendFrame(messageFrame(roomId, cmid, p.text));
    }
  };
  ws.onmessage = (ev) => onFrame(JSON.parse(ev.data));
  ws.onclose = () => {
    if (state.ws !== ws) return;
    state.ws = null;
    scheduleReconnect();
  };
}

function scheduleReconnect() {
  // Exponential backoff with jitter: 0.5 s, 1 s, 2 s, ... up to 10 s.
  const delay = Math.min(10000, 500 * 2 ** state.attempt) * (0.75 + Math.random() / 2);
  state.attempt += 1;
  setStatus("reconnecting", "reconnecting…");
  const attemptNow = () => (window.demo.holdReconnect ? setTimeout(attemptNow, 200) : connect());
  setTimeout(attemptNow, delay);
}

function dropConnection() {
  if (state.ws) state.ws.close(4000, "dropped by the user");
}

function setStatus(kind, text) {
  $("#status").dataset.state = kind;
  $("#status").textContent = text;
}

function sendFrame(frame) {
  if (state.ws?.readyState !== WebSocket.OPEN) return false;
  state.ws.send(JSON.stringify(frame));
  return true;
}

function sync(roomId) {
  const room = state.rooms.get(roomId);
  sendFrame({ action: "sync", roomId, afterSeq: room.syncedUpTo });
}

function messageFrame(roomId, clientMsgId, text) {
  return { action: "sendMessage", roomId, clientMsgId, content: { type: "text", text } };
}

function newClientMsgId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) =>
    b.toString(16).padStart(2, "0")).join("");
}

function sendText(text) {
  const roomId = state.openRoom;
  const room = state.rooms.get(roomId);
  const cmid = newClientMsgId();
  room.pending.set(cmid, { text, roomId });
  sendFrame(messageFrame(roomId, cmid, text)); // resent on reconnect until acked
  setTyping(false);
  renderRoom();
}

function onFrame(f) {
  const room = f.roomId ? state.rooms.get(f.roomId) : null;
  switch (f.type) {
    case "ack": {
      if (!room) return;
      const p = room.pending.get(f.clientMsgId);
      room.pending.delete(f.clientMsgId);
      addMessage(room, {
        messageId: f.messageId, roomId: f.roomId, seq: f.seq, senderId: state.me,
        clientMsgId: f.clientMsgId, content: { type: "text", text: p ? p.text : "" },
        createdAt: f.createdAt,
      }, "ack");
      break;
    }
    case "message":
      return onMessages(f.message.roomId, [f.message], "live");
    case "sync": {
      const synced = state.rooms.get(f.roomId);
      if (synced) for (const m of f.messages) synced.syncedUpTo = Math.max(synced.syncedUpTo, m.seq);
      onMessages(f.roomId, f.messages, "sync");
      if (f.final && f.hasMore) sync(f.roomId);
      else if (f.final && f.caughtUp === false) setTimeout(() => sync(f.roomId), 300);
      return;
    }
    case "receipt": {
      if (!room) return;
      const r = room.receipts.get(f.userId) ?? { delivered: 0, read: 0 };
      r[f.kind] = Math.max(r[f.kind], f.upToSeq);
      if (f.kind === "read") r.delivered = Math.max(r.delivered, f.upToSeq);
      room.receipts.set(f.userId, r);
      break;
    }
    case "typing": {
      if (!room) return;
      clearTimeout(room.typing.get(f.userId));
      if (f.isTyping) {
        // Drop an indicator we have had no news of: the "false" frame may never come.
        room.typing.set(f.userId, setTimeout(() => {
          room.typing.delete(f.userId);
          renderRoom();
        }, 6000));
      } else room.typing.delete(f.userId);
      break;
    }
    case "error":
      log(`error ${f.code}: ${f.message}`);
      if (f.clientMsgId && ["not_a_member", "invalid_field", "too_long"].includes(f.code)) {
        for (const r of state.rooms.values()) r.pending.delete(f.clientMsgId);
      }
      break;
    default:
      return; // pong, and types this demo does not know
  }
  if (room && f.roomId === state.openRoom) renderRoom();
}

async function onMessages(roomId, messages, via) {
  let room = state.rooms.get(roomId);
  const known = Boolean(room);
  if (!known) {
    await loadRooms(); // a room someone just created with us
    room = state.rooms.get(roomId);
    if (!room) return;
  }
  let fresh = 0;
  for (const m of messages) {
    if (m.senderId === state.me) room.pending.delete(m.clientMsgId);
    if (addMessage(room, m, via) && m.senderId !== state.me) fresh += 1;
  }
  if (messages.length) {
    sendFrame({ action: "markDelivered", roomId, upToSeq: maxSeq(room) });
  }
  if (roomId === state.openRoom) {
    renderRoom();
    markShown(room);
  } else if (fresh && via === "live") {
    // REST's count (from MongoDB) may or may not include these yet: count them once.
    const base = room.info.unreadCount ?? 0;
    room.info.unreadCount = known ? base + fresh : Math.max(base, fresh);
  }
  renderRooms();
}

function addMessage(room, m, via) {
  if (room.messages.has(m.messageId)) return false; // dedupe by messageId
  room.messages.set(m.messageId, { ...m, via });
  return true;
}

function maxSeq(room) {
  let seq = 0;
  for (const m of room.messages.values()) seq = Math.max(seq, m.seq);
  return seq;
}

function markShown(room) {
  const seq = maxSeq(room);
  if (seq > room.sentRead && sendFrame({ action: "markRead", roomId: room.info.roomId, upToSeq: seq })) {
    room.sentRead = seq;
  }
}

function setTyping(on) {
  clearTimeout(state.typingTimer);
  if (on) state.typingTimer = setTimeout(() => setTyping(false), 3000);
  if (on === state.typingSent || !state.openRoom) return;
  state.typingSent = on;
  sendFrame({ action: "typing", roomId: state.openRoom, isTyping: on });
}

// ---------------------------------------------------------------- rendering
function roomTitle(info) {
  if (info.type === "group") return info.name || info.members.join(", ");
  return info.members.filter((m) => m !== state.me).join(", ") || info.roomId;
}

function renderRooms() {
  const list = $("#rooms");
  list.replaceChildren();
  for (const [roomId, room] of state.rooms) {
    const li = document.createElement("li");
    li.className = "room" + (roomId === state.openRoom ? " open" : "");
    li.dataset.roomId = roomId;
    const name = document.createElement("span");
    name.textContent = (room.info.type === "group" ? "# " : "@ ") + roomTitle(room.info);
    const badge = document.createElement("span");
    badge.className = "unread";
    badge.dataset.count = room.info.unreadCount ?? 0;
    badge.textContent = room.info.unreadCount ?? 0;
    li.append(name, badge);
    li.onclick = () => openRoom(roomId).catch((e) => log(e.message));
    list.append(li);
  }
}

function receiptOf(room, seq) {
  let best = "sent";
  for (const [user, r] of room.receipts) {
    if (user === state.me) continue;
    if (r.read >= seq) return "read";
    if (r.delivered >= seq) best = "delivered";
  }
  return best;
}

const TICKS = { pending: "🕓", sent: "✓", delivered: "✓✓", read: "✓✓" };

function renderRoom() {
  const room = state.rooms.get(state.openRoom);
  if (!room) return;
  $("#room-title").textContent = roomTitle(room.info);
  const list = $("#messages");
  const atBottom = list.scrollTop + list.clientHeight >= list.scrollHeight - 4;
  list.replaceChildren();
  const sorted = [...room.messages.values()].sort((a, b) => a.seq - b.seq);
  const pending = [...room.pending].map(([cmid, p]) => ({
    clientMsgId: cmid, senderId: state.me, content: { text: p.text }, pending: true,
  }));
  for (const m of [...sorted, ...pending]) {
    const li = document.createElement("li");
    const mine = m.senderId === state.me;
    li.className = "msg" + (mine ? " mine" : "");
    if (m.pending) li.dataset.pending = "";
    else Object.assign(li.dataset, { seq: m.seq, messageId: m.messageId, via: m.via });
    const text = document.createElement("span");
    text.className = "text";
    text.textContent = m.content.text;
    const meta = document.createElement("span");
    meta.className = "meta";
    const time = m.createdAt ? new Date(m.createdAt).toLocaleTimeString() : "";
    meta.textContent = mine ? time : `${m.senderId} · ${time}`;
    li.append(text, meta);
    if (mine) {
      const tick = document.createElement("span");
      tick.className = "tick";
      tick.dataset.receipt = m.pending ? "pending" : receiptOf(room, m.seq);
      tick.textContent = TICKS[tick.dataset.receipt];
      tick.title = tick.dataset.receipt;
      li.append(tick);
    }
    list.append(li);
  }
  if (atBottom) list.scrollTop = list.scrollHeight;
  const typists = [...room.typing.keys()];
  $("#typing").textContent = typists.length
    ? `${typists.join(", ")} ${typists.length > 1 ? "are" : "is"} typing…` : "";
}

// ---------------------------------------------------------------- wiring
$("#login").onsubmit = (e) => {
  e.preventDefault();
  signIn($("#user").value.trim()).catch((err) => log(err.message));
};
$("#new-room").onsubmit = (e) => {
  e.preventDefault();
  const members = $("#new-members").value.split(/[\s,]+/).filter(Boolean);
  createRoom($("#new-type").value, members, $("#new-name").value.trim())
    .then(() => { $("#new-members").value = ""; $("#new-name").value = ""; })
    .catch((err) => log(err.message));
};
$("#composer").onsubmit = (e) => {
  e.preventDefault();
  const text = $("#text").value;
  if (!text.trim() || !state.openRoom) return;
  $("#text").value = "";
  sendText(text);
};
$("#text").oninput = () => setTyping($("#text").value.length > 0);
$("#drop").onclick = dropConnection;
$("#away").onclick = toggleAway;
