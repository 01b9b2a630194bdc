// The softphone's state and actions: the agent's phone state (GET /api/v1/phone/me), the
// calls ringing for them (realtime `call.ringing`), the call they are on, and the media
// of that call (media.ts, the one seam tests replace).
import { signal } from "@preact/signals";
import { ApiError } from "../api";
import { t } from "../i18n";
import { go } from "../router";
import { inboxes, me, notify, reportError } from "../store";
import { Call, PhoneMe, TransferTarget, phoneApi } from "./api";
import { isLive, isOver } from "./logic";
import { CallMedia, connectRoom } from "./media";

/** null until read; `available` false when this server has no phone API (404). */
export const phone = signal<PhoneMe | null>(null);
export const phoneAvailable = signal(true);
export const ringing = signal<Call[]>([]);
export const active = signal<Call | null>(null);
export const micMuted = signal(false);
/** An attended transfer in progress: the agent talks to the target, the caller holds. */
export const consulting = signal<{ label: string } | null>(null);
export const keypadOpen = signal(false);
export const transferOpen = signal(false);
export const connecting = signal(false);
/** Bumped on every call change: timelines and the board read their calls again. */
export const callTick = signal(0);

let media: CallMedia | null = null;
let microphone: MediaStreamTrack | null = null;

function releaseMedia(): void {
  const m = media;
  media = null;
  microphone?.stop();
  microphone = null;
  micMuted.value = false;
  consulting.value = null;
  keypadOpen.value = false;
  if (m) void m.disconnect().catch(() => undefined);
}

/** The inbox's wrap-up time (CallPolicy.wrap_up_s), when the directory shows it. */
export function wrapUpSecondsOf(call: Call | null | undefined): number | null {
  if (!call) return null;
  const v = inboxes.value.find((i) => i.id === call.inbox_id)?.config?.wrap_up_s;
  return typeof v === "number" ? v : null;
}

export async function loadPhone(): Promise<void> {
  try {
    const mine = await phoneApi.me();
    phone.value = mine;
    phoneAvailable.value = true;
    const call = mine.call ?? null;
    if (call) adoptCall(call, true);
    else if (active.value && !isLive(active.value.status) && mine.state !== "wrap_up") active.value = null;
  } catch (e) {
    if (e instanceof ApiError && (e.status === 404 || e.status === 405)) phoneAvailable.value = false;
  }
}

/** A call as the server now sees it, from the socket or a read. Supervisors hear every
 *  call: only calls ringing this agent (or the phone state's own call) become theirs. */
export function adoptCall(call: Call, forMe = false, ringsMe = false): void {
  callTick.value++;
  const myId = me.value?.id;
  const rung = forMe || (!!myId && (call.ringing_agent_ids ?? []).includes(myId));
  // A colleague consulting me (attended transfer) rings me while the call is held.
  const consulted = ringsMe && !!myId && call.consult_agent_id === myId && call.agent_id !== myId;
  if ((consulted || (call.status === "ringing" && rung)) && !(active.value && active.value.id === call.id)) {
    if (!ringing.value.some((c) => c.id === call.id)) ringing.value = [...ringing.value, call];
    else ringing.value = ringing.value.map((c) => (c.id === call.id ? call : c));
    return;
  }
  if (!(call.consult_agent_id && call.consult_agent_id === myId && call.agent_id !== myId)) {
    ringing.value = ringing.value.filter((c) => c.id !== call.id);
  }
  const current = active.value;
  if (current && current.id === call.id) {
    active.value = call;
    // The consult ended (cancelled, or completed by the server): say so on the panel.
    if (!call.consult_agent_id && consulting.value && call.agent_id === myId) consulting.value = null;
    if (!isLive(call.status) && media) releaseMedia();
    if (isOver(call.status) && phone.value?.state !== "wrap_up") active.value = null;
  } else if ((forMe || call.agent_id === myId) && (isLive(call.status) || call.status === "wrap_up")) {
    active.value = call;
  }
}

/** `call.ringing` / `call.updated` frames from /ws/agent; the socket is a doorbell, so
 *  the phone state is read again after each. */
export function onCallEvent(kind: string, call: Call | undefined, agentIds: string[]): void {
  const myId = me.value?.id;
  const ringsMe = kind === "call.ringing" && !!myId && agentIds.includes(myId);
  if (call) adoptCall(call, ringsMe && call.status === "ringing", ringsMe);
  if (kind === "call.ringing" && call && ringing.value.some((c) => c.id === call.id)) alertRinging(call);
  void loadPhone();
}

let ringAudio: AudioContext | null = null;
function alertRinging(call: Call): void {
  try {
    ringAudio ??= new AudioContext();
    const osc = ringAudio.createOscillator();
    const gain = ringAudio.createGain();
    osc.frequency.value = 440;
    gain.gain.value = 0.06;
    osc.connect(gain).connect(ringAudio.destination);
    osc.start();
    osc.stop(ringAudio.currentTime + 0.4);
  } catch {
    // No audio device: the toast is on screen.
  }
  if ("Notification" in window && Notification.permission === "granted" && document.hidden) {
    new Notification(t("phone.incoming"), { body: call.contact.name || call.contact.phone || "" });
  }
}

