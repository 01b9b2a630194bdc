// The visitor's call button and call window. Shown when the inbox has voice on and its
// group is open (session config `voice` and `online`); the microphone is asked for only
// when the visitor clicks; the LiveKit room is behind ./media.ts (loaded lazily).
// A 503 from POST /api/v1/widget/calls carries a reason: the window says it and offers
// the chat or the leave-a-message form instead.
import { type Api, ApiError } from "../api";
import { h, icon } from "../dom";
import { fill, type Locale } from "../i18n";
import { type CallMedia, connectRoom } from "./media";
import { type CallStrings, callStrings } from "./strings";

const PHONE_ICON =
  "M6.6 10.8a15.1 15.1 0 0 0 6.6 6.6l2.2-2.2a1 1 0 0 1 1-.24c1.1.36 2.3.56 3.6.56a1 1 0 0 1 1 1V20a1 1 0 0 1-1 1A17 17 0 0 1 3 4a1 1 0 0 1 1-1h3.5a1 1 0 0 1 1 1c0 1.3.2 2.5.56 3.6a1 1 0 0 1-.25 1z";
const KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"];

export interface CallView {
  id: string;
  status: string;
  // While queued: the place in the queue (1 = next) and the estimated wait.
  position?: number | null;
  estimated_wait_s?: number | null;
}

// How often the call window asks for its place while the caller waits.
const QUEUE_POLL_MS = 5000;

interface Started {
  call: CallView;
  // Absent when the call needs no room (e.g. it went straight to a recorded message).
  livekit_url?: string | null;
  token?: string | null;
  prompt?: { text: string } | null;
}

export type CallState =
  | "idle"
  | "starting"
  | "dialling"
  | "ivr"
  | "queued"
  | "ringing"
  | "connected"
  | "held"
  | "voicemail"
  | "ended"
  | "unavailable"
  | "mic_denied";

export interface CallHost {
  api: Api;
  /** Where widget-call.js is served (the widget's API origin). */
  base: string;
  locale: () => Locale;
  emit: (name: string, detail: unknown) => void;
  /** Close the call window and put the visitor back in the chat. */
  chat: () => void;
  /** Show the leave-a-message form. */
  leaveMessage: () => void;
}

/** The identities kefu mints for machines in a call room (IVR player, hold music, egress). */
function isMachine(identity: string): boolean {
  return /^(ivr|hold|egress|bot|recorder)[-_:]/i.test(identity);
}

