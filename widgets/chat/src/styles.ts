// All widget CSS lives inside the shadow root: the host page's rules cannot reach in and
// ours cannot leak out. `--kefu-brand` comes from the inbox settings.
export const css = `
:host { all: initial; }
/* Our display rules would otherwise beat the hidden attribute. */
[hidden] { display: none !important; }
* { box-sizing: border-box; font-family: -apple-system, BlinkMacSystemFont, "Segoe UI", "PingFang SC",
  "Hiragino Sans GB", "Microsoft YaHei", "Noto Sans CJK SC", Roboto, Helvetica, Arial, sans-serif; }
.root { position: fixed; right: 20px; bottom: 20px; z-index: 2147483000; color: #1f2328; font-size: 14px;
  line-height: 1.45; }
button { font: inherit; cursor: pointer; }
.ticket-number { font-weight: 600; }
.launcher { width: 56px; height: 56px; border-radius: 50%; border: 0; background: var(--kefu-brand);
  color: #fff; box-shadow: 0 6px 20px rgba(0,0,0,.22); display: grid; place-items: center; position: relative; }
.launcher:focus-visible, button:focus-visible, textarea:focus-visible, input:focus-visible {
  outline: 3px solid #0969da; outline-offset: 2px; }
.launcher svg { width: 28px; height: 28px; fill: currentColor; }
.badge { position: absolute; top: -4px; right: -4px; min-width: 20px; height: 20px; padding: 0 6px;
  border-radius: 10px; background: #d1242f; color: #fff; font-size: 12px; line-height: 20px; }
.badge[hidden] { display: none; }
.panel { position: absolute; right: 0; bottom: 72px; width: 370px; height: min(600px, calc(100vh - 110px));
  background: #fff; border-radius: 14px; box-shadow: 0 12px 40px rgba(0,0,0,.25); display: flex;
  flex-direction: column; overflow: hidden; }
.panel[hidden] { display: none; }
header { background: var(--kefu-brand); color: #fff; padding: 14px 16px; display: flex; align-items: center; gap: 10px; }
header img { width: 36px; height: 36px; border-radius: 50%; object-fit: cover; background: rgba(255,255,255,.3); }
header .titles { flex: 1; min-width: 0; }
header h2 { margin: 0; font-size: 16px; font-weight: 600; }
header p { margin: 2px 0 0; font-size: 12px; opacity: .9; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
header button { background: transparent; border: 0; color: #fff; width: 32px; height: 32px; border-radius: 6px; font-size: 20px; }
header button:hover { background: rgba(255,255,255,.18); }
.banner { padding: 6px 12px; font-size: 12px; background: #fff8c5; color: #4d2d00; border-bottom: 1px solid #eee; }
.banner:empty { display: none; }
.log { flex: 1; overflow-y: auto; padding: 14px 12px; background: #f6f8fa; display: flex; flex-direction: column; gap: 8px; }
.msg { max-width: 80%; display: flex; flex-direction: column; }
.msg.in { align-self: flex-end; align-items: flex-end; }
.msg.out { align-self: flex-start; align-items: flex-start; }
.msg.event { align-self: center; max-width: 90%; }
.msg .who { font-size: 11px; color: #59636e; margin: 0 4px 2px; }
.bubble { padding: 8px 12px; border-radius: 14px; white-space: pre-wrap; word-break: break-word; }
.msg.in .bubble { background: var(--kefu-brand); color: #fff; border-bottom-right-radius: 4px; }
.msg.out .bubble { background: #fff; border: 1px solid #e1e4e8; border-bottom-left-radius: 4px; }
.msg.event .bubble { background: transparent; color: #59636e; font-size: 12px; text-align: center; padding: 2px 8px; }
.bubble img { display: block; max-width: 220px; max-height: 220px; border-radius: 8px; margin-top: 4px; }
.bubble a { color: inherit; }
.state { font-size: 11px; color: #59636e; margin: 2px 4px 0; }
.state.failed { color: #d1242f; }
.typing { font-size: 12px; color: #59636e; padding: 0 14px 4px; min-height: 18px; background: #f6f8fa; }
form.composer { display: flex; align-items: flex-end; gap: 6px; padding: 8px; border-top: 1px solid #e1e4e8; background: #fff; position: relative; }
.composer textarea { flex: 1; resize: none; border: 1px solid #d0d7de; border-radius: 10px; padding: 8px 10px;
  font-size: 14px; max-height: 120px; min-height: 38px; }
.icon { width: 36px; height: 36px; border-radius: 8px; border: 0; background: transparent; color: #59636e;
  display: grid; place-items: center; font-size: 18px; }
.icon:hover { background: #f3f4f6; }
.icon svg { width: 20px; height: 20px; fill: currentColor; }
.send { height: 38px; padding: 0 14px; border-radius: 10px; border: 0; background: var(--kefu-brand); color: #fff; font-weight: 600; }
.send:disabled, .icon:disabled { opacity: .5; cursor: default; }
.composer textarea:disabled { background: #f6f8fa; }
.emoji { position: absolute; bottom: 54px; left: 8px; background: #fff; border: 1px solid #d0d7de; border-radius: 10px;
  padding: 6px; display: grid; grid-template-columns: repeat(8, 32px); gap: 2px; box-shadow: 0 6px 20px rgba(0,0,0,.15); }
.emoji[hidden] { display: none; }
.emoji button { width: 32px; height: 32px; border: 0; background: transparent; font-size: 20px; border-radius: 6px; }
.emoji button:hover { background: #f3f4f6; }
.sheet { padding: 16px; overflow-y: auto; flex: 1; }
.sheet h3 { margin: 0 0 6px; font-size: 15px; }
.sheet p { margin: 0 0 12px; color: #59636e; }
.sheet label { display: block; margin: 10px 0 4px; font-size: 13px; font-weight: 600; }
.sheet input, .sheet textarea { width: 100%; border: 1px solid #d0d7de; border-radius: 8px; padding: 8px 10px; font-size: 14px; }
.sheet textarea { min-height: 90px; resize: vertical; }
.sheet .primary { margin-top: 14px; width: 100%; height: 40px; border: 0; border-radius: 10px; background: var(--kefu-brand); color: #fff; font-weight: 600; }
.sheet .error { color: #d1242f; font-size: 13px; margin-top: 8px; }
.csat { background: #fff; border: 1px solid #e1e4e8; border-radius: 12px; padding: 12px; align-self: stretch; }
.csat h3 { margin: 0 0 8px; font-size: 14px; }
.stars { display: flex; gap: 4px; }
.stars button { border: 0; background: transparent; font-size: 26px; color: #d0d7de; padding: 0 2px; }
.stars button.on { color: #bf8700; }
.csat textarea { width: 100%; margin-top: 8px; border: 1px solid #d0d7de; border-radius: 8px; padding: 6px 8px; min-height: 50px; }
.csat .primary { margin-top: 8px; height: 34px; padding: 0 14px; border: 0; border-radius: 8px; background: var(--kefu-brand); color: #fff; }
.foot { text-align: center; font-size: 11px; color: #8c959f; padding: 4px; background: #fff; }
.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
@media (max-width: 480px) {
  .root.open { inset: 0; }
  .root.open .launcher { display: none; }
  .panel { position: fixed; inset: 0; width: 100vw; height: 100%; border-radius: 0; bottom: 0; }
}
`;
