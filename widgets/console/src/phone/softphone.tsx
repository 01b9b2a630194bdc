// The agent softphone: the phone switch in the top bar (signed out / ready / not ready
// with a reason, wrap-up and on-a-call shown as the server says), the incoming-call toast
// with the caller's profile and IVR path, and the call panel (mute, hold, keypad,
// transfer and consult, conference, notes, hang up, the wrap-up countdown).
import { useEffect, useRef, useState } from "preact/hooks";
import { Contact, get } from "../api";
import { formatDuration, t } from "../i18n";
import { go } from "../router";
import { agents, groupName, groups, me } from "../store";
import { Call } from "./api";
import {
  KEYPAD,
  TargetKind,
  choosable,
  isLive,
  ivrPathText,
  secondsLeft,
  shortcutOf,
  talkSeconds,
  transferTarget,
  waitSeconds,
  wrapUpUntil,
} from "./logic";
import {
  active,
  addNote,
  answer,
  cancelTransfer,
  completeTransfer,
  conference,
  connecting,
  consulting,
  endWrapUp,
  hangup,
  keypadOpen,
  loadPhone,
  micMuted,
  phone,
  phoneAvailable,
  pressKey,
  reject,
  ringing,
  setPhoneState,
  toggleHold,
  toggleMute,
  transfer,
  transferOpen,
  wrapUpSecondsOf,
} from "./state";

export const NOT_READY_REASONS = ["break", "lunch", "meeting", "training", "after_call", "other"] as const;

function useNow(everyMs = 1000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const id = window.setInterval(() => setNow(Date.now()), everyMs);
    return () => window.clearInterval(id);
  }, [everyMs]);
  return now;
}

/** The phone state in the top bar. Hidden on a server without the phone API. */
export function PhoneSwitch() {
  const p = phone.value;
  const [reasonOpen, setReasonOpen] = useState(false);
  useEffect(() => {
    void loadPhone();
    // A slow read as well as the socket: a lost doorbell must not leave a stale state.
    const id = window.setInterval(() => void loadPhone(), 15000);
    return () => window.clearInterval(id);
  }, []);
  if (!phoneAvailable.value || !p) return null;
  const options = choosable(p.state);
  return (
    <span class={`inline phone-switch phone-${p.state}`} data-testid="phone-switch">
      <span aria-hidden="true">☎</span>
      {options.length && p.state !== "wrap_up" ? (
        <select
          aria-label={t("phone.state")}
          value={p.state}
          onChange={(e) => {
            const v = e.currentTarget.value as "offline" | "ready" | "not_ready";
            if (v === "not_ready") setReasonOpen(true);
            else void setPhoneState(v);
          }}
        >
          {options.map((s) => (
            <option value={s}>{t(`phone.state.${s}`)}</option>
          ))}
        </select>
      ) : (
        <span class="chip" role="status">{t(`phone.state.${p.state}`)}</span>
      )}
      {p.state === "not_ready" && p.reason && <span class="muted small">{reasonText(p.reason)}</span>}
      {reasonOpen && <ReasonDialog onClose={() => setReasonOpen(false)} />}
    </span>
  );
}

function reasonText(reason: string): string {
  return (NOT_READY_REASONS as readonly string[]).includes(reason) ? t(`phone.reason.${reason}`) : reason;
}

function ReasonDialog({ onClose }: { onClose: () => void }) {
  const [reason, setReason] = useState<string>("break");
  const [other, setOther] = useState("");
  const first = useRef<HTMLSelectElement>(null);
  useEffect(() => first.current?.focus(), []);
  const submit = async (e: Event) => {
    e.preventDefault();
    const said = reason === "other" ? other.trim() : reason;
    if (!said) return;
    await setPhoneState("not_ready", said);
    onClose();
  };
  return (
    <div class="backdrop" onClick={(e) => e.target === e.currentTarget && onClose()}>
      <form class="dialog card" role="dialog" aria-modal="true" aria-labelledby="reason-title" onSubmit={submit}
        onKeyDown={(e) => e.key === "Escape" && onClose()}>
        <h2 id="reason-title">{t("phone.reason_title")}</h2>
        <label>
          {t("phone.reason")}
          <select ref={first} value={reason} onChange={(e) => setReason(e.currentTarget.value)}>
            {NOT_READY_REASONS.map((r) => (
              <option value={r}>{t(`phone.reason.${r}`)}</option>
            ))}
          </select>
        </label>
        {reason === "other" && (
          <label>
            {t("phone.reason_other")}
            <input maxLength={200} required value={other} onInput={(e) => setOther(e.currentTarget.value)} />
          </label>
        )}
        <div class="buttons">
          <button type="button" class="ghost" onClick={onClose}>{t("action.cancel")}</button>
          <button type="submit" class="primary">{t("phone.state.not_ready")}</button>
        </div>
      </form>
    </div>
  );
}

