// The IVR tree as the console edits it: the same shape and limits as src/kefu/ivr/menu.py
// (IvrTree, Menu, the tagged actions), checked here so an admin sees a problem beside its
// field before saving; the server checks again and its errors are shown by field too.
// Pure functions, no DOM: logic tests in ivrtree.test.ts.

export const KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "0", "*", "#"] as const;
export const MAX_DEPTH = 5;
export const MAX_OPTIONS = 10;
export const MAX_MENUS = 100;
export const MAX_RETRIES = 9;
export const MIN_TIMEOUT_S = 1;
export const MAX_TIMEOUT_S = 60;
export const PROMPT_MAX = 1000;
export const ENTRY_MAX = 200;
export const URL_MAX = 2048;

export interface Prompt {
  prompt_zh: string;
  prompt_en: string;
  audio_url?: string | null;
}

export type Action =
  | { kind: "submenu"; menu: Menu }
  | { kind: "route"; group_id: string; entry: string; prompt?: Prompt | null }
  | { kind: "agent"; prompt?: Prompt | null }
  | { kind: "play"; answer: Prompt; then?: "menu" | "hangup" }
  | { kind: "voicemail"; prompt?: Prompt | null }
  | { kind: "repeat" }
  | { kind: "back" }
  | { kind: "hangup"; prompt?: Prompt | null };

export type ActionKind = Action["kind"];
export const ACTION_KINDS: ActionKind[] = ["submenu", "route", "agent", "play", "voicemail", "repeat", "back", "hangup"];
/** What a timeout may do: anything but open a menu. */
export const TIMEOUT_KINDS: ActionKind[] = ["repeat", "back", "route", "agent", "play", "voicemail", "hangup"];
/** After the last retry the call must leave the menu. */
export const FINAL_KINDS: ActionKind[] = ["agent", "route", "voicemail", "hangup"];

export interface Menu {
  greeting: Prompt;
  options: Record<string, Action>;
  timeout_s: number;
  timeout_action: Action;
  invalid_prompt: Prompt;
  max_retries: number;
  on_max_retries: Action;
}

export type OffHours = { kind: "menu"; menu: Menu } | { kind: "voicemail"; prompt?: Prompt | null } | null;

export interface IvrTree {
  menu: Menu;
  off_hours: OffHours;
}

export const INVALID_PROMPT: Prompt = {
  prompt_zh: "抱歉，您的输入无效，请重新选择。",
  prompt_en: "Sorry, that is not a valid choice. Please try again.",
};

export function newMenu(greeting?: Prompt): Menu {
  return {
    greeting: greeting ?? { prompt_zh: "请选择：", prompt_en: "Please choose:" },
    options: {},
    timeout_s: 8,
    timeout_action: { kind: "repeat" },
    invalid_prompt: { ...INVALID_PROMPT },
    max_retries: 3,
    on_max_retries: { kind: "agent" },
  };
}

export function newTree(): IvrTree {
  const menu = newMenu({
    prompt_zh: "您好，感谢致电。人工服务请按 0。",
    prompt_en: "Hello, thank you for calling. For an agent, press 0.",
  });
  menu.options = { "0": { kind: "agent" } };
  return { menu, off_hours: null };
}

export function newAction(kind: ActionKind, groupId = ""): Action {
  switch (kind) {
    case "submenu":
      return { kind, menu: newMenu() };
    case "route":
      return { kind, group_id: groupId, entry: "" };
    case "play":
      return { kind, answer: { prompt_zh: "", prompt_en: "" }, then: "menu" };
    case "repeat":
    case "back":
      return { kind };
    default:
      return { kind };
  }
}

function prompt(raw: unknown, fallback: Prompt): Prompt {
  const p = (raw ?? {}) as Partial<Prompt>;
  return {
    prompt_zh: typeof p.prompt_zh === "string" ? p.prompt_zh : fallback.prompt_zh,
    prompt_en: typeof p.prompt_en === "string" ? p.prompt_en : fallback.prompt_en,
    ...(typeof p.audio_url === "string" && p.audio_url ? { audio_url: p.audio_url } : {}),
  };
}

