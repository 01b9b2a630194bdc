// The IVR tree editor of a voice inbox (语音导航): greeting, options by key, timeouts,
// invalid input and max retries, sub-menus, routing to a group, an agent, a played answer,
// voicemail or hang-up, and what happens out of business hours. The tree is part of the
// inbox's config (`config.ivr`), saved with the inbox form (PATCH /api/v1/inboxes/{id}).
import { useMemo, useState } from "preact/hooks";
import { t } from "../i18n";
import { groups } from "../store";
import { Errors } from "./forms";
import {
  ACTION_KINDS,
  Action,
  ActionKind,
  FINAL_KINDS,
  IvrTree,
  KEYS,
  MAX_DEPTH,
  MAX_OPTIONS,
  MAX_RETRIES,
  MAX_TIMEOUT_S,
  MIN_TIMEOUT_S,
  Menu,
  PROMPT_MAX,
  Problem,
  Prompt,
  TIMEOUT_KINDS,
  editorPath,
  freeKeys,
  newAction,
  newMenu,
  newTree,
  treeOf,
  validate,
  wireTree,
} from "./ivrtree";

interface Said {
  /** Messages for one editor path: the console's own check and the server's. */
  at: (path: string) => string[];
}

function Err({ said, path }: { said: Said; path: string }) {
  const messages = said.at(path);
  if (!messages.length) return null;
  return (
    <span class="field-error" role="alert" data-ivr-field={path}>
      {messages.join(" ")}
    </span>
  );
}

function PromptEditor({ value, path, label, said, onChange }: {
  value: Prompt;
  path: string;
  label: string;
  said: Said;
  onChange: (p: Prompt) => void;
}) {
  return (
    <fieldset class="ivr-prompt" aria-label={label}>
      <legend class="small">{label}</legend>
      {(["prompt_zh", "prompt_en"] as const).map((lang) => (
        <div class="lang-input">
          <span class="chip">{t(lang === "prompt_zh" ? "lang.zh-CN" : "lang.en")}</span>
          <textarea
            rows={2}
            maxLength={PROMPT_MAX}
            aria-label={`${label} (${t(lang === "prompt_zh" ? "lang.zh-CN" : "lang.en")})`}
            value={value[lang]}
            onInput={(e) => onChange({ ...value, [lang]: e.currentTarget.value })}
          />
          <Err said={said} path={`${path}.${lang}`} />
        </div>
      ))}
      <label class="inline small">
        {t("ivr.audio_url")}
        <input
          type="url"
          class="grow"
          aria-label={`${label} (${t("ivr.audio_url")})`}
          placeholder="/media/… https://…"
          value={value.audio_url ?? ""}
          onInput={(e) => onChange({ ...value, audio_url: e.currentTarget.value })}
        />
      </label>
      <Err said={said} path={`${path}.audio_url`} />
    </fieldset>
  );
}

/** A prompt that may be left out (e.g. "connecting you to sales" before routing). */
function OptionalPrompt({ value, path, label, text, said, onChange }: {
  value: Prompt | null | undefined;
  path: string;
  /** The full name (which menu, which key) for assistive tools; `text` is what shows. */
  label: string;
  text: string;
  said: Said;
  onChange: (p: Prompt | null) => void;
}) {
  return (
    <div class="ivr-optional">
      <label class="ivr-check small">
        <input
          type="checkbox"
          aria-label={label}
          checked={!!value}
          onChange={(e) => onChange(e.currentTarget.checked ? { prompt_zh: "", prompt_en: "" } : null)}
        />
        {text}
      </label>
      {value && <PromptEditor value={value} path={path} label={label} said={said} onChange={onChange} />}
    </div>
  );
}

