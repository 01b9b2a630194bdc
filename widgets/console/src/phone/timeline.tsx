// Calls in the conversation timeline: one item per call with its outcome, duration, IVR
// path, and a player for the recording and the voicemail.
import { useEffect, useState } from "preact/hooks";
import { formatDuration, formatTime, t } from "../i18n";
import { safeUrl } from "../messages";
import { agentName } from "../store";
import { Call, phoneApi } from "./api";
import { isLive, ivrPathText } from "./logic";
import { callTick } from "./state";

/** The calls of one conversation, read again whenever a call changes. */
export function useCalls(conversationId: string | null, channel: string | null): Call[] {
  const [calls, setCalls] = useState<Call[]>([]);
  const tick = callTick.value;
  useEffect(() => {
    setCalls([]);
  }, [conversationId]);
  useEffect(() => {
    // Only voice conversations (and widget calls, whose channel is web) can have calls.
    if (!conversationId || (channel !== "voice" && channel !== "web")) return;
    let stale = false;
    phoneApi
      .callsOf(conversationId)
      .then((items) => !stale && setCalls(items))
      .catch(() => !stale && setCalls([]));
    return () => {
      stale = true;
    };
  }, [conversationId, channel, tick]);
  return calls;
}

function Player({ url, label }: { url: string | null | undefined; label: string }) {
  const src = safeUrl(url);
  if (!src) return null;
  return (
    <div class="call-audio">
      <span class="small muted">{label}</span>
      <audio controls preload="none" src={src} aria-label={label} />
    </div>
  );
}

const CAUSES = ["agent_hangup", "caller_hangup", "ivr_hangup", "transferred_external", "voicemail", "voicemail_failed", "hangup"];

/** The server's hang-up cause in words; one this console does not know is shown as sent. */
function causeText(cause: string): string {
  return CAUSES.includes(cause) ? t(`phone.cause.${cause}`) : cause;
}

export function CallItem({ call }: { call: Call }) {
  // While the call is live its panel counts the time; the timeline shows the outcome.
  const duration = isLive(call.status) ? null : (call.duration_s ?? call.talk_s ?? null);
  const path = ivrPathText(call.ivr_path);
  return (
    <li class={`msg event call-item call-${call.status}`} data-call={call.id} aria-label={t("phone.call_item")}>
      <div class="call-line">
        <span>
          📞 {t(call.direction === "outbound" ? "phone.outbound" : "phone.inbound")} · {t(`phone.status.${call.status}`)}
          {call.agent_id && <> · {agentName(call.agent_id)}</>}
        </span>
        {duration !== null && (
          <span data-testid="call-duration"> · {t("phone.duration", { time: formatDuration(duration) })}</span>
        )}
        {call.wait_s != null && <span class="muted"> · {t("phone.wait", { time: formatDuration(call.wait_s) })}</span>}
        {path && <span class="muted"> · {t("phone.ivr_path")}: {path}</span>}
        {call.hangup_cause && <span class="muted"> · {t("phone.cause", { cause: causeText(call.hangup_cause) })}</span>}{" "}
        <time dateTime={call.created_at}>{formatTime(call.created_at)}</time>
      </div>
      <Player url={call.recording_url} label={t("phone.recording")} />
      <Player url={call.voicemail_url} label={t("phone.voicemail")} />
    </li>
  );
}