function callerName(call: Call): string {
  return call.contact.name || call.contact.phone || t("phone.unknown_caller");
}

function IncomingCall({ call, now }: { call: Call; now: number }) {
  const [contact, setContact] = useState<Contact | null>(null);
  useEffect(() => {
    if (!call.contact.id) return;
    get<Contact>(`/api/v1/contacts/${call.contact.id}`).then(setContact).catch(() => setContact(null));
  }, [call.contact.id]);
  const wait = waitSeconds(call, now);
  const path = ivrPathText(call.ivr_path);
  return (
    <section class="card incoming" role="alertdialog" aria-labelledby={`in-${call.id}`} data-call={call.id}>
      <p class="muted small">{t("phone.incoming")}</p>
      <h2 id={`in-${call.id}`}>{callerName(call)}</h2>
      <dl class="caller">
        {(contact?.phone || call.contact.phone) && (
          <>
            <dt>{t("contact.phone")}</dt>
            <dd>{contact?.phone || call.contact.phone}</dd>
          </>
        )}
        {contact && (contact.vip_level ?? 0) > 0 && (
          <>
            <dt>{t("contact.vip")}</dt>
            <dd data-testid="caller-vip">VIP {contact.vip_level}</dd>
          </>
        )}
        {contact?.region && (
          <>
            <dt>{t("contact.region")}</dt>
            <dd>{contact.region}</dd>
          </>
        )}
        {contact?.tags && contact.tags.length > 0 && (
          <>
            <dt>{t("phone.tags")}</dt>
            <dd>{contact.tags.join(", ")}</dd>
          </>
        )}
        <dt>{t("phone.ivr_path")}</dt>
        <dd data-testid="ivr-path">{path || t("phone.ivr_none")}</dd>
        {call.group_id && (
          <>
            <dt>{t("phone.queue")}</dt>
            <dd>{groupName(call.group_id)}</dd>
          </>
        )}
        {wait !== null && (
          <>
            <dt>{t("phone.waited")}</dt>
            <dd>{formatDuration(wait)}</dd>
          </>
        )}
      </dl>
      <div class="inline">
        <button type="button" class="primary call-answer" disabled={connecting.value} aria-keyshortcuts="Alt+A"
          onClick={() => void answer(call)}>
          {t("phone.answer")}
        </button>
        <button type="button" class="danger-btn" aria-keyshortcuts="Alt+D" onClick={() => void reject(call)}>
          {t("phone.reject")}
        </button>
      </div>
    </section>
  );
}

function Keypad() {
  return (
    <div class="keypad" role="group" aria-label={t("phone.keypad")}>
      {KEYPAD.map((k) => (
        <button type="button" aria-label={t("phone.key", { key: k })} onClick={() => void pressKey(k)}>
          {k}
        </button>
      ))}
    </div>
  );
}

/** Who each way of transferring can reach (kefu.calls.service.transfer / conference):
 *  a consult is with a colleague; a conference dials a number in. */
function kindsFor(mode: "blind" | "attended" | "conference"): TargetKind[] {
  if (mode === "attended") return ["agent"];
  if (mode === "conference") return ["number"];
  return ["agent", "group", "number"];
}

