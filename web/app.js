// The Companion web chat page: sign in, pick a character, chat (SSE over fetch), see and
// correct what the character remembers. Plain ES module, no build step.
import config from "./config.js";

// ------------------------------------------------------------------ text (zh / en)

const TEXT = {
  en: {
    title: "Companion", signInTitle: "Sign in", yourName: "Your name", signInButton: "Sign in",
    localHint: "Local stack: a development token is made for this name.",
    cognitoButton: "Sign in with your account", pasteToken: "Or paste a token", useToken: "Use this token",
    signOut: "Sign out", signedInAs: "Signed in as {user}", characters: "Characters",
    importCard: "Import a character card (JSON or PNG)", export: "Export my data", endSession: "End session",
    placeholder: "Say something… (Enter sends, Shift+Enter for a new line)", send: "Send", close: "Close",
    facts: "Facts", events: "Events", summaries: "Conversation summaries",
    remembers: "What {name} remembers about you", openMemory: "What {name} remembers",
    forget: "Forget everything about me", forgetConfirm: "{name} will forget everything about you, and your conversation with {name} is deleted. Continue?",
    forgotten: "{name} has forgotten you: {count} memories deleted.",
    nothing: "Nothing yet.", edit: "Edit", save: "Save", cancel: "Cancel", delete: "Delete",
    deleteConfirm: "Delete this memory?", deleted: "Deleted.", saved: "Saved.",
    value: "Value", titleField: "Title", summary: "Summary", date: "Date (YYYY-MM-DD)",
    since: "since {date}", updated: "updated {date}", created: "{date}", on: "on {date}",
    usedMemories: "Remembered {count} thing(s) ({sources})", noMemories: "No memories used",
    canned: "The model is not available right now, so {name} sent a short stand-in reply. Please try again in a little while.",
    cutOff: "The connection dropped: the reply was cut off here.",
    streamError: "The reply stopped: {message}",
    rateLimited: "You are sending messages too fast. Please wait {seconds} s and try again.",
    rateLimitedSoon: "You are sending messages too fast. Please wait a moment and try again.",
    unreachable: "Companion cannot be reached. Check your connection (locally: is `make dev` running?).",
    signInAgain: "Your sign-in is no longer valid. Please sign in again.",
    sessionEnded: "Session ended: {count} message(s) go to long-term memory.",
    imported: "Imported {name}.", importBad: "That file could not be imported: {message}",
    greetingOf: "Greeting {n} of {total}", prevGreeting: "Previous greeting", nextGreeting: "Next greeting",
    exported: "Your data was downloaded.", thinking: "…", emptyName: "Please type a name.",
    noLocalSignIn: "This server does not make development tokens: paste a token instead.",
    notSent: "Not sent.",
  },
  zh: {
    title: "Companion 陪伴", signInTitle: "登录", yourName: "你的名字", signInButton: "登录",
    localHint: "本地环境：会为这个名字生成一个开发用令牌。",
    cognitoButton: "用账号登录", pasteToken: "或粘贴令牌", useToken: "使用这个令牌",
    signOut: "退出", signedInAs: "已登录：{user}", characters: "角色",
    importCard: "导入角色卡（JSON 或 PNG）", export: "导出我的数据", endSession: "结束会话",
    placeholder: "说点什么……（回车发送，Shift+回车换行）", send: "发送", close: "关闭",
    facts: "关于你的事实", events: "事件", summaries: "对话摘要",
    remembers: "{name}记得的关于你的事", openMemory: "{name}记得什么",
    forget: "忘掉关于我的一切", forgetConfirm: "{name}会忘掉关于你的一切，你和{name}的对话也会被删除。确定吗？",
    forgotten: "{name}已经忘掉了你：删除了 {count} 条记忆。",
    nothing: "还没有。", edit: "修改", save: "保存", cancel: "取消", delete: "删除",
    deleteConfirm: "删除这条记忆？", deleted: "已删除。", saved: "已保存。",
    value: "内容", titleField: "标题", summary: "摘要", date: "日期（YYYY-MM-DD）",
    since: "自 {date}", updated: "更新于 {date}", created: "{date}", on: "日期 {date}",
    usedMemories: "用到了 {count} 条记忆（{sources}）", noMemories: "没有用到记忆",
    canned: "模型暂时不可用，{name}先回了一句简短的话。请稍后再试。",
    cutOff: "连接中断了：回复在这里被截断。",
    streamError: "回复中断：{message}",
    rateLimited: "发得太快了，请等 {seconds} 秒再试。",
    rateLimitedSoon: "发得太快了，请稍等再试。",
    unreachable: "连不上 Companion。请检查网络（本地：`make dev` 在运行吗？）。",
    signInAgain: "登录已失效，请重新登录。",
    sessionEnded: "会话已结束：{count} 条消息将进入长期记忆。",
    imported: "已导入 {name}。", importBad: "这个文件没能导入：{message}",
    greetingOf: "开场白 {n}/{total}", prevGreeting: "上一个开场白", nextGreeting: "下一个开场白",
    exported: "你的数据已下载。", thinking: "……", emptyName: "请输入名字。",
    noLocalSignIn: "这个服务器不提供开发令牌：请粘贴令牌。",
    notSent: "未发送。",
  },
};

