// Inbox pages: every channel's settings as a form drawn from its schema
// (GET /api/v1/channels); secrets are write-only and generated ones are shown once.
import { useEffect, useState } from "preact/hooks";
import { ChannelField, ChannelSchema, Inbox, del, get, list, patch, post } from "../api";
import { said, t } from "../i18n";
import { groups, inboxes, loadDirectory, notify, reportError } from "../store";
import { CopyButton, Errors, FieldErr, OtherErrors, Option, Row, SchemaInput, useErrors } from "./forms";
import { Calendar } from "./hours";
import { MailStatusPanel } from "./mailstatus";
import { IvrEditor } from "./ivr";

const SECTION_ORDER = ["connection", "widget", "hours", "behaviour"];

export function widgetSnippet(inbox: Inbox): string {
  // Double-quoted attribute values; the key is server-generated URL-safe text.
  return `<script src="${location.origin}/widget.js" data-inbox="${inbox.public_key ?? ""}" async></script>`;
}

function absolute(url: string): string {
  return url.startsWith("/") ? location.origin + url : url;
}

function GeneratedSecrets({ secrets, schema, onClose }: { secrets: Record<string, string>; schema?: ChannelSchema; onClose: () => void }) {
  const labelOf = (name: string) => said(schema?.fields.find((f) => f.name === name)?.label) || name;
  return (
    <div class="card warn-card" role="alert" aria-label={t("admin.generated_title")}>
      <strong>{t("admin.generated_title")}</strong>
      <p class="small">{t("admin.generated_warning")}</p>
      {Object.entries(secrets).map(([name, value]) => (
        <div class="snippet">
          <span class="form-label">{labelOf(name)}</span>
          <code data-testid={`generated-${name}`}>{value}</code>
          <CopyButton text={value} label={labelOf(name)} />
        </div>
      ))}
      <button type="button" onClick={onClose}>{t("admin.generated_done")}</button>
    </div>
  );
}

function initialConfig(schema: ChannelSchema | undefined, inbox: Inbox | null): Record<string, unknown> {
  const draft: Record<string, unknown> = {};
  for (const f of schema?.fields ?? []) {
    if (f.secret) draft[f.name] = "";
    else if (inbox?.config && f.name in inbox.config) draft[f.name] = inbox.config[f.name];
    else if (f.default !== null && f.default !== undefined) draft[f.name] = f.default;
  }
  return draft;
}

/** A voice inbox's IVR tree (`config.ivr`) is edited by IvrEditor, not by a schema row. */
function isIvrField(kind: string, f: ChannelField): boolean {
  return kind === "voice" && f.name === "ivr";
}

function draftOf(schema: ChannelSchema | undefined, inbox: Inbox | null, kind: string): Record<string, unknown> {
  const draft = initialConfig(schema, inbox);
  if (kind === "voice") draft.ivr = inbox?.config?.ivr ?? null;
  return draft;
}

function configBody(schema: ChannelSchema, draft: Record<string, unknown>): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const f of schema.fields) {
    const v = draft[f.name];
    // A blank secret keeps the stored one; a blank optional text is left out.
    if (f.secret) {
      // null clears an optional secret (e.g. the previous EncodingAESKey after a rollover).
      if ((typeof v === "string" && v !== "") || v === null) body[f.name] = v;
    } else if (v !== undefined && !(v === "" && !f.required) && v !== null) {
      body[f.name] = v;
    }
  }
  return body;
}

