// The visitor's chat panel: launcher, header, message log, composer, pre-chat and
// leave-message forms and the satisfaction card, inside an open-mode shadow root.

import { Api, ApiError, type ConversationView, type MessageView, type SessionView } from "./api";
import { Line, type LineState, readJson, writeJson } from "./connection";
import { h, icon, ICONS, safeColor, safeUrl } from "./dom";
import { browserLocale, fill, type Locale, localized, normalizeLocale, type Strings, strings } from "./i18n";
import { HelpSearch, helpCss } from "./help";
import { markdown } from "./markdown";
import { css } from "./styles";
import { CallControl } from "./call/call";
import { callCss } from "./call/styles";

export interface WidgetOptions {
  inbox: string;
  entry: string | null;
  base: string;
  transport: "auto" | "http";
}

type Listener = (detail: unknown) => void;

const EMOJI = ["😀", "😂", "😊", "😍", "🤔", "😅", "😢", "😡", "👍", "👎", "👏", "🙏", "💪", "🎉", "❤️", "🔥",
  "✅", "❌", "⭐", "📦", "🚚", "💰", "📷", "👋"];

export class Widget {
  readonly api: Api;
  locale: Locale;
  t: Strings;
  session: SessionView | null = null;
  conversation: ConversationView | null = null;
  private line: Line | null = null;
  private listeners = new Map<string, Set<Listener>>();
  private host: HTMLElement;
  private shadow: ShadowRoot;
  private els!: {
    root: HTMLDivElement;
    launcher: HTMLButtonElement;
    badge: HTMLSpanElement;
    panel: HTMLDivElement;
    title: HTMLHeadingElement;
    subtitle: HTMLParagraphElement;
    avatar: HTMLImageElement;
    close: HTMLButtonElement;
    banner: HTMLDivElement;
    body: HTMLDivElement;
    log: HTMLDivElement;
    typing: HTMLDivElement;
    composer: HTMLFormElement;
    input: HTMLTextAreaElement;
    send: HTMLButtonElement;
    file: HTMLInputElement;
    emoji: HTMLDivElement;
  };
  private isOpen = false;
  private unread = 0;
  private leftTicket: { number: string; emailed: boolean } | null = null;
  private rendered = new Map<string, HTMLElement>(); // by message id or client id
  private typingTimer: number | undefined;
  private lastTypingSent = 0;
  private pageViewId: string | null = null;
  private pageShownAt = Date.now();
  private ready: Promise<void>;
  private attributes: Record<string, unknown> = {};
  private localeOverridden = false;
  private view: "chat" | "prechat" | "offline" | "blocked" | "left" = "chat";
  private help!: HelpSearch; // article search before the first message
  private calls!: CallControl; // the call button and window (issue 18)
  private wantsMessageForm = false; // the visitor chose "leave a message" over a call

  constructor(private readonly options: WidgetOptions) {
    this.api = new Api(options.base);
    const stored = normalizeLocale(readJson<string>(this.key("locale")));
    this.localeOverridden = stored !== null;
    this.locale = stored ?? browserLocale(navigator.languages?.length ? navigator.languages : [navigator.language]);
    this.t = strings(this.locale);
    this.host = h("div", { "data-kefu-widget": options.inbox });
    this.shadow = this.host.attachShadow({ mode: "open" });
    document.body.append(this.host);
    this.build();
    this.ready = this.boot();
  }

  key(name: string): string {
    return `kefu:${this.options.inbox}:${name}`;
  }

  // ---------------------------------------------------------------- public API

  on(name: string, listener: Listener): void {
    if (!this.listeners.has(name)) this.listeners.set(name, new Set());
    this.listeners.get(name)!.add(listener);
  }

  off(name: string, listener: Listener): void {
    this.listeners.get(name)?.delete(listener);
  }

  emit(name: string, detail: unknown = null): void {
    for (const listener of this.listeners.get(name) ?? []) {
      try {
        listener(detail);
      } catch (error) {
        console.error("kefu: listener failed", error);
      }
    }
    window.dispatchEvent(new CustomEvent(`kefu:${name}`, { detail }));
  }

