// Visitor-facing strings. zh-CN and en ship in the core bundle (they are small); the
// locale comes from the browser unless the host page calls kefu('setLocale', ...).

export type Locale = "zh-CN" | "en";

const en = {
  openChat: "Open chat",
  closeChat: "Close chat",
  defaultTitle: "Chat with us",
  defaultGreeting: "Hi! How can we help you today?",
  messages: "Messages",
  inputLabel: "Type a message",
  inputPlaceholder: "Type a message…",
  send: "Send",
  attach: "Attach a file or image",
  emoji: "Insert emoji",
  emojiPicker: "Emoji",
  sending: "Sending…",
  sent: "Sent",
  read: "Read",
  failed: "Not sent",
  you: "You",
  agent: "Agent",
  bot: "Assistant",
  connecting: "Connecting…",
  reconnecting: "Connection lost. Reconnecting… Messages you type will be sent when we are back.",
  httpFallback: "Live connection unavailable; checking for replies every few seconds.",
  queue: "You are number {n} in the queue.",
  queueWait: "You are number {n} in the queue (about {m} min).",
  assigned: "{name} is helping you.",
  agentTyping: "{name} is typing…",
  someoneTyping: "Typing…",
  prechatTitle: "Before we start",
  name: "Name",
  email: "Email",
  phone: "Phone",
  startChat: "Start chat",
  required: "required",
  offlineTitle: "We are away right now",
  offlineText: "Leave a message and we will reply by email or phone.",
  leaveMessage: "Leave a message",
  yourMessage: "Your message",
  sendMessage: "Send message",
  contactNeeded: "Please give an email or a phone number so we can reply.",
  leftMessage: "Thank you! We received your message and will get back to you.",
  leftTicket: "Your ticket number is #{number}.",
  leftTicketMailed: " We have e-mailed it to you too.",
  csatTitle: "How did we do?",
  csatStars: "Rate this conversation",
  star: "{n} star",
  stars: "{n} stars",
  csatComment: "Comment (optional)",
  csatSubmit: "Submit rating",
  csatThanks: "Thank you for your feedback!",
  resolved: "This conversation was resolved. Write again any time.",
  identifyRequired: "Please sign in on this site to chat with us.",
  tooLarge: "That file is too large (max {size} MB).",
  badType: "That file type is not allowed.",
  uploadFailed: "Upload failed.",
  rateLimited: "You are sending too fast. Please wait a moment.",
  sendFailed: "Could not send. Please try again.",
  sendRefused: "This message cannot be sent: it contains characters that are not allowed or is too long.",
  image: "Image",
  file: "File",
  unread: "{n} unread messages",
  poweredBy: "kefu",
};

export type Strings = typeof en;

const zh: Strings = {
  openChat: "打开在线客服",
  closeChat: "关闭对话窗口",
  defaultTitle: "在线客服",
  defaultGreeting: "您好！请问有什么可以帮您？",
  messages: "消息",
  inputLabel: "输入消息",
  inputPlaceholder: "输入消息…",
  send: "发送",
  attach: "发送文件或图片",
  emoji: "插入表情",
  emojiPicker: "表情",
  sending: "发送中…",
  sent: "已发送",
  read: "已读",
  failed: "发送失败",
  you: "我",
  agent: "客服",
  bot: "智能助手",
  connecting: "正在连接…",
  reconnecting: "连接已断开，正在重连…您输入的消息会在恢复后发送。",
  httpFallback: "实时连接不可用，每隔几秒检查一次回复。",
  // queue_position counts from 1 (the visitor served next): "第 1 位", never "前面还有 1 位".
  queue: "您目前排在第 {n} 位，请稍候。",
  queueWait: "您目前排在第 {n} 位（约 {m} 分钟）。",
  assigned: "客服 {name} 正在为您服务。",
  agentTyping: "{name} 正在输入…",
  someoneTyping: "对方正在输入…",
  prechatTitle: "开始对话前",
  name: "姓名",
  email: "邮箱",
  phone: "电话",
  startChat: "开始对话",
  required: "必填",
  offlineTitle: "客服暂时不在线",
  offlineText: "请留言，我们会通过邮件或电话回复您。",
  leaveMessage: "留言",
  yourMessage: "留言内容",
  sendMessage: "提交留言",
  contactNeeded: "请填写邮箱或电话，方便我们回复您。",
  leftMessage: "谢谢！我们已收到您的留言，会尽快回复。",
  leftTicket: "您的工单号是 #{number}。",
  leftTicketMailed: "我们也已发送到您的邮箱。",
  csatTitle: "请评价本次服务",
  csatStars: "为本次对话评分",
  star: "{n} 星",
  stars: "{n} 星",
  csatComment: "意见（可选）",
  csatSubmit: "提交评价",
  csatThanks: "感谢您的评价！",
  resolved: "本次对话已结束，如有需要可随时再次留言。",
  identifyRequired: "请先登录本网站再咨询客服。",
  tooLarge: "文件太大（最大 {size} MB）。",
  badType: "不支持此文件类型。",
  uploadFailed: "上传失败。",
  rateLimited: "发送太频繁，请稍候再试。",
  sendFailed: "发送失败，请重试。",
  sendRefused: "此消息无法发送：包含不允许的字符或内容过长。",
  image: "图片",
  file: "文件",
  unread: "{n} 条未读消息",
  poweredBy: "kefu",
};

const tables: Record<Locale, Strings> = { "zh-CN": zh, en };

export function normalizeLocale(tag: string | null | undefined): Locale | null {
  if (!tag) return null;
  const lower = tag.toLowerCase();
  if (lower.startsWith("zh")) return "zh-CN";
  if (lower.startsWith("en")) return "en";
  return null;
}

/** The first browser language we have strings for; English when none matches. */
export function browserLocale(languages: readonly string[]): Locale {
  for (const tag of languages) {
    const hit = normalizeLocale(tag);
    if (hit) return hit;
  }
  return "en";
}

export function strings(locale: Locale): Strings {
  return tables[locale];
}

export function fill(template: string, values: Record<string, string | number>): string {
  return template.replace(/\{(\w+)\}/g, (_, key: string) => String(values[key] ?? ""));
}

/** Pick the inbox's text for a locale from {"zh-CN": ..., "en": ...} or a plain string. */
export function localized(value: unknown, locale: Locale): string | null {
  if (typeof value === "string") return value || null;
  if (value && typeof value === "object") {
    const table = value as Record<string, unknown>;
    const hit = table[locale] ?? table[locale.split("-")[0]];
    if (typeof hit === "string" && hit) return hit;
  }
  return null;
}