function InboxForm({ inbox, channels, calendars, onSaved, onCancel }: {
  inbox: Inbox | null;
  channels: ChannelSchema[];
  calendars: Option[];
  onSaved: (saved: Inbox) => void;
  onCancel: () => void;
}) {
  const [kind, setKind] = useState(inbox?.kind ?? channels[0]?.kind ?? "web");
  const schema = channels.find((c) => c.kind === kind);
  const [name, setName] = useState(inbox?.name ?? "");
  const [draft, setDraft] = useState(() => draftOf(schema, inbox, kind));
  const [groupId, setGroupId] = useState(inbox?.default_group_id ?? "");
  const [active, setActive] = useState(inbox?.active ?? true);
  const [tested, setTested] = useState<{ ok: boolean; message: string } | null>(null);
  const [rotated, setRotated] = useState<Record<string, string> | null>(null);
  const [busy, setBusy] = useState(false);
  const errors: Errors = useErrors();
  const groupOptions: Option[] = groups.value.map((g) => ({ value: g.id, label: g.name }));

  const chooseKind = (k: string) => {
    setKind(k);
    setDraft(draftOf(channels.find((c) => c.kind === k), null, k));
    errors.clear();
  };
  const save = async (e: Event) => {
    e.preventDefault();
    if (!schema) return;
    setBusy(true);
    errors.clear();
    try {
      const config = configBody(schema, draft);
      if (kind === "voice" && draft.ivr !== undefined) config.ivr = draft.ivr;
      const saved = inbox
        ? await patch<Inbox>(`/api/v1/inboxes/${inbox.id}`, { name, config, default_group_id: groupId || null, active })
        : await post<Inbox>("/api/v1/inboxes", { kind, name, config, default_group_id: groupId || null });
      notify(t("admin.saved"));
      setDraft(draftOf(schema, saved, kind));
      await loadDirectory();
      onSaved(saved);
    } catch (err) {
      errors.fail(err);
    } finally {
      setBusy(false);
    }
  };
  const test = async () => {
    if (!inbox) return;
    setTested(null);
    try {
      setTested(await post<{ ok: boolean; message: string }>(`/api/v1/inboxes/${inbox.id}/test`));
    } catch (err) {
      reportError(err);
    }
  };
  const rotate = async (f: ChannelField) => {
    if (!inbox || !window.confirm(t("admin.rotate_confirm", { name: said(f.label) }))) return;
    try {
      const out = await post<Inbox>(`/api/v1/inboxes/${inbox.id}/secrets/${f.name}/rotate`);
      setRotated(out.generated_secrets ?? null);
      await loadDirectory();
    } catch (err) {
      reportError(err);
    }
  };

  const sections = SECTION_ORDER.filter((s) => schema?.fields.some((f) => f.section === s && !isIvrField(kind, f)));
  const fieldNames = new Set(["name", "kind", "default_group_id", ...(schema?.fields ?? []).map((f) => `config.${f.name}`)]);
  const title = inbox ? inbox.name : t("admin.new_inbox");
  return (
    <form class="card stack inbox-form" onSubmit={save} aria-label={title} noValidate>
      <h2>{title}</h2>
      {rotated && <GeneratedSecrets secrets={rotated} schema={schema} onClose={() => setRotated(null)} />}
      <Row label={t("admin.kind")} error={<FieldErr errors={errors} field="kind" />}>
        {inbox ? (
          <span>{said(schema?.label) || t(`channel.${kind}`)}</span>
        ) : (
          <select aria-label={t("admin.kind")} value={kind} onChange={(e) => chooseKind(e.currentTarget.value)}>
            {channels.map((c) => (
              <option value={c.kind}>{said(c.label)}</option>
            ))}
          </select>
        )}
      </Row>
      <Row label={t("admin.name")} error={<FieldErr errors={errors} field="name" />}>
        <input aria-label={t("admin.name")} value={name} maxLength={200} onInput={(e) => setName(e.currentTarget.value)} />
      </Row>
      <Row label={t("admin.default_group")} help={t("admin.default_group_help")} error={<FieldErr errors={errors} field="default_group_id" />}>
        <select aria-label={t("admin.default_group")} value={groupId} onChange={(e) => setGroupId(e.currentTarget.value)}>
          <option value="">{t("admin.no_group")}</option>
          {groupOptions.map((o) => (
            <option value={o.value}>{o.label}</option>
          ))}
        </select>
      </Row>
      {inbox && (
        <Row label={t("admin.active")}>
          <input type="checkbox" aria-label={t("admin.active")} checked={active} onChange={(e) => setActive(e.currentTarget.checked)} />
        </Row>
      )}
      {sections.map((section) => (
        <fieldset class="section">
          <legend>{t(`admin.section_${section}`)}</legend>
          {schema!.fields
            .filter((f) => f.section === section && !isIvrField(kind, f))
            .map((f) => {
              const label = said(f.label);
              const isSet = (inbox?.secrets_set ?? []).includes(f.name);
              return (
                <Row
                  label={f.required ? `${label} *` : label}
                  help={said(f.help)}
                  error={<FieldErr errors={errors} field={`config.${f.name}`} />}
                >
                  <SchemaInput
                    field={f}
                    label={label}
                    value={draft[f.name]}
                    isSet={isSet}
                    onChange={(v) => setDraft({ ...draft, [f.name]: v })}
                    calendars={calendars}
                    groups={groupOptions}
                    inboxes={inboxes.value.map((i) => ({ value: i.id, label: i.name, kind: i.kind }))}
                  />
                  {inbox && f.secret && f.generated && (
                    <button type="button" class="ghost small" onClick={() => void rotate(f)}>
                      {t("admin.rotate")}
                    </button>
                  )}
                </Row>
              );
            })}
        </fieldset>
      ))}
      {inbox && schema?.webhook && inbox.webhook_url && (
        <Row label={t("admin.webhook_url")} help={t("admin.webhook_help")}>
          <div class="snippet">
            <code data-testid="webhook-url">{absolute(inbox.webhook_url)}</code>
            <CopyButton text={absolute(inbox.webhook_url)} label={t("admin.webhook_url")} />
          </div>
        </Row>
      )}
      {inbox && inbox.kind === "web" && (
        <Row label={t("admin.snippet")}>
          <div class="snippet">
            <code>{widgetSnippet(inbox)}</code>
            <CopyButton text={widgetSnippet(inbox)} label={inbox.name} />
          </div>
        </Row>
      )}
      {inbox && inbox.kind === "email" && <MailStatusPanel inboxId={inbox.id} />}
      {kind === "voice" && (
        <IvrEditor value={draft.ivr} errors={errors} onChange={(ivr) => setDraft((d) => ({ ...d, ivr }))} />
      )}
      <OtherErrors errors={errors} known={(f) => fieldNames.has(f) || f.startsWith("config.ivr")} />
      <div class="inline">
        <button type="submit" class="primary" disabled={busy}>{inbox ? t("admin.save") : t("admin.create")}</button>
        {inbox && schema?.can_test && (
          <button type="button" onClick={() => void test()}>{t("admin.test_connection")}</button>
        )}
        <button type="button" class="ghost" onClick={onCancel}>{t("admin.close")}</button>
      </div>
      {tested && (
        <p role="status" class={tested.ok ? "ok" : "field-error"}>
          {tested.ok ? "✓ " : "✗ "}
          {tested.message}
        </p>
      )}
    </form>
  );
}

