// Prints trees built the way the IVR editor builds them, in the wire form it PATCHes as
// `config.ivr`; tests/unit/test_console_logic.py decodes each with kefu.ivr.menu.IvrTree.
import { newAction, newMenu, newTree, wireTree } from "../src/admin/ivrtree";

const group = process.argv[2] ?? "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
const plain = newTree();

const full = newTree();
const sales = newMenu({ prompt_zh: "新购请按 1，续费请按 2。", prompt_en: "New orders 1, renewals 2." });
sales.options = {
  "1": { ...newAction("route", group), entry: "sales-new", prompt: { prompt_zh: "正在为您转接", prompt_en: "Connecting you" } } as never,
  "2": { kind: "play", answer: { prompt_zh: "续费请登录官网。", prompt_en: "Renew on our website.", audio_url: "/media/ivr/renew.mp3" }, then: "hangup" },
  "*": { kind: "back" },
};
sales.timeout_action = { kind: "voicemail", prompt: { prompt_zh: "请留言", prompt_en: "Leave a message" } };
sales.on_max_retries = { kind: "hangup", prompt: { prompt_zh: "再见", prompt_en: "Goodbye" } };
full.menu.options = { "1": { kind: "submenu", menu: sales }, "0": { kind: "agent" }, "9": { kind: "repeat" } };
full.off_hours = { kind: "menu", menu: newMenu() };
full.off_hours.menu.options = { "1": { kind: "voicemail" } };

const voicemail = newTree();
voicemail.off_hours = { kind: "voicemail", prompt: null };

console.log(JSON.stringify([wireTree(plain), wireTree(full), wireTree(voicemail)]));