export async function setPhoneState(state: "offline" | "ready" | "not_ready", reason?: string): Promise<void> {
  try {
    phone.value = await phoneApi.setState(state, reason);
  } catch (e) {
    reportError(e);
  }
}

export async function answer(call: Call): Promise<void> {
  if (connecting.value) return;
  connecting.value = true;
  try {
    // The microphone is asked for here, on the agent's click, never before.
    let mic: MediaStreamTrack;
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      mic = stream.getAudioTracks()[0];
    } catch {
      notify(t("phone.mic_denied"), "error");
      return;
    }
    let joined;
    try {
      joined = await phoneApi.answer(call.id);
    } catch (e) {
      mic.stop();
      ringing.value = ringing.value.filter((c) => c.id !== call.id);
      if (e instanceof ApiError && e.status === 409) notify(t("phone.taken"), "info");
      else reportError(e);
      return;
    }
    ringing.value = ringing.value.filter((c) => c.id !== call.id);
    microphone = mic;
    active.value = { ...call, status: "connected", answered_at: call.answered_at ?? new Date().toISOString() };
    go(`/inbox/${call.conversation_id}`);
    try {
      media = await connectRoom(joined.livekit_url, joined.token, mic);
      media.onEnded(() => {
        if (media) {
          media = null;
          notify(t("phone.media_lost"), "error");
          void loadPhone();
        }
      });
    } catch (e) {
      notify(t("phone.media_failed", { detail: e instanceof Error ? e.message : String(e) }), "error");
    }
    callTick.value++;
    void loadPhone();
  } finally {
    connecting.value = false;
  }
}

async function callAction(run: () => Promise<unknown>): Promise<boolean> {
  try {
    await run();
    return true;
  } catch (e) {
    reportError(e);
    return false;
  }
}

export async function reject(call: Call): Promise<void> {
  ringing.value = ringing.value.filter((c) => c.id !== call.id);
  await callAction(() => phoneApi.reject(call.id));
  void loadPhone();
}

export async function hangup(): Promise<void> {
  const call = active.value;
  if (!call) return;
  if (await callAction(() => phoneApi.hangup(call.id))) {
    releaseMedia();
    active.value = { ...call, status: "wrap_up", ended_at: new Date().toISOString() };
    callTick.value++;
    await loadPhone();
  }
}

export async function toggleMute(): Promise<void> {
  const next = !micMuted.value;
  micMuted.value = next;
  if (microphone) microphone.enabled = !next;
  try {
    await media?.setMuted(next);
  } catch (e) {
    reportError(e);
  }
}

export async function toggleHold(): Promise<void> {
  const call = active.value;
  if (!call || !isLive(call.status)) return;
  const hold = call.status !== "held";
  if (await callAction(() => phoneApi.hold(call.id, hold))) {
    active.value = { ...call, status: hold ? "held" : "connected" };
    // While held the caller hears hold music; the agent's microphone is not sent.
    if (microphone) microphone.enabled = !hold && !micMuted.value;
    await media?.setMuted(hold || micMuted.value).catch(() => undefined);
    callTick.value++;
  }
}

export async function pressKey(digit: string): Promise<void> {
  const call = active.value;
  if (call) await callAction(() => phoneApi.dtmf(call.id, digit));
}

export async function transfer(target: TransferTarget, attended: boolean, label: string): Promise<boolean> {
  const call = active.value;
  if (!call) return false;
  if (!(await callAction(() => phoneApi.transfer(call.id, target, attended)))) return false;
  if (attended) {
    consulting.value = { label };
    notify(t("phone.consulting", { name: label }));
  } else {
    // A blind transfer hands the caller on: this agent leaves the call.
    releaseMedia();
    active.value = null;
    notify(t("phone.transferred", { name: label }));
    await loadPhone();
  }
  callTick.value++;
  return true;
}

export async function completeTransfer(): Promise<void> {
  const call = active.value;
  if (!call) return;
  if (await callAction(() => phoneApi.completeTransfer(call.id))) {
    releaseMedia();
    active.value = null;
    callTick.value++;
    await loadPhone();
  }
}

export async function cancelTransfer(): Promise<void> {
  const call = active.value;
  if (!call) return;
  if (await callAction(() => phoneApi.cancelTransfer(call.id))) {
    consulting.value = null;
    callTick.value++;
  }
}

export async function conference(number: string): Promise<boolean> {
  const call = active.value;
  if (!call) return false;
  const ok = await callAction(() => phoneApi.conference(call.id, number));
  if (ok) notify(t("phone.conferenced", { name: number }));
  return ok;
}

export async function addNote(body: string): Promise<boolean> {
  const call = active.value;
  if (!call || !body.trim()) return false;
  const ok = await callAction(() => phoneApi.note(call.id, body.trim()));
  if (ok) notify(t("phone.note_saved"));
  return ok;
}

export async function endWrapUp(): Promise<void> {
  const call = active.value;
  if (call) await callAction(() => phoneApi.endWrapUp(call.id));
  active.value = null;
  await loadPhone();
}

/** Signing out of the console leaves the room too. */
export function dropPhone(): void {
  releaseMedia();
  active.value = null;
  ringing.value = [];
  phone.value = null;
}
