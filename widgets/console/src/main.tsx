import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { ApiError, Presence, post } from "./api";
import { Locale, locale, setLocale, t } from "./i18n";
import { connectLive, disconnectLive } from "./live";
import {
  booted,
  isAdmin,
  isKnowledgeOnly,
  isKnowledgeEditor,
  isSupervisor,
  isStaff,
  liveConnected,
  loadCounts,
  loadDirectory,
  loadMe,
  me,
  muted,
  setPresence,
  toast,
} from "./store";
import { CapacityDialog } from "./capacity";
import { InboxScreen } from "./inbox";
import { BoardScreen } from "./board";
import { MyStats, ReportsScreen } from "./reports/screen";
import { AdminScreen } from "./admin";
import { KnowledgeScreen } from "./knowledge/studio";
import { TicketsScreen } from "./tickets/screen";
import { route } from "./router";
import { PhoneDock, PhoneSwitch } from "./phone/softphone";
import { dropPhone } from "./phone/state";
import "./styles.css";


function LanguageSwitch() {
  return (
    <label class="inline">
      <span class="sr-only">{t("lang.label")}</span>
      <select
        aria-label={t("lang.label")}
        value={locale.value}
        onChange={(e) => setLocale((e.currentTarget as HTMLSelectElement).value as Locale)}
      >
        <option value="zh-CN">中文</option>
        <option value="en">English</option>
      </select>
    </label>
  );
}

function PresenceSwitch() {
  const m = me.value;
  if (!m) return null;
  return (
    <label class={`inline presence presence-${m.presence}`}>
      <span class="dot" aria-hidden="true" />
      <select
        aria-label={t("presence.label")}
        value={m.presence}
        onChange={(e) => void setPresence((e.currentTarget as HTMLSelectElement).value as Presence)}
      >
        {(["online", "busy", "away", "offline"] as const).map((p) => (
          <option value={p}>{t(`presence.${p}`)}</option>
        ))}
      </select>
    </label>
  );
}

function Login() {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [workspace, setWorkspace] = useState(localStorage.getItem("kefu.workspace") ?? "");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError("");
    try {
      await post("/api/v1/auth/login", { email, password, workspace: workspace.trim() || null });
      if (workspace.trim()) localStorage.setItem("kefu.workspace", workspace.trim());
      await loadMe();
    } catch (err) {
      // The server's sentence says what to do (e.g. name the workspace); show it too.
      setError(
        err instanceof ApiError && err.status < 500
          ? `${t("login.failed")} (${err.detail})`
          : String(err),
      );
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="login">
      <form class="card" onSubmit={submit} aria-labelledby="login-title">
        <div class="login-head">
          <h1 id="login-title">{t("login.title")}</h1>
          <LanguageSwitch />
        </div>
        <label>
          {t("login.email")}
          <input
            type="email"
            name="email"
            autocomplete="username"
            required
            value={email}
            onInput={(e) => setEmail(e.currentTarget.value)}
          />
        </label>
        <label>
          {t("login.password")}
          <input
            type="password"
            name="password"
            autocomplete="current-password"
            required
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </label>
        <details open={!!workspace}>
          <summary>{t("login.more")}</summary>
          <label>
            {t("login.workspace")}
            <input
              name="workspace"
              autocomplete="organization"
              value={workspace}
              onInput={(e) => setWorkspace(e.currentTarget.value)}
            />
          </label>
        </details>
        {error && (
          <p role="alert" class="error">
            {error}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy}>
          {t("login.submit")}
        </button>
      </form>
    </main>
  );
}

function TopBar() {
  const r = route.value;
  const link = (path: string, key: string) => (
    <a href={`#${path}`} aria-current={r.startsWith(path) ? "page" : undefined}>
      {t(key)}
    </a>
  );
  const signOut = async () => {
    try {
      await post("/api/v1/auth/logout");
    } catch {
      // Even if the server forgot the session already, leave the console.
    }
    disconnectLive();
    dropPhone();
    me.value = null;
  };
  return (
    <header class="topbar">
      <span class="brand">{t("app.name")}</span>
      <nav aria-label={t("nav.main")}>
        {!isKnowledgeOnly.value && link("/inbox", "nav.inbox")}
        {isStaff.value && link("/tickets", "nav.tickets")}
        {isKnowledgeEditor.value && link("/knowledge", "nav.knowledge")}
        {isSupervisor.value && link("/board", "nav.board")}
        {!isKnowledgeOnly.value && link("/reports", "nav.reports")}
        {isAdmin.value && link("/admin", "nav.admin")}
      </nav>
      <div class="spacer" />
      {!liveConnected.value && !isKnowledgeOnly.value && (
        <span class="muted" role="status">
          {t("live.offline")}
        </span>
      )}
      <PresenceSwitch />
      {isStaff.value && <PhoneSwitch />}
      <button
        type="button"
        class="ghost"
        aria-pressed={muted.value}
        aria-label={muted.value ? t("sound.unmute") : t("sound.mute")}
        title={muted.value ? t("sound.unmute") : t("sound.mute")}
        onClick={() => {
          muted.value = !muted.value;
          localStorage.setItem("kefu.muted", muted.value ? "1" : "0");
          if (!muted.value && "Notification" in window && Notification.permission === "default") {
            void Notification.requestPermission();
          }
        }}
      >
        {muted.value ? "🔕" : "🔔"}
      </button>
      <LanguageSwitch />
      <span class="muted me-name">{me.value?.name}</span>
      <button type="button" class="ghost" onClick={signOut}>
        {t("nav.signout")}
      </button>
    </header>
  );
}

function Shell() {
  useEffect(() => {
    void loadDirectory();
    // A knowledge manager has no conversations: no inbox counts, no live inbox feed.
    if (isKnowledgeOnly.value) return;
    void loadCounts();
    connectLive();
    return () => disconnectLive();
  }, []);
  const r = route.value;
  let screen;
  if ((r.startsWith("/knowledge") || isKnowledgeOnly.value) && isKnowledgeEditor.value) screen = <KnowledgeScreen />;
  else if (r.startsWith("/tickets") && isStaff.value) screen = <TicketsScreen />;
  else if (r.startsWith("/board") && isSupervisor.value) screen = <BoardScreen />;
  else if (r.startsWith("/reports") && !isKnowledgeOnly.value)
    screen = isSupervisor.value ? <ReportsScreen /> : <MyStats />;
  else if (r.startsWith("/admin") && isAdmin.value) screen = <AdminScreen />;
  else screen = <InboxScreen />;
  return (
    <div class="shell">
      <TopBar />
      {screen}
      {isStaff.value && <PhoneDock />}
    </div>
  );
}

function Toast() {
  const v = toast.value;
  if (!v) return null;
  return (
    <div class={`toast ${v.kind}`} role={v.kind === "error" ? "alert" : "status"}>
      {v.text}
    </div>
  );
}

function App() {
  useEffect(() => {
    void loadMe();
  }, []);
  // Reading locale here re-renders the whole tree when the language changes.
  void locale.value;
  if (!booted.value) return <p class="muted pad">…</p>;
  return (
    <>
      {me.value ? <Shell /> : <Login />}
      <Toast />
      <CapacityDialog />
    </>
  );
}

render(<App />, document.getElementById("app")!);