let lang = localStorage.getItem("companion.lang") || (/^zh\b/i.test(navigator.language || "") ? "zh" : "en");

function t(key, vars = {}) {
  const s = TEXT[lang][key] ?? TEXT.en[key] ?? key;
  return s.replace(/\{(\w+)\}/g, (_, k) => String(vars[k] ?? ""));
}

const $ = (id) => document.getElementById(id);

function applyLanguage() {
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  document.title = t("title");
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll("[data-i18n-placeholder]")) el.placeholder = t(el.dataset.i18nPlaceholder);
  $("lang-switch").textContent = lang === "zh" ? "English" : "中文";
  $("prev-greeting").setAttribute("aria-label", t("prevGreeting"));
  $("next-greeting").setAttribute("aria-label", t("nextGreeting"));
  renderGreetingPicker();
  renderWho();
  renderCharacterHead();
  if (!$("memory").hidden) loadMemory();
}

function formatDate(value) {
  if (value === null || value === undefined || value === "") return "";
  if (typeof value === "string" && /^\d{4}-\d{2}-\d{2}$/.test(value)) return value;
  const ms = typeof value === "number" ? (value > 1e12 ? value : value * 1000) : Date.parse(value);
  if (!Number.isFinite(ms)) return String(value);
  return new Date(ms).toLocaleString(lang === "zh" ? "zh-CN" : "en", { dateStyle: "medium", timeStyle: "short" });
}

// ---------------------------------------------------------------------- sign-in

const state = {
  token: sessionStorage.getItem("companion.token") || "", characters: [], current: null, busy: false,
  greeting: null, // the greeting while it may still be changed (the conversation holds nothing else)
  selections: 0, ready: Promise.resolve(), // the latest character pick, and its log being drawn
};

function claims(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const bytes = Uint8Array.from(atob(part + "=".repeat((4 - (part.length % 4)) % 4)), (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return {};
  }
}

function renderWho() {
  const c = state.token ? claims(state.token) : {};
  const who = c.name || c.email || c["cognito:username"] || c.sub || "";
  $("whoami").textContent = state.token ? t("signedInAs", { user: who }) : "";
  $("sign-out").hidden = !state.token;
}

function setToken(token) {
  state.token = token;
  if (token) sessionStorage.setItem("companion.token", token);
  else sessionStorage.removeItem("companion.token");
  renderWho();
}

// An identity provider's redirect (e.g. Cognito's hosted UI, implicit grant) brings the token
// in the URL fragment; take it and clear it from the address bar and history.
function tokenFromFragment() {
  if (!location.hash) return "";
  const params = new URLSearchParams(location.hash.slice(1));
  const token = params.get("id_token") || params.get("access_token") || "";
  if (token) history.replaceState(null, "", location.pathname + location.search);
  return token;
}

function showSignIn(message = "") {
  $("app").hidden = true;
  $("signin").hidden = false;
  $("local-signin").hidden = config.signIn !== "local";
  $("cognito-signin").hidden = !(config.signIn === "cognito" && config.cognito.domain && config.cognito.clientId);
  $("signin-error").textContent = message;
}

async function signInLocal(event) {
  event.preventDefault();
  const name = $("signin-name").value.trim();
  if (!name) return ($("signin-error").textContent = t("emptyName"));
  try {
    const res = await fetch(`${config.chatUrl}/dev/token`, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ user: name }),
    });
    if (res.status === 404) return ($("signin-error").textContent = t("noLocalSignIn"));
    const body = await res.json();
    if (!res.ok) return ($("signin-error").textContent = errorMessage(res, body));
    setToken(body.token);
    start();
  } catch {
    $("signin-error").textContent = t("unreachable");
  }
}