export function InboxesAdmin() {
  const [channels, setChannels] = useState<ChannelSchema[] | null>(null);
  const [calendars, setCalendars] = useState<Option[]>([]);
  const [editing, setEditing] = useState<string | null>(null);
  const [generated, setGenerated] = useState<{ secrets: Record<string, string>; kind: string } | null>(null);
  useEffect(() => {
    list<ChannelSchema>("/api/v1/channels").then(setChannels).catch((e: unknown) => {
      setChannels([]);
      reportError(e);
    });
    list<Calendar>("/api/v1/routing/calendars")
      .then((items) => setCalendars(items.map((c) => ({ value: c.id, label: c.name }))))
      .catch(() => setCalendars([]));
  }, []);
  if (channels === null) return <p class="muted">{t("conv.loading")}</p>;
  const current = editing && editing !== "new" ? inboxes.value.find((i) => i.id === editing) ?? null : null;
  const schemaOf = (kind: string) => channels.find((c) => c.kind === kind);
  const reopen = async (id: string) => {
    // Read the inbox afresh: the directory list may predate the last save.
    try {
      const fresh = await get<Inbox>(`/api/v1/inboxes/${id}`);
      inboxes.value = inboxes.value.map((i) => (i.id === id ? fresh : i));
    } catch (err) {
      reportError(err);
    }
    setEditing(id);
  };
  const archive = async (i: Inbox, archived: boolean) => {
    if (archived && !window.confirm(t("secrets.archive_confirm", { name: i.name }))) return;
    try {
      const out = await post<Inbox>(`/api/v1/inboxes/${i.id}/${archived ? "archive" : "unarchive"}`);
      inboxes.value = inboxes.value.map((x) => (x.id === i.id ? out : x));
      notify(t("admin.saved"));
    } catch (err) {
      reportError(err);
    }
  };
  const remove = async (i: Inbox) => {
    try {
      // The count is read now, so the question names what deleting would take with it.
      const fresh = await get<Inbox>(`/api/v1/inboxes/${i.id}`);
      const count = fresh.conversation_count ?? 0;
      if (count > 0 && !fresh.archived_at) {
        window.alert(t("secrets.archive_first", { name: i.name, count }));
        return;
      }
      const question = count > 0 ? "secrets.delete_confirm" : "secrets.delete_confirm_empty";
      if (!window.confirm(t(question, { name: i.name, count }))) return;
      await del(`/api/v1/inboxes/${i.id}`);
      if (editing === i.id) setEditing(null);
      await loadDirectory();
      notify(t("secrets.deleted"));
    } catch (err) {
      reportError(err);
    }
  };
  return (
    <>
      {generated && (
        <GeneratedSecrets secrets={generated.secrets} schema={schemaOf(generated.kind)} onClose={() => setGenerated(null)} />
      )}
      <div class="inline toolbar">
        <button type="button" class="primary" onClick={() => setEditing("new")}>+ {t("admin.new_inbox")}</button>
      </div>
      {editing && (editing === "new" || current) && (
        <InboxForm
          key={editing}
          inbox={current}
          channels={channels}
          calendars={calendars}
          onCancel={() => setEditing(null)}
          onSaved={(saved) => {
            if (saved.generated_secrets && Object.keys(saved.generated_secrets).length)
              setGenerated({ secrets: saved.generated_secrets, kind: saved.kind });
            if (editing === "new") void reopen(saved.id);
            else inboxes.value = inboxes.value.map((i) => (i.id === saved.id ? saved : i));
          }}
        />
      )}
      <table>
        <thead>
          <tr>
            <th scope="col">{t("admin.name")}</th>
            <th scope="col">{t("admin.kind")}</th>
            <th scope="col">{t("admin.status")}</th>
            <th scope="col"><span class="sr-only">{t("admin.edit")}</span></th>
          </tr>
        </thead>
        <tbody>
          {inboxes.value.map((i) => (
            <tr>
              <th scope="row">{i.name}</th>
              <td>{said(schemaOf(i.kind)?.label) || t(`channel.${i.kind}`)}</td>
              <td>{i.archived_at ? t("secrets.archived") : i.active === false ? t("admin.inactive") : t("admin.active")}</td>
              <td>
                <div class="inline">
                <button type="button" aria-label={`${t("admin.edit")}: ${i.name}`} onClick={() => void reopen(i.id)}>
                  {t("admin.edit")}
                </button>
                <button
                  type="button"
                  aria-label={`${t(i.archived_at ? "secrets.unarchive" : "secrets.archive")}: ${i.name}`}
                  onClick={() => void archive(i, !i.archived_at)}
                >
                  {t(i.archived_at ? "secrets.unarchive" : "secrets.archive")}
                </button>
                <button type="button" class="ghost danger" aria-label={`${t("secrets.delete")}: ${i.name}`} onClick={() => void remove(i)}>
                  {t("secrets.delete")}
                </button>
                </div>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
