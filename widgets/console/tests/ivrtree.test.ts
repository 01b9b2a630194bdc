// The IVR editor's tree rules (src/admin/ivrtree.ts), the same limits as src/kefu/ivr/menu.py.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  Action,
  IvrTree,
  MAX_DEPTH,
  Menu,
  depth,
  editorPath,
  freeKeys,
  menuCount,
  newAction,
  newMenu,
  newTree,
  treeOf,
  updateMenu,
  validate,
  wireTree,
} from "../src/admin/ivrtree";

const G = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";

function nested(levels: number): Menu {
  let m = newMenu();
  for (let i = 1; i < levels; i++) {
    const parent = newMenu();
    parent.options = { "1": { kind: "submenu", menu: m } };
    m = parent;
  }
  return m;
}

const paths = (tree: IvrTree) => validate(tree).map((p) => `${p.path}:${p.key}`);

test("a new tree is valid and sends what menu.py decodes", () => {
  const tree = newTree();
  assert.deepEqual(validate(tree), []);
  const wire = wireTree(tree) as { menu: { options: Record<string, Action> }; off_hours: null };
  assert.deepEqual(wire.menu.options, { "0": { kind: "agent" } });
  assert.equal(wire.off_hours, null);
  assert.equal(wireTree(null), null);
});

test("reading a stored tree fills menu.py's defaults and keeps what is there", () => {
  const tree = treeOf({
    menu: {
      greeting: { prompt_zh: "您好", prompt_en: "Hello" },
      options: { "1": { kind: "route", group_id: G, entry: "sales" }, "2": { kind: "play", answer: { prompt_zh: "营业时间", prompt_en: "Hours" }, then: "hangup" } },
    },
    off_hours: { kind: "voicemail" },
  })!;
  assert.equal(tree.menu.timeout_s, 8);
  assert.equal(tree.menu.max_retries, 3);
  assert.equal(tree.menu.on_max_retries.kind, "agent");
  assert.equal(tree.menu.invalid_prompt.prompt_en, "Sorry, that is not a valid choice. Please try again.");
  assert.deepEqual(tree.menu.options["1"], { kind: "route", group_id: G, entry: "sales", prompt: null });
  assert.equal(tree.off_hours?.kind, "voicemail");
  assert.equal(treeOf(null), null);
});

test("options go out in keypad order and blank audio URLs are left out", () => {
  const tree = newTree();
  tree.menu.options = {
    "#": { kind: "hangup" },
    "2": { kind: "repeat" },
    "1": { kind: "agent", prompt: { prompt_zh: "转人工", prompt_en: "Agent", audio_url: "  " } },
  };
  const wire = wireTree(tree) as { menu: { options: Record<string, { prompt?: object }> } };
  assert.deepEqual(Object.keys(wire.menu.options), ["1", "2", "#"]);
  assert.deepEqual(wire.menu.options["1"].prompt, { prompt_zh: "转人工", prompt_en: "Agent" });
});

test("every prompt needs both languages, at most 1000 characters and no NUL", () => {
  const tree = newTree();
  tree.menu.greeting = { prompt_zh: "", prompt_en: "x".repeat(1001) };
  tree.menu.invalid_prompt = { prompt_zh: "a\u0000b", prompt_en: "ok" };
  assert.deepEqual(paths(tree), [
    "menu.greeting.prompt_zh:ivr.err.prompt_required",
    "menu.greeting.prompt_en:ivr.err.too_long",
    "menu.invalid_prompt.prompt_zh:ivr.err.bad_text",
  ]);
});

test("an audio URL is a path or http(s), without spaces", () => {
  const tree = newTree();
  tree.menu.greeting = { ...tree.menu.greeting, audio_url: "javascript:alert(1)" };
  assert.deepEqual(paths(tree), ["menu.greeting.audio_url:ivr.err.audio_url"]);
  tree.menu.greeting = { ...tree.menu.greeting, audio_url: "/media/ivr/hello.mp3" };
  assert.deepEqual(paths(tree), []);
});