function signInWithToken(event) {
  event.preventDefault();
  const token = $("signin-token").value.trim().replace(/^Bearer\s+/i, "");
  if (!token) return;
  setToken(token);
  start();
}

function signInCognito() {
  const c = config.cognito;
  const redirect = c.redirectUri || location.origin + location.pathname;
  const q = new URLSearchParams({ client_id: c.clientId, response_type: "token", scope: c.scope, redirect_uri: redirect });
  location.assign(`${c.domain.replace(/\/$/, "")}/oauth2/authorize?${q}`);
}

// ------------------------------------------------------------------- API calls

class ApiError extends Error {
  constructor(status, code, message, retryAfter) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

function errorMessage(res, body) {
  const err = (body && body.error) || {};
  if (res.status === 429 && err.code === "rate_limited") {
    const seconds = res.headers.get("Retry-After");
    return seconds ? t("rateLimited", { seconds }) : t("rateLimitedSoon");
  }
  if (res.status === 401) return t("signInAgain");
  return err.message || `HTTP ${res.status}`;
}

async function api(base, path, { method = "GET", body } = {}) {
  let res;
  try {
    res = await fetch(base + path, {
      method,
      headers: { Authorization: `Bearer ${state.token}`, ...(body !== undefined ? { "Content-Type": "application/json" } : {}) },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
  } catch {
    throw new ApiError(0, "unreachable", t("unreachable"));
  }
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    const code = (data.error && data.error.code) || "http_error";
    if (res.status === 401) {
      setToken("");
      showSignIn(t("signInAgain"));
    }
    throw new ApiError(res.status, code, errorMessage(res, data), res.headers.get("Retry-After"));
  }
  return data;
}

const memoryApi = (path, opts) => api(config.memoryApiUrl, path, opts);
const chatApi = (path, opts) => api(config.chatUrl, path, opts);
const enc = encodeURIComponent;

function setStatus(text, isError = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", isError);
}

async function guard(fn) {
  try {
    await fn();
  } catch (err) {
    setStatus(err.message || String(err), true);
  }
}

// ------------------------------------------------------------------ characters

async function loadCharacters(selectId) {
  const data = await memoryApi("/api/v1/characters");
  state.characters = data.characters || [];
  const list = $("characters");
  list.replaceChildren();
  for (const ch of state.characters) {
    const li = document.createElement("li");
    const btn = document.createElement("button");
    btn.type = "button";
    btn.dataset.characterId = ch.character_id;
    btn.textContent = ch.name;
    if (ch.description) {
      const d = document.createElement("span");
      d.className = "muted";
      d.textContent = ch.description;
      btn.append(d);
    }
    btn.addEventListener("click", () => guard(() => selectCharacter(ch.character_id)));
    li.append(btn);
    list.append(li);
  }
  const wanted = selectId || (state.current && state.current.character_id) || localStorage.getItem("companion.character");
  const pick = state.characters.find((c) => c.character_id === wanted) || state.characters[0];
  if (pick) await selectCharacter(pick.character_id);
}

function renderCharacterHead() {
  const ch = state.current;
  const name = ch ? ch.name : "";
  $("character-name").textContent = name;
  $("open-memory").textContent = t("openMemory", { name });
  $("memory-title").textContent = t("remembers", { name });
  $("forget").textContent = t("forget");
  for (const btn of $("characters").querySelectorAll("button")) {
    btn.setAttribute("aria-current", String(!!ch && btn.dataset.characterId === ch.character_id));
  }
}

// The user's time zone, so the character knows the user's date and time ("good morning" at the right hour).
const TIME_ZONE = (() => {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || undefined;
  } catch {
    return undefined;
  }
})();

// Open the conversation: its first message is the character's greeting (stored once by the server).
function startSession(characterId, greetingIndex) {
  const body = { time_zone: TIME_ZONE, language: lang };
  if (greetingIndex !== undefined) body.greeting_index = greetingIndex;
  return chatApi(`/api/v1/chat/sessions/${enc(characterId)}/start`, { method: "POST", body });
}

async function selectCharacter(characterId) {
  state.current = state.characters.find((c) => c.character_id === characterId) || null;
  state.greeting = null;
  const ticket = ++state.selections; // only the latest pick draws the log
  localStorage.setItem("companion.character", characterId);
  renderCharacterHead();
  $("log").replaceChildren();
  delete $("log").dataset.character;
  renderGreetingPicker();
  setStatus("");
  const loaded = (async () => {
    const opened = await startSession(characterId);
    const data = await chatApi(`/api/v1/chat/history?character_id=${enc(characterId)}&limit=50`);
    if (ticket !== state.selections) return;
    const first = opened.greeting;
    for (const m of data.messages || []) {
      const li = addMessage(m.role, m.content);
      if (first && m.msg_id === first.msg_id) li.classList.add("greeting");
    }
    state.greeting = opened.can_change ? first : null;
    renderGreetingPicker();
    $("log").dataset.character = characterId; // drawn: its greeting and history are on the page
  })();
  state.ready = loaded.catch(() => {}); // a message typed meanwhile is sent once the log is drawn
  await loaded;
  if (!$("memory").hidden) await loadMemory();
}

// The greetings a person can choose before writing (SillyTavern's swipes on the first message).
function greetingIndexes(ch) {
  return [ch.first_mes || "", ...(ch.alternate_greetings || [])]
    .map((g, i) => (String(g).trim() ? i : -1))
    .filter((i) => i >= 0);
}

function renderGreetingPicker() {
  const ch = state.current;
  const g = state.greeting;
  const indexes = ch ? greetingIndexes(ch) : [];
  const show = !!(g && indexes.length > 1 && !state.busy);
  $("greeting-picker").hidden = !show;
  if (show) $("greeting-count").textContent = t("greetingOf", { n: indexes.indexOf(g.greeting_index) + 1, total: indexes.length });
}

async function changeGreeting(step) {
  const ch = state.current;
  if (!ch || !state.greeting || state.busy) return;
  const indexes = greetingIndexes(ch);
  const next = indexes[(indexes.indexOf(state.greeting.greeting_index) + step + indexes.length) % indexes.length];
  const opened = await startSession(ch.character_id, next);
  const li = $("log").querySelector("li.greeting");
  if (opened.greeting && li) li.querySelector(".text").textContent = opened.greeting.content;
  state.greeting = opened.can_change ? opened.greeting : null;
  renderGreetingPicker();
}

async function importCard(event) {
  const file = event.target.files[0];
  event.target.value = "";
  if (!file) return;
  // The card file itself is the body (a PNG card carries the card in its text chunks); the server reads either.
  let res;
  try {
    res = await fetch(`${config.memoryApiUrl}/api/v1/characters/import`, {
      method: "POST",
      headers: { Authorization: `Bearer ${state.token}`, "Content-Type": file.type || "application/json" },
      body: file,
    });
  } catch {
    return setStatus(t("unreachable"), true);
  }
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    if (res.status === 401) {
      setToken("");
      return showSignIn(t("signInAgain"));
    }
    return setStatus(t("importBad", { message: errorMessage(res, data) }), true);
  }
  await guard(async () => {
    await loadCharacters(data.character_id);
    setStatus(t("imported", { name: data.name }));
  });
}

