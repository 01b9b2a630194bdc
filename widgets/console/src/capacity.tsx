import { signal } from "@preact/signals";
import { useEffect, useRef } from "preact/hooks";
import { ApiError } from "./api";
import { t } from "./i18n";

/** conc: the server refused to give a conversation to an agent who is at capacity
 * (409, `reason: "at_capacity"`). `detail` is already in the user's language; admins and
 * supervisors (`canOverride`) may send the same request again with the override. */
export interface CapacityRefusal {
  detail: string;
  canOverride: boolean;
  retry: () => Promise<unknown>;
}

export const capacityRefusal = signal<CapacityRefusal | null>(null);

/** When `e` is an at-capacity refusal, show it where the action was taken (a dialog over
 * it) and return true; `retry` sends the request again with `override_capacity: true`. */
export function refusedForCapacity(e: unknown, retry: () => Promise<unknown>): boolean {
  if (!(e instanceof ApiError) || e.status !== 409 || e.problem.reason !== "at_capacity") {
    return false;
  }
  capacityRefusal.value = {
    detail: e.detail,
    canOverride: e.problem.can_override === true,
    retry,
  };
  return true;
}

export function CapacityDialog() {
  const refusal = capacityRefusal.value;
  const first = useRef<HTMLButtonElement>(null);
  useEffect(() => first.current?.focus(), [refusal]);
  if (!refusal) return null;
  const close = () => (capacityRefusal.value = null);
  const override = async () => {
    close();
    await refusal.retry();
  };
  return (
    <div class="backdrop over" onClick={(e) => e.target === e.currentTarget && close()}>
      <div
        class="dialog card"
        role="alertdialog"
        aria-modal="true"
        aria-labelledby="capacity-title"
        aria-describedby="capacity-detail"
        onKeyDown={(e) => e.key === "Escape" && close()}
      >
        <h2 id="capacity-title">{t("capacity.title")}</h2>
        <p id="capacity-detail">{refusal.detail}</p>
        {refusal.canOverride && <p class="muted small">{t("capacity.override_hint")}</p>}
        <div class="buttons">
          <button type="button" class={refusal.canOverride ? "ghost" : "primary"} ref={first} onClick={close}>
            {refusal.canOverride ? t("action.cancel") : t("capacity.ok")}
          </button>
          {refusal.canOverride && (
            <button type="button" class="primary" onClick={() => void override()}>
              {t("capacity.override")}
            </button>
          )}
        </div>
      </div>
    </div>
  );
}