function CallTransferDialog({ onClose }: { onClose: () => void }) {
  const [mode, setMode] = useState<"blind" | "attended" | "conference">("blind");
  const [kind, setKind] = useState<TargetKind>("agent");
  const [value, setValue] = useState("");
  const [error, setError] = useState("");
  const first = useRef<HTMLSelectElement>(null);
  useEffect(() => first.current?.focus(), []);
  const label = () =>
    kind === "agent"
      ? agents.value.find((a) => a.id === value)?.name ?? value
      : kind === "group"
        ? groups.value.find((g) => g.id === value)?.name ?? value
        : value;
  const submit = async (e: Event) => {
    e.preventDefault();
    setError("");
    const target = transferTarget(kind, value);
    if (!target) {
      setError(kind === "number" ? t("phone.bad_number") : t("phone.pick_target"));
      return;
    }
    let ok: boolean;
    if (mode === "conference") {
      // A conference dials a number into the room (ConferenceIn: number).
      if (!("number" in target)) {
        setError(t("phone.conference_no_group"));
        return;
      }
      ok = await conference(target.number);
    } else ok = await transfer(target, mode === "attended", label());
    if (ok) onClose();
  };
  return (
    <div class="backdrop" onClick={(e) => e.target === e.currentTarget && onClose()}>
      <form class="dialog card" role="dialog" aria-modal="true" aria-labelledby="call-transfer-title" onSubmit={submit}
        onKeyDown={(e) => e.key === "Escape" && onClose()}>
        <h2 id="call-transfer-title">{t("phone.transfer_title")}</h2>
        <label>
          {t("phone.transfer_mode")}
          <select ref={first} value={mode} onChange={(e) => {
            const next = e.currentTarget.value as typeof mode;
            setMode(next);
            if (!kindsFor(next).includes(kind)) {
              setKind(kindsFor(next)[0]);
              setValue("");
            }
          }}>
            <option value="blind">{t("phone.mode.blind")}</option>
            <option value="attended">{t("phone.mode.attended")}</option>
            <option value="conference">{t("phone.mode.conference")}</option>
          </select>
        </label>
        <fieldset class="members" aria-label={t("phone.transfer_to")}>
          <legend>{t("phone.transfer_to")}</legend>
          {kindsFor(mode).map((k) => (
            <label class="inline small">
              <input type="radio" name="target-kind" checked={kind === k} onChange={() => { setKind(k); setValue(""); }} />
              {t(`phone.target.${k}`)}
            </label>
          ))}
        </fieldset>
        {kind === "agent" && (
          <label>
            {t("phone.target.agent")}
            <select value={value} onChange={(e) => setValue(e.currentTarget.value)}>
              <option value="">{t("transfer.none")}</option>
              {agents.value.filter((a) => a.id !== me.value?.id).map((a) => (
                <option value={a.id}>{a.name} · {t(`presence.${a.presence ?? "offline"}`)}</option>
              ))}
            </select>
          </label>
        )}
        {kind === "group" && (
          <label>
            {t("phone.target.group")}
            <select value={value} onChange={(e) => setValue(e.currentTarget.value)}>
              <option value="">{t("transfer.none")}</option>
              {groups.value.map((g) => (
                <option value={g.id}>{g.name}</option>
              ))}
            </select>
          </label>
        )}
        {kind === "number" && (
          <label>
            {t("phone.target.number")}
            <input type="tel" inputMode="tel" maxLength={32} placeholder="+86 138 0000 0000" value={value}
              onInput={(e) => setValue(e.currentTarget.value)} />
          </label>
        )}
        {error && <p class="field-error" role="alert">{error}</p>}
        <div class="buttons">
          <button type="button" class="ghost" onClick={onClose}>{t("action.cancel")}</button>
          <button type="submit" class="primary">{t(`phone.submit.${mode}`)}</button>
        </div>
      </form>
    </div>
  );
}

function CallNotes() {
  const [body, setBody] = useState("");
  return (
    <form class="stack tight" onSubmit={(e) => {
      e.preventDefault();
      void addNote(body).then((ok) => ok && setBody(""));
    }}>
      <label class="small">
        {t("phone.note")}
        <textarea rows={2} maxLength={5000} value={body} onInput={(e) => setBody(e.currentTarget.value)} />
      </label>
      <button type="submit" disabled={!body.trim()}>{t("phone.note_save")}</button>
    </form>
  );
}

function WrapUp({ call, now }: { call: Call; now: number }) {
  const p = phone.value;
  const since = p?.state === "wrap_up" ? p.since : null;
  const wrapS = wrapUpSecondsOf(call);
  const raw = secondsLeft(wrapUpUntil(since, call, wrapS, p?.wrap_until), now);
  // Never more than the wrap-up time itself (the two clocks may differ by a second).
  const left = raw === null || p?.wrap_until ? raw : Math.min(raw, wrapS ?? 30);
  return (
    <>
      <p role="status" data-testid="wrap-up">
        {left === null ? t("phone.wrap_up") : t("phone.wrap_up_left", { time: formatDuration(left) })}
      </p>
      <CallNotes />
      <button type="button" class="primary" onClick={() => void endWrapUp()}>{t("phone.wrap_up_end")}</button>
    </>
  );
}