function clock(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

export class CallControl {
  readonly button: HTMLButtonElement;
  readonly sheet: HTMLDivElement;
  state: CallState = "idle";
  private s: CallStrings;
  private available = false;
  private call: CallView | null = null;
  private media: CallMedia | null = null;
  private mic: MediaStreamTrack | null = null;
  private muted = false;
  private connectedAt = 0;
  private ticker: number | undefined;
  private poller: number | undefined;
  private reason = "";
  private prompt = "";
  private els: {
    status: HTMLParagraphElement;
    queue: HTMLParagraphElement;
    timer: HTMLSpanElement;
    prompt: HTMLParagraphElement;
    controls: HTMLDivElement;
    mute: HTMLButtonElement;
    keypadToggle: HTMLButtonElement;
    keypad: HTMLDivElement;
    hangup: HTMLButtonElement;
    fallback: HTMLDivElement;
    chat: HTMLButtonElement;
    message: HTMLButtonElement;
  };

  constructor(private readonly host: CallHost) {
    this.s = callStrings(host.locale());
    this.button = h("button", { type: "button", class: "call-button", hidden: true, "aria-label": this.s.call });
    this.button.append(icon(PHONE_ICON));
    this.button.querySelector("svg")!.setAttribute("width", "20");
    this.button.addEventListener("click", () => void this.start());
    const status = h("p", { class: "call-status", role: "status", "aria-live": "polite" });
    const queue = h("p", { class: "call-queue", "aria-live": "polite", hidden: true });
    const timer = h("span", { class: "call-timer", "aria-label": "" });
    const prompt = h("p", { class: "call-prompt", "aria-live": "polite" });
    const mute = h("button", { type: "button", "aria-pressed": "false" });
    const keypadToggle = h("button", { type: "button", "aria-expanded": "false" });
    const hangup = h("button", { type: "button", class: "hangup" });
    const controls = h("div", { class: "call-controls", role: "group" }, mute, keypadToggle, hangup);
    const keypad = h("div", { class: "call-keypad", role: "group", hidden: true });
    for (const key of KEYS) {
      const b = h("button", { type: "button", "data-key": key }, key);
      b.addEventListener("click", () => void this.press(key));
      keypad.append(b);
    }
    const chat = h("button", { type: "button", class: "primary" });
    const message = h("button", { type: "button", class: "secondary" });
    const fallback = h("div", { class: "call-fallback", hidden: true }, chat, message);
    this.sheet = h("div", { class: "call-sheet", role: "region", hidden: true }, status, queue, timer, prompt, controls, keypad, fallback);
    this.els = { status, queue, timer, prompt, controls, mute, keypadToggle, keypad, hangup, fallback, chat, message };
    mute.addEventListener("click", () => void this.toggleMute());
    keypadToggle.addEventListener("click", () => {
      keypad.hidden = !keypad.hidden;
      keypadToggle.setAttribute("aria-expanded", String(!keypad.hidden));
    });
    hangup.addEventListener("click", () => void this.hangup());
    chat.addEventListener("click", () => {
      this.close();
      this.host.chat();
    });
    message.addEventListener("click", () => {
      this.close();
      this.host.leaveMessage();
    });
    this.relabel();
  }

  /** The session's config decides whether calling is offered at all. */
  configure(config: { online: boolean; voice?: boolean }): void {
    this.available = config.voice === true && config.online;
    this.button.hidden = !this.available && !this.inCall();
  }

  relabel(): void {
    const s = (this.s = callStrings(this.host.locale()));
    this.button.setAttribute("aria-label", s.call);
    this.button.title = s.call;
    this.sheet.setAttribute("aria-label", s.callTitle);
    this.els.keypadToggle.textContent = s.keypad;
    this.els.keypad.setAttribute("aria-label", s.keypad);
    for (const b of this.els.keypad.querySelectorAll("button")) b.setAttribute("aria-label", fill(s.key, { key: b.dataset.key ?? "" }));
    this.els.hangup.textContent = s.hangup;
    this.els.chat.textContent = s.backToChat;
    this.els.message.textContent = s.leaveMessage;
    this.els.controls.setAttribute("aria-label", s.callTitle);
    this.render();
  }

  inCall(): boolean {
    return !["idle", "ended", "unavailable", "mic_denied"].includes(this.state);
  }

  async start(): Promise<void> {
    if (this.inCall()) return;
    this.reason = "";
    this.prompt = "";
    this.sheet.hidden = false;
    this.setState("starting");
    // The browser asks for the microphone now, on the visitor's click, and never before.
    let mic: MediaStreamTrack;
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      mic = stream.getAudioTracks()[0];
    } catch {
      this.setState("mic_denied");
      return;
    }
    this.mic = mic;
    this.setState("dialling");
    let started: Started;
    try {
      started = await this.host.api.call<Started>("POST", "/calls", {});
    } catch (error) {
      this.release();
      this.reason = this.reasonText(error);
      this.setState("unavailable");
      return;
    }
    this.call = started.call;
    this.prompt = started.prompt?.text ?? "";
    this.follow(started.call.status);
    if (!started.livekit_url || !started.token || !this.inCall()) return;
    try {
      const media = await connectRoom(this.host.base, started.livekit_url, started.token, mic);
      this.media = media;
      media.onPeer((identity, joined) => {
        if (isMachine(identity)) return;
        if (joined) this.setState("connected");
        else if (this.state === "connected") this.setState("queued");
      });
      media.onEnded(() => {
        if (this.media) this.finish();
      });
    } catch {
      // The server took the call but the media cannot flow: give the call back.
      void this.host.api.call("POST", `/calls/${encodeURIComponent(started.call.id)}/hangup`, {}).catch(() => undefined);
      this.release();
      this.reason = this.s.reasonMedia;
      this.setState("unavailable");
    }
  }

  private reasonText(error: unknown): string {
    if (!(error instanceof ApiError)) return this.s.callFailed;
    const reason = typeof error.problem.reason === "string" ? error.problem.reason : "";
    const known: Record<string, string> = {
      no_agents: this.s.reasonNoAgents,
      nobody_available: this.s.reasonNoAgents, // kefu.calls: nobody signed in to a phone
      closed: this.s.reasonClosed,
      off_hours: this.s.reasonClosed,
      voice_off: this.s.reasonOff,
      disabled: this.s.reasonOff,
      media_unavailable: this.s.reasonMedia,
      livekit_unreachable: this.s.reasonMedia,
    };
    if (known[reason]) return known[reason];
    // The server's own sentence (already in the visitor's language) when it sends one.
    return error.detail || reason || (error.status === 503 ? this.s.unavailable : this.s.callFailed);
  }

  /** The server's call status as what the visitor sees. */
  private follow(status: string): void {
    const shown: Partial<Record<string, CallState>> = {
      ivr: "ivr",
      queued: "queued",
      ringing: "ringing",
      connected: "connected",
      held: "held",
      voicemail: "voicemail",
      ended: "ended",
      abandoned: "ended",
      missed: "ended",
      wrap_up: "ended",
    };
    const next = shown[status];
    if (next === "ended") this.finish();
    else if (next) this.setState(next);
  }

  /** While the caller waits, ask now and then for the call (place, estimate, status). */
  private poll(): void {
    const waiting = this.state === "queued" || this.state === "ringing";
    if (!waiting || !this.call) {
      window.clearInterval(this.poller);
      this.poller = undefined;
      return;
    }
    if (this.poller !== undefined) return;
    this.poller = window.setInterval(() => void this.refresh(), QUEUE_POLL_MS);
  }

  private async refresh(): Promise<void> {
    const call = this.call;
    if (!call) return;
    try {
      const out = await this.host.api.call<{ call: CallView }>("GET", `/calls/${encodeURIComponent(call.id)}`);
      if (this.call?.id !== call.id) return;
      this.call = out.call;
      this.follow(out.call.status);
      this.render();
    } catch {
      // Asked again at the next tick.
    }
  }

  private queueText(): string {
    const call = this.call;
    if (this.state !== "queued" || !call?.position) return "";
    if (call.estimated_wait_s == null) return fill(this.s.queuePlace, { n: call.position });
    const minutes = Math.max(1, Math.ceil(call.estimated_wait_s / 60));
    return fill(this.s.queuePlaceWait, { n: call.position, m: minutes });
  }

  private async press(key: string): Promise<void> {
    if (!this.call) return;
    try {
      const out = await this.host.api.call<{ call: CallView; prompt?: { text: string } | null }>(
        "POST",
        `/calls/${encodeURIComponent(this.call.id)}/dtmf`,
        { digit: key },
      );
      this.call = out.call;
      if (out.prompt?.text) this.prompt = out.prompt.text;
      this.follow(out.call.status);
      this.render();
    } catch {
      // A key lost to the network is pressed again by the visitor; the call goes on.
    }
  }

  private async toggleMute(): Promise<void> {
    this.muted = !this.muted;
    if (this.mic) this.mic.enabled = !this.muted;
    this.render();
    await this.media?.setMuted(this.muted).catch(() => undefined);
  }

  async hangup(): Promise<void> {
    const call = this.call;
    if (call) void this.host.api.call("POST", `/calls/${encodeURIComponent(call.id)}/hangup`, {}).catch(() => undefined);
    this.finish();
  }

  private finish(): void {
    this.release();
    this.setState("ended");
  }

  private release(): void {
    const media = this.media;
    this.media = null;
    this.mic?.stop();
    this.mic = null;
    this.muted = false;
    window.clearInterval(this.ticker);
    window.clearInterval(this.poller);
    this.poller = undefined;
    if (media) void media.disconnect().catch(() => undefined);
  }

  close(): void {
    if (this.inCall()) return;
    this.sheet.hidden = true;
    this.state = "idle";
    this.button.hidden = !this.available;
  }

  private setState(state: CallState): void {
    const before = this.state;
    this.state = state;
    if (state === "connected" && before !== "connected") {
      this.connectedAt = Date.now();
      window.clearInterval(this.ticker);
      this.ticker = window.setInterval(() => this.render(), 1000);
    }
    this.render();
    this.poll();
    if (before !== state) this.host.emit("call", { state, call_id: this.call?.id ?? null });
  }

  private render(): void {
    const s = this.s;
    const text: Record<CallState, string> = {
      idle: "",
      starting: s.starting,
      dialling: s.dialling,
      ivr: s.ivr,
      queued: s.queued,
      ringing: s.ringing,
      connected: s.connected,
      held: s.held,
      voicemail: s.voicemail,
      ended: s.ended,
      unavailable: this.reason || s.unavailable,
      mic_denied: s.micDenied,
    };
    const live = this.inCall() && this.state !== "starting";
    this.els.status.textContent = text[this.state];
    this.els.status.setAttribute("role", this.state === "unavailable" || this.state === "mic_denied" ? "alert" : "status");
    this.sheet.dataset.state = this.state;
    const queue = this.queueText();
    this.els.queue.textContent = queue;
    this.els.queue.hidden = !queue;
    this.els.timer.hidden = this.state !== "connected" && this.state !== "held";
    this.els.timer.textContent = this.connectedAt ? clock((Date.now() - this.connectedAt) / 1000) : "";
    this.els.prompt.hidden = !this.prompt || !live;
    this.els.prompt.textContent = this.prompt;
    this.els.controls.hidden = !live;
    this.els.mute.textContent = this.muted ? s.unmute : s.mute;
    this.els.mute.setAttribute("aria-pressed", String(this.muted));
    if (!live) {
      this.els.keypad.hidden = true;
      this.els.keypadToggle.setAttribute("aria-expanded", "false");
    }
    this.els.fallback.hidden = live || this.state === "starting" || this.state === "idle";
    this.els.message.hidden = this.state === "ended";
    this.button.hidden = (!this.available && !this.inCall()) || live;
  }
}
