// Live updates over /ws/agent. The socket is a doorbell: events may be dropped or come
// without the message body, so on every (re)connect and on any gap we read from the API
// by seq, and drop duplicates by seq in mergeMessages.
import { Message, Presence } from "./api";
import { t } from "./i18n";
import type { Call } from "./phone/api";
import { onCallEvent } from "./phone/state";
import {
  addMention,
  agentName,
  agents,
  boardTick,
  current,
  currentId,
  groupName,
  liveConnected,
  loadConversations,
  loadCounts,
  markHandedOff,
  me,
  mergeMessages,
  reloadMessage,
  messages,
  muted,
  notify,
  refreshCurrent,
  resyncMessages,
  typing,
  unread,
} from "./store";

type LiveEvent =
  | { type: "message"; conversation_id: string; seq: number; message: Message | null }
  | {
      type: "conversation";
      conversation_id: string;
      change: string;
      status: string;
      assignee_id: string | null;
      group_id: string | null;
      mentioned?: string[];
    }
  | { type: "presence"; user_id: string; presence: Presence }
  | {
      type: "ticket";
      ticket_id: string;
      number: string;
      change: string;
      public: boolean;
      notify: string[];
    }
  | {
      type: "typing";
      conversation_id: string;
      sender_kind: string;
      sender_name: string | null;
      typing: boolean;
    };

let socket: WebSocket | null = null;
let retry = 0;
let stopped = false;
let listTimer: number | undefined;
let typingTimer: number | undefined;

function reloadListSoon(): void {
  // Bursts of events (a busy queue) become one list read.
  window.clearTimeout(listTimer);
  listTimer = window.setTimeout(() => {
    void loadConversations();
    void loadCounts();
  }, 250);
}

export function alertNewWork(text: string): void {
  if (muted.value) return;
  try {
    const ctx = new AudioContext();
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.frequency.value = 660;
    gain.gain.value = 0.05;
    osc.connect(gain).connect(ctx.destination);
    osc.start();
    osc.stop(ctx.currentTime + 0.15);
  } catch {
    // No audio device: the desktop notification still shows.
  }
  if ("Notification" in window && Notification.permission === "granted" && document.hidden) {
    new Notification("kefu", { body: text });
  }
}

function handle(ev: LiveEvent): void {
  boardTick.value++;
  // Calls (issue 18): {"type": "call", "kind": "call.ringing" | "call.updated",
  // "agent_ids": [...], "call": Call}.
  const frame = ev as unknown as { type: string; kind?: string; call?: Call; agent_ids?: string[] };
  if (frame.type === "call") {
    onCallEvent(frame.kind ?? "call.updated", frame.call, frame.agent_ids ?? []);
    return;
  }
  switch (ev.type) {
    case "message": {
      const m = ev.message;
      const mine = me.value;
      if (m && m.direction === "note" && mine && m.sender_id !== mine.id) {
        if (m.body.includes("@" + mine.name)) addMention(ev.conversation_id);
      }
      if (ev.conversation_id === currentId.value) {
        const last = messages.value.reduce((x, y) => Math.max(x, y.seq), 0);
        if (m && m.seq <= last + 1) mergeMessages([m]);
        else void resyncMessages();
        // Why a reply failed is stored in English; the message list says it in our language.
        if (m?.failure_reason) void reloadMessage(m.seq);
        if (m?.direction === "in") typing.value = null;
      } else if (m?.direction === "in" || (!m && ev.seq)) {
        unread.value = {
          ...unread.value,
          [ev.conversation_id]: (unread.value[ev.conversation_id] ?? 0) + 1,
        };
      }
      reloadListSoon();
      break;
    }
    case "conversation": {
      const mine = me.value;
      const isCurrent = ev.conversation_id === currentId.value;
      if (mine && ev.change === "mentioned" && ev.mentioned?.includes(mine.id)) {
        addMention(ev.conversation_id);
        alertNewWork(t("new_work"));
      }
      const leftMe =
        isCurrent &&
        mine !== null &&
        ev.change === "transferred" &&
        current.value?.assignee_id === mine.id &&
        ev.assignee_id !== mine.id;
      if (leftMe) {
        // Transferred away from me: say to whom and stop acting on it here.
        const to = ev.assignee_id
          ? agentName(ev.assignee_id)
          : ev.group_id
            ? groupName(ev.group_id)
            : t("handoffs.someone");
        const c = current.value;
        if (c) current.value = { ...c, assignee_id: ev.assignee_id, group_id: ev.group_id, status: ev.status as typeof c.status };
        markHandedOff(ev.conversation_id, t("handoffs.transferred_away", { name: to }));
      } else if (isCurrent) void refreshCurrent();
      if (ev.status === "queued" && (ev.change === "created" || ev.change === "queued")) {
        alertNewWork(t("new_work"));
      }
      if (ev.assignee_id && ev.assignee_id === me.value?.id && ev.change === "assigned") {
        alertNewWork(t("new_work"));
      }
      reloadListSoon();
      break;
    }
    case "presence": {
      agents.value = agents.value.map((a) =>
        a.id === ev.user_id ? { ...a, presence: ev.presence } : a,
      );
      const m = me.value;
      if (m && m.id === ev.user_id) me.value = { ...m, presence: ev.presence };
      break;
    }
    case "ticket": {
      // A ticket I watch or own changed: say so, and let an open ticket page reload.
      const mine = me.value;
      window.dispatchEvent(new CustomEvent("kefu:ticket", { detail: ev.ticket_id }));
      if (mine && ev.notify.includes(mine.id)) {
        const text = t("tko.news", { number: ev.number, change: t(`tko.change.${ev.change}`) });
        notify(text, ev.change === "sla_breach" ? "error" : "info");
        if (ev.change.startsWith("sla_") || ev.change === "reminder") alertNewWork(text);
      }
      break;
    }
    case "typing": {
      if (ev.conversation_id !== currentId.value || ev.sender_kind !== "contact") return;
      typing.value = ev.typing
        ? { conversation_id: ev.conversation_id, name: ev.sender_name ?? t("conv.visitor") }
        : null;
      window.clearTimeout(typingTimer);
      // A lost "stopped typing" must not leave the indicator on forever.
      typingTimer = window.setTimeout(() => (typing.value = null), 8000);
      break;
    }
  }
}

export function connectLive(): void {
  stopped = false;
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(`${proto}//${location.host}/ws/agent`);
  socket = ws;
  ws.onopen = () => {
    retry = 0;
    liveConnected.value = true;
    // Subscribed first, then read what we missed.
    void resyncMessages();
    reloadListSoon();
    onCallEvent("reconnected", undefined, []);
    boardTick.value++;
  };
  ws.onmessage = (e) => {
    try {
      handle(JSON.parse(String(e.data)) as LiveEvent);
    } catch {
      // An unknown frame is ignored; the next resync covers it.
    }
  };
  ws.onclose = (e) => {
    liveConnected.value = false;
    if (socket === ws) socket = null;
    if (stopped) return;
    if (e.code === 4401) {
      // The session is gone: back to the sign-in screen instead of retrying forever.
      me.value = null;
      return;
    }
    retry = Math.min(retry + 1, 6);
    window.setTimeout(connectLive, 250 * 2 ** retry);
  };
}

export function disconnectLive(): void {
  stopped = true;
  socket?.close();
  socket = null;
}

export function sendTyping(conversationId: string, isTyping: boolean): void {
  if (socket?.readyState === WebSocket.OPEN) {
    socket.send(JSON.stringify({ type: "typing", conversation_id: conversationId, typing: isTyping }));
  }
}