// ------------------------------------------------------------------------- chat

function addMessage(role, text) {
  const li = document.createElement("li");
  li.className = role;
  const body = document.createElement("span");
  body.className = "text";
  body.textContent = text;
  li.append(body);
  $("log").append(li);
  li.scrollIntoView({ block: "end" });
  return li;
}

function addNote(li, text, warn = false) {
  const note = document.createElement("span");
  note.className = warn ? "note warn" : "note";
  note.textContent = text;
  li.append(note);
  return note;
}

// One SSE event block ("event: x\ndata: {...}") → {event, data}.
function parseEvent(block) {
  let event = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (line.startsWith("event:")) event = line.slice(6).trim();
    else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
  }
  if (!data.length) return null;
  try {
    return { event, data: JSON.parse(data.join("\n")) };
  } catch {
    return null;
  }
}

async function send(text) {
  if (!state.current || state.busy) return;
  state.busy = true;
  state.greeting = null; // once the user has written, the greeting stays
  renderGreetingPicker();
  $("send").disabled = true;
  await state.ready;
  const ch = state.current;
  setStatus("");
  const mine = addMessage("user", text);
  const li = addMessage("assistant", "");
  li.classList.add("streaming");
  li.dataset.state = "streaming";
  const out = li.querySelector(".text");
  let reply = "";
  let ended = false;
  const finish = (stateName) => {
    ended = true;
    li.dataset.state = stateName;
    li.classList.remove("streaming");
  };
  try {
    let res;
    try {
      res = await fetch(`${config.chatUrl}/api/v1/chat/stream`, {
        method: "POST",
        headers: { Authorization: `Bearer ${state.token}`, "Content-Type": "application/json", Accept: "text/event-stream" },
        body: JSON.stringify({ character_id: ch.character_id, message: text, time_zone: TIME_ZONE }),
      });
    } catch {
      li.remove();
      addNote(mine, t("notSent"), true);
      return setStatus(t("unreachable"), true);
    }
    if (!res.ok) {
      li.remove();
      addNote(mine, t("notSent"), true);
      const body = await res.json().catch(() => ({}));
      if (res.status === 401) {
        setToken("");
        return showSignIn(t("signInAgain"));
      }
      return setStatus(errorMessage(res, body), true);
    }
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value.replace(/\r\n/g, "\n");
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const parsed = parseEvent(buffer.slice(0, cut));
          buffer = buffer.slice(cut + 2);
          if (!parsed) continue;
          if (parsed.event === "error") {
            finish("error");
            addNote(li, t("streamError", { message: parsed.data.error || parsed.data.code || "" }), true);
          } else if (parsed.data.done) {
            finish("done");
            showDone(li, parsed.data);
          } else if (typeof parsed.data.content === "string") {
            reply += parsed.data.content;
            out.textContent = reply;
            li.scrollIntoView({ block: "end" });
          }
        }
      }
    } catch {
      // The network dropped mid-reply: what came stays on the page.
    }
    if (!ended) {
      finish("cut-off");
      addNote(li, t("cutOff"), true);
    }
  } finally {
    state.busy = false;
    $("send").disabled = false;
  }
}