test("routing to a group needs the group and an entry of at most 200 characters", () => {
  const tree = newTree();
  tree.menu.options = { "1": newAction("route"), "2": { kind: "route", group_id: G, entry: "e".repeat(201) } };
  assert.deepEqual(paths(tree), [
    "menu.options.1.group_id:ivr.err.group_required",
    "menu.options.1.entry:ivr.err.entry_required",
    "menu.options.2.entry:ivr.err.too_long",
  ]);
});

test("timeouts are 1-60 s, retries 0-9, and the retry fallback must leave the menu", () => {
  const tree = newTree();
  tree.menu.timeout_s = 0;
  tree.menu.max_retries = 10;
  tree.menu.timeout_action = { kind: "submenu", menu: newMenu() };
  tree.menu.on_max_retries = { kind: "repeat" };
  assert.deepEqual(paths(tree), [
    "menu.timeout_s:ivr.err.range",
    "menu.max_retries:ivr.err.range",
    "menu.timeout_action:ivr.err.timeout_kind",
    "menu.on_max_retries:ivr.err.final_kind",
  ]);
});

test("menus nest at most five deep, counting the root", () => {
  assert.equal(depth(nested(MAX_DEPTH)), 5);
  assert.deepEqual(validate({ menu: nested(MAX_DEPTH), off_hours: null }), []);
  const deep = paths({ menu: nested(MAX_DEPTH + 1), off_hours: null });
  assert.deepEqual(deep, ["menu.options.1.menu.options.1.menu.options.1.menu.options.1.menu.options.1.menu:ivr.err.too_deep"]);
});

test("a tree has at most 100 menus, the off-hours menu counted", () => {
  const wide = (n: number): Menu => {
    const m = newMenu();
    for (let i = 0; i < n; i++) m.options[String(i)] = { kind: "submenu", menu: newMenu() };
    return m;
  };
  // 1 root + 10 children, each with 9 grandchildren ... build 10 * (1 + 9) + 1 = 101
  const root = newMenu();
  for (let i = 0; i < 10; i++) root.options[String(i)] = { kind: "submenu", menu: wide(9) };
  assert.equal(menuCount(root), 101);
  assert.ok(paths({ menu: root, off_hours: null }).includes(":ivr.err.too_many_menus"));
  const small = newTree();
  small.off_hours = { kind: "menu", menu: newMenu() };
  assert.deepEqual(validate(small), []);
});

test("off-hours menus are checked under off_hours.menu", () => {
  const tree = newTree();
  tree.off_hours = { kind: "menu", menu: { ...newMenu(), greeting: { prompt_zh: "", prompt_en: "Closed" } } };
  assert.deepEqual(paths(tree), ["off_hours.menu.greeting.prompt_zh:ivr.err.prompt_required"]);
});

test("server field errors map onto editor paths, whichever way the server spells them", () => {
  assert.equal(editorPath("config.ivr.menu.options.1.entry"), "menu.options.1.entry");
  assert.equal(editorPath('config.ivr.menu.options["1"].entry'), "menu.options.1.entry");
  assert.equal(editorPath("config.ivr", "Expected `str` of length <= 1000 - at `$.menu.greeting.prompt_zh`"), "menu.greeting.prompt_zh");
  assert.equal(editorPath("config.ivr", "menus are nested more than 5 deep"), "");
  assert.equal(editorPath("config.api_key"), null);
});

test("updating a sub-menu by its key path leaves the rest of the tree as it was", () => {
  const root = newMenu();
  root.options = { "1": { kind: "submenu", menu: newMenu() }, "2": { kind: "agent" } };
  const next = updateMenu(root, ["1"], (m) => ({ ...m, timeout_s: 20 }));
  assert.equal((next.options["1"] as { menu: Menu }).menu.timeout_s, 20);
  assert.equal(next.options["2"], root.options["2"]);
  assert.equal((root.options["1"] as { menu: Menu }).menu.timeout_s, 8);
  assert.equal(updateMenu(root, ["2"], (m) => ({ ...m, timeout_s: 1 })), root);
  assert.deepEqual(freeKeys(root), ["3", "4", "5", "6", "7", "8", "9", "0", "*", "#"]);
});