  open(): void {
    this.isOpen = true;
    this.els.panel.hidden = false;
    this.els.root.classList.add("open");
    this.els.launcher.setAttribute("aria-expanded", "true");
    this.unread = 0;
    this.updateBadge();
    this.markRead();
    this.scrollDown();
    if (this.view === "chat") this.els.input.focus();
    this.emit("open");
  }

  close(): void {
    this.isOpen = false;
    this.els.panel.hidden = true;
    this.els.root.classList.remove("open");
    this.els.launcher.setAttribute("aria-expanded", "false");
    this.els.launcher.focus();
    this.emit("close");
  }

  toggle(): void {
    if (this.isOpen) this.close();
    else this.open();
  }

  /** kefu('call'): open the panel and start a voice call (when the inbox offers one). */
  async call(): Promise<void> {
    await this.ready;
    if (this.calls.button.hidden) return;
    this.open();
    await this.calls.start();
  }

  setLocale(tag: string): void {
    const locale = normalizeLocale(tag);
    if (!locale) return;
    this.locale = locale;
    this.localeOverridden = true;
    writeJson(this.key("locale"), locale);
    this.t = strings(locale);
    this.relabel();
    this.emit("locale", locale);
  }

  async identify(user: { id?: string; name?: string; email?: string; phone?: string; hash?: string }): Promise<void> {
    await this.ready;
    if (!user || !user.id) return;
    try {
      const session = await this.api.identify(user);
      this.adopt(session, true);
      this.emit("identified", { id: user.id, verified: session.verified });
    } catch (error) {
      this.emit("error", { action: "identify", detail: error instanceof ApiError ? error.detail : String(error) });
    }
  }

  async setAttributes(attributes: Record<string, unknown>): Promise<void> {
    this.attributes = { ...this.attributes, ...attributes };
    await this.ready;
    try {
      await this.api.setAttributes(attributes);
    } catch (error) {
      this.emit("error", { action: "setAttributes", detail: error instanceof ApiError ? error.detail : String(error) });
    }
  }

  /** Forget the visitor (e.g. on the host site's logout) and start as a new anonymous one. */
  async reset(): Promise<void> {
    await this.ready;
    this.line?.clear();
    localStorage.removeItem(this.key("token"));
    this.session = null;
    this.conversation = null;
    this.rendered.clear();
    this.els.log.replaceChildren();
    this.ready = this.boot();
    await this.ready;
    this.emit("reset");
  }

  // ---------------------------------------------------------------- token renewal

  private renewal: number | undefined;

  // Visitor tokens expire: a page left open asks for a fresh one at half of the time
  // left, quietly (the conversation on screen is not re-rendered).
  private renewTokenLater(expiresAt: string): void {
    window.clearTimeout(this.renewal);
    const left = Date.parse(expiresAt) - Date.now();
    if (!Number.isFinite(left)) return;
    const wait = Math.min(Math.max(left / 2, 60_000), 2_147_483_647);
    this.renewal = window.setTimeout(() => void this.renewToken(), wait);
  }

  private async renewToken(): Promise<void> {
    try {
      const fresh = await this.api.session({
        inbox: this.options.inbox,
        token: this.api.token,
        locale: this.locale,
        entry: this.options.entry,
        page: this.page(),
      });
      this.api.token = fresh.token;
      writeJson(this.key("token"), fresh.token);
      this.renewTokenLater(fresh.token_expires_at);
    } catch {
      this.renewal = window.setTimeout(() => void this.renewToken(), 60_000);
    }
  }

  // ---------------------------------------------------------------- boot

