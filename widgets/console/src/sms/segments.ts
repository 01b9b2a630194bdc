// SMS length as the customer is billed; mirrors connectors/sms/segments.py (GSM-7
// 160/153 with extension characters counting two, else UCS-2 70/67 in UTF-16 units;
// the 【签名】 signature is part of the message).

const GSM7_BASIC =
  "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
  "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const GSM7_EXTENSION = "^{}\\[~]|€\f";

export interface SmsCount {
  encoding: "gsm7" | "ucs2";
  chars: number;
  segments: number;
}

export function countSms(text: string, signature = ""): SmsCount {
  const full = signature ? `【${signature}】${text}` : text;
  const chars = Array.from(full);
  const gsm = chars.every((c) => GSM7_BASIC.includes(c) || GSM7_EXTENSION.includes(c));
  const units = gsm
    ? chars.reduce((n, c) => n + (GSM7_EXTENSION.includes(c) ? 2 : 1), 0)
    : full.length; // JS strings are UTF-16: an emoji is two units, as billed
  const [single, part] = gsm ? [160, 153] : [70, 67];
  const segments = units === 0 ? 0 : units <= single ? 1 : Math.ceil(units / part);
  return { encoding: gsm ? "gsm7" : "ucs2", chars: units, segments };
}

/** "您的订单{1}已发货" with ["A1"] → "您的订单A1已发货". */
export function fillTemplate(text: string, values: string[]): string {
  return text.replace(/\{(\d+)\}/g, (whole, n: string) => values[Number(n) - 1] ?? whole);
}

export function templateSlots(text: string): number[] {
  const found = new Set<number>();
  for (const m of text.matchAll(/\{(\d+)\}/g)) found.add(Number(m[1]));
  return [...found].sort((a, b) => a - b);
}
