// The softphone's pure rules (src/phone/logic.ts).
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Call } from "../src/phone/api";
import {
  KEYPAD,
  choosable,
  isLive,
  isOver,
  ivrPathText,
  phoneNumber,
  secondsLeft,
  shortcutOf,
  talkSeconds,
  transferTarget,
  waitSeconds,
  wrapUpUntil,
} from "../src/phone/logic";

const T0 = Date.parse("2026-12-03T09:00:00Z");

function call(over: Partial<Call>): Call {
  return {
    id: "c1",
    conversation_id: "v1",
    inbox_id: "i1",
    contact: { id: "k1", name: "王芳" },
    direction: "inbound",
    status: "connected",
    room: "call-c1",
    ivr_path: [],
    created_at: "2026-12-03T08:59:00Z",
    ...over,
  };
}

test("the keypad has the twelve telephone keys in keypad order", () => {
  assert.deepEqual([...KEYPAD], ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"]);
});

test("connected and held calls are live; ended, abandoned, voicemail and missed are over", () => {
  assert.ok(isLive("connected") && isLive("held"));
  assert.ok(!isLive("ringing") && !isLive("wrap_up"));
  for (const s of ["ended", "abandoned", "voicemail", "missed"] as const) assert.ok(isOver(s));
  assert.ok(!isOver("wrap_up") && !isOver("queued"));
});

test("talk time counts up from answered_at while live and is the server's figure after", () => {
  const live = call({ status: "held", answered_at: "2026-12-03T08:58:30Z" });
  assert.equal(talkSeconds(live, T0), 90);
  assert.equal(talkSeconds(call({ status: "ended", talk_s: 42, duration_s: 50 }), T0), 42);
  assert.equal(talkSeconds(call({ status: "ended", duration_s: 50 }), T0), 50);
  assert.equal(talkSeconds(call({ status: "connected" }), T0), null);
});

test("wait time counts from queued_at while the caller waits, the server's wait_s after", () => {
  assert.equal(waitSeconds(call({ status: "ringing", queued_at: "2026-12-03T08:59:45Z" }), T0), 15);
  assert.equal(waitSeconds(call({ status: "queued" }), T0), 60); // from created_at
  assert.equal(waitSeconds(call({ status: "connected", wait_s: 7 }), T0), 7);
});

test("wrap-up ends wrap_up_s after the phone state's since, else after the call ended", () => {
  const ended = call({ status: "wrap_up", ended_at: "2026-12-03T08:59:50Z" });
  assert.equal(wrapUpUntil("2026-12-03T08:59:40Z", ended, 30), Date.parse("2026-12-03T09:00:10Z"));
  assert.equal(wrapUpUntil(null, ended, null), Date.parse("2026-12-03T09:00:20Z")); // default 30 s
  assert.equal(wrapUpUntil(null, call({ status: "wrap_up" }), 30), null);
  assert.equal(wrapUpUntil("2026-12-03T08:59:40Z", ended, 30, "2026-12-03T09:01:00Z"), Date.parse("2026-12-03T09:01:00Z"));
  assert.equal(secondsLeft(Date.parse("2026-12-03T09:00:10Z"), T0), 10);
  assert.equal(secondsLeft(T0 - 5000, T0), 0);
  assert.equal(secondsLeft(null, T0), null);
});

test("phone numbers: digits with an optional +, spaces and dashes dropped, 3 to 20 long", () => {
  assert.equal(phoneNumber("+86 138-0000 0000"), "+8613800000000");
  assert.equal(phoneNumber("(010) 6552.0000"), "01065520000");
  assert.equal(phoneNumber("12"), null);
  assert.equal(phoneNumber("call me"), null);
  assert.equal(phoneNumber("1".repeat(21)), null);
});

test("a transfer target is an agent, a group or a valid number", () => {
  assert.deepEqual(transferTarget("agent", "a1"), { agent_id: "a1" });
  assert.deepEqual(transferTarget("group", " g1 "), { group_id: "g1" });
  assert.deepEqual(transferTarget("number", "+1 415 555 0100"), { number: "+14155550100" });
  assert.equal(transferTarget("number", "abc"), null);
  assert.equal(transferTarget("agent", "  "), null);
});

test("Alt shortcuts act only when they make sense, and never with Ctrl or Meta", () => {
  const key = (code: string, extra: Partial<{ ctrlKey: boolean; metaKey: boolean; altKey: boolean }> = {}) => ({
    altKey: true,
    ctrlKey: false,
    metaKey: false,
    code,
    ...extra,
  });
  assert.equal(shortcutOf(key("KeyA"), true, false), "answer");
  assert.equal(shortcutOf(key("KeyA"), false, false), null);
  assert.equal(shortcutOf(key("KeyD"), true, false), "reject");
  assert.equal(shortcutOf(key("KeyD"), true, true), "hangup"); // on a call, D hangs up that call
  assert.equal(shortcutOf(key("KeyM"), false, true), "mute");
  assert.equal(shortcutOf(key("KeyM"), false, false), null);
  assert.equal(shortcutOf(key("KeyH"), false, true), "hold");
  assert.equal(shortcutOf(key("KeyX"), false, true), "transfer");
  assert.equal(shortcutOf(key("KeyK"), false, true), "keypad");
  assert.equal(shortcutOf(key("KeyR"), false, false), "ready");
  assert.equal(shortcutOf(key("KeyA", { altKey: false }), true, false), null);
  assert.equal(shortcutOf(key("KeyA", { ctrlKey: true }), true, false), null);
  assert.equal(shortcutOf(key("KeyA", { metaKey: true }), true, false), null);
});

test("an agent picks ready, not ready or signed out, except while on a call", () => {
  assert.deepEqual(choosable("ready"), ["ready", "not_ready", "offline"]);
  assert.deepEqual(choosable("busy"), []);
});

test("the IVR path reads as the keys pressed", () => {
  assert.equal(ivrPathText(["1", "3"]), "1 › 3");
  assert.equal(ivrPathText([]), "");
  assert.equal(ivrPathText(undefined), "");
});