  private async boot(): Promise<void> {
    this.setBanner(this.t.connecting);
    let session: SessionView;
    try {
      session = await this.api.session({
        inbox: this.options.inbox,
        token: readJson<string>(this.key("token")),
        locale: this.locale,
        entry: this.options.entry,
        page: this.page(),
      });
    } catch (error) {
      this.setBanner(error instanceof ApiError ? error.detail : this.t.reconnecting);
      this.emit("error", { action: "session", detail: String(error) });
      // The server may be restarting: try again shortly, as a page left open should.
      window.setTimeout(() => {
        this.ready = this.boot();
      }, 5000);
      return;
    }
    this.adopt(session, false);
    this.trackPage();
    this.emit("ready", { visitor_id: session.visitor_id });
  }

  private adopt(session: SessionView, restart: boolean): void {
    this.session = session;
    this.api.token = session.token;
    writeJson(this.key("token"), session.token);
    this.renewTokenLater(session.token_expires_at);
    const config = session.config;
    if (!this.localeOverridden && config.locales.length) {
      // The browser's language if the inbox offers it, else the inbox's first locale.
      const offered = config.locales.map((l) => normalizeLocale(l)).filter((l): l is Locale => l !== null);
      if (offered.length && !offered.includes(this.locale)) {
        this.locale = offered[0];
        this.t = strings(this.locale);
      }
    }
    this.els.root.style.setProperty("--kefu-brand", safeColor(config.brand_color));
    this.calls.configure(config);
    const avatar = safeUrl(config.avatar_url, this.options.base);
    if (avatar) this.els.avatar.src = avatar;
    this.els.avatar.hidden = !avatar;
    this.conversation = session.conversation;
    this.els.log.replaceChildren();
    this.rendered.clear();
    this.renderGreeting();
    for (const message of session.messages) this.renderMessage(message);
    this.relabel();
    if (restart || !this.line) {
      this.line?.stop();
      const wsBase = this.options.base.replace(/^http/, "ws");
      this.line = new Line(this.api, wsBase, `kefu:${this.options.inbox}`, this.lineEvents(), this.options.transport === "http");
    }
    for (const pending of this.line.pending) this.renderPending(pending.client_id, pending.body, pending.type);
    for (const control of this.composerControls()) control.disabled = false;
    this.chooseView();
    this.line.start(session.conversation, session.messages);
    if (session.conversation) this.showConversation(session.conversation);
  }

  private lineEvents() {
    return {
      message: (message: MessageView) => {
        this.renderMessage(message);
        if (message.direction === "out" && message.sender_kind !== "system" && this.view === "left") {
          // Someone answered the message the visitor left: show the conversation live.
          this.view = "chat";
          this.chooseView();
        }
        if (message.direction === "out") {
          if (this.isOpen && document.visibilityState === "visible") this.markRead();
          else {
            this.unread += 1;
            this.updateBadge();
          }
          this.setTyping(false, null);
          this.emit("message", { body: message.body, sender_name: message.sender_name, type: message.type });
        }
      },
      ack: (clientId: string) => {
        const el = this.rendered.get(clientId);
        if (el) this.setState(el, this.t.sent, false);
        this.emit("sent", { client_id: clientId });
      },
      rejected: (clientId: string, status: number, detail: string, dropped: boolean) => {
        const el = this.rendered.get(clientId);
        const reason = status === 429 ? this.t.rateLimited : status === 403 && this.session?.config.identity_mandatory
          ? this.t.identifyRequired : status >= 500 ? this.t.sendFailed
          // 400/422: the server refused this message's content; said in the widget's language.
          : status === 400 || status === 422 ? this.t.sendRefused : detail || this.t.sendFailed;
        if (el) this.setState(el, dropped ? `${this.t.failed}: ${reason}` : this.t.sending, dropped);
        if (status === 429) this.setBanner(this.t.rateLimited);
      },
      conversation: (conversation: ConversationView) => this.showConversation(conversation),
      typing: (typing: boolean, name: string | null) => this.setTyping(typing, name),
      state: (state: LineState) => this.showLineState(state),
    };
  }

  private page() {
    return { url: location.href, title: document.title, referrer: document.referrer };
  }

