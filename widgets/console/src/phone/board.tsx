// Calls on the supervisor board: the snapshot's `calls` block (VOICE.md), with the
// longest wait counted up locally between reads like the chat queues'.
import { formatDuration, t } from "../i18n";

export interface BoardCalls {
  queued: number;
  ringing: number;
  talking: number;
  held: number;
  longest_wait_s: number | null;
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
    </section>
  );
}
