// Skill groups: members, and how work is shared among them — every ACD strategy and
// modifier of routing/acd.py GroupPolicy (sticky agent, region, VIP first, overflow).
import { useEffect, useState } from "preact/hooks";
import { Group, get, patch, post, put } from "../api";
import { t } from "../i18n";
import { agents, groups, loadDirectory, notify, reportError } from "../store";
import { FieldErr, OtherErrors, useErrors } from "./forms";

export const STRATEGIES = ["least_busy", "round_robin", "longest_idle"];

interface Policy {
  strategy: string;
  sticky_days?: number;
  region_match?: boolean;
  vip_first?: boolean;
  max_wait_seconds?: number | null;
  overflow_group_id?: string | null;
  overflow_leave_message?: boolean;
}

function PolicyEditor({ group }: { group: Group }) {
  const [policy, setPolicy] = useState<Policy | null>(null);
  const errors = useErrors();
  useEffect(() => {
    get<{ policy: Policy }>(`/api/v1/routing/groups/${group.id}/policy`)
      // The server leaves defaults out (least_busy, no modifiers): fill them in.
      .then((p) => setPolicy({ ...p.policy, strategy: p.policy.strategy ?? group.strategy ?? "least_busy" }))
      .catch(() => setPolicy({ strategy: group.strategy ?? "least_busy" }));
  }, [group.id]);
  if (!policy) return null;
  const save = async (e: Event) => {
    e.preventDefault();
    errors.clear();
    try {
      const body: Policy = {
        strategy: policy.strategy,
        sticky_days: policy.sticky_days ?? 0,
        region_match: !!policy.region_match,
        vip_first: !!policy.vip_first,
        max_wait_seconds: policy.max_wait_seconds || null,
        overflow_group_id: policy.overflow_group_id || null,
        overflow_leave_message: !!policy.overflow_leave_message,
      };
      const out = await put<{ policy: Policy }>(`/api/v1/routing/groups/${group.id}/policy`, body);
      setPolicy(out.policy);
      await loadDirectory();
      notify(t("admin.saved"));
    } catch (err) {
      errors.fail(err);
    }
  };
  const sticky = (policy.sticky_days ?? 0) > 0;
  return (
    <form class="policy stack" onSubmit={save} aria-label={`${t("acd.title")}: ${group.name}`}>
      <label class="inline small">
        {t("admin.strategy")}
        <select aria-label={`${t("admin.strategy")}: ${group.name}`} value={policy.strategy} onChange={(e) => setPolicy({ ...policy, strategy: e.currentTarget.value })}>
          {STRATEGIES.map((s) => (
            <option value={s}>{t(`strategy.${s}`)}</option>
          ))}
        </select>
      </label>
      <span class="muted small">{t(`strategy.${policy.strategy}_hint`)}</span>
      <FieldErr errors={errors} field="strategy" />
      <label class="inline small">
        <input type="checkbox" checked={sticky} onChange={() => setPolicy({ ...policy, sticky_days: sticky ? 0 : 7 })} />
        {t("acd.sticky")}
        {sticky && (
          <>
            <input type="number" class="narrow" min={1} max={365} aria-label={`${t("acd.sticky_days")}: ${group.name}`} value={policy.sticky_days ?? 0} onInput={(e) => setPolicy({ ...policy, sticky_days: Number(e.currentTarget.value) })} />
            {t("acd.days")}
          </>
        )}
      </label>
      <FieldErr errors={errors} field="sticky_days" />
      <label class="inline small">
        <input type="checkbox" checked={!!policy.region_match} onChange={(e) => setPolicy({ ...policy, region_match: e.currentTarget.checked })} />
        {t("acd.region")}
      </label>
      <label class="inline small">
        <input type="checkbox" checked={!!policy.vip_first} onChange={(e) => setPolicy({ ...policy, vip_first: e.currentTarget.checked })} />
        {t("acd.vip")}
      </label>
      <label class="inline small">
        {t("acd.max_wait")}
        <input type="number" class="narrow" min={1} aria-label={`${t("acd.max_wait")}: ${group.name}`} value={policy.max_wait_seconds ? Math.round(policy.max_wait_seconds / 60) : ""} onInput={(e) => setPolicy({ ...policy, max_wait_seconds: e.currentTarget.value === "" ? null : Number(e.currentTarget.value) * 60 })} />
        {t("acd.minutes")}
      </label>
      <FieldErr errors={errors} field="max_wait_seconds" />
      {policy.max_wait_seconds ? (
        <span class="inline small wrap">
          {t("acd.then")}
          <select aria-label={`${t("acd.overflow")}: ${group.name}`} value={policy.overflow_leave_message ? "__leave" : policy.overflow_group_id ?? ""} onChange={(e) => {
            const v = e.currentTarget.value;
            setPolicy({ ...policy, overflow_leave_message: v === "__leave", overflow_group_id: v && v !== "__leave" ? v : null });
          }}>
            <option value="">{t("acd.keep_waiting")}</option>
            <option value="__leave">{t("acd.leave_message")}</option>
            {groups.value.filter((g) => g.id !== group.id).map((g) => (
              <option value={g.id}>{t("acd.move_to", { name: g.name })}</option>
            ))}
          </select>
        </span>
      ) : null}
      <FieldErr errors={errors} field="overflow_group_id" />
      <OtherErrors errors={errors} known={(f) => ["strategy", "sticky_days", "max_wait_seconds", "overflow_group_id"].includes(f)} />
      <div>
        <button type="submit">{t("admin.save")}</button>
      </div>
    </form>
  );
}

