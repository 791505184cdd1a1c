// MayaChat web demo: REST for rooms and history, the WebSocket for everything live.
// Follows docs/protocol.md's "recommended client loop": ack per clientMsgId, dedupe by
// messageId, order by seq, markDelivered/markRead, reconnect with backoff, then sync; edits,
// deletions and reactions applied by version; photos and files uploaded straight to S3;
// presence asked on opening a room and after every reconnect, then updated by its pushes.

const $ = (sel) => document.querySelector(sel);

const EMOJI = ["👍", "❤️", "😂", "😮", "🎉"]; // the reactions this demo offers
const EDIT_WINDOW_MS = 15 * 60 * 1000; // the server's default: later edits are refused

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
  menuFor: null,    // the messageId whose react/edit/delete menu is open
  editing: null,    // {roomId, messageId} while the composer edits a message
  images: new Map(), // attachmentId -> its <img>, made once (its download URL is short-lived)
  presence: new Map(), // userId -> {online, lastSeen?}: the latest answer or push about them
  hidden: false,     // we hide our presence (and so see everyone offline, without last seen)
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
    messages: new Map(),      // messageId -> its copy: as sent (live), or as it is now (sync, REST)
    changes: new Map(),       // messageId -> live changes (frames and our acked ones), by version
    outbox: [],               // our changes until their ack: {action, messageId, frame, tries}
    pending: new Map(),       // clientMsgId -> {content, roomId, uploading?}, until its ack
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
  state.hidden = (await api("GET", "/api/presence/settings")).hidden;
  renderHidden();
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

// ---------------------------------------------------------------- presence
// docs/protocol.md#presence: ask for a room's members when it opens and after every reconnect
// (pushes missed while disconnected are not queued), then apply the pushes as they come.
const MAX_ASKED = 100; // a room of more members answers only for the userIds named

function askPresence(roomId) {
  const members = state.rooms.get(roomId)?.info.members ?? [];
  const frame = { action: "presence", roomId };
  if (members.length > MAX_ASKED + 1) {
    frame.userIds = members.filter((m) => m !== state.me).slice(0, MAX_ASKED);
  }
  sendFrame(frame);
}

// The open room, and the direct rooms (their dot in the room list).
function askAllPresence() {
  for (const [roomId, room] of state.rooms) {
    if (roomId === state.openRoom || room.info.type === "direct") askPresence(roomId);
  }
}

function onPresence(f) {
  for (const u of f.users) state.presence.set(u.userId, u);
  renderRooms();
  if (state.openRoom) renderRoom();
}

async function toggleHidden() {
  const { hidden } = await api("PUT", "/api/presence/settings", { hidden: !state.hidden });
  state.hidden = hidden;
  renderHidden();
  askAllPresence(); // hiding ours hides theirs from us too
}

function renderHidden() {
  const b = $("#hide");
  b.disabled = false;
  b.setAttribute("aria-pressed", state.hidden);
  b.textContent = state.hidden ? "show presence" : "hide presence";
}

function lastSeenText(iso) {
  const at = new Date(iso);
  const today = at.toDateString() === new Date().toDateString();
  const time = at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  return `last seen ${today ? "today" : at.toLocaleDateString()} at ${time}`;
}

// "online", "last seen today at 10:42", or "offline" (hidden, or never seen).
function presenceText(userId) {
  const p = state.presence.get(userId);
  if (p?.online) return "online";
  return p?.lastSeen ? lastSeenText(p.lastSeen) : "offline";
}

function dot(userId) {
  const d = element("span", "dot");
  d.dataset.online = Boolean(state.presence.get(userId)?.online);
  return d;
}