function showDone(li, done) {
  li.dataset.memories = String(done.memories ?? 0);
  li.dataset.model = done.model || "";
  if (done.model === "canned") {
    li.classList.add("canned");
    addNote(li, t("canned", { name: state.current ? state.current.name : "" }), true);
    return;
  }
  const count = Number(done.memories || 0);
  const sources = (done.memory_sources || []).join(", ");
  addNote(li, count > 0 ? t("usedMemories", { count, sources }) : t("noMemories")).classList.add("memory-note");
}

function onKeyDown(event) {
  if (event.key !== "Enter" || event.shiftKey) return;
  // An input method is composing (Chinese pinyin etc.): Enter picks a candidate, it does not send.
  if (event.isComposing || event.keyCode === 229) return;
  event.preventDefault();
  submit();
}

function submit(event) {
  if (event) event.preventDefault();
  const text = $("input").value.trim();
  if (!text || state.busy) return;
  $("input").value = "";
  send(text);
}

async function endSession() {
  if (!state.current) return;
  const data = await chatApi(`/api/v1/chat/sessions/${enc(state.current.character_id)}/end`, { method: "POST" });
  const count = data.messages ?? data.message_count ?? data.queued_messages ?? 0;
  setStatus(t("sessionEnded", { count }));
}

// ----------------------------------------------------------------------- memory

const KINDS = ["facts", "events", "summaries"];

async function loadMemory() {
  const ch = state.current;
  if (!ch) return;
  const pages = await Promise.all(KINDS.map((k) => memoryApi(`/api/v1/memory/${k}?character_id=${enc(ch.character_id)}`)));
  KINDS.forEach((kind, i) => renderItems(kind, pages[i].items || []));
}

function whenOf(item) {
  if (item.item_type === "fact") return t("since", { date: formatDate(item.since || item.updated_at) });
  if (item.item_type === "event") {
    return [item.date ? t("on", { date: item.date }) : "", t("updated", { date: formatDate(item.updated_at || item.created_at) })]
      .filter(Boolean).join(" · ");
  }
  return t("created", { date: formatDate(item.end_ts || item.created_at) });
}

function renderItems(kind, items) {
  const list = $(`memory-${kind}`);
  list.replaceChildren();
  if (!items.length) {
    const li = document.createElement("li");
    li.className = "empty";
    li.textContent = t("nothing");
    list.append(li);
    return;
  }
  for (const item of items) {
    const li = document.createElement("li");
    li.dataset.itemId = item.item_id;
    li.dataset.itemType = item.item_type;
    const content = document.createElement("span");
    content.className = "content";
    content.textContent = item.content;
    const when = document.createElement("span");
    when.className = "when";
    when.textContent = whenOf(item);
    const row = document.createElement("div");
    row.className = "row";
    const edit = button(t("edit"), () => editItem(li, item), "edit");
    const del = button(t("delete"), () => guard(() => deleteItem(item)), "delete");
    row.append(edit, del);
    li.append(content, when, row);
    list.append(li);
  }
}

function button(label, onClick, cls = "") {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  if (cls) b.className = cls;
  b.addEventListener("click", onClick);
  return b;
}

