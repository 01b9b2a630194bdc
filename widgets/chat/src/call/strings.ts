// The call window's words, zh-CN and en (kept beside the call code; the chat's own words
// stay in ../i18n.ts).
import type { Locale } from "../i18n";

const en = {
  call: "Call us",
  callTitle: "Voice call",
  starting: "Asking for your microphone…",
  dialling: "Calling…",
  micDenied: "The microphone is blocked. Allow it for this site to call, or chat with us instead.",
  ivr: "Choose an option with the keypad.",
  queued: "Waiting for an agent…",
  queuePlace: "You are number {n} in the queue",
  queuePlaceWait: "You are number {n} in the queue, about {m} min",
  ringing: "Calling an agent…",
  connected: "Connected",
  held: "On hold, please wait…",
  voicemail: "Leave your message after the tone.",
  ended: "Call ended",
  unavailable: "Voice calls are not available right now.",
  reasonNoAgents: "Nobody can take calls right now.",
  reasonClosed: "We are closed now.",
  reasonOff: "Voice calls are turned off for this site.",
  reasonMedia: "The call service cannot be reached right now.",
  mute: "Mute",
  unmute: "Unmute",
  keypad: "Keypad",
  key: "Key {key}",
  hangup: "Hang up",
  backToChat: "Chat with us instead",
  leaveMessage: "Leave a message",
  duration: "{time}",
  callFailed: "The call could not be started.",
};

export type CallStrings = typeof en;

const zh: CallStrings = {
  call: "语音通话",
  callTitle: "语音通话",
  starting: "正在请求使用麦克风…",
  dialling: "正在呼叫…",
  micDenied: "麦克风被禁用。请允许本网站使用麦克风后再呼叫，或改用文字咨询。",
  ivr: "请使用拨号盘选择。",
  queued: "正在等待客服接听…",
  queuePlace: "您目前排在第 {n} 位",
  queuePlaceWait: "您目前排在第 {n} 位，预计等待约 {m} 分钟",
  ringing: "正在呼叫客服…",
  connected: "通话中",
  held: "通话保持中，请稍候…",
  voicemail: "请在提示音后留言。",
  ended: "通话已结束",
  unavailable: "暂时无法语音通话。",
  reasonNoAgents: "目前没有客服可以接听电话。",
  reasonClosed: "现在是非工作时间。",
  reasonOff: "本网站未开通语音通话。",
  reasonMedia: "通话服务暂时无法连接。",
  mute: "静音",
  unmute: "取消静音",
  keypad: "拨号盘",
  key: "按键 {key}",
  hangup: "挂断",
  backToChat: "改用文字咨询",
  leaveMessage: "留言",
  duration: "{time}",
  callFailed: "无法发起通话。",
};

export function callStrings(locale: Locale): CallStrings {
  return locale === "zh-CN" ? zh : en;
}