function renderPresence(room) {
  const box = $("#room-presence");
  const others = room.info.members.filter((m) => m !== state.me);
  if (room.info.type === "direct") {
    const line = element("span", "member", presenceText(others[0]));
    line.dataset.userId = others[0];
    box.replaceChildren(dot(others[0]), line);
    return;
  }
  box.replaceChildren(...others.slice(0, 20).map((userId) => {
    const m = element("span", "member");
    m.dataset.userId = userId;
    m.title = presenceText(userId);
    m.append(dot(userId), userId);
    return m;
  }));
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
  if (state.editing && state.editing.roomId !== roomId) stopEditing();
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
  askPresence(roomId);
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
    loadRooms().then(askAllPresence).catch((e) => log(String(e)));
    for (const [roomId, room] of state.rooms) {
      if (room.loaded) sync(roomId);
      for (const [cmid, p] of room.pending) {
        if (!p.uploading) sendFrame(messageFrame(roomId, cmid, p.content));
      }
      for (const c of room.outbox) sendFrame(c.frame); // in order: the latest change wins
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

function messageFrame(roomId, clientMsgId, content) {
  return { action: "sendMessage", roomId, clientMsgId, content };
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
  const content = { type: "text", text };
  room.pending.set(cmid, { content, roomId });
  sendFrame(messageFrame(roomId, cmid, content)); // resent on reconnect until acked
  setTyping(false);
  renderRoom();
}

// ---------------------------------------------------------------- photos and files
// docs/rest.md#attachments: a presigned POST form from REST, the file straight to S3, then
// a sendMessage naming the upload; receivers ask REST for a short-lived download URL.
async function sendFile(file) {
  const roomId = state.openRoom;
  const room = state.rooms.get(roomId);
  const mimeType = file.type || "application/octet-stream";
  const content = {
    type: mimeType.startsWith("image/") ? "image" : "file", name: file.name, size: file.size, mimeType,
  };
  const cmid = newClientMsgId();
  room.pending.set(cmid, { content, roomId, uploading: true });
  renderRoom();
  try {
    if (content.type === "image") Object.assign(content, await imageSize(file));
    const ticket = await api("POST", `/api/rooms/${roomId}/attachments`,
      { name: file.name, mimeType, size: file.size });
    const form = new FormData();
    for (const [name, value] of Object.entries(ticket.upload.fields)) form.append(name, value);
    form.append("file", file); // last: S3 reads no field after the file
    const res = await fetch(ticket.upload.url, { method: "POST", body: form });
    if (!res.ok) throw new Error(`S3 refused the upload: ${res.status} ${await res.text()}`);
    content.attachmentId = ticket.attachmentId;
    if (content.type === "image") state.images.set(content.attachmentId, photo(content, URL.createObjectURL(file)));
    room.pending.set(cmid, { content, roomId });
    sendFrame(messageFrame(roomId, cmid, content));
  } catch (err) {
    room.pending.delete(cmid);
    notice(`could not send ${file.name}: ${err.message}`);
  }
  renderRoom();
}

async function imageSize(file) {
  try {
    const bitmap = await createImageBitmap(file);
    const size = { width: bitmap.width, height: bitmap.height };
    bitmap.close();
    return size;
  } catch {
    return {}; // a type this browser cannot decode (HEIC): width and height are optional
  }
}

const PHOTO_PX = 240; // the largest side shown

function photo(content, src) {
  const img = element("img", "photo");
  img.alt = content.name;
  const { width: w, height: h } = content;
  if (w && h) { // its box laid out before it is downloaded
    const k = Math.min(1, PHOTO_PX / w, PHOTO_PX / h);
    Object.assign(img.style, { width: `${Math.round(w * k)}px`, height: `${Math.round(h * k)}px` });
  }
  if (src) img.src = src;
  return img;
}

async function downloadUrl(roomId, attachmentId) {
  return (await api("GET", `/api/rooms/${roomId}/attachments/${attachmentId}`)).url;
}

// One <img> per photo, kept across renders: the download URL is fetched once, the image
// loaded once.
function imageOf(roomId, content) {
  let img = state.images.get(content.attachmentId);
  if (!img) {
    img = photo(content);
    state.images.set(content.attachmentId, img);
    downloadUrl(roomId, content.attachmentId)
      .then((url) => { img.src = url; })
      .catch((err) => { img.alt = `${content.name} (not available)`; log(err.message); });
  }
  return img;
}

function openFile(roomId, content) {
  downloadUrl(roomId, content.attachmentId)
    .then((url) => window.open(url, "_blank", "noopener")) // served as a download
    .catch((err) => notice(`could not download ${content.name}: ${err.message}`));
}

// ---------------------------------------------------------------- edits, deletions, reactions
// Pending until their ack (which says only the action and the version); resent on reconnect.
function sendChange(roomId, action, messageId, fields) {
  const room = state.rooms.get(roomId);
  const frame = { action, roomId, messageId, ...fields };
  room.outbox.push({ action, messageId, frame, tries: 0 });
  sendFrame(frame);
  renderRoom();
}

const editMessage = (roomId, messageId, text) =>
  sendChange(roomId, "editMessage", messageId, { content: { type: "text", text } });
const deleteMessage = (roomId, messageId) => sendChange(roomId, "deleteMessage", messageId, {});
const react = (roomId, messageId, emoji, op) => sendChange(roomId, "react", messageId, { emoji, op });
Object.assign(window.demo, { editMessage, deleteMessage, react });

// Our change as the room sees it (the frame the others get), `version` once acked.
function changeOf(frame, version) {
  const at = new Date().toISOString();
  const base = { roomId: frame.roomId, messageId: frame.messageId, version };
  if (frame.action === "editMessage") return { ...base, type: "message.edited", content: frame.content, editedAt: at };
  if (frame.action === "deleteMessage") return { ...base, type: "message.deleted", deletedBy: state.me, deletedAt: at };
  return { ...base, type: "reaction", userId: state.me, emoji: frame.emoji, op: frame.op };
}

function onChangeAck(room, f) {
  const i = room.outbox.findIndex((c) => c.messageId === f.messageId && c.action === f.action);
  if (i < 0) return; // a resend acked again
  const [{ frame }] = room.outbox.splice(i, 1);
  addChange(room, changeOf(frame, f.version));
}

function addChange(room, change) {
  const list = room.changes.get(change.messageId) ?? [];
  if (list.some((c) => c.version === change.version)) return; // the same change again
  list.push(change);
  list.sort((a, b) => a.version - b.version);
  room.changes.set(change.messageId, list);
}

// The message as it is now: its copy, then the live changes newer than the copy in version
// order (a later edit wins, a deletion is final), then our changes not acked yet.
function current(room, copy) {
  const m = { ...copy, reactions: { ...(copy.reactions ?? {}) } };
  const live = (room.changes.get(copy.messageId) ?? []).filter((c) => c.version > (copy.version ?? 0));
  const ours = room.outbox.filter((c) => c.messageId === copy.messageId)
    .map((c) => ({ ...changeOf(c.frame), pending: true }));
  for (const c of [...live, ...ours]) {
    if (m.deleted) break;
    if (c.type === "message.deleted") {
      Object.assign(m, { deleted: true, deletedBy: c.deletedBy, deletedAt: c.deletedAt, content: { type: "deleted" }, reactions: {} });
    } else if (c.type === "message.edited") {
      Object.assign(m, { content: c.content, editedAt: c.editedAt });
    } else if (c.type === "reaction") {
      const users = m.reactions[c.emoji] ?? [];
      const now = c.op === "add" ? (users.includes(c.userId) ? users : [...users, c.userId])
        : users.filter((u) => u !== c.userId);
      if (now.length) m.reactions[c.emoji] = now;
      else delete m.reactions[c.emoji];
    }
    if (c.pending) m.changePending = true;
  }
  return m;
}

// Owners and admins of a group may delete anyone's message there.
function moderates(room) {
  return room.info.type === "group" && ["owner", "admin"].includes(room.info.roles?.[state.me]);
}

function toggleReaction(m, emoji) {
  const op = (m.reactions[emoji] ?? []).includes(state.me) ? "remove" : "add";
  react(m.roomId, m.messageId, emoji, op);
}

function startEditing(m) {
  state.editing = { roomId: m.roomId, messageId: m.messageId };
  $("#editing").hidden = false;
  $("#send").textContent = "Save";
  $("#text").value = m.content.text;
  $("#text").focus();
}

function stopEditing() {
  state.editing = null;
  $("#editing").hidden = true;
  $("#send").textContent = "Send";
  $("#text").value = "";
}

const REASONS = {
  not_yours: "that is not your message",
  edit_window_passed: "it is too old to edit now",
  not_editable: "only text messages can be edited",
  message_deleted: "the message was deleted",
  too_many_reactions: "it has too many reactions",
  unknown_message: "there is no such message",
  not_a_member: "you are not a member of this room",
  too_long: "the text is too long",
  rate_limited: "too many frames: slow down",
  unavailable: "the server is unavailable, try again",
};
const VERBS = { editMessage: "edit", deleteMessage: "delete", react: "react to" };
const RETRIED = ["unavailable", "unknown_message", "internal_error"];

function onError(f) {
  log(`error ${f.code}: ${f.message}`);
  if (f.clientMsgId && ["not_a_member", "invalid_field", "too_long"].includes(f.code)) {
    for (const r of state.rooms.values()) r.pending.delete(f.clientMsgId);
  }
  let what = "";
  for (const room of f.messageId ? state.rooms.values() : []) {
    const i = room.outbox.findIndex((c) => c.messageId === f.messageId);
    if (i < 0) continue;
    const change = room.outbox[i];
    if (RETRIED.includes(f.code) && change.tries < 3) {
      change.tries += 1; // a message acked a moment ago may not be stored yet
      setTimeout(() => sendFrame(change.frame), f.retryAfterMs ?? 1000);
      return;
    }
    room.outbox.splice(i, 1);
    what = `could not ${VERBS[change.action]} the message: `;
    break;
  }
  notice(`${what}${REASONS[f.code] ?? f.message} (${f.code})`);
}

function notice(text) {
  const box = $("#notice");
  box.textContent = text;
  box.hidden = false;
  clearTimeout(notice.timer);
  notice.timer = setTimeout(() => { box.hidden = true; }, 8000);
}

function onFrame(f) {
  const room = f.roomId ? state.rooms.get(f.roomId) : null;
  switch (f.type) {
    case "ack": {
      if (!room) return;
      if (f.action) {
        onChangeAck(room, f); // editMessage, deleteMessage, react
        break;
      }
      const p = room.pending.get(f.clientMsgId);
      room.pending.delete(f.clientMsgId);
      addMessage(room, {
        messageId: f.messageId, roomId: f.roomId, seq: f.seq, senderId: state.me,
        clientMsgId: f.clientMsgId, content: p ? p.content : { type: "text", text: "" },
        createdAt: f.createdAt,
      }, "ack");
      break;
    }
    case "message":
      return onMessages(f.message.roomId, [f.message], "live");
    case "message.edited":
    case "message.deleted":
    case "reaction":
      if (!room) return;
      addChange(room, f); // kept even before its message arrives
      break;
    case "sync": {
      const synced = state.rooms.get(f.roomId);
      if (synced) {
        // Older messages changed since the cursor, as they are now: replace our copies.
        for (const m of f.updates ?? []) if (synced.messages.has(m.messageId)) addMessage(synced, m, "sync");
        // The cursor is the final frame's upToSeq (changes take seqs too), never a live seq.
        if (f.final) synced.syncedUpTo = Math.max(synced.syncedUpTo, f.upToSeq ?? 0);
      }
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
    case "member.added":
    case "member.removed":
    case "member.role": // members and roles (who may delete others' messages) from REST
      loadRooms().then(renderRoom).catch((e) => log(String(e)));
      return;
    case "presence": // an answer (with its roomId) or a change pushed (without)
      return onPresence(f);
    case "error":
      onError(f);
      if (state.openRoom) renderRoom();
      return;
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

// Dedupe by messageId. A copy from sync or REST is the message as it is now: it replaces
// ours (unless older), and the live changes it already holds are dropped.
function addMessage(room, m, via) {
  const held = room.messages.get(m.messageId);
  const now = via === "sync" || via === "history";
  if (held && (!now || (m.version ?? 0) < (held.version ?? 0))) return false;
  room.messages.set(m.messageId, { ...m, via: held ? held.via : via });
  const changes = room.changes.get(m.messageId);
  if (now && m.version && changes) room.changes.set(m.messageId, changes.filter((c) => c.version > m.version));
  return !held;
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
    if (room.info.type === "direct") {
      const other = room.info.members.find((m) => m !== state.me);
      if (other) name.prepend(dot(other));
    }
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
  renderPresence(room);
  const list = $("#messages");
  const atBottom = list.scrollTop + list.clientHeight >= list.scrollHeight - 4;
  list.replaceChildren();
  const sorted = [...room.messages.values()].sort((a, b) => a.seq - b.seq);
  const pending = [...room.pending].map(([cmid, p]) => ({
    clientMsgId: cmid, senderId: state.me, content: p.content, pending: true, uploading: p.uploading,
  }));
  for (const m of [...sorted.map((copy) => current(room, copy)), ...pending]) {
    list.append(messageItem(room, m));
  }
  if (atBottom) list.scrollTop = list.scrollHeight;
  const typists = [...room.typing.keys()];
  $("#typing").textContent = typists.length
    ? `${typists.join(", ")} ${typists.length > 1 ? "are" : "is"} typing…` : "";
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function button(className, text, title, onclick) {
  const b = element("button", className, text);
  b.type = "button";
  if (title) b.title = title;
  b.onclick = onclick;
  return b;
}

function sizeOf(bytes) {
  return bytes < 1024 ? `${bytes} B` : bytes < 1048576 ? `${(bytes / 1024).toFixed(1)} kB`
    : `${(bytes / 1048576).toFixed(1)} MB`;
}

function messageItem(room, m) {
  const li = element("li");
  const mine = m.senderId === state.me;
  li.className = "msg" + (mine ? " mine" : "");
  if (m.pending) li.dataset.pending = "";
  else Object.assign(li.dataset, { seq: m.seq, messageId: m.messageId, via: m.via });
  if (m.deleted) li.dataset.deleted = "";
  if (m.editedAt) li.dataset.edited = "";
  if (m.changePending) li.dataset.changePending = "";
  li.append(...contentOf(room, m));

  const meta = element("span", "meta");
  const time = m.createdAt ? new Date(m.createdAt).toLocaleTimeString() : "";
  meta.textContent = mine ? time : `${m.senderId} · ${time}`;
  li.append(meta);
  if (m.editedAt && !m.deleted) {
    const edited = element("span", "edited", "edited");
    edited.title = `edited ${new Date(m.editedAt).toLocaleString()}`;
    li.append(edited);
  }
  if (mine && !m.deleted) {
    const tick = element("span", "tick");
    tick.dataset.receipt = m.pending ? "pending" : receiptOf(room, m.seq);
    tick.textContent = TICKS[tick.dataset.receipt];
    tick.title = tick.dataset.receipt;
    li.append(tick);
  }
  if (m.pending || m.deleted) return li;

  li.prepend(button("more", "⋯", "react, edit or delete", () => { // floats top right
    state.menuFor = state.menuFor === m.messageId ? null : m.messageId;
    renderRoom();
  }));
  const chips = Object.entries(m.reactions).map(([emoji, users]) => {
    const chip = button("chip", `${emoji} ${users.length}`, users.join(", "), () => toggleReaction(m, emoji));
    Object.assign(chip.dataset, { emoji, count: users.length });
    chip.setAttribute("aria-pressed", users.includes(state.me));
    return chip;
  });
  if (chips.length) {
    const row = element("div", "reactions");
    row.append(...chips);
    li.append(row);
  }
  if (state.menuFor === m.messageId) li.append(menuOf(room, m));
  return li;
}

function contentOf(room, m) {
  if (m.deleted) {
    const gone = element("span", "text deleted", "message deleted");
    gone.title = `deleted by ${m.deletedBy ?? m.senderId}`;
    return [gone];
  }
  const c = m.content ?? {};
  const nodes = [];
  if (m.uploading) nodes.push(element("span", "text uploading", `uploading ${c.name}…`));
  else if (c.type === "image" && c.attachmentId) nodes.push(imageOf(room.info.roomId, c));
  else if (c.type === "file" && c.attachmentId) {
    const link = element("a", "file", `📎 ${c.name} (${sizeOf(c.size)})`);
    link.href = "#";
    link.onclick = (e) => { e.preventDefault(); openFile(room.info.roomId, c); };
    nodes.push(link);
  }
  if (c.text) nodes.push(element("span", "text", c.text)); // a text, or a caption
  return nodes;
}

function menuOf(room, m) {
  const menu = element("div", "menu");
  const close = (action) => () => { state.menuFor = null; action(); renderRoom(); };
  for (const emoji of EMOJI) {
    const pick = button("pick", emoji, null, close(() => toggleReaction(m, emoji)));
    pick.dataset.emoji = emoji;
    pick.setAttribute("aria-pressed", (m.reactions[emoji] ?? []).includes(state.me));
    menu.append(pick);
  }
  const mine = m.senderId === state.me;
  const young = Date.now() - Date.parse(m.createdAt) < EDIT_WINDOW_MS;
  if (mine && m.content.type === "text" && young) {
    menu.append(button("edit", "edit", "edit your message", close(() => startEditing(m))));
  }
  if (mine || moderates(room)) {
    const title = mine ? "delete for everyone" : "delete for everyone (you moderate this group)";
    menu.append(button("delete", "delete", title, close(() => {
      if (confirm("Delete this message for everyone?")) deleteMessage(m.roomId, m.messageId);
    })));
  }
  return menu;
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
  if (state.editing) {
    const { roomId, messageId } = state.editing;
    const was = current(state.rooms.get(roomId), state.rooms.get(roomId).messages.get(messageId));
    stopEditing();
    if (text.trim() && text !== was.content.text) editMessage(roomId, messageId, text);
    return;
  }
  if (!text.trim() || !state.openRoom) return;
  $("#text").value = "";
  sendText(text);
};
$("#text").oninput = () => {
  if (!state.editing) setTyping($("#text").value.length > 0);
};
$("#text").onkeydown = (e) => {
  if (e.key === "Escape" && state.editing) stopEditing();
};
$("#cancel-edit").onclick = stopEditing;
$("#attach").onclick = () => $("#file").click();
$("#file").onchange = () => {
  for (const file of $("#file").files) sendFile(file);
  $("#file").value = "";
};
$("#drop").onclick = dropConnection;
$("#away").onclick = toggleAway;
$("#hide").onclick = () => toggleHidden().catch((err) => log(err.message));