function optionalPrompt(raw: unknown): Prompt | null {
  return raw && typeof raw === "object" ? prompt(raw, { prompt_zh: "", prompt_en: "" }) : null;
}

function action(raw: unknown, fallback: Action): Action {
  const a = (raw ?? {}) as Record<string, unknown>;
  switch (a.kind) {
    case "submenu":
      return { kind: "submenu", menu: menuOf(a.menu) };
    case "route":
      return { kind: "route", group_id: String(a.group_id ?? ""), entry: String(a.entry ?? ""), prompt: optionalPrompt(a.prompt) };
    case "agent":
    case "voicemail":
    case "hangup":
      return { kind: a.kind, prompt: optionalPrompt(a.prompt) };
    case "play":
      return { kind: "play", answer: prompt(a.answer, { prompt_zh: "", prompt_en: "" }), then: a.then === "hangup" ? "hangup" : "menu" };
    case "repeat":
    case "back":
      return { kind: a.kind };
    default:
      return fallback;
  }
}

function menuOf(raw: unknown): Menu {
  const m = (raw ?? {}) as Record<string, unknown>;
  const base = newMenu();
  const options: Record<string, Action> = {};
  const given = m.options && typeof m.options === "object" ? (m.options as Record<string, unknown>) : {};
  for (const [key, value] of Object.entries(given)) options[key] = action(value, { kind: "repeat" });
  return {
    greeting: prompt(m.greeting, base.greeting),
    options,
    timeout_s: typeof m.timeout_s === "number" ? m.timeout_s : base.timeout_s,
    timeout_action: action(m.timeout_action, base.timeout_action),
    invalid_prompt: prompt(m.invalid_prompt, INVALID_PROMPT),
    max_retries: typeof m.max_retries === "number" ? m.max_retries : base.max_retries,
    on_max_retries: action(m.on_max_retries, base.on_max_retries),
  };
}

/** The stored `config.ivr` (or null) as an editable tree, defaults filled as menu.py has them. */
export function treeOf(raw: unknown): IvrTree | null {
  if (!raw || typeof raw !== "object") return null;
  const r = raw as Record<string, unknown>;
  const off = (r.off_hours ?? null) as Record<string, unknown> | null;
  let offHours: OffHours = null;
  if (off && off.kind === "menu") offHours = { kind: "menu", menu: menuOf(off.menu) };
  else if (off && off.kind === "voicemail") offHours = { kind: "voicemail", prompt: optionalPrompt(off.prompt) };
  return { menu: menuOf(r.menu), off_hours: offHours };
}

function cleanPrompt(p: Prompt): Prompt {
  const audio = (p.audio_url ?? "").trim();
  return { prompt_zh: p.prompt_zh, prompt_en: p.prompt_en, ...(audio ? { audio_url: audio } : {}) };
}

function cleanAction(a: Action): Action {
  switch (a.kind) {
    case "submenu":
      return { kind: "submenu", menu: cleanMenu(a.menu) };
    case "route":
      return { kind: "route", group_id: a.group_id, entry: a.entry.trim(), ...(a.prompt ? { prompt: cleanPrompt(a.prompt) } : {}) };
    case "agent":
    case "voicemail":
    case "hangup":
      return a.prompt ? { kind: a.kind, prompt: cleanPrompt(a.prompt) } : { kind: a.kind };
    case "play":
      return { kind: "play", answer: cleanPrompt(a.answer), then: a.then ?? "menu" };
    default:
      return { kind: a.kind };
  }
}