export function GroupsAdmin() {
  const [name, setName] = useState("");
  const [strategy, setStrategy] = useState("least_busy");
  const errors = useErrors();
  const create = async (e: Event) => {
    e.preventDefault();
    errors.clear();
    try {
      await post("/api/v1/groups", { name, strategy });
      setName("");
      await loadDirectory();
    } catch (err) {
      errors.fail(err);
    }
  };
  const update = async (g: Group, body: Partial<Group>) => {
    try {
      await patch(`/api/v1/groups/${g.id}`, body);
      await loadDirectory();
      notify(t("admin.saved"));
    } catch (err) {
      reportError(err);
    }
  };
  return (
    <>
      <form class="inline wrap" onSubmit={create} aria-label={t("admin.create")}>
        <input aria-label={t("admin.name")} placeholder={t("admin.name")} required value={name} onInput={(e) => setName(e.currentTarget.value)} />
        <select aria-label={t("admin.strategy")} value={strategy} onChange={(e) => setStrategy(e.currentTarget.value)}>
          {STRATEGIES.map((s) => (
            <option value={s}>{t(`strategy.${s}`)}</option>
          ))}
        </select>
        <button type="submit" class="primary">{t("admin.create")}</button>
        <FieldErr errors={errors} field="name" />
        <OtherErrors errors={errors} known={(f) => f === "name"} />
      </form>
      <table>
        <thead>
          <tr>
            <th scope="col">{t("admin.name")}</th>
            <th scope="col">{t("acd.title")}</th>
            <th scope="col">{t("admin.members")}</th>
          </tr>
        </thead>
        <tbody>
          {groups.value.map((g) => (
            <tr>
              <th scope="row">{g.name}</th>
              <td>
                <PolicyEditor group={g} />
              </td>
              <td>
                <fieldset class="members">
                  <legend class="sr-only">{`${t("admin.members")}: ${g.name}`}</legend>
                  {agents.value.map((a) => {
                    const ids = g.member_ids ?? [];
                    const on = ids.includes(a.id);
                    return (
                      <label class="inline small">
                        <input type="checkbox" checked={on} onChange={() => void update(g, { member_ids: on ? ids.filter((x) => x !== a.id) : [...ids, a.id] })} />
                        {a.name}
                      </label>
                    );
                  })}
                </fieldset>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