function ActionEditor({ action, path, level, kinds, label, said, onChange }: {
  action: Action;
  path: string;
  level: number;
  kinds: ActionKind[];
  label: string;
  said: Said;
  onChange: (a: Action) => void;
}) {
  const firstGroup = groups.value[0]?.id ?? "";
  const canNest = level < MAX_DEPTH;
  return (
    <div class="ivr-action">
      <select
        aria-label={label}
        value={action.kind}
        onChange={(e) => onChange(newAction(e.currentTarget.value as ActionKind, firstGroup))}
      >
        {kinds.map((k) => (
          <option value={k} disabled={k === "submenu" && !canNest && action.kind !== "submenu"}>
            {t(`ivr.kind.${k}`)}
          </option>
        ))}
      </select>
      <Err said={said} path={path} />
      {action.kind === "route" && (
        <div class="inline wrap">
          <label class="inline small">
            {t("ivr.group")}
            <select aria-label={`${label}: ${t("ivr.group")}`} value={action.group_id}
              onChange={(e) => onChange({ ...action, group_id: e.currentTarget.value })}>
              <option value="">—</option>
              {groups.value.map((g) => (
                <option value={g.id}>{g.name}</option>
              ))}
            </select>
          </label>
          <Err said={said} path={`${path}.group_id`} />
          <label class="inline small">
            {t("ivr.entry")}
            <input aria-label={`${label}: ${t("ivr.entry")}`} maxLength={200} value={action.entry}
              placeholder={t("ivr.entry_ph")} onInput={(e) => onChange({ ...action, entry: e.currentTarget.value })} />
          </label>
          <Err said={said} path={`${path}.entry`} />
        </div>
      )}
      {(action.kind === "route" || action.kind === "agent" || action.kind === "voicemail" || action.kind === "hangup") && (
        <OptionalPrompt value={action.prompt} path={`${path}.prompt`} label={`${label}: ${t(`ivr.say_first.${action.kind}`)}`}
          text={t(`ivr.say_first.${action.kind}`)} said={said} onChange={(p) => onChange({ ...action, prompt: p })} />
      )}
      {action.kind === "play" && (
        <>
          <PromptEditor value={action.answer} path={`${path}.answer`} label={`${label}: ${t("ivr.answer")}`} said={said}
            onChange={(p) => onChange({ ...action, answer: p })} />
          <label class="inline small">
            {t("ivr.then")}
            <select aria-label={`${label}: ${t("ivr.then")}`} value={action.then ?? "menu"}
              onChange={(e) => onChange({ ...action, then: e.currentTarget.value as "menu" | "hangup" })}>
              <option value="menu">{t("ivr.then.menu")}</option>
              <option value="hangup">{t("ivr.then.hangup")}</option>
            </select>
          </label>
        </>
      )}
      {action.kind === "submenu" && (
        <MenuEditor menu={action.menu} path={`${path}.menu`} level={level + 1} said={said}
          title={`${label}: ${t("ivr.kind.submenu")}`} onChange={(m) => onChange({ kind: "submenu", menu: m })} />
      )}
    </div>
  );
}

function MenuEditor({ menu, path, level, title, said, onChange }: {
  menu: Menu;
  path: string;
  level: number;
  title: string;
  said: Said;
  onChange: (m: Menu) => void;
}) {
  const keys = KEYS.filter((k) => k in menu.options);
  const free = freeKeys(menu);
  const setOption = (key: string, a: Action | null, newKey = key) => {
    const options: Record<string, Action> = {};
    for (const k of KEYS) {
      if (k === key) {
        if (a) options[newKey] = a;
      } else if (menu.options[k] && k !== newKey) options[k] = menu.options[k];
    }
    onChange({ ...menu, options });
  };
  return (
    <fieldset class={`ivr-menu level-${level}`} aria-label={title} data-ivr-menu={path}>
      <legend>{title}</legend>
      <Err said={said} path={path} />
      <PromptEditor value={menu.greeting} path={`${path}.greeting`} label={`${title}: ${t("ivr.greeting")}`} said={said}
        onChange={(p) => onChange({ ...menu, greeting: p })} />
      <h4 class="small">{t("ivr.options")}</h4>
      <Err said={said} path={`${path}.options`} />
      <ol class="plain ivr-options">
        {keys.map((key) => {
          const label = `${title}: ${t("ivr.key", { key })}`;
          return (
            <li class="ivr-option" data-key={key}>
              <div class="inline">
                <select aria-label={`${label} · ${t("ivr.key_label")}`} value={key}
                  onChange={(e) => setOption(key, menu.options[key], e.currentTarget.value)}>
                  {[key, ...free].sort((a, b) => KEYS.indexOf(a as never) - KEYS.indexOf(b as never)).map((k) => (
                    <option value={k}>{k}</option>
                  ))}
                </select>
                <button type="button" class="ghost" aria-label={`${t("admin.remove")}: ${label}`} onClick={() => setOption(key, null)}>
                  ✕
                </button>
              </div>
              <Err said={said} path={`${path}.options.${key}`} />
              <ActionEditor action={menu.options[key]} path={`${path}.options.${key}`} level={level} kinds={ACTION_KINDS}
                label={label} said={said} onChange={(a) => setOption(key, a)} />
            </li>
          );
        })}
      </ol>
      <button type="button" disabled={!free.length || keys.length >= MAX_OPTIONS}
        onClick={() => setOption(free[0], newAction("route", groups.value[0]?.id ?? ""))}>
        + {t("ivr.add_option")}
      </button>
      <div class="inline wrap ivr-timing">
        <label class="inline small">
          {t("ivr.timeout_s")}
          <input type="number" class="narrow" min={MIN_TIMEOUT_S} max={MAX_TIMEOUT_S} aria-label={`${title}: ${t("ivr.timeout_s")}`}
            value={menu.timeout_s} onInput={(e) => onChange({ ...menu, timeout_s: Number(e.currentTarget.value) })} />
        </label>
        <Err said={said} path={`${path}.timeout_s`} />
        <label class="inline small">
          {t("ivr.max_retries")}
          <input type="number" class="narrow" min={0} max={MAX_RETRIES} aria-label={`${title}: ${t("ivr.max_retries")}`}
            value={menu.max_retries} onInput={(e) => onChange({ ...menu, max_retries: Number(e.currentTarget.value) })} />
        </label>
        <Err said={said} path={`${path}.max_retries`} />
      </div>
      <div class="ivr-pair">
        <span class="small">{t("ivr.on_timeout")}</span>
        <ActionEditor action={menu.timeout_action} path={`${path}.timeout_action`} level={level} kinds={TIMEOUT_KINDS}
          label={`${title}: ${t("ivr.on_timeout")}`} said={said} onChange={(a) => onChange({ ...menu, timeout_action: a })} />
      </div>
      <div class="ivr-pair">
        <span class="small">{t("ivr.on_max_retries")}</span>
        <ActionEditor action={menu.on_max_retries} path={`${path}.on_max_retries`} level={level} kinds={FINAL_KINDS}
          label={`${title}: ${t("ivr.on_max_retries")}`} said={said} onChange={(a) => onChange({ ...menu, on_max_retries: a })} />
      </div>
      <details>
        <summary class="small">{t("ivr.invalid_prompt")}</summary>
        <PromptEditor value={menu.invalid_prompt} path={`${path}.invalid_prompt`} label={`${title}: ${t("ivr.invalid_prompt")}`}
          said={said} onChange={(p) => onChange({ ...menu, invalid_prompt: p })} />
      </details>
    </fieldset>
  );
}