function cleanMenu(m: Menu): Menu {
  const options: Record<string, Action> = {};
  for (const key of KEYS) if (m.options[key]) options[key] = cleanAction(m.options[key]);
  return {
    greeting: cleanPrompt(m.greeting),
    options,
    timeout_s: m.timeout_s,
    timeout_action: cleanAction(m.timeout_action),
    invalid_prompt: cleanPrompt(m.invalid_prompt),
    max_retries: m.max_retries,
    on_max_retries: cleanAction(m.on_max_retries),
  };
}

/** What is sent as `config.ivr`: options in keypad order, blank audio URLs left out. */
export function wireTree(tree: IvrTree | null): unknown {
  if (!tree) return null;
  const off = tree.off_hours;
  return {
    menu: cleanMenu(tree.menu),
    off_hours:
      off === null
        ? null
        : off.kind === "menu"
          ? { kind: "menu", menu: cleanMenu(off.menu) }
          : off.prompt
            ? { kind: "voicemail", prompt: cleanPrompt(off.prompt) }
            : { kind: "voicemail" },
  };
}

export function submenus(m: Menu): Menu[] {
  return Object.values(m.options).flatMap((a) => (a.kind === "submenu" ? [a.menu] : []));
}

export function depth(m: Menu): number {
  return 1 + Math.max(0, ...submenus(m).map(depth));
}

export function menuCount(m: Menu): number {
  return 1 + submenus(m).reduce((n, child) => n + menuCount(child), 0);
}

export function treeMenuCount(tree: IvrTree): number {
  return menuCount(tree.menu) + (tree.off_hours?.kind === "menu" ? menuCount(tree.off_hours.menu) : 0);
}

/** One problem: `path` names the field the editor shows it beside (see pathOf*). */
export interface Problem {
  path: string;
  key: string;
  vars?: Record<string, string | number>;
}

const NUL = /\u0000/;
const AUDIO = /^(https?:\/\/|\/)[^\u0000\s]*$/;

function checkPrompt(p: Prompt, path: string, out: Problem[]): void {
  for (const lang of ["prompt_zh", "prompt_en"] as const) {
    const text = p[lang];
    if (!text.trim()) out.push({ path: `${path}.${lang}`, key: "ivr.err.prompt_required" });
    else if (text.length > PROMPT_MAX) out.push({ path: `${path}.${lang}`, key: "ivr.err.too_long", vars: { n: PROMPT_MAX } });
    else if (NUL.test(text)) out.push({ path: `${path}.${lang}`, key: "ivr.err.bad_text" });
  }
  const audio = (p.audio_url ?? "").trim();
  if (audio && (audio.length > URL_MAX || !AUDIO.test(audio))) out.push({ path: `${path}.audio_url`, key: "ivr.err.audio_url" });
}

function checkAction(a: Action, path: string, level: number, out: Problem[]): void {
  switch (a.kind) {
    case "submenu":
      checkMenu(a.menu, `${path}.menu`, level + 1, out);
      break;
    case "route":
      if (!a.group_id) out.push({ path: `${path}.group_id`, key: "ivr.err.group_required" });
      if (!a.entry.trim()) out.push({ path: `${path}.entry`, key: "ivr.err.entry_required" });
      else if (a.entry.length > ENTRY_MAX) out.push({ path: `${path}.entry`, key: "ivr.err.too_long", vars: { n: ENTRY_MAX } });
      if (a.prompt) checkPrompt(a.prompt, `${path}.prompt`, out);
      break;
    case "play":
      checkPrompt(a.answer, `${path}.answer`, out);
      break;
    case "agent":
    case "voicemail":
    case "hangup":
      if (a.prompt) checkPrompt(a.prompt, `${path}.prompt`, out);
      break;
    default:
      break;
  }
}

