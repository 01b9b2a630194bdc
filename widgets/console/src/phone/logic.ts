// The softphone's pure rules: clocks, shortcuts, transfer targets. No DOM, no fetch, so
// the unit tests (logic.test.ts, run by scripts/unit.mjs) reach every branch.
import type { Call, CallStatus, PhoneState, TransferTarget } from "./api";

/** The twelve telephone keys, in keypad order. */
export const KEYPAD = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"] as const;

/** A call the agent is on (media flowing or parked on hold). */
export function isLive(status: CallStatus): boolean {
  return status === "connected" || status === "held";
}

/** A call that will not change any more (its timeline entry is final). */
export function isOver(status: CallStatus): boolean {
  return ["ended", "abandoned", "voicemail", "missed"].includes(status);
}

function at(iso: string | null | undefined): number | null {
  if (!iso) return null;
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? ms : null;
}

/** Seconds talked: counted up from `answered_at` while live, the server's figure after. */
export function talkSeconds(call: Call, now: number): number | null {
  if (isLive(call.status)) {
    const from = at(call.answered_at);
    return from === null ? null : Math.max(0, (now - from) / 1000);
  }
  return call.talk_s ?? call.duration_s ?? null;
}

/** Seconds the caller has waited so far (queue and ringing), for the toast and the board. */
export function waitSeconds(call: Call, now: number): number | null {
  if (call.wait_s != null && !["queued", "ringing"].includes(call.status)) return call.wait_s;
  const from = at(call.queued_at) ?? at(call.created_at);
  return from === null ? null : Math.max(0, (now - from) / 1000);
}

/** When wrap-up ends: the server's `wrap_until` if it sends one, else from when it began
 *  (the phone state's `since`, else the call's end) plus the inbox's `wrap_up_s`
 *  (CallPolicy, default 30). */
export function wrapUpUntil(
  since: string | null | undefined,
  call: Call | null | undefined,
  wrapUpS: number | null | undefined,
  until?: string | null,
): number | null {
  const given = at(until);
  if (given !== null) return given;
  const began = at(since) ?? at(call?.ended_at);
  return began === null ? null : began + (wrapUpS ?? 30) * 1000;
}

export function secondsLeft(until: number | null, now: number): number | null {
  return until === null ? null : Math.max(0, Math.ceil((until - now) / 1000));
}

/** A phone number an agent may transfer to or dial: digits, optional leading +, 3-20 long,
 *  spaces and dashes as typed are dropped. Null when it is not one. */
export function phoneNumber(typed: string): string | null {
  const bare = typed.replace(/[\s\-().]/g, "");
  return /^\+?[0-9]{3,20}$/.test(bare) ? bare : null;
}

export type TargetKind = "agent" | "group" | "number";

export function transferTarget(kind: TargetKind, value: string): TransferTarget | null {
  const v = value.trim();
  if (!v) return null;
  if (kind === "agent") return { agent_id: v };
  if (kind === "group") return { group_id: v };
  const number = phoneNumber(v);
  return number ? { number } : null;
}

export type PhoneAction =
  | "answer"
  | "reject"
  | "hangup"
  | "mute"
  | "hold"
  | "transfer"
  | "keypad"
  | "ready";

/** Alt+letter shortcuts (the inbox's single letters stay the inbox's): A answer, D decline
 *  or hang up, M mute, H hold, X transfer, K keypad, R ready / not ready. `code` is used so
 *  a Mac's Option characters and IME state do not matter. */
export function shortcutOf(
  e: { altKey: boolean; ctrlKey: boolean; metaKey: boolean; code: string },
  ringing: boolean,
  live: boolean,
): PhoneAction | null {
  if (!e.altKey || e.ctrlKey || e.metaKey) return null;
  switch (e.code) {
    case "KeyA":
      return ringing ? "answer" : null;
    case "KeyD":
      return ringing && !live ? "reject" : live ? "hangup" : null;
    case "KeyM":
      return live ? "mute" : null;
    case "KeyH":
      return live ? "hold" : null;
    case "KeyX":
      return live ? "transfer" : null;
    case "KeyK":
      return live ? "keypad" : null;
    case "KeyR":
      return "ready";
    default:
      return null;
  }
}

/** Which phone states an agent may pick in the switch (wrap-up and busy are the server's). */
export function choosable(state: PhoneState): ("offline" | "ready" | "not_ready")[] {
  return state === "busy" ? [] : ["ready", "not_ready", "offline"];
}

/** The IVR path as people read it: the keys pressed, in order ("1 › 3"). */
export function ivrPathText(path: readonly string[] | null | undefined): string {
  return (path ?? []).join(" › ");
}
