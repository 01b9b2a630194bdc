// Calls on the supervisor board: the snapshot's `calls` block (VOICE.md), with the
// longest wait counted up locally between reads like the chat queues'.
import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError } from "../api";
import { formatDuration, t } from "../i18n";
import { type Call, phoneApi } from "./api";
import { type CallMedia, connectRoom } from "./media";

export interface BoardCalls {
  queued: number;
  ringing: number;
  talking: number;
  held: number;
  longest_wait_s: number | null;
}

/** The talking calls, each with a Listen button: a listen-only, hidden room token. */
function TalkingCalls({ talking }: { talking: number }) {
  const [items, setItems] = useState<Call[]>([]);
  const [listening, setListening] = useState<string | null>(null);
  const [error, setError] = useState("");
  const media = useRef<CallMedia | null>(null);
  useEffect(() => {
    let live = true;
    phoneApi.talking().then(
      (found) => live && setItems(found),
      () => undefined,
    );
    return () => {
      live = false;
    };
  }, [talking]);
  useEffect(() => () => void media.current?.disconnect(), []);
  const stop = async () => {
    const room = media.current;
    media.current = null;
    setListening(null);
    await room?.disconnect().catch(() => undefined);
  };
  const listen = async (call: Call) => {
    await stop();
    setError("");
    try {
      const joined = await phoneApi.listen(call.id);
      const room = await connectRoom(joined.livekit_url, joined.token, null);
      media.current = room;
      room.onEnded(() => {
        if (media.current === room) void stop();
      });
      setListening(call.id);
    } catch (e) {
      setError(t("phone.board.listen_failed", { reason: e instanceof ApiError ? e.detail : String(e) }));
    }
  };
  if (!items.length && !listening) return null;
  return (
    <div class="talking-calls">
      <h3>{t("phone.board.talking_calls")}</h3>
      <ul data-testid="talking-calls">
        {items.map((call) => {
          const who = call.contact.name || call.contact.phone || "—";
          const on = listening === call.id;
          return (
            <li key={call.id} data-call={call.id}>
              <span>{who}</span>
              {on ? (
                <>
                  <span class="badge" role="status">
                    {t("phone.board.listening")}
                  </span>
                  <button type="button" onClick={() => void stop()}>
                    {t("phone.board.stop")}
                  </button>
                </>
              ) : (
                <button type="button" aria-label={t("phone.board.listen_to", { who })} onClick={() => void listen(call)}>
                  {t("phone.board.listen")}
                </button>
              )}
            </li>
          );
        })}
      </ul>
      {error && <p role="alert">{error}</p>}
    </div>
  );
}

export function CallsTile({ calls, drift }: { calls: BoardCalls | undefined; drift: number }) {
  if (!calls) return null;
  const cells: [string, number | string][] = [
    ["queued", calls.queued],
    ["ringing", calls.ringing],
    ["talking", calls.talking],
    ["held", calls.held],
    [
      "longest",
      calls.queued && calls.longest_wait_s != null ? formatDuration(calls.longest_wait_s + drift) : "—",
    ],
  ];
  return (
    <section class="tile" aria-labelledby="calls-title" data-testid="board-calls">
      <h2 id="calls-title">{t("phone.board.title")}</h2>
      <dl class="today">
        {cells.map(([key, value]) => (
          <>
            <dt>{t(`phone.board.${key}`)}</dt>
            <dd data-testid={`calls-${key}`}>{value}</dd>
          </>
        ))}
      </dl>
      <TalkingCalls talking={calls.talking + calls.held} />
    </section>
  );
}