function CallPanel({ call, now }: { call: Call; now: number }) {
  const live = isLive(call.status);
  const talked = talkSeconds(call, now);
  return (
    <section class={`card call-panel call-${call.status}`} aria-labelledby="call-title" data-call={call.id}>
      <div class="call-head">
        <div>
          <h2 id="call-title">
            <a href={`#/inbox/${call.conversation_id}`} onClick={() => go(`/inbox/${call.conversation_id}`)}>{callerName(call)}</a>
          </h2>
          <p class="muted small" role="status" data-testid="call-status">
            {t(`phone.status.${call.status}`)}
            {talked !== null && live && <> · <span data-testid="call-timer">{formatDuration(talked)}</span></>}
            {micMuted.value && live && <> · {t("phone.muted")}</>}
          </p>
          {call.ivr_path.length > 0 && (
            <p class="muted small">{t("phone.ivr_path")}: {ivrPathText(call.ivr_path)}</p>
          )}
        </div>
      </div>
      {consulting.value && (
        <div class="consult" role="status">
          <p>{t("phone.consulting", { name: consulting.value.label })}</p>
          <div class="inline">
            <button type="button" class="primary" onClick={() => void completeTransfer()}>{t("phone.complete_transfer")}</button>
            <button type="button" onClick={() => void cancelTransfer()}>{t("phone.cancel_transfer")}</button>
          </div>
        </div>
      )}
      {live && (
        <>
          <div class="call-buttons" role="toolbar" aria-label={t("phone.controls")}>
            <button type="button" aria-pressed={micMuted.value} aria-keyshortcuts="Alt+M" onClick={() => void toggleMute()}>
              {micMuted.value ? t("phone.unmute") : t("phone.mute")}
            </button>
            <button type="button" aria-pressed={call.status === "held"} aria-keyshortcuts="Alt+H" onClick={() => void toggleHold()}>
              {call.status === "held" ? t("phone.resume") : t("phone.hold")}
            </button>
            <button type="button" aria-expanded={keypadOpen.value} aria-keyshortcuts="Alt+K"
              onClick={() => (keypadOpen.value = !keypadOpen.value)}>
              {t("phone.keypad")}
            </button>
            <button type="button" aria-keyshortcuts="Alt+X" disabled={!!consulting.value} onClick={() => (transferOpen.value = true)}>
              {t("phone.transfer")}
            </button>
            <button type="button" class="danger-btn" aria-keyshortcuts="Alt+D" onClick={() => void hangup()}>
              {t("phone.hangup")}
            </button>
          </div>
          {keypadOpen.value && <Keypad />}
          <CallNotes />
        </>
      )}
      {call.status === "wrap_up" || (!live && phone.value?.state === "wrap_up") ? <WrapUp call={call} now={now} /> : null}
      {transferOpen.value && <CallTransferDialog onClose={() => (transferOpen.value = false)} />}
    </section>
  );
}

/** Alt+letter shortcuts for the phone (see logic.shortcutOf). */
function usePhoneKeys(): void {
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const call = active.value;
      const live = !!call && isLive(call.status);
      const first = ringing.value[0];
      const action = shortcutOf(e, !!first, live);
      if (!action) return;
      e.preventDefault();
      switch (action) {
        case "answer":
          if (first) void answer(first);
          break;
        case "reject":
          if (first) void reject(first);
          break;
        case "hangup":
          void hangup();
          break;
        case "mute":
          void toggleMute();
          break;
        case "hold":
          void toggleHold();
          break;
        case "transfer":
          transferOpen.value = true;
          break;
        case "keypad":
          keypadOpen.value = !keypadOpen.value;
          break;
        case "ready": {
          const state = phone.value?.state;
          if (state === "ready") void setPhoneState("not_ready", "break");
          else if (state === "not_ready" || state === "offline") void setPhoneState("ready");
          break;
        }
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);
}

/** Incoming calls and the current call, docked at the bottom right of every screen. */
export function PhoneDock() {
  usePhoneKeys();
  const now = useNow();
  const call = active.value;
  const incoming = ringing.value.filter((c) => c.id !== call?.id);
  if (!incoming.length && !call) return null;
  return (
    <aside class="phone-dock" aria-label={t("phone.dock")}>
      {incoming.map((c) => (
        <IncomingCall key={c.id} call={c} now={now} />
      ))}
      {call && <CallPanel call={call} now={now} />}
    </aside>
  );
}