function problemText(p: Problem): string {
  return t(p.key, p.vars ?? {});
}

/** The whole editor. `value` is the stored `config.ivr`; `onChange` gets the wire form. */
export function IvrEditor({ value, errors, onChange }: { value: unknown; errors: Errors; onChange: (wire: unknown) => void }) {
  const [tree, setTree] = useState<IvrTree | null>(() => treeOf(value));
  const set = (next: IvrTree | null) => {
    setTree(next);
    onChange(wireTree(next));
  };
  const problems = useMemo(() => (tree ? validate(tree) : []), [tree]);
  const server = errors.under("config.ivr").map((e) => ({ path: editorPath(e.field, e.message) ?? "", message: e.message }));
  const said: Said = {
    at: (path) => [
      ...problems.filter((p) => p.path === path).map(problemText),
      ...server.filter((s) => s.path === path).map((s) => s.message),
    ],
  };
  const offKind = tree?.off_hours?.kind ?? "same";
  return (
    <fieldset class="section ivr" aria-label={t("ivr.title")} data-testid="ivr-editor">
      <legend>{t("ivr.title")}</legend>
      <p class="help">{t("ivr.help")}</p>
      <label class="inline">
        <input type="checkbox" aria-label={t("ivr.enabled")} checked={!!tree} onChange={(e) => set(e.currentTarget.checked ? newTree() : null)} />
        {t("ivr.enabled")}
      </label>
      {server.length > 0 && (
        <ul class="field-error plain" role="alert" data-testid="ivr-server-errors">
          {server.map((s) => (
            <li>{s.message}</li>
          ))}
        </ul>
      )}
      {tree && problems.length > 0 && (
        <p class="field-error small" role="status" data-testid="ivr-problems">
          {t("ivr.problems", { n: problems.length })}
        </p>
      )}
      {tree && (
        <>
          <Err said={said} path="" />
          <MenuEditor menu={tree.menu} path="menu" level={1} title={t("ivr.main_menu")} said={said}
            onChange={(m) => set({ ...tree, menu: m })} />
          <fieldset class="ivr-off" aria-label={t("ivr.off_hours")}>
            <legend>{t("ivr.off_hours")}</legend>
            <p class="help">{t("ivr.off_hours_help")}</p>
            <select aria-label={t("ivr.off_choice")} value={offKind} onChange={(e) => {
              const v = e.currentTarget.value;
              set({
                ...tree,
                off_hours: v === "menu"
                  ? { kind: "menu", menu: newMenu({ prompt_zh: "您好，现在是非工作时间。留言请按 1。", prompt_en: "Hello, we are closed now. To leave a message, press 1." }) }
                  : v === "voicemail" ? { kind: "voicemail", prompt: null } : null,
              });
            }}>
              <option value="same">{t("ivr.off.same")}</option>
              <option value="menu">{t("ivr.off.menu")}</option>
              <option value="voicemail">{t("ivr.off.voicemail")}</option>
            </select>
            {tree.off_hours?.kind === "menu" && (
              <MenuEditor menu={tree.off_hours.menu} path="off_hours.menu" level={1} title={t("ivr.off_menu")} said={said}
                onChange={(m) => set({ ...tree, off_hours: { kind: "menu", menu: m } })} />
            )}
            {tree.off_hours?.kind === "voicemail" && (
              <OptionalPrompt value={tree.off_hours.prompt} path="off_hours.prompt" label={t("ivr.say_first.voicemail")}
                text={t("ivr.say_first.voicemail")} said={said}
                onChange={(p) => set({ ...tree, off_hours: { kind: "voicemail", prompt: p } })} />
            )}
          </fieldset>
        </>
      )}
    </fieldset>
  );
}