// Which fields a person can correct, per item type (the memory API's PATCH accepts these).
const EDITABLE = {
  fact: [["value", "value", "input"]],
  event: [["title", "titleField", "input"], ["summary", "summary", "textarea"], ["date", "date", "input"]],
  summary: [["summary", "summary", "textarea"]],
};

function editItem(li, item) {
  if (li.querySelector("form")) return;
  const form = document.createElement("form");
  for (const [field, label, tag] of EDITABLE[item.item_type] || []) {
    const l = document.createElement("label");
    l.textContent = t(label);
    const input = document.createElement(tag);
    input.name = field;
    input.value = item[field] ?? "";
    l.append(input);
    form.append(l);
  }
  const row = document.createElement("div");
  row.className = "row";
  const save = document.createElement("button");
  save.type = "submit";
  save.textContent = t("save");
  row.append(save, button(t("cancel"), () => form.remove()));
  form.append(row);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    guard(async () => {
      const patch = {};
      for (const [field] of EDITABLE[item.item_type]) {
        const v = form.elements[field].value.trim();
        if (v !== String(item[field] ?? "")) patch[field] = v === "" && field === "date" ? null : v;
      }
      if (Object.keys(patch).length) {
        const q = `?character_id=${enc(state.current.character_id)}`;
        await memoryApi(`/api/v1/memory/items/${enc(item.item_id)}${q}`, { method: "PATCH", body: patch });
      }
      setStatus(t("saved"));
      await loadMemory();
    });
  });
  li.append(form);
}

async function deleteItem(item) {
  if (!confirm(t("deleteConfirm"))) return;
  const q = `?character_id=${enc(state.current.character_id)}`;
  await memoryApi(`/api/v1/memory/items/${enc(item.item_id)}${q}`, { method: "DELETE" });
  setStatus(t("deleted"));
  await loadMemory();
}

async function forgetAll() {
  const ch = state.current;
  if (!ch || !confirm(t("forgetConfirm", { name: ch.name }))) return;
  const data = await memoryApi(`/api/v1/memory?character_id=${enc(ch.character_id)}`, { method: "DELETE" });
  await selectCharacter(ch.character_id); // the conversation is gone too: show it empty
  await loadMemory();
  setStatus(t("forgotten", { name: ch.name, count: (data.deleted && data.deleted.memories) || 0 }));
}

async function exportData() {
  const data = await memoryApi("/api/v1/memory/export");
  const blob = new Blob([JSON.stringify(data, null, 2)], { type: "application/json" });
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = `companion-export-${new Date().toISOString().slice(0, 10)}.json`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
  setStatus(t("exported"));
}

function toggleMemory(open) {
  $("memory").hidden = !open;
  $("app").classList.toggle("with-memory", open);
  if (open) guard(loadMemory);
}

// ------------------------------------------------------------------------ start

function start() {
  if (!state.token) return showSignIn();
  $("signin").hidden = true;
  $("app").hidden = false;
  guard(() => loadCharacters());
}

function wire() {
  $("lang-switch").addEventListener("click", () => {
    lang = lang === "zh" ? "en" : "zh";
    localStorage.setItem("companion.lang", lang);
    applyLanguage();
  });
  $("sign-out").addEventListener("click", () => {
    setToken("");
    showSignIn();
  });
  $("local-signin").addEventListener("submit", signInLocal);
  $("token-signin").addEventListener("submit", signInWithToken);
  $("cognito-signin").addEventListener("click", signInCognito);
  $("composer").addEventListener("submit", submit);
  $("input").addEventListener("keydown", onKeyDown);
  $("end-session").addEventListener("click", () => guard(endSession));
  $("open-memory").addEventListener("click", () => toggleMemory($("memory").hidden));
  $("close-memory").addEventListener("click", () => toggleMemory(false));
  $("forget").addEventListener("click", () => guard(forgetAll));
  $("export").addEventListener("click", () => guard(exportData));
  $("import-file").addEventListener("change", importCard);
  $("prev-greeting").addEventListener("click", () => guard(() => changeGreeting(-1)));
  $("next-greeting").addEventListener("click", () => guard(() => changeGreeting(1)));
  window.addEventListener("hashchange", () => {
    const token = tokenFromFragment();
    if (token) {
      setToken(token);
      start();
    }
  });
}

const fromFragment = tokenFromFragment();
if (fromFragment) setToken(fromFragment);
wire();
applyLanguage();
start();
document.body.dataset.ready = "true";