  private trackPage(): void {
    this.api.pageView(this.page()).then(
      (view) => {
        this.pageViewId = view.id;
      },
      () => undefined,
    );
    this.pageShownAt = Date.now();
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "hidden" && this.pageViewId) {
        // keepalive lets the request outlive the page being closed.
        this.api.pageLeft(this.pageViewId, Math.round((Date.now() - this.pageShownAt) / 1000)).catch(() => undefined);
      } else if (document.visibilityState === "visible" && this.isOpen) {
        this.markRead();
      }
    });
  }

  // ---------------------------------------------------------------- DOM

  private build(): void {
    const t = this.t;
    const style = h("style");
    style.textContent = css + helpCss + callCss;
    this.help = new HelpSearch(this.api, this.options.inbox, () => this.locale);
    this.calls = new CallControl({
      api: this.api,
      base: this.options.base,
      locale: () => this.locale,
      emit: (name, detail) => this.emit(name, detail),
      chat: () => this.els.input.focus(),
      leaveMessage: () => {
        this.wantsMessageForm = true;
        this.chooseView();
      },
    });
    const launcher = h("button", { type: "button", class: "launcher", "aria-expanded": "false", "aria-label": t.openChat });
    launcher.append(icon(ICONS.chat));
    const badge = h("span", { class: "badge", hidden: true, "aria-hidden": "true" });
    launcher.append(badge);
    const avatar = h("img", { alt: "", hidden: true });
    const title = h("h2", { id: "kefu-title" });
    const subtitle = h("p", { role: "status" });
    const close = h("button", { type: "button", "aria-label": t.closeChat });
    close.append(icon(ICONS.close));
    close.querySelector("svg")!.setAttribute("width", "20");
    const banner = h("div", { class: "banner", role: "status", "aria-live": "polite" });
    const log = h("div", { class: "log", role: "log", "aria-live": "polite", "aria-label": t.messages, tabindex: "0" });
    const typing = h("div", { class: "typing", "aria-live": "polite" });
    const input = h("textarea", { rows: "1", "aria-label": t.inputLabel, placeholder: t.inputPlaceholder, maxlength: "5000" });
    const send = h("button", { type: "submit", class: "send" }, t.send);
    const attach = h("button", { type: "button", class: "icon", "aria-label": t.attach });
    attach.append(icon(ICONS.clip));
    const file = h("input", { type: "file", hidden: true, tabindex: "-1", "aria-label": t.attach });
    const emojiButton = h("button", { type: "button", class: "icon", "aria-label": t.emoji, "aria-expanded": "false" });
    emojiButton.append(icon(ICONS.smile));
    const emoji = h("div", { class: "emoji", role: "group", "aria-label": t.emojiPicker, hidden: true });
    for (const char of EMOJI) {
      const b = h("button", { type: "button", "aria-label": char }, char);
      b.addEventListener("click", () => {
        this.insert(char);
        emoji.hidden = true;
        emojiButton.setAttribute("aria-expanded", "false");
      });
      emoji.append(b);
    }
    // Disabled until the session and its connection exist: a message typed or sent
    // before then would have nowhere to go (and a lost click looks like a sent one).
    for (const control of [input, send, attach]) control.disabled = true;
    const composer = h("form", { class: "composer" }, emoji, emojiButton, attach, file, input, send);
    const body = h("div", { class: "sheet", hidden: true });
    const panel = h(
      "div",
      { class: "panel", role: "dialog", "aria-labelledby": "kefu-title", hidden: true },
      h("header", {}, avatar, h("div", { class: "titles" }, title, subtitle), this.calls.button, close),
      banner,
      this.calls.sheet,
      this.help.el,
      log,
      typing,
      body,
      composer,
      h("div", { class: "foot" }, "kefu"),
    );
    const root = h("div", { class: "root" }, panel, launcher);
    root.style.setProperty("--kefu-brand", "#1a73e8");
    this.shadow.append(style, root);
    this.els = { root, launcher, badge, panel, title, subtitle, avatar, close, banner, body, log, typing, composer, input, send, file, emoji };

    launcher.addEventListener("click", () => this.toggle());
    close.addEventListener("click", () => this.close());
    panel.addEventListener("keydown", (event) => {
      if (event.key === "Escape") this.close();
    });
    emojiButton.addEventListener("click", () => {
      emoji.hidden = !emoji.hidden;
      emojiButton.setAttribute("aria-expanded", String(!emoji.hidden));
    });
    attach.addEventListener("click", () => file.click());
    file.addEventListener("change", () => {
      const chosen = file.files?.[0];
      file.value = "";
      if (chosen) void this.upload(chosen);
    });
    composer.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
    input.addEventListener("keydown", (event) => {
      // Enter sends, Shift+Enter breaks the line; never while an IME is composing (Chinese input).
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.submit();
      }
    });
    input.addEventListener("input", () => this.typed());
  }

  /** Re-apply every locale-dependent text (after setLocale or the session's config). */
  private relabel(): void {
    const t = this.t;
    const config = this.session?.config;
    this.els.launcher.setAttribute("aria-label", t.openChat);
    this.els.close.setAttribute("aria-label", t.closeChat);
    this.els.title.textContent = localized(config?.title, this.locale) ?? t.defaultTitle;
    this.els.log.setAttribute("aria-label", t.messages);
    this.els.input.setAttribute("aria-label", t.inputLabel);
    this.els.input.placeholder = t.inputPlaceholder;
    this.els.send.textContent = t.send;
    const [emojiButton, attach] = this.els.composer.querySelectorAll<HTMLButtonElement>("button.icon");
    emojiButton.setAttribute("aria-label", t.emoji);
    attach.setAttribute("aria-label", t.attach);
    this.els.file.setAttribute("aria-label", t.attach);
    this.els.emoji.setAttribute("aria-label", t.emojiPicker);
    const greeting = this.els.log.querySelector(".greeting .bubble");
    if (greeting) greeting.textContent = localized(config?.greeting, this.locale) ?? t.defaultGreeting;
    if (this.conversation) this.showConversation(this.conversation);
    if (this.line) this.showLineState(this.line.state);
    if (this.session) this.chooseView();
    this.help.render();
    this.calls.relabel();
    this.updateBadge();
  }

  private chooseView(): void {
    const session = this.session!;
    const config = session.config;
    const active = this.conversation && this.conversation.status !== "resolved";
    let view: typeof this.view = "chat";
    if (config.identity_mandatory && !session.verified) view = "blocked";
    else if (this.view === "left") view = "left";
    else if (this.wantsMessageForm || (!active && !config.online && config.offline_mode === "leave_message")) view = "offline";
    else if (!active && !session.prechat_done && config.prechat_fields.length && !session.messages.length) view = "prechat";
    this.view = view;
    const body = this.els.body;
    body.replaceChildren();
    body.hidden = view === "chat";
    this.els.log.hidden = view !== "chat";
    this.els.typing.hidden = view !== "chat";
    this.els.composer.hidden = view !== "chat";
    if (view === "blocked") body.append(h("p", { role: "alert" }, this.t.identifyRequired));
    else if (view === "prechat") body.append(this.prechatForm());
    else if (view === "offline") body.append(this.leaveMessageForm());
    else if (view === "left") {
      body.append(h("p", { role: "status" }, this.t.leftMessage));
      // A left message that opened a ticket: its number, which also comes by e-mail.
      if (this.leftTicket) {
        const said = fill(this.t.leftTicket, { number: this.leftTicket.number }) + (this.leftTicket.emailed ? this.t.leftTicketMailed : "");
        body.append(h("p", { class: "ticket-number", role: "status" }, said));
      }
    }
    this.updateHelp();
  }

  /** Article search is for before a chat starts: hidden once anything was said. */
  private updateHelp(): void {
    this.help.el.hidden = this.view !== "chat" || this.rendered.size > 0;
  }

  private field(name: "name" | "email" | "phone" | "body", label: string, required: boolean, multiline = false) {
    const id = `kefu-f-${name}`;
    const control = multiline
      ? h("textarea", { id, name, required, maxlength: "5000" })
      : h("input", { id, name, required, type: name === "email" ? "email" : name === "phone" ? "tel" : "text", autocomplete: name === "phone" ? "tel" : name });
    return [h("label", { for: id }, required ? `${label} (${this.t.required})` : label), control];
  }

  private prechatForm(): HTMLFormElement {
    const t = this.t;
    const fields = this.session!.config.prechat_fields;
    const error = h("div", { class: "error", role: "alert" });
    const form = h("form", { "aria-label": t.prechatTitle }, h("h3", {}, t.prechatTitle));
    for (const f of fields) form.append(...this.field(f.name, t[f.name], f.required));
    form.append(error, h("button", { type: "submit", class: "primary" }, t.startChat));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const data = Object.fromEntries(new FormData(form)) as Record<string, string>;
      try {
        await this.api.prechat(data);
        this.session!.prechat_done = true;
        this.chooseView();
        this.els.input.focus();
      } catch (e) {
        error.textContent = e instanceof ApiError ? e.detail : t.sendFailed;
      }
    });
    return form;
  }

  private leaveMessageForm(): HTMLFormElement {
    const t = this.t;
    const error = h("div", { class: "error", role: "alert" });
    const form = h(
      "form",
      { "aria-label": t.leaveMessage },
      h("h3", {}, t.offlineTitle),
      h("p", {}, t.offlineText),
      ...this.field("name", t.name, false),
      ...this.field("email", t.email, false),
      ...this.field("phone", t.phone, false),
      ...this.field("body", t.yourMessage, true, true),
      error,
      h("button", { type: "submit", class: "primary" }, t.sendMessage),
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const data = Object.fromEntries(new FormData(form)) as Record<string, string>;
      if (!data.email?.trim() && !data.phone?.trim()) {
        error.textContent = t.contactNeeded;
        return;
      }
      try {
        const result = await this.api.leaveMessage(data);
        this.line?.follow(result.conversation_id);
        this.leftTicket = result.ticket_number ? { number: result.ticket_number, emailed: Boolean(result.ticket_emailed) } : null;
        this.view = "left";
        this.wantsMessageForm = false;
        this.chooseView();
        this.emit("leftMessage", { conversation_id: result.conversation_id });
      } catch (e) {
        error.textContent = e instanceof ApiError ? e.detail : t.sendFailed;
      }
    });
    return form;
  }

  // ---------------------------------------------------------------- messages

  private renderGreeting(): void {
    const text = localized(this.session?.config.greeting, this.locale) ?? this.t.defaultGreeting;
    this.els.log.append(h("div", { class: "msg out greeting" }, h("div", { class: "bubble" }, text)));
  }

  private renderMessage(message: MessageView): void {
    if (message.direction === "note") return; // never shown to visitors; the server filters too
    const clientId = message.client_message_id;
    const existing = this.rendered.get(message.id) ?? (clientId ? this.rendered.get(clientId) : undefined);
    const state = message.delivery_status === "read" ? this.t.read : this.t.sent;
    if (existing?.dataset.seq) {
      if (message.direction === "in") this.setState(existing, state, false);
      return;
    }
    // The bot's messages are stored without a sender name: after a reload they are still the assistant's.
    const name = message.sender_name || (message.sender_kind === "bot" ? this.t.bot : null);
    const el = this.bubble(message.direction, name, message.body, message.type, message.attachments, message.sender_kind === "bot");
    el.dataset.seq = String(message.seq);
    if (message.direction === "in") this.setState(el, state, false);
    this.rendered.set(message.id, el);
    if (clientId) this.rendered.set(clientId, el);
    this.updateHelp();
    if (existing) {
      // The stored message replaces its optimistic bubble in place (attachments now have URLs).
      existing.replaceWith(el);
      this.scrollDown();
    } else this.insertOrdered(el);
  }

  private insertOrdered(el: HTMLElement): void {
    // Pending (unacknowledged) bubbles stay last; confirmed messages go before them.
    const firstPending = this.els.log.querySelector(".msg.pending");
    if (firstPending && !el.classList.contains("pending")) this.els.log.insertBefore(el, firstPending);
    else this.els.log.append(el);
    this.scrollDown();
  }

  private renderPending(clientId: string, body: string, type: string): void {
    if (this.rendered.has(clientId)) return;
    const el = this.bubble("in", null, body, type, []);
    el.classList.add("pending");
    this.setState(el, this.t.sending, false);
    this.rendered.set(clientId, el);
    this.updateHelp();
    this.els.log.append(el);
    this.scrollDown();
  }

  private bubble(direction: string, senderName: string | null, body: string, type: string, attachments: MessageView["attachments"], rich = false): HTMLElement {
    const who = direction === "in" ? this.t.you : senderName || this.t.agent;
    const bubble = h("div", { class: rich ? "bubble md" : "bubble" });
    // The bot answers from the knowledge base, written in Markdown; people's words stay text.
    if (body) bubble.append(rich ? markdown(body) : body);
    for (const attachment of attachments ?? []) {
      const url = safeUrl(attachment.url, this.options.base);
      if (!url) continue;
      if (type === "image" || attachment.content_type.startsWith("image/")) {
        bubble.append(h("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, h("img", { src: url, alt: attachment.name || this.t.image })));
      } else {
        bubble.append(h("a", { href: url, target: "_blank", rel: "noopener noreferrer", download: attachment.name }, `📎 ${attachment.name || this.t.file}`));
      }
    }
    return h("div", { class: `msg ${direction}` }, direction === "event" ? null : h("span", { class: "who" }, who), bubble);
  }

  private setState(el: HTMLElement, text: string, failed: boolean): void {
    el.classList.toggle("pending", text === this.t.sending);
    let state = el.querySelector<HTMLElement>(".state");
    if (!state) {
      state = h("span", { class: "state" });
      el.append(state);
    }
    state.textContent = text;
    state.classList.toggle("failed", failed);
  }

  private composerControls(): (HTMLTextAreaElement | HTMLButtonElement)[] {
    const attach = this.els.composer.querySelectorAll<HTMLButtonElement>("button.icon")[1];
    return [this.els.input, this.els.send, attach];
  }

  private submit(): void {
    const text = this.els.input.value.trim();
    if (!text || !this.line || this.view !== "chat") return;
    this.els.input.value = "";
    this.sendTyping(false);
    const pending = this.line.send(text);
    this.renderPending(pending.client_id, text, "text");
  }

  private insert(text: string): void {
    const input = this.els.input;
    const start = input.selectionStart ?? input.value.length;
    input.value = input.value.slice(0, start) + text + input.value.slice(input.selectionEnd ?? start);
    input.focus();
    input.selectionStart = input.selectionEnd = start + text.length;
  }

  private async upload(file: File): Promise<void> {
    const config = this.session?.config;
    if (!config || !this.line) return;
    if (file.size > config.max_upload_bytes) {
      this.setBanner(fill(this.t.tooLarge, { size: Math.round(config.max_upload_bytes / 1048576) }));
      return;
    }
    try {
      const attachment = await this.api.upload(file);
      const type = attachment.content_type.startsWith("image/") ? "image" : "file";
      const pending = this.line.send("", type, [attachment]);
      this.renderPending(pending.client_id, `📎 ${attachment.name}`, type);
    } catch (error) {
      const status = error instanceof ApiError ? error.status : 0;
      this.setBanner(status === 415 ? this.t.badType : status === 413 ? fill(this.t.tooLarge, { size: Math.round(config.max_upload_bytes / 1048576) }) : this.t.uploadFailed);
    }
  }

  private typed(): void {
    const now = Date.now();
    if (now - this.lastTypingSent > 2500) this.sendTyping(true);
    window.clearTimeout(this.typingTimer);
    this.typingTimer = window.setTimeout(() => this.sendTyping(false), 3000);
  }

  private sendTyping(typing: boolean): void {
    this.lastTypingSent = typing ? Date.now() : 0;
    this.line?.typing(typing);
  }

  private setTyping(typing: boolean, name: string | null): void {
    this.els.typing.textContent = typing ? (name ? fill(this.t.agentTyping, { name }) : this.t.someoneTyping) : "";
  }

  private markRead(): void {
    if (this.line?.conversationId && this.line.lastSeq) this.line.read(this.line.lastSeq);
  }

  private showConversation(conversation: ConversationView): void {
    const previous = this.conversation;
    this.conversation = conversation;
    const t = this.t;
    let subtitle = "";
    if (conversation.status === "resolved") subtitle = t.resolved;
    else if (this.view === "left") subtitle = ""; // the thanks says it all; no queue place for a left message
    else if (conversation.assignee_name) subtitle = fill(t.assigned, { name: conversation.assignee_name });
    else if (conversation.queue_position) {
      subtitle = conversation.estimated_wait_seconds
        ? fill(t.queueWait, { n: conversation.queue_position, m: Math.max(1, Math.round(conversation.estimated_wait_seconds / 60)) })
        : fill(t.queue, { n: conversation.queue_position });
    }
    this.els.subtitle.textContent = subtitle;
    const avatar = safeUrl(conversation.assignee_avatar, this.options.base) ?? safeUrl(this.session?.config.avatar_url, this.options.base);
    if (avatar) this.els.avatar.src = avatar;
    this.els.avatar.hidden = !avatar;
    if (conversation.status === "resolved" && conversation.csat_score === null) this.showCsat(conversation.id);
    if (previous?.status !== conversation.status) this.emit("conversation", { id: conversation.id, status: conversation.status });
  }

  private showCsat(conversationId: string): void {
    if (this.els.log.querySelector(`.csat[data-conversation="${CSS.escape(conversationId)}"]`)) return;
    const t = this.t;
    let score = 0;
    const stars = h("div", { class: "stars", role: "radiogroup", "aria-label": t.csatStars });
    const buttons: HTMLButtonElement[] = [];
    for (let n = 1; n <= 5; n++) {
      const b = h("button", { type: "button", role: "radio", "aria-checked": "false", "aria-label": fill(n === 1 ? t.star : t.stars, { n }) }, "★");
      b.addEventListener("click", () => {
        score = n;
        // One radio is checked; the stars before it are only drawn filled.
        buttons.forEach((other, i) => {
          other.setAttribute("aria-checked", String(i === n - 1));
          other.classList.toggle("on", i < n);
        });
      });
      buttons.push(b);
      stars.append(b);
    }
    const comment = h("textarea", { "aria-label": t.csatComment, placeholder: t.csatComment, maxlength: "2000" });
    const submit = h("button", { type: "submit", class: "primary" }, t.csatSubmit);
    const card = h("form", { class: "csat", "aria-label": t.csatTitle, "data-conversation": conversationId }, h("h3", {}, t.csatTitle), stars, comment, submit);
    card.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (!score) return;
      try {
        await this.api.rate({ conversation_id: conversationId, score, comment: comment.value });
        card.replaceChildren(h("p", { role: "status" }, t.csatThanks));
        this.emit("rated", { conversation_id: conversationId, score });
      } catch (error) {
        this.setBanner(error instanceof ApiError ? error.detail : t.sendFailed);
      }
    });
    this.els.log.append(card);
    this.scrollDown();
  }

  private showLineState(state: LineState): void {
    this.setBanner(state === "online" ? "" : state === "polling" ? this.t.httpFallback : state === "reconnecting" ? this.t.reconnecting : this.t.connecting);
    this.emit("connection", state);
  }

  private setBanner(text: string): void {
    this.els.banner.textContent = text;
  }

  private updateBadge(): void {
    const badge = this.els.badge;
    badge.hidden = this.unread === 0;
    badge.textContent = String(this.unread);
    this.els.launcher.setAttribute("aria-label", this.unread ? `${this.t.openChat} (${fill(this.t.unread, { n: this.unread })})` : this.t.openChat);
    if (this.unread) this.emit("unread", this.unread);
  }

  private scrollDown(): void {
    const log = this.els.log;
    log.scrollTop = log.scrollHeight;
  }
}
