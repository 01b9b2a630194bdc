// The SMS composer's words, zh-CN and en (spread into i18n.ts's tables).

export const smsEn = {
  "sms.count": "{chars} chars · {segments} segments",
  "sms.count_one": "{chars} chars · 1 segment",
  "sms.signature": "incl. signature 【{sign}】",
  "sms.opted_out": "The customer unsubscribed (STOP / 退订): replies are refused until they text START / 订阅.",
  "sms.template": "Template",
  "sms.template_pick": "Pick an approved template…",
  "sms.template_only": "Tencent SMS sends approved templates only.",
  "sms.variable": "Variable {n}",
  "sms.insert": "Use template",
};

export const smsZh: Record<keyof typeof smsEn, string> = {
  "sms.count": "{chars} 字 · {segments} 条",
  "sms.count_one": "{chars} 字 · 1 条",
  "sms.signature": "含签名【{sign}】",
  "sms.opted_out": "客户已退订（STOP / 退订）：客户发送 START / 订阅 之前，回复会被拒绝。",
  "sms.template": "模板",
  "sms.template_pick": "选择已审核的模板…",
  "sms.template_only": "腾讯云短信只能发送已审核的模板。",
  "sms.variable": "变量 {n}",
  "sms.insert": "使用模板",
};
