import { useEffect, useRef, useState } from "preact/hooks";
import { get, post } from "./api";
import { refusedForCapacity } from "./capacity";
import { formatDuration, formatTime, t } from "./i18n";
import { go } from "./router";
import { agents, boardTick, reportError } from "./store";
import { BoardTickets, TicketBreach } from "./tickets/ops";
import { inWords } from "./tickets/screen";
import { BoardCalls, CallsTile } from "./phone/board";

export interface Board {
  generated_at: string;
  queues: { group_id: string | null; group_name: string | null; queued: number; longest_wait_seconds: number }[];
  agents: {
    id: string;
    name: string;
    presence: string;
    load: number;
    capacity: number;
  }[];
  in_progress: {
    conversation_id: string;
    contact_name: string | null;
    channel: string;
    status: string;
    assignee_id: string | null;
    assignee_name: string | null;
    group_id: string | null;
    group_name: string | null;
    since: string;
  }[];
  service_level: {
    threshold_seconds: number;
    offered: number;
    answered_within: number;
    ratio: number | null;
  };
  today: { created: number; resolved: number; transferred: number };
  tickets?: TicketBreach[];
  calls?: BoardCalls;
}

export function BoardScreen() {
  const [board, setBoard] = useState<Board | null>(null);
  const [now, setNow] = useState(Date.now());
  const timer = useRef<number>();
  const load = async () => {
    try {
      setBoard(await get<Board>("/api/v1/reports/board"));
    } catch (e) {
      reportError(e);
    }
  };
  // Every live event bumps boardTick; a burst becomes one read.
  const tick = boardTick.value;
  useEffect(() => {
    window.clearTimeout(timer.current);
    timer.current = window.setTimeout(() => void load(), 200);
  }, [tick]);
  useEffect(() => {
    const poll = window.setInterval(() => void load(), 15000);
    const clock = window.setInterval(() => setNow(Date.now()), 1000);
    return () => {
      window.clearInterval(poll);
      window.clearInterval(clock);
    };
  }, []);
  if (!board) return <main class="board pad">{t("conv.loading")}</main>;
  // Waits keep growing between reads; count them up locally from the server's clock.
  const drift = (now - new Date(board.generated_at).getTime()) / 1000;
  const sl = board.service_level;
  const reassign = async (conversationId: string, assigneeId: string, override = false) => {
    try {
      await post(`/api/v1/conversations/${conversationId}/assign`, {
        assignee_id: assigneeId,
        ...(override ? { override_capacity: true } : {}),
      });
      await load();
    } catch (e) {
      if (!refusedForCapacity(e, () => reassign(conversationId, assigneeId, true))) reportError(e);
    }
  };
  return (
    <main class="board pad" aria-labelledby="board-title">
      <div class="board-head">
        <h1 id="board-title">{t("board.title")}</h1>
        <span class="muted small" role="status">
          {t("board.updated", { time: formatTime(board.generated_at) })}
        </span>
      </div>
      <div class="tiles">
        <section class="tile" aria-labelledby="sl-title">
          <h2 id="sl-title">{t("board.service_level")}</h2>
          <p class="big" data-testid="service-level">
            {sl.ratio === null ? "—" : `${Math.round(sl.ratio * 100)}%`}
          </p>
          <p class="muted small">
            {t("board.sl_detail", {
              answered: sl.answered_within,
              offered: sl.offered,
              threshold: sl.threshold_seconds,
            })}
          </p>
        </section>
        <section class="tile" aria-labelledby="today-title">
          <h2 id="today-title">{t("board.today")}</h2>
          <dl class="today">
            <dt>{t("board.created")}</dt>
            <dd data-testid="today-created">{board.today.created}</dd>
            <dt>{t("board.resolved")}</dt>
            <dd data-testid="today-resolved">{board.today.resolved}</dd>
            <dt>{t("board.transferred")}</dt>
            <dd>{board.today.transferred}</dd>
          </dl>
        </section>
        <CallsTile calls={board.calls} drift={drift} />
        <section class="tile grow" aria-labelledby="queues-title">
          <h2 id="queues-title">{t("board.queues")}</h2>
          <table>
            <thead>
              <tr>
                <th scope="col">{t("board.group")}</th>
                <th scope="col">{t("board.queued")}</th>
                <th scope="col">{t("board.longest")}</th>
              </tr>
            </thead>
            <tbody>
              {board.queues.map((q) => (
                <tr data-group={q.group_id ?? ""}>
                  <th scope="row">{q.group_name ?? t("board.no_group")}</th>
                  <td class="num" data-testid="queued">
                    {q.queued}
                  </td>
                  <td class="num">
                    {q.queued ? formatDuration(q.longest_wait_seconds + drift) : "—"}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      </div>
      <section aria-labelledby="agents-title">
        <h2 id="agents-title">{t("board.agents")}</h2>
        <table>
          <thead>
            <tr>
              <th scope="col">{t("board.agent")}</th>
              <th scope="col">{t("board.presence")}</th>
              <th scope="col">{t("board.load")}</th>
            </tr>
          </thead>
          <tbody>
            {board.agents.map((a) => (
              <tr>
                <th scope="row">{a.name}</th>
                <td>
                  <span class={`presence presence-${a.presence}`}>
                    <span class="dot" aria-hidden="true" /> {t(`presence.${a.presence}`)}
                  </span>
                </td>
                <td>
                  <meter
                    min={0}
                    max={Math.max(1, a.capacity)}
                    value={a.load}
                    aria-label={`${a.name} ${t("board.load")}`}
                  />{" "}
                  {a.load}/{a.capacity}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <BoardTickets rows={board.tickets ?? []} words={inWords} />
      <section aria-labelledby="progress-title">
        <h2 id="progress-title">{t("board.in_progress")}</h2>
        {board.in_progress.length === 0 && <p class="muted">{t("board.none")}</p>}
        <table hidden={board.in_progress.length === 0}>
          <thead>
            <tr>
              <th scope="col">{t("contact.name")}</th>
              <th scope="col">{t("filter.channel")}</th>
              <th scope="col">{t("filter.status")}</th>
              <th scope="col">{t("board.group")}</th>
              <th scope="col">{t("board.agent")}</th>
              <th scope="col">{t("board.waiting")}</th>
              <th scope="col">{t("board.reassign")}</th>
            </tr>
          </thead>
          <tbody>
            {board.in_progress.map((c) => (
              <tr>
                <th scope="row">
                  <a href={`#/inbox/${c.conversation_id}`} onClick={() => go(`/inbox/${c.conversation_id}`)}>
                    {c.contact_name || t("conv.visitor")}
                  </a>
                </th>
                <td>{t(`channel.${c.channel}`)}</td>
                <td>{t(`status.${c.status}`)}</td>
                <td>{c.group_name ?? ""}</td>
                <td>{c.assignee_name ?? "—"}</td>
                <td class="num">
                  {formatDuration((now - new Date(c.since).getTime()) / 1000)}
                </td>
                <td>
                  <select
                    aria-label={`${t("board.reassign")}: ${c.contact_name || t("conv.visitor")}`}
                    value=""
                    onChange={(e) => {
                      const v = e.currentTarget.value;
                      if (v) void reassign(c.conversation_id, v);
                    }}
                  >
                    <option value="">{t("board.reassign")}…</option>
                    {(agents.value.length ? agents.value : board.agents).map((a) => (
                      <option value={a.id}>{a.name}</option>
                    ))}
                  </select>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </main>
  );
}