function checkMenu(m: Menu, path: string, level: number, out: Problem[]): void {
  checkPrompt(m.greeting, `${path}.greeting`, out);
  checkPrompt(m.invalid_prompt, `${path}.invalid_prompt`, out);
  const keys = Object.keys(m.options);
  if (keys.length > MAX_OPTIONS) out.push({ path: `${path}.options`, key: "ivr.err.too_many_options", vars: { n: MAX_OPTIONS } });
  for (const key of keys) {
    if (!(KEYS as readonly string[]).includes(key)) out.push({ path: `${path}.options.${key}`, key: "ivr.err.bad_key" });
    checkAction(m.options[key], `${path}.options.${key}`, level, out);
  }
  if (level > MAX_DEPTH) out.push({ path, key: "ivr.err.too_deep", vars: { n: MAX_DEPTH } });
  if (!Number.isInteger(m.timeout_s) || m.timeout_s < MIN_TIMEOUT_S || m.timeout_s > MAX_TIMEOUT_S)
    out.push({ path: `${path}.timeout_s`, key: "ivr.err.range", vars: { low: MIN_TIMEOUT_S, high: MAX_TIMEOUT_S } });
  if (!Number.isInteger(m.max_retries) || m.max_retries < 0 || m.max_retries > MAX_RETRIES)
    out.push({ path: `${path}.max_retries`, key: "ivr.err.range", vars: { low: 0, high: MAX_RETRIES } });
  if (!TIMEOUT_KINDS.includes(m.timeout_action.kind)) out.push({ path: `${path}.timeout_action`, key: "ivr.err.timeout_kind" });
  else checkAction(m.timeout_action, `${path}.timeout_action`, level, out);
  if (!FINAL_KINDS.includes(m.on_max_retries.kind)) out.push({ path: `${path}.on_max_retries`, key: "ivr.err.final_kind" });
  else checkAction(m.on_max_retries, `${path}.on_max_retries`, level, out);
}

/** Every problem in the tree, by field path (`menu.options.1.menu.greeting.prompt_zh`). */
export function validate(tree: IvrTree): Problem[] {
  const out: Problem[] = [];
  checkMenu(tree.menu, "menu", 1, out);
  const off = tree.off_hours;
  if (off?.kind === "menu") checkMenu(off.menu, "off_hours.menu", 1, out);
  else if (off?.kind === "voicemail" && off.prompt) checkPrompt(off.prompt, "off_hours.prompt", out);
  const count = treeMenuCount(tree);
  if (count > MAX_MENUS) out.push({ path: "", key: "ivr.err.too_many_menus", vars: { n: count, max: MAX_MENUS } });
  return out;
}

/** A server error's field as an editor path: `config.ivr.menu.options.1.entry`,
 *  `config.ivr.menu.options["1"].entry` or a message's "at `$.menu.options[...]`" all
 *  become `menu.options.1.entry`; anything outside the IVR answers null. */
export function editorPath(field: string, message = ""): string | null {
  let f = field;
  if (f === "config.ivr" || f === "ivr") {
    const at = /at `\$\.?([^`]*)`/.exec(message);
    if (!at) return "";
    f = at[1];
  } else if (f.startsWith("config.ivr.")) f = f.slice("config.ivr.".length);
  else if (f.startsWith("ivr.")) f = f.slice("ivr.".length);
  else return null;
  return f
    .replace(/\[\s*['"]?([^\]'"]*)['"]?\s*\]/g, ".$1")
    .replace(/^\./, "")
    .replace(/\.\.+/g, ".");
}

/** Immutable update of the action at `key` in the menu at `path` (an array of keys from
 *  the branch root; each key opens a submenu). */
export function updateMenu(root: Menu, path: readonly string[], change: (m: Menu) => Menu): Menu {
  if (!path.length) return change(root);
  const [key, ...rest] = path;
  const a = root.options[key];
  if (!a || a.kind !== "submenu") return root;
  return { ...root, options: { ...root.options, [key]: { kind: "submenu", menu: updateMenu(a.menu, rest, change) } } };
}

/** The keys no option uses yet, in keypad order. */
export function freeKeys(m: Menu): string[] {
  return KEYS.filter((k) => !(k in m.options));
}
