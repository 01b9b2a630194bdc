// Pieces every admin form shares: server field errors shown beside their field, a copy
// button, and one input per channel-schema field type.
import { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import { ApiError, ChannelField, FieldProblem } from "../api";
import { said, t } from "../i18n";
import { reportError } from "../store";

export interface Errors {
  /** Messages for one field (`config.appid`), or for the form as a whole (""). */
  of: (field: string) => string[];
  /** Errors under a path prefix, e.g. every `conditions[0]...`. */
  under: (prefix: string) => FieldProblem[];
  fail: (err: unknown) => void;
  clear: () => void;
}

/** Keeps a form's field errors; anything that is not a field error goes to the toast. */
export function useErrors(): Errors {
  const [problems, setProblems] = useState<FieldProblem[]>([]);
  return {
    of: (field) => problems.filter((p) => p.field === field).map((p) => p.message),
    under: (prefix) => problems.filter((p) => p.field === prefix || p.field.startsWith(prefix)),
    fail: (err) => {
      if (err instanceof ApiError && err.errors.length) setProblems(err.errors);
      else {
        setProblems([]);
        reportError(err);
      }
    },
    clear: () => setProblems([]),
  };
}

export function FieldErr({ errors, field }: { errors: Errors; field: string }) {
  const messages = errors.of(field);
  if (!messages.length) return null;
  return (
    <span class="field-error" role="alert" data-field={field}>
      {messages.join(" ")}
    </span>
  );
}

/** Errors the form has no field for (e.g. a rule-level problem), listed above the buttons. */
export function OtherErrors({ errors, known }: { errors: Errors; known: (field: string) => boolean }) {
  const rest = errors.under("").filter((p) => !known(p.field));
  if (!rest.length) return null;
  return (
    <ul class="field-error plain" role="alert">
      {rest.map((p) => (
        <li>{p.field ? `${p.field}: ${p.message}` : p.message}</li>
      ))}
    </ul>
  );
}

export function CopyButton({ text, label }: { text: string; label: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <button
      type="button"
      aria-label={`${t("admin.copy")}: ${label}`}
      onClick={() => {
        void navigator.clipboard?.writeText(text);
        setCopied(true);
        window.setTimeout(() => setCopied(false), 2000);
      }}
    >
      {copied ? t("admin.copied") : t("admin.copy")}
    </button>
  );
}

export function Row({ label, help, error, children, id }: {
  label: string;
  help?: string;
  error?: ComponentChildren;
  children: ComponentChildren;
  id?: string;
}) {
  return (
    <div class="form-row" id={id}>
      <div class="form-label">{label}</div>
      <div class="form-control">
        {children}
        {help && <span class="help">{help}</span>}
        {error}
      </div>
    </div>
  );
}

export interface Option {
  value: string;
  label: string;
}

interface FieldProps {
  field: ChannelField;
  value: unknown;
  onChange: (value: unknown) => void;
  /** Secret fields: whether the server holds a value (shown as "set", never read back). */
  isSet?: boolean;
  calendars: Option[];
  groups: Option[];
  /** The workspace's other inboxes, for settings that name one (a web inbox answers left
   * messages through an e-mail inbox, and takes calls through a voice inbox). */
  inboxes?: (Option & { kind: string })[];
  label: string;
}

/** Per-language text (`{"zh-CN": ..., "en": ...}`) or one text for all languages. */
function TextInput({ field, value, onChange, label }: FieldProps) {
  const multi = field.type === "text";
  const input = (v: string, set: (s: string) => void, name: string) =>
    multi ? (
      <textarea aria-label={name} rows={3} maxLength={field.max_length ?? undefined} value={v} onInput={(e) => set(e.currentTarget.value)} />
    ) : (
      <input aria-label={name} maxLength={field.max_length ?? undefined} value={v} onInput={(e) => set(e.currentTarget.value)} />
    );
  if (value && typeof value === "object" && !Array.isArray(value)) {
    const map = value as Record<string, string>;
    return (
      <div class="stack tight">
        {(["zh-CN", "en"] as const).map((loc) => (
          <div class="lang-input">
            <span class="chip">{t(`lang.${loc}`)}</span>
            {input(map[loc] ?? "", (s) => onChange({ ...map, [loc]: s }), `${label} (${t(`lang.${loc}`)})`)}
          </div>
        ))}
      </div>
    );
  }
  return input(typeof value === "string" ? value : "", (s) => onChange(s), label);
}

export function SchemaInput(props: FieldProps) {
  const { field, value, onChange, isSet, label } = props;
  if (field.secret) {
    return (
      <span class="inline">
        <input
          type="password"
          autocomplete="new-password"
          aria-label={label}
          placeholder={isSet ? t("admin.secret_set_placeholder") : field.generated ? t("admin.secret_generated_placeholder") : ""}
          maxLength={field.max_length ?? undefined}
          value={typeof value === "string" ? value : ""}
          onInput={(e) => onChange(e.currentTarget.value)}
        />
        {isSet && value !== null && <span class="chip st-resolved" data-testid={`set-${field.name}`}>{t("admin.secret_set")}</span>}
        {isSet && !field.required && !field.generated && (
          value === null ? (
            <button type="button" class="ghost small" onClick={() => onChange("")}>{t("admin.secret_keep")}</button>
          ) : (
            <button type="button" class="ghost small" aria-label={`${t("admin.secret_clear")}: ${label}`} onClick={() => onChange(null)}>{t("admin.secret_clear")}</button>
          )
        )}
        {value === null && <span class="chip prio">{t("admin.secret_cleared")}</span>}
      </span>
    );
  }
  switch (field.type) {
    case "string":
    case "text":
      return <TextInput {...props} />;
    case "url":
      return <input type="url" aria-label={label} value={typeof value === "string" ? value : ""} onInput={(e) => onChange(e.currentTarget.value)} />;
    case "integer":
      return (
        <input type="number" class="narrow" aria-label={label} min={field.min ?? undefined} max={field.max ?? undefined}
          value={typeof value === "number" ? value : ""} onInput={(e) => onChange(e.currentTarget.value === "" ? null : Number(e.currentTarget.value))} />
      );
    case "boolean":
      return <input type="checkbox" aria-label={label} checked={value === true} onChange={(e) => onChange(e.currentTarget.checked)} />;
    case "color": {
      const v = typeof value === "string" ? value : String(field.default ?? "#1f6feb");
      return (
        <span class="inline">
          <input type="color" aria-label={`${label} (${t("admin.picker")})`} value={/^#[0-9a-fA-F]{6}$/.test(v) ? v : "#000000"} onInput={(e) => onChange(e.currentTarget.value)} />
          <input class="mono short" aria-label={label} value={v} onInput={(e) => onChange(e.currentTarget.value)} />
        </span>
      );
    }
    case "choice":
      return (
        <select aria-label={label} value={String(value ?? field.default ?? "")} onChange={(e) => onChange(e.currentTarget.value)}>
          {!field.required && field.default == null && <option value="">—</option>}
          {(field.choices ?? []).map((c) => (
            <option value={c.value}>{said(c.label)}</option>
          ))}
        </select>
      );
    case "locales": {
      const chosen = Array.isArray(value) ? (value as string[]) : [];
      return (
        <fieldset class="members" aria-label={label}>
          {(field.choices ?? []).map((c) => (
            <label class="inline small">
              <input type="checkbox" checked={chosen.includes(c.value)}
                onChange={() => onChange(chosen.includes(c.value) ? chosen.filter((x) => x !== c.value) : [...chosen, c.value])} />
              {said(c.label)}
            </label>
          ))}
        </fieldset>
      );
    }
    case "calendar":
    case "group": {
      const options = field.type === "calendar" ? props.calendars : props.groups;
      return (
        <select aria-label={label} value={String(value ?? "")} onChange={(e) => onChange(e.currentTarget.value || null)}>
          <option value="">{field.type === "calendar" ? t("admin.no_calendar") : t("admin.no_group")}</option>
          {options.map((o) => (
            <option value={o.value}>{o.label}</option>
          ))}
        </select>
      );
    }
    case "email_inbox":
    case "voice_inbox": {
      const kind = field.type === "email_inbox" ? "email" : "voice";
      return (
        <select aria-label={label} value={String(value ?? "")} onChange={(e) => onChange(e.currentTarget.value || null)}>
          <option value="">{t(field.type === "email_inbox" ? "admin.no_email_inbox" : "admin.no_voice_inbox")}</option>
          {(props.inboxes ?? []).filter((o) => o.kind === kind).map((o) => (
            <option value={o.value}>{o.label}</option>
          ))}
        </select>
      );
    }
    case "list":
      return <ListInput {...props} />;
    default:
      return <input aria-label={label} value={value == null ? "" : String(value)} onInput={(e) => onChange(e.currentTarget.value)} />;
  }
}

function ListInput(props: FieldProps) {
  const { field, value, onChange, label } = props;
  const items = Array.isArray(value) ? (value as Record<string, unknown>[]) : [];
  const sub = field.item_fields ?? [];
  const blank = () => Object.fromEntries(sub.map((f) => [f.name, f.default ?? (f.choices?.[0]?.value ?? (f.type === "boolean" ? false : ""))]));
  const set = (i: number, next: Record<string, unknown> | null) =>
    onChange(next === null ? items.filter((_, j) => j !== i) : items.map((x, j) => (j === i ? next : x)));
  return (
    <div class="list-editor" role="group" aria-label={label}>
      {items.map((item, i) => (
        <div class="list-item">
          {sub.map((f) => (
            <label class="inline small">
              {f.type !== "boolean" && said(f.label)}
              <SchemaInput {...props} field={f} label={`${label} ${i + 1}: ${said(f.label)}`} value={item[f.name]} onChange={(v) => set(i, { ...item, [f.name]: v })} />
              {f.type === "boolean" && said(f.label)}
            </label>
          ))}
          <button type="button" class="ghost" aria-label={`${t("admin.remove")}: ${label} ${i + 1}`} onClick={() => set(i, null)}>
            ✕
          </button>
        </div>
      ))}
      <button type="button" onClick={() => onChange([...items, blank()])} disabled={field.max_length != null && items.length >= field.max_length}>
        + {t("admin.add_item")}
      </button>
    </div>
  );
}
