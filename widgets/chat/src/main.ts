// Entry: <script src="https://HOST/widget.js" data-inbox="PUBLIC_KEY" data-entry="pricing" async>
//
// The host page talks to the widget through one global function:
//   kefu('open') | kefu('close') | kefu('call') | kefu('identify', {id, name, email, hash})
//   kefu('setAttributes', {...}) | kefu('setLocale', 'en') | kefu('reset')
//   kefu('on', 'message', fn) | kefu('off', 'message', fn)
// Calls made before the script loaded are queued by the usual stub
//   window.kefu = window.kefu || function () { (kefu.q = kefu.q || []).push(arguments) };
// and replayed here. Every event is also dispatched on window as `kefu:<name>`.

import { Widget } from "./widget";

type Call = [string, ...unknown[]];
type KefuFn = ((...args: Call) => unknown) & { q?: ArrayLike<unknown>[]; widget?: Widget };

declare global {
  interface Window {
    kefu?: KefuFn;
  }
}

function dispatch(widget: Widget, name: string, args: unknown[]): unknown {
  switch (name) {
    case "open":
      return widget.open();
    case "close":
      return widget.close();
    case "toggle":
      return widget.toggle();
    case "call":
      return widget.call();
    case "identify":
      return widget.identify((args[0] ?? {}) as Parameters<Widget["identify"]>[0]);
    case "setAttributes":
      return widget.setAttributes((args[0] ?? {}) as Record<string, unknown>);
    case "setLocale":
      return widget.setLocale(String(args[0] ?? ""));
    case "reset":
      return widget.reset();
    case "on":
      return widget.on(String(args[0]), args[1] as (detail: unknown) => void);
    case "off":
      return widget.off(String(args[0]), args[1] as (detail: unknown) => void);
    default:
      console.warn(`kefu: unknown command ${name}`);
      return undefined;
  }
}

function boot(): void {
  const script =
    (document.currentScript as HTMLScriptElement | null) ??
    document.querySelector<HTMLScriptElement>("script[data-inbox]");
  if (!script?.dataset.inbox) {
    console.error("kefu: the widget script needs a data-inbox attribute");
    return;
  }
  if (window.kefu?.widget) return; // loaded twice: keep the first
  const base = script.dataset.api ?? new URL(script.src, location.href).origin;
  const start = () => {
    const widget = new Widget({
      inbox: script.dataset.inbox!,
      entry: script.dataset.entry ?? null,
      base: base.replace(/\/$/, ""),
      transport: script.dataset.transport === "http" ? "http" : "auto",
    });
    const queued = window.kefu?.q ?? [];
    const api: KefuFn = (...args: Call) => dispatch(widget, args[0], args.slice(1));
    api.widget = widget;
    window.kefu = api;
    for (const call of Array.from(queued)) {
      const [name, ...rest] = Array.from(call) as Call;
      dispatch(widget, name, rest);
    }
    // The link in a reply mailed to a visitor who left a message ends with #kefu-chat:
    // they land on the page with the conversation open.
    if (location.hash === "#kefu-chat") widget.open();
  };
  if (document.body) start();
  else document.addEventListener("DOMContentLoaded", start, { once: true });
}

boot();
